// Backbones: torchvision naming, shapes, strides, parameter counts, native weight loading.
#include <set>

#include "model/backbone.h"
#include "test_model_util.h"

using ssn_test::contains;
using ssn_test::error_message;

namespace {

std::set<std::string> state_keys(const torch::nn::Module& m) {
  std::set<std::string> keys;
  for (const auto& p : m.named_parameters(true)) keys.insert(p.key());
  for (const auto& b : m.named_buffers(true)) keys.insert(b.key());
  return keys;
}

ssn::NamedTensors state_of(const torch::nn::Module& m) {
  ssn::NamedTensors out;
  for (const auto& p : m.named_parameters(true)) out[p.key()] = p.value().detach().clone();
  for (const auto& b : m.named_buffers(true)) out[b.key()] = b.value().detach().clone();
  return out;
}

int64_t parameter_count(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

// Non-trivial BatchNorm statistics, so that a loading bug cannot hide behind mean 0 / var 1.
void randomise_bn_stats(torch::nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& b : m.named_buffers(true)) {
    if (contains(b.key(), "running_mean")) b.value().normal_(0.0, 0.1);
    if (contains(b.key(), "running_var")) b.value().uniform_(0.5, 1.5);
  }
}

}  // namespace

SSN_TEST(model_backbone_arch_names_round_trip) {
  using ssn::BackboneArch;
  for (BackboneArch a : {BackboneArch::ResNet18, BackboneArch::ResNet34, BackboneArch::ResNet50,
                         BackboneArch::WideResNet50_2, BackboneArch::WideResNet101_2, BackboneArch::KerasResNet50}) {
    SSN_CHECK(ssn::parse_backbone_arch(ssn::backbone_arch_name(a)) == a);
  }
  SSN_CHECK(std::string(ssn::backbone_arch_name(BackboneArch::KerasResNet50)) == "resnet50-keras");
  const std::string msg = error_message([] { ssn::parse_backbone_arch("resnet19"); }, ssn::ErrorCode::Config);
  SSN_CHECK(contains(msg, "resnet19") && contains(msg, "wide_resnet50_2") && contains(msg, "resnet50-keras"));
}

SSN_TEST(model_backbone_resnet18_torchvision_keys_and_shapes) {
  auto net = ssn::make_backbone(ssn::BackboneArch::ResNet18);
  const auto keys = state_keys(*net);
  SSN_CHECK_MSG(keys.size() == 90, keys.size());  // 6 stem + 2*12 layer1 + 2*(18+12) layer2/3
  for (const char* k :
       {"conv1.weight", "bn1.num_batches_tracked", "layer1.1.bn2.running_var", "layer2.0.downsample.0.weight",
        "layer2.0.downsample.1.running_mean", "layer3.1.conv2.weight"}) {
    SSN_CHECK_MSG(keys.count(k) == 1, k);
  }
  SSN_CHECK(keys.count("layer1.0.downsample.0.weight") == 0);  // resnet18 layer1 keeps 64 channels, stride 1
  for (const auto& k : keys) SSN_CHECK_MSG(k.rfind("layer4", 0) != 0 && k.rfind("fc", 0) != 0, k);
  SSN_CHECK(net->layer2_channels() == 128 && net->layer3_channels() == 256);

  net->eval();
  torch::NoGradGuard no_grad;
  auto f = net->forward(torch::randn({2, 3, 64, 48}));
  SSN_CHECK(f.layer2.sizes() == torch::IntArrayRef({2, 128, 8, 6}));
  SSN_CHECK(f.layer3.sizes() == torch::IntArrayRef({2, 256, 4, 3}));
}

