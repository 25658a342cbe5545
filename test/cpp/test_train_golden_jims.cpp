// Three official training steps of the 2025 (JIMS) code per regime (test/fixtures/jims/train, made by
// make_train_fixtures.py from commit 98ab4d5): weak (no defect segmented) and mixed (one of two defects
// segmented, dilated mask, distance-transform loss weights). With the recorded Perlin masks and the documented
// noise formula injected, every loss part and gradient norm must match, and so must the weight updates; and our
// mask preparation must give the official dilation and distance-transform weights.
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <iomanip>

#include "golden_steps.h"
#include "io/checkpoint.h"
#include "io/json.h"
#include "test_framework.h"
#include "test_io_helpers.h"
#include "test_trainops_npz.h"
#include "train/mask_prep.h"
#include "train/optimizer.h"
#include "train/train_step.h"

namespace {

const std::string kFixtures = std::string(SSN_SOURCE_DIR) + "/test/fixtures/jims/train";

// The fixture's initial heads: a formula (expected.json "init"), not a file.
ssn::NamedTensors formula_heads(const ssn::Json& keys) {
  ssn::NamedTensors heads;
  const auto& list = keys.as_array();
  for (size_t k = 0; k < list.size(); ++k) {
    const std::string name = list[k].as_array()[0].as_string();
    std::vector<int64_t> shape;
    for (const ssn::Json& d : list[k].as_array()[1].as_array()) shape.push_back(d.as_int());
    const bool batchnorm = name.find("seg.1.") != std::string::npos || name.find("dec_head.1.") != std::string::npos;
    const auto ends = [&](const std::string& tail) {
      return name.size() >= tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
    };
    if (batchnorm) {
      if (ends("num_batches_tracked")) {
        heads[name] = torch::zeros({}, torch::kInt64);
      } else {
        heads[name] = ends("weight") || ends("running_var") ? torch::ones(shape) : torch::zeros(shape);
      }
      continue;
    }
    double a = 0.01;  // biases
    if (ends("weight")) {
      const int64_t receptive = shape.size() == 4 ? shape[2] * shape[3] : 1;
      a = std::sqrt(6.0 / static_cast<double>((shape[0] + shape[1]) * receptive));
    }
    int64_t n = 1;
    for (const int64_t d : shape) n *= d;
    const torch::Tensor i = torch::arange(n, torch::kFloat64);
    heads[name] = (a * torch::sin(0.7 * i + 1.3 * static_cast<double>(k))).to(torch::kFloat32).view(shape);
  }
  return heads;
}

void check_regime(const std::string& regime) {
  const std::string dir = kFixtures + "/" + regime;
  const ssn::Json expected = ssn::Json::parse(ssn_test::read_bytes(dir + "/expected.json"));
  const ssn::Json& cfg = expected.at("config");
  const auto& size = expected.at("image_size").as_array();
  SSN_CHECK(cfg.at("backbone").as_string() == "resnet18" && !cfg.at("adapt_cls_feat").as_bool());

  ssn::SuperSimpleNet net(ssn::BackboneArch::ResNet18, size[0].as_int(), size[1].as_int(), ssn::ModelVariant::Jims);
  net->backbone()->load_native_weights(
      ssn::read_torch_checkpoint(ssn_test::golden_dir() + "/resnet18-256x256/backbone.pth"));
  const ssn::NamedTensors init = formula_heads(expected.at("init").at("keys"));
  net->load_head_state(init);

  const ssn::OptimizerConfig opt_cfg = ssn_test::golden_optimizer(cfg);
  ssn::AdamW optimizer = ssn::make_supersimplenet_optimizer(net, opt_cfg);
  ssn::TrainStepConfig step_cfg = ssn_test::golden_step_config(cfg);
  step_cfg.clip_grad_norm = cfg.at("clip_grad").as_bool() ? 1.0 : 0.0;
  step_cfg.mask_align_corners = true;  // JIMS train.py

  ssn::AnomalyRandom random;
  random.perlin_generator = at::make_generator<at::CPUGeneratorImpl>(0);
  const auto& steps = expected.at("steps").as_array();
  SSN_CHECK(steps.size() == 3);
  for (int k = 0; k < 3; ++k) {
    auto npz = ssn_test::read_npz(dir + "/step" + std::to_string(k) + ".npz");
    const ssn::AnomalyInjection inject = ssn_test::golden_injection(npz.at("perlin"), net->feature_channels(), k);
    ssn::TrainBatch batch{npz.at("images"), npz.at("gt_mask"), npz.at("label")};
    batch.segmented = npz.at("is_segmented").to(torch::kBool);
    batch.loss_weights = npz.at("loss_mask");
    const ssn::TrainStepResult r = ssn::train_step(net, optimizer, batch, step_cfg, random, nullptr, &inject);

    ssn_test::check_golden_step(r, steps[k], regime + " step " + std::to_string(k), k);
  }

  // Weight updates against the official ones, summarised by the fixture: the update's norm and its products
  // with two fixed sequences (expected.json "after_format").
  const ssn::NamedTensors ours = net->head_state();
  for (const auto& [name, want] : expected.at("after").items()) {
    SSN_CHECK_MSG(ours.count(name) == 1, name);
    if (name.find("num_batches_tracked") != std::string::npos) {
      SSN_CHECK_MSG(ours.at(name).item<int64_t>() == want.at("value").as_int(), name);
      continue;
    }
    const torch::Tensor delta = (ours.at(name) - init.at(name)).to(torch::kFloat64).flatten();
    const torch::Tensor i = torch::arange(delta.numel(), torch::kFloat64);
    const torch::Tensor r1 = torch::sin(0.37 * i + 1.0), r2 = torch::cos(0.11 * i + 2.0);
    const double norm = delta.norm().item<double>(), want_norm = want.at("norm").as_number();
    // Biases right before a BatchNorm, and the adaptor's bias (it feeds the segmentation head only, whose first
    // layer is followed by a BatchNorm) have an exactly zero gradient: float noise that Adam scales to ~lr per
    // step, reproducible by neither run. Their scale only: at most 3 steps of lr per element.
    if (name == "discriminator.seg.0.bias" || name == "discriminator.dec_head.0.bias" ||
        name == "feature_adaptor.projection.bias") {
      const double lr = name == "feature_adaptor.projection.bias" ? opt_cfg.adapt_lr
                        : name == "discriminator.seg.0.bias"      ? opt_cfg.seg_lr
                                                                  : opt_cfg.dec_lr;
      SSN_CHECK_MSG(delta.abs().max().item<double>() <= 3.05 * lr, regime << " " << name);
      continue;
    }
    SSN_CHECK_MSG(want_norm > 0, regime << " " << name << " did not change in the official run");
    SSN_CHECK_MSG(std::fabs(norm - want_norm) <= 1e-2 * want_norm,
                  regime << " " << name << " norm " << norm << " vs " << want_norm);
    for (const auto& [key, seq] : {std::pair<const char*, torch::Tensor>{"dot1", r1}, {"dot2", r2}}) {
      const double got = (delta * seq).sum().item<double>(), expect = want.at(key).as_number();
      // Relative to the largest value the product can take for an update of this norm.
      const double scale = want_norm * seq.norm().item<double>();
      SSN_CHECK_MSG(std::fabs(got - expect) <= 1e-2 * scale,
                    regime << " " << name << " " << key << " " << got << " vs " << expect);
    }
  }
}

}  // namespace

