// The Keras ResNet50 ImageNet classifier (stage 5 + fc1000) on random weights: names, shapes, softmax,
// TF.js weight loading and the argument checks of keras_imagenet_top_k. The real model is checked on
// photos by test/native/keras.test.ts.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "api/engine.h"
#include "test_model_util.h"
#include "tools/keras_classifier.h"

using ssn_test::contains;
using ssn_test::error_message;

namespace {

// The module's state under TF.js names ("res5a_branch2a/kernel" HWIO, "bn5a_branch2a/gamma", "fc1000/kernel"
// [in, out]), i.e. what read_tfjs_layers_model returns for the real model.
ssn::NamedTensors as_tfjs(torch::nn::Module& m) {
  ssn::NamedTensors out;
  auto keras_name = [](std::string key) {
    if (key.rfind("backbone.", 0) == 0) key = key.substr(9);
    const auto dot = key.find('.');
    return std::make_pair(key.substr(0, dot), key.substr(dot + 1));
  };
  for (const auto& p : m.named_parameters(true)) {
    auto [layer, field] = keras_name(p.key());
    torch::Tensor t = p.value().detach().clone();
    const bool bn = layer.rfind("bn", 0) == 0;
    if (field == "weight") {
      if (bn)
        out[layer + "/gamma"] = t;
      else
        out[layer + "/kernel"] = t.dim() == 4 ? t.permute({2, 3, 1, 0}).contiguous() : t.t().contiguous();
    } else {
      out[layer + (bn ? "/beta" : "/bias")] = t;
    }
  }
  for (const auto& b : m.named_buffers(true)) {
    auto [layer, field] = keras_name(b.key());
    if (field == "running_mean") out[layer + "/moving_mean"] = b.value().detach().clone();
    if (field == "running_var") out[layer + "/moving_variance"] = b.value().detach().clone();
  }
  return out;
}

}  // namespace

SSN_TEST(keras_classifier_random_weights_give_probabilities) {
  torch::manual_seed(0);
  ssn::KerasImageNetClassifier net;
  net->eval();
  std::vector<std::string> keys;
  for (const auto& p : net->named_parameters(true)) keys.push_back(p.key());
  auto has = [&](const std::string& k) { return std::find(keys.begin(), keys.end(), k) != keys.end(); };
  SSN_CHECK(has("backbone.conv1.weight") && has("backbone.res4f_branch2c.weight"));
  SSN_CHECK(has("res5a_branch1.weight") && has("bn5c_branch2c.bias") && !has("res5d_branch2a.weight"));
  SSN_CHECK(net->named_parameters(true)["fc1000.weight"].sizes() == torch::IntArrayRef({1000, 2048}));
  SSN_CHECK(net->named_parameters(true)["res5a_branch2a.weight"].sizes() == torch::IntArrayRef({512, 1024, 1, 1}));
  int64_t params = 0;
  for (const auto& p : net->parameters()) params += p.numel();
  // Keras' own count (25,636,712) includes the BN statistics, which are buffers here.
  int64_t bn_stats = 0;
  for (const auto& b : net->named_buffers(true))
    if (contains(b.key(), "running_")) bn_stats += b.value().numel();
  SSN_CHECK_MSG(params + bn_stats == 25636712, params + bn_stats);

  torch::NoGradGuard no_grad;
  // Non-square and not a multiple of 32: stage 5 still pools to one vector per image.
  const torch::Tensor probs = net->forward(torch::randn({2, 3, 72, 104}) * 50);
  SSN_CHECK(probs.sizes() == torch::IntArrayRef({2, ssn::kImageNetClasses}));
  SSN_CHECK(probs.min().item<float>() >= 0.0f);
  SSN_CHECK_CLOSE(probs[0].sum().item<double>(), 1.0, 1e-4);
  SSN_CHECK_CLOSE(probs[1].sum().item<double>(), 1.0, 1e-4);
}

SSN_TEST(keras_classifier_loads_tfjs_names_into_every_layer) {
  torch::manual_seed(1);
  ssn::KerasImageNetClassifier source;
  {
    torch::NoGradGuard no_grad;
    for (auto& b : source->named_buffers(true)) {
      if (contains(b.key(), "running_mean")) b.value().normal_(0.0, 0.1);
      if (contains(b.key(), "running_var")) b.value().uniform_(0.5, 1.5);
    }
    for (auto& p : source->named_parameters(true))
      if (contains(p.key(), "bias")) p.value().normal_(0.0, 0.1);  // fc1000 and conv biases start at zero
  }
  const ssn::NamedTensors weights = as_tfjs(*source);
  SSN_CHECK(weights.at("fc1000/kernel").sizes() == torch::IntArrayRef({2048, 1000}));
  SSN_CHECK(weights.at("res5b_branch2b/kernel").sizes() == torch::IntArrayRef({3, 3, 512, 512}));

  torch::manual_seed(2);
  ssn::KerasImageNetClassifier loaded;
  loaded->load_native_weights(weights);
  source->eval();
  loaded->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({1, 3, 64, 64}) * 50;
  SSN_CHECK(torch::allclose(source->forward(x), loaded->forward(x), 1e-5, 1e-7));

  ssn::NamedTensors missing = weights;
  missing.erase("fc1000/bias");
  missing.erase("bn5c_branch2c/moving_variance");
  const std::string msg = error_message([&] { loaded->load_native_weights(missing); }, ssn::ErrorCode::Checkpoint);
  SSN_CHECK_MSG(contains(msg, "fc1000/bias") && contains(msg, "bn5c_branch2c/moving_variance"), msg);
}

SSN_TEST(keras_classifier_top_k_checks_its_arguments) {
  const std::vector<uint8_t> pixels(8 * 8 * 3, 128);
  const std::vector<ssn::ImageU8> one{ssn::ImageU8{pixels.data(), 8, 8, 3}};
  const std::string none = "/nonexistent/ResNet50/model.json";
  SSN_CHECK(contains(error_message([&] { ssn::keras_imagenet_top_k(none, {}, 5); }, ssn::ErrorCode::Input), "none"));
  SSN_CHECK(
      contains(error_message([&] { ssn::keras_imagenet_top_k(none, one, 0); }, ssn::ErrorCode::Input), "received 0"));
  SSN_CHECK(
      contains(error_message([&] { ssn::keras_imagenet_top_k(none, one, 1001); }, ssn::ErrorCode::Input), "1001"));
  const std::vector<ssn::ImageU8> bad{ssn::ImageU8{pixels.data(), 8, 8, 2}};
  error_message([&] { ssn::keras_imagenet_top_k(none, bad, 5); }, ssn::ErrorCode::Input);
  SSN_CHECK(contains(error_message([&] { ssn::keras_imagenet_top_k(none, one, 5); }, ssn::ErrorCode::Io), none));
}
