#include <limits>
// The SuperSimpleNet network: shapes (spec section 2 table), heads, modes, initialisation, head state.
#include <set>

#include "model/supersimplenet.h"
#include "official_head_keys.h"
#include "test_model_util.h"

using ssn::BackboneArch;
using ssn_test::contains;
using ssn_test::error_message;

namespace {

int64_t count(const std::vector<torch::Tensor>& params) {
  int64_t n = 0;
  for (const auto& p : params) n += p.numel();
  return n;
}

double std_of(const torch::Tensor& t) { return t.std().item<double>(); }

}  // namespace

SSN_TEST(model_net_feature_shapes_of_the_spec_table) {
  torch::NoGradGuard no_grad;
  struct Case {
    int64_t h, w, fh, fw;
  };
  for (const Case c :
       {Case{256, 256, 64, 64}, Case{640, 232, 160, 58}, Case{320, 192, 80, 48}, Case{144, 144, 36, 36}}) {
    ssn::SuperSimpleNet net(BackboneArch::ResNet18, c.h, c.w);
    net->eval();
    auto f = net->extract_features(torch::randn({1, 3, c.h, c.w}));
    SSN_CHECK_MSG(f.sizes() == torch::IntArrayRef({1, 384, c.fh, c.fw}), c.h << "x" << c.w << ": " << f.sizes());
    SSN_CHECK(!f.requires_grad());
  }
  // KSDD2's odd layer2 width: layer2 80x29, layer3 40x15, features 160x58 (layer3 scaled by 58/15).
  auto backbone = ssn::make_backbone(BackboneArch::ResNet18);
  backbone->eval();
  auto l = backbone->forward(torch::randn({1, 3, 640, 232}));
  SSN_CHECK(l.layer2.sizes() == torch::IntArrayRef({1, 128, 80, 29}));
  SSN_CHECK(l.layer3.sizes() == torch::IntArrayRef({1, 256, 40, 15}));
}

SSN_TEST(model_net_infer_output_shapes) {
  torch::NoGradGuard no_grad;
  ssn::SuperSimpleNet net(BackboneArch::ResNet18, 40, 56);
  net->eval();
  auto one = net->infer(torch::randn({1, 3, 40, 56}));
  SSN_CHECK(one.map.sizes() == torch::IntArrayRef({1, 1, 40, 56}));
  SSN_CHECK(one.score_logit.sizes() == torch::IntArrayRef({1}));
  auto three = net->infer(torch::randn({3, 3, 40, 56}));
  SSN_CHECK(three.map.sizes() == torch::IntArrayRef({3, 1, 40, 56}));
  SSN_CHECK(three.score_logit.sizes() == torch::IntArrayRef({3}));
  // Batch elements are independent in eval mode.
  auto x = torch::randn({3, 3, 40, 56});
  auto batch = net->infer(x);
  auto single = net->infer(x.slice(0, 1, 2));
  SSN_CHECK_CLOSE((batch.map[1] - single.map[0]).abs().max().item<float>(), 0.0, 1e-5);
  SSN_CHECK_CLOSE(batch.score_logit[1].item<float>(), single.score_logit[0].item<float>(), 1e-5);
}

SSN_TEST(model_net_rejects_wrong_inputs) {
  ssn::SuperSimpleNet net(BackboneArch::ResNet18, 32, 48);
  net->eval();
  torch::NoGradGuard no_grad;
  const std::string msg = error_message([&] { net->infer(torch::randn({1, 3, 48, 32})); }, ssn::ErrorCode::Shape);
  SSN_CHECK_MSG(contains(msg, "[B,3,32,48]") && contains(msg, "[1, 3, 48, 32]"), msg);
  SSN_CHECK_THROWS_CODE(net->infer(torch::randn({3, 32, 48})), ssn::ErrorCode::Shape);
  SSN_CHECK_THROWS_CODE(net->infer(torch::randn({1, 1, 32, 48})), ssn::ErrorCode::Shape);
  SSN_CHECK_THROWS_CODE(net->infer(torch::zeros({1, 3, 32, 48}, torch::kUInt8)), ssn::ErrorCode::Input);
  SSN_CHECK_THROWS_CODE(ssn::SuperSimpleNet(BackboneArch::ResNet18, 12, 64), ssn::ErrorCode::Config);
  net->train(true);
  SSN_CHECK_THROWS_CODE(net->infer(torch::randn({1, 3, 32, 48})), ssn::ErrorCode::Internal);
}

