// Three official training steps (golden/train/*): with the recorded Perlin masks and the documented noise
// formula injected, every loss part and gradient norm must match, and so must the weight updates.
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <iomanip>

#include "golden_steps.h"
#include "io/checkpoint.h"
#include "io/json.h"
#include "test_framework.h"
#include "test_io_helpers.h"
#include "test_trainops_npz.h"
#include "train/optimizer.h"
#include "train/train_step.h"

namespace {

void check_golden_setting(const std::string& setting) {
  const std::string dir = ssn_test::golden_dir() + "/train/" + setting;
  const ssn::Json expected = ssn::Json::parse(ssn_test::read_bytes(dir + "/expected.json"));
  const ssn::Json& cfg = expected.at("config");
  const auto& size = expected.at("image_size").as_array();
  SSN_CHECK(cfg.at("backbone").as_string() == "resnet18");

  ssn::SuperSimpleNet net(ssn::BackboneArch::ResNet18, size[0].as_int(), size[1].as_int());
  net->backbone()->load_native_weights(
      ssn::read_torch_checkpoint(ssn_test::golden_dir() + "/resnet18-256x256/backbone.pth"));
  const ssn::NamedTensors init = ssn::read_torch_checkpoint(dir + "/init.pt");
  net->load_head_state(init);

  const ssn::OptimizerConfig opt_cfg = ssn_test::golden_optimizer(cfg);
  ssn::AdamW optimizer = ssn::make_supersimplenet_optimizer(net, opt_cfg);
  ssn::TrainStepConfig step_cfg = ssn_test::golden_step_config(cfg);
  step_cfg.clip_grad_norm = setting == "supervised" ? 1.0 : 0.0;  // the official clip_grad flag

  ssn::AnomalyRandom random;
  random.perlin_generator = at::make_generator<at::CPUGeneratorImpl>(0);
  const auto& steps = expected.at("steps").as_array();
  SSN_CHECK(steps.size() == 3);
  for (int k = 0; k < 3; ++k) {
    auto npz = ssn_test::read_npz(dir + "/step" + std::to_string(k) + ".npz");
    const ssn::AnomalyInjection inject = ssn_test::golden_injection(npz.at("perlin"), net->feature_channels(), k);
    const ssn::TrainBatch batch{npz.at("images"), npz.at("gt_mask"), npz.at("label")};
    const ssn::TrainStepResult r = ssn::train_step(net, optimizer, batch, step_cfg, random, nullptr, &inject);

    ssn_test::check_golden_step(r, steps[k], setting + " step " + std::to_string(k), k);
  }

  // Weight updates (BN running statistics included) against the official ones.
  const ssn::NamedTensors after = ssn::read_torch_checkpoint(dir + "/after.pt");
  const ssn::NamedTensors ours = net->head_state();
  SSN_CHECK(ours.size() == after.size());
  for (const auto& [name, official] : after) {
    SSN_CHECK_MSG(ours.count(name) == 1, name);
    const torch::Tensor mine = ours.at(name);
    if (name.find("num_batches_tracked") != std::string::npos) {
      SSN_CHECK_MSG(mine.item<int64_t>() == official.item<int64_t>() && official.item<int64_t>() == 3, name);
      continue;
    }
    const torch::Tensor want_delta = (official - init.at(name)).to(torch::kFloat64);
    const torch::Tensor got_delta = (mine - init.at(name)).to(torch::kFloat64);
    const double denom = want_delta.norm().item<double>();
    SSN_CHECK_MSG(denom > 0, setting << " " << name << " did not change in the official run");
    const double rel = (got_delta - want_delta).norm().item<double>() / denom;
    if (name == "discriminator.seg.0.bias" || name == "discriminator.dec_head.0.bias") {
      // A conv bias right before a BatchNorm has an exactly zero gradient in exact arithmetic (BN removes
      // any per-channel shift): its gradient is float noise, which Adam scales to ~lr per step, so neither
      // run's update is reproducible. Check the scale only: every element moved by at most 3 steps of lr
      // (plus decay), and the norms agree within a factor of 2.
      const double lr =
          name == "discriminator.seg.0.bias" ? cfg.at("seg_lr").as_number() : cfg.at("dec_lr").as_number();
      SSN_CHECK_MSG(got_delta.abs().max().item<double>() <= 3.05 * lr, setting << " " << name);
      const double ratio = got_delta.norm().item<double>() / denom;
      SSN_CHECK_MSG(ratio > 0.5 && ratio < 2.0, setting << " " << name << ": update norm ratio " << ratio);
      continue;
    }
    SSN_CHECK_MSG(rel <= 1e-2, setting << " " << name << ": relative error of the update " << rel);
  }
}

}  // namespace

SSN_TEST(train_golden_unsupervised_steps) { check_golden_setting("unsupervised"); }
SSN_TEST(train_golden_supervised_steps) { check_golden_setting("supervised"); }