SSN_TEST(model_backbone_channels_of_every_torchvision_resnet) {
  auto r34 = ssn::make_backbone(ssn::BackboneArch::ResNet34);
  SSN_CHECK(r34->layer2_channels() == 128 && r34->layer3_channels() == 256);
  SSN_CHECK(state_keys(*r34).count("layer3.5.conv2.weight") == 1 &&
            state_keys(*r34).count("layer3.6.conv1.weight") == 0);
  auto r50 = ssn::make_backbone(ssn::BackboneArch::ResNet50);
  SSN_CHECK(r50->layer2_channels() == 512 && r50->layer3_channels() == 1024);
  // Bottleneck width 64*2^i for resnet50: layer2.0.conv2 is 128 -> 128, stride on the 3x3.
  auto named = r50->named_parameters(true);
  SSN_CHECK(named["layer2.0.conv2.weight"].sizes() == torch::IntArrayRef({128, 128, 3, 3}));
  SSN_CHECK(named["layer1.0.downsample.0.weight"].sizes() == torch::IntArrayRef({256, 64, 1, 1}));
}

SSN_TEST(model_backbone_wide_resnet_parameter_counts) {
  auto wrn = ssn::make_backbone(ssn::BackboneArch::WideResNet50_2);
  SSN_CHECK_MSG(parameter_count(*wrn) == 24862528, parameter_count(*wrn));
  SSN_CHECK_MSG(state_keys(*wrn).size() == 258, state_keys(*wrn).size());
  SSN_CHECK(wrn->layer2_channels() == 512 && wrn->layer3_channels() == 1024);
  auto named = wrn->named_parameters(true);
  SSN_CHECK(named["layer3.0.conv2.weight"].sizes() == torch::IntArrayRef({512, 512, 3, 3}));
  SSN_CHECK(named["layer1.0.conv1.weight"].sizes() == torch::IntArrayRef({128, 64, 1, 1}));

  auto wrn101 = ssn::make_backbone(ssn::BackboneArch::WideResNet101_2);
  const auto keys101 = state_keys(*wrn101);
  SSN_CHECK(keys101.count("layer3.22.conv3.weight") == 1 && keys101.count("layer3.23.conv1.weight") == 0);
  SSN_CHECK(wrn101->layer3_channels() == 1024);
}

SSN_TEST(model_backbone_torchvision_load_round_trip_ignores_extras) {
  torch::manual_seed(1);
  auto a = ssn::make_backbone(ssn::BackboneArch::ResNet18);
  randomise_bn_stats(*a);
  auto weights = state_of(*a);
  weights["layer4.0.conv1.weight"] = torch::zeros({512, 256, 3, 3});
  weights["fc.weight"] = torch::zeros({1000, 512});
  weights.erase("layer2.1.bn1.num_batches_tracked");  // old torchvision files lack these

  auto b = ssn::make_backbone(ssn::BackboneArch::ResNet18);
  b->load_native_weights(weights);
  a->eval();
  b->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({1, 3, 32, 32});
  auto fa = a->forward(x), fb = b->forward(x);
  SSN_CHECK(torch::equal(fa.layer2, fb.layer2) && torch::equal(fa.layer3, fb.layer3));
}

SSN_TEST(model_backbone_torchvision_load_reports_every_problem) {
  auto a = ssn::make_backbone(ssn::BackboneArch::ResNet18);
  auto weights = state_of(*a);
  weights.erase("layer3.1.conv2.weight");
  weights.erase("bn1.running_var");
  weights["layer2.0.conv1.weight"] = torch::zeros({128, 64, 1, 1});
  auto b = ssn::make_backbone(ssn::BackboneArch::ResNet18);
  const auto before = b->named_parameters(true)["conv1.weight"].clone();
  const std::string msg = error_message([&] { b->load_native_weights(weights); }, ssn::ErrorCode::Checkpoint);
  SSN_CHECK_MSG(contains(msg, "layer3.1.conv2.weight") && contains(msg, "bn1.running_var"), msg);
  SSN_CHECK_MSG(contains(msg, "layer2.0.conv1.weight (expected [128, 64, 3, 3], received [128, 64, 1, 1]"), msg);
  // Nothing is half-loaded when the check fails.
  SSN_CHECK(torch::equal(before, b->named_parameters(true)["conv1.weight"]));
}