SSN_TEST(model_net_wide_resnet_counts_and_official_init) {
  torch::manual_seed(0);
  ssn::SuperSimpleNet net(BackboneArch::WideResNet50_2, 256, 256);
  SSN_CHECK(net->feature_channels() == 1536);
  SSN_CHECK_MSG(count(net->adaptor_parameters()) == 2360832, count(net->adaptor_parameters()));
  SSN_CHECK_MSG(count(net->seg_parameters()) == 1576960, count(net->seg_parameters()));
  SSN_CHECK_MSG(count(net->cls_parameters()) == 4918784 + 259, count(net->cls_parameters()));
  SSN_CHECK(count(net->backbone()->parameters()) == 24862528);
  SSN_CHECK(count(net->parameters()) == 33719363);

  auto p = net->named_parameters(true);
  // Xavier normal: sqrt(2 / (fan_in + fan_out)).
  SSN_CHECK_CLOSE(std_of(p["feature_adaptor.projection.weight"]), 0.02552, 2e-4);
  SSN_CHECK_CLOSE(std_of(p["discriminator.seg.0.weight"]), 0.02795, 2e-4);
  SSN_CHECK_CLOSE(std_of(p["discriminator.dec_head.0.weight"]), 0.006932, 5e-5);
  // Default PyTorch biases: Uniform(+-1/sqrt(fan_in)).
  const auto bias = p["feature_adaptor.projection.bias"];
  SSN_CHECK(bias.abs().max().item<double>() <= 1.0 / std::sqrt(1536.0));
  SSN_CHECK(bias.abs().max().item<double>() > 0.8 / std::sqrt(1536.0));
  SSN_CHECK(p["discriminator.fc_score.bias"].abs().max().item<double>() <= 1.0 / std::sqrt(258.0));
  SSN_CHECK(torch::equal(p["discriminator.seg.1.weight"], torch::ones({1024})));
  SSN_CHECK(torch::equal(p["discriminator.dec_head.1.bias"], torch::zeros({128})));

  ssn::SuperSimpleNet keras(BackboneArch::KerasResNet50, 64, 64);
  SSN_CHECK(keras->feature_channels() == 1536);
}

SSN_TEST(model_net_init_follows_the_torch_seed) {
  ssn::SuperSimpleNet net(BackboneArch::ResNet18, 32, 32);
  torch::manual_seed(7);
  net->init_heads();
  auto first = net->head_state().at("discriminator.fc_score.weight").clone();
  torch::manual_seed(7);
  net->init_heads();
  SSN_CHECK(torch::equal(first, net->head_state().at("discriminator.fc_score.weight")));
  SSN_CHECK_CLOSE(std_of(net->head_state().at("feature_adaptor.projection.weight")), std::sqrt(2.0 / 768), 1e-3);
}

SSN_TEST(model_net_backbone_stays_frozen_in_training) {
  ssn::SuperSimpleNet net(BackboneArch::ResNet18, 32, 32);
  net->train(true);
  SSN_CHECK(net->is_training());
  SSN_CHECK(!net->backbone()->is_training());
  for (const auto& m : net->backbone()->modules(true)) SSN_CHECK(!m->is_training());
  auto p = net->named_parameters(true);
  SSN_CHECK(net->named_modules()["discriminator.seg.1"]->is_training());
  // Running statistics of the backbone do not move in training mode.
  const auto before = net->named_buffers(true)["feature_extractor.bn1.running_mean"].clone();
  auto f = net->extract_features(torch::randn({2, 3, 32, 32}));
  SSN_CHECK(torch::equal(before, net->named_buffers(true)["feature_extractor.bn1.running_mean"]));
  SSN_CHECK(!f.requires_grad());
  net->eval();
  SSN_CHECK(!net->named_modules()["discriminator.seg.1"]->is_training());
}