SSN_TEST(train_golden_jims_weak_steps) { check_regime("weak"); }
SSN_TEST(train_golden_jims_mixed_steps) { check_regime("mixed"); }

// Our dilation and distance-transform weights against cv2.dilate and the official distance_transform (scipy).
SSN_TEST(mask_prep_matches_the_official_dilation_and_distance_transform) {
  auto npz = ssn_test::read_npz(kFixtures + "/dt/dt.npz");
  const torch::Tensor mask = npz.at("mask");
  const int64_t h = mask.size(0), w = mask.size(1);
  std::vector<uint8_t> binary(h * w);
  const torch::Tensor m = mask.contiguous();
  for (int64_t i = 0; i < h * w; ++i) binary[i] = m.data_ptr<uint8_t>()[i] >= 128 ? 1 : 0;
  const std::vector<uint8_t> dilated = ssn::dilate_square(binary, h, w, 7);
  const torch::Tensor want_dilated = npz.at("dilated").contiguous();
  int64_t dilation_diffs = 0;
  for (int64_t i = 0; i < h * w; ++i) dilation_diffs += dilated[i] != (want_dilated.data_ptr<float>()[i] > 0.5f);
  SSN_CHECK_MSG(dilation_diffs == 0, dilation_diffs << " pixels differ from cv2.dilate");
  const std::vector<float> weights = ssn::distance_weights(dilated, h, w, 3.0, 2.0);
  const torch::Tensor want = npz.at("loss_mask").contiguous();
  double worst = 0;
  for (int64_t i = 0; i < h * w; ++i)
    worst = std::max(worst, double(std::fabs(weights[i] - want.data_ptr<float>()[i])));
  SSN_CHECK_MSG(worst <= 1e-5, "largest difference from the official distance transform " << worst);
}