SSN_TEST(model_backbone_keras_resnet50_shapes_and_names) {
  auto net = ssn::make_backbone(ssn::BackboneArch::KerasResNet50);
  SSN_CHECK(net->layer2_channels() == 512 && net->layer3_channels() == 1024);
  const auto keys = state_keys(*net);
  for (const char* k : {"conv1.weight", "conv1.bias", "bn_conv1.running_var", "res2a_branch1.weight",
                        "res3d_branch2c.bias", "res4f_branch2c.weight", "bn4a_branch1.running_mean"}) {
    SSN_CHECK_MSG(keys.count(k) == 1, k);
  }
  SSN_CHECK(keys.count("res2b_branch1.weight") == 0 && keys.count("res4g_branch2a.weight") == 0);
  for (const auto& k : keys) SSN_CHECK_MSG(k.find("res5") == std::string::npos && k.find("fc") == std::string::npos, k);
  auto named = net->named_parameters(true);
  // The stride-2 1x1 of stage 3 maps 256 -> 128 channels; the 3x3 keeps 128.
  SSN_CHECK(named["res3a_branch2a.weight"].sizes() == torch::IntArrayRef({128, 256, 1, 1}));
  SSN_CHECK(named["res3a_branch2b.weight"].sizes() == torch::IntArrayRef({128, 128, 3, 3}));

  net->eval();
  torch::NoGradGuard no_grad;
  auto f = net->forward(torch::randn({1, 3, 64, 64}));
  SSN_CHECK(f.layer2.sizes() == torch::IntArrayRef({1, 512, 8, 8}));   // stride 8
  SSN_CHECK(f.layer3.sizes() == torch::IntArrayRef({1, 1024, 4, 4}));  // stride 16

  const auto p = net->preprocessing();
  SSN_CHECK(p.bgr && p.scale == 1.0f && p.std[0] == 1.0f);
  SSN_CHECK_CLOSE(p.mean[0], 103.939, 1e-4);
  SSN_CHECK_CLOSE(p.mean[2], 123.68, 1e-4);
}

SSN_TEST(model_backbone_keras_loads_tfjs_names_with_hwio_kernels) {
  torch::manual_seed(2);
  auto a = ssn::make_backbone(ssn::BackboneArch::KerasResNet50);
  randomise_bn_stats(*a);
  // Build the TF.js view of `a`: L.weight -> L/kernel (HWIO), BN -> gamma/beta/moving_*.
  ssn::NamedTensors tfjs;
  for (const auto& kv : state_of(*a)) {
    const std::string& k = kv.first;
    const auto dot = k.find('.');
    const std::string layer = k.substr(0, dot), field = k.substr(dot + 1);
    const bool is_bn = layer.rfind("bn", 0) == 0;
    if (field == "num_batches_tracked") continue;
    if (!is_bn && field == "weight") tfjs[layer + "/kernel"] = kv.second.permute({2, 3, 1, 0}).contiguous();
    if (!is_bn && field == "bias") tfjs[layer + "/bias"] = kv.second;
    if (is_bn && field == "weight") tfjs[layer + "/gamma"] = kv.second;
    if (is_bn && field == "bias") tfjs[layer + "/beta"] = kv.second;
    if (is_bn && field == "running_mean") tfjs[layer + "/moving_mean"] = kv.second;
    if (is_bn && field == "running_var") tfjs[layer + "/moving_variance"] = kv.second;
  }
  tfjs["res5a_branch2a/kernel"] = torch::zeros({1, 1, 1024, 512});
  tfjs["fc1000/kernel"] = torch::zeros({2048, 1000});

  auto b = ssn::make_backbone(ssn::BackboneArch::KerasResNet50);
  b->load_native_weights(tfjs);
  // HWIO [h][w][i][o] lands at OIHW [o][i][h][w].
  const auto stored = tfjs.at("conv1/kernel");
  const auto loaded = b->named_parameters(true)["conv1.weight"];
  SSN_CHECK(loaded.sizes() == torch::IntArrayRef({64, 3, 7, 7}));
  SSN_CHECK(loaded[5][2][1][4].item<float>() == stored[1][4][2][5].item<float>());

  a->eval();
  b->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({1, 3, 48, 48});
  auto fa = a->forward(x), fb = b->forward(x);
  SSN_CHECK(torch::equal(fa.layer3, fb.layer3));

  tfjs.erase("bn3b_branch2b/moving_variance");
  tfjs.erase("res4f_branch2c/bias");
  tfjs["conv1/kernel"] = torch::zeros({7, 7, 3, 32});
  const std::string msg = error_message([&] { b->load_native_weights(tfjs); }, ssn::ErrorCode::Checkpoint);
  SSN_CHECK_MSG(contains(msg, "bn3b_branch2b/moving_variance") && contains(msg, "res4f_branch2c/bias"), msg);
  SSN_CHECK_MSG(contains(msg, "conv1/kernel (expected [64, 3, 7, 7], received [32, 3, 7, 7]"), msg);
}