SSN_TEST(model_net_stop_grad_detaches_the_map_for_the_cls_head) {
  torch::manual_seed(3);
  ssn::SuperSimpleNet net(BackboneArch::ResNet18, 32, 32);
  net->train(true);
  auto adapted = torch::randn({2, 384, 6, 6});
  for (bool stop : {true, false}) {
    net->zero_grad();
    auto out = net->heads(adapted, adapted, stop);
    SSN_CHECK(out.seg_logits.sizes() == torch::IntArrayRef({2, 1, 6, 6}));
    SSN_CHECK(out.score_logit.sizes() == torch::IntArrayRef({2}));
    out.score_logit.sum().backward();
    const auto g = net->named_parameters(true)["discriminator.seg.3.weight"].grad();
    const bool reached = g.defined() && g.abs().sum().item<double>() > 0;
    SSN_CHECK_MSG(reached == !stop, "stop_grad " << stop);
  }
  // Forward values do not depend on stop_grad.
  net->eval();
  torch::NoGradGuard no_grad;
  SSN_CHECK(
      torch::equal(net->heads(adapted, adapted, true).score_logit, net->heads(adapted, adapted, false).score_logit));
}

SSN_TEST(model_net_score_pools_in_the_official_order) {
  // With fc_score weight selecting one column at a time, the score equals that pooled statistic.
  torch::manual_seed(4);
  ssn::SuperSimpleNet net(BackboneArch::ResNet18, 32, 32);
  net->eval();
  torch::NoGradGuard no_grad;
  auto adapted = torch::randn({1, 384, 5, 7});
  auto state = net->head_state();
  state.at("discriminator.fc_score.bias").zero_();
  auto& w = state.at("discriminator.fc_score.weight");
  auto select = [&](int64_t col) {
    w.zero_();
    w[0][col] = 1.0f;
    return net->heads(adapted, adapted, false).score_logit.item<float>();
  };
  const auto m = net->heads(adapted, adapted, false).seg_logits;
  SSN_CHECK_CLOSE(select(256), m.max().item<float>(), 1e-6);
  SSN_CHECK_CLOSE(select(257), m.mean().item<float>(), 1e-6);
  SSN_CHECK(select(3) >= select(131));  // max of channel 3 >= mean of channel 3 (128 + 3)
}

SSN_TEST(model_net_head_state_has_the_official_keys) {
  ssn::SuperSimpleNet net(BackboneArch::ResNet18, 32, 32);
  auto state = net->head_state();
  const std::set<std::string>& expected = ssn_test::official_head_keys();
  std::set<std::string> got;
  for (const auto& kv : state) got.insert(kv.first);
  SSN_CHECK(got == expected);
  SSN_CHECK(state.at("discriminator.dec_head.0.weight").sizes() == torch::IntArrayRef({128, 385, 5, 5}));
  SSN_CHECK(state.at("discriminator.fc_score.weight").sizes() == torch::IntArrayRef({1, 258}));
  SSN_CHECK(state.at("discriminator.seg.3.weight").sizes() == torch::IntArrayRef({1, 1024, 1, 1}));
  SSN_CHECK(state.at("discriminator.seg.1.num_batches_tracked").scalar_type() == torch::kLong);
  // The backbone keeps its torchvision names under feature_extractor.
  SSN_CHECK(net->named_parameters(true).contains("feature_extractor.layer3.1.conv2.weight"));
}

SSN_TEST(model_net_load_head_state_round_trip_and_errors) {
  torch::manual_seed(5);
  ssn::SuperSimpleNet a(BackboneArch::ResNet18, 32, 32);
  ssn::SuperSimpleNet b(BackboneArch::ResNet18, 32, 32);
  b->backbone()->load_native_weights([&] {
    ssn::NamedTensors w;
    for (const auto& p : a->backbone()->named_parameters(true)) w[p.key()] = p.value();
    for (const auto& p : a->backbone()->named_buffers(true)) w[p.key()] = p.value();
    return w;
  }());
  ssn::NamedTensors state;
  for (const auto& kv : a->head_state()) state[kv.first] = kv.second.clone();
  state.at("discriminator.seg.1.running_var").uniform_(0.5, 2.0);
  a->load_head_state(state);
  state["optimizer.step"] = torch::zeros({1});  // not a head key: ignored
  b->load_head_state(state);
  a->eval();
  b->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({1, 3, 32, 32});
  auto oa = a->infer(x), ob = b->infer(x);
  SSN_CHECK(torch::equal(oa.map, ob.map) && torch::equal(oa.score_logit, ob.score_logit));

  auto broken = state;
  broken.erase("discriminator.seg.0.bias");
  broken.erase("feature_adaptor.projection.weight");
  broken["discriminator.fc_score.weight"] = torch::zeros({1, 257});
  broken["discriminator.extra.weight"] = torch::zeros({1});
  const std::string msg = error_message([&] { b->load_head_state(broken); }, ssn::ErrorCode::Checkpoint);
  SSN_CHECK_MSG(contains(msg, "discriminator.seg.0.bias") && contains(msg, "feature_adaptor.projection.weight"), msg);
  SSN_CHECK_MSG(contains(msg, "discriminator.fc_score.weight (expected [1, 258], received [1, 257]"), msg);
  SSN_CHECK_MSG(contains(msg, "discriminator.extra.weight"), msg);
  SSN_CHECK(!contains(msg, "optimizer.step"));
}

// Whole files with wrong values: each refused by name, nothing assigned.
SSN_TEST(model_net_load_refuses_nan_relabelled_and_negative_variance_tensors) {
  torch::manual_seed(5);
  ssn::SuperSimpleNet net(BackboneArch::ResNet18, 32, 32);
  ssn::NamedTensors good;
  for (const auto& kv : net->head_state()) good[kv.first] = kv.second.clone();
  const torch::Tensor before = good.at("discriminator.seg.0.weight").clone();
  auto expect_refused = [&](const std::string& key, const torch::Tensor& value, const std::string& why) {
    auto state = good;
    state[key] = value;
    const std::string msg = error_message([&] { net->load_head_state(state); }, ssn::ErrorCode::Checkpoint);
    SSN_CHECK_MSG(contains(msg, key + " (" + why), msg);
    SSN_CHECK(torch::equal(net->head_state().at("discriminator.seg.0.weight"), before));
  };
  torch::Tensor nan = good.at("discriminator.seg.0.weight").clone();
  nan.view(-1)[7] = std::numeric_limits<float>::quiet_NaN();
  expect_refused("discriminator.seg.0.weight", nan, "holds NaN or infinite values");
  torch::Tensor inf = good.at("discriminator.fc_score.bias").clone().fill_(std::numeric_limits<float>::infinity());
  expect_refused("discriminator.fc_score.bias", inf, "holds NaN or infinite values");
  expect_refused("discriminator.fc_score.weight", torch::zeros({1, 258}, torch::kInt), "stored as Int");
  expect_refused("discriminator.dec_head.1.running_var", -torch::ones({128}), "a negative variance");
}

SSN_TEST(model_net_jims_feeds_the_cls_head_non_adapted_features) {
  torch::manual_seed(4);
  ssn::SuperSimpleNet icpr(ssn::BackboneArch::ResNet18, 64, 64, ssn::ModelVariant::Icpr);
  torch::manual_seed(4);
  ssn::SuperSimpleNet jims(ssn::BackboneArch::ResNet18, 64, 64, ssn::ModelVariant::Jims);
  // Same keys and shapes: the variant cannot be read off a checkpoint.
  const auto a = icpr->head_state(), b = jims->head_state();
  SSN_CHECK(a.size() == b.size());
  for (const auto& [key, t] : a) SSN_CHECK_MSG(torch::equal(t, b.at(key)), key);
  icpr->eval();
  jims->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({2, 3, 64, 64});
  const ssn::InferenceOutput oi = icpr->infer(x), oj = jims->infer(x);
  SSN_CHECK(torch::allclose(oi.map, oj.map));                   // the segmentation head reads the same input
  SSN_CHECK(!torch::allclose(oi.score_logit, oj.score_logit));  // the classification head does not
  const torch::Tensor features = jims->extract_features(x);
  const torch::Tensor adapted = jims->adapt(features);
  const ssn::HeadOutput by_hand = jims->heads(adapted, features, false);
  SSN_CHECK(torch::allclose(by_hand.score_logit, oj.score_logit));
  SSN_CHECK(&jims->cls_features(features, adapted) == &features);
  SSN_CHECK(&icpr->cls_features(features, adapted) == &adapted);
}