SSN_TEST(model_backbone_keras_batchnorm_eps) {
  auto net = ssn::make_backbone(ssn::BackboneArch::KerasResNet50);
  int checked = 0;
  for (const auto& m : net->modules(false)) {
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      SSN_CHECK(bn->options.eps() == 1e-3);
      ++checked;
    }
  }
  SSN_CHECK(checked == 1 + 3 * 3 + 4 * 3 + 6 * 3 + 3);  // stem + 3 per block + one shortcut per stage
  auto tv = ssn::make_backbone(ssn::BackboneArch::ResNet18);
  for (const auto& m : tv->modules(false)) {
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) SSN_CHECK(bn->options.eps() == 1e-5);
  }
}

SSN_TEST(model_preprocess_torchvision_and_caffe) {
  // One pixel: R=255, G=0, B=128.
  auto px = torch::tensor({255, 0, 128}, torch::kUInt8).view({1, 3, 1, 1});
  auto tv = ssn::preprocess(px, ssn::Preprocessing{});
  SSN_CHECK(tv.scalar_type() == torch::kFloat);
  SSN_CHECK_CLOSE(tv[0][0][0][0].item<float>(), (1.0 - 0.485) / 0.229, 1e-5);
  SSN_CHECK_CLOSE(tv[0][1][0][0].item<float>(), (0.0 - 0.456) / 0.224, 1e-5);
  // The albumentations formula in float32: (x - 255*mean) * (1 / (255*std)).
  auto all = torch::arange(0, 256, torch::kFloat).view({1, 1, 256, 1}).expand({1, 3, 256, 1});
  const ssn::Preprocessing imagenet;
  auto out = ssn::preprocess(all, imagenet);
  for (int c = 0; c < 3; ++c) {
    const float mean = imagenet.mean[c] * 255.0f, inv_std = 1.0f / (imagenet.std[c] * 255.0f);
    for (int v = 0; v < 256; v += 51)
      SSN_CHECK(out[0][c][v][0].item<float>() == (static_cast<float>(v) - mean) * inv_std);
  }
  auto keras = ssn::make_backbone(ssn::BackboneArch::KerasResNet50)->preprocessing();
  auto caffe = ssn::preprocess(px, keras);
  SSN_CHECK_CLOSE(caffe[0][0][0][0].item<float>(), 128 - 103.939, 1e-4);  // channel 0 is blue
  SSN_CHECK_CLOSE(caffe[0][2][0][0].item<float>(), 255 - 123.68, 1e-4);
  SSN_CHECK_THROWS_CODE(ssn::preprocess(torch::zeros({3, 4, 4}), keras), ssn::ErrorCode::Shape);

  // default_preprocessing agrees with what each backbone reports.
  const auto by_arch = ssn::default_preprocessing(ssn::BackboneArch::KerasResNet50);
  SSN_CHECK(by_arch.bgr && by_arch.mean == keras.mean && by_arch.std == keras.std && by_arch.scale == keras.scale);
  const auto tv_arch = ssn::default_preprocessing(ssn::BackboneArch::WideResNet50_2);
  const auto tv_net = ssn::make_backbone(ssn::BackboneArch::ResNet18)->preprocessing();
  SSN_CHECK(!tv_arch.bgr && tv_arch.mean == tv_net.mean && tv_arch.std == tv_net.std && tv_arch.scale == tv_net.scale);
}
