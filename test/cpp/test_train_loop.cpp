// Optimiser, schedule, clipping, sampler, config and the training loop (reproducibility, cancel, resume)
// on a random resnet18 at 32x32: tiny, so that the whole file runs in seconds on a CPU.
#include <ATen/CPUGeneratorImpl.h>

#include <atomic>
#include <cmath>
#include <set>

#include "common/error.h"
#include "test_framework.h"
#include "train/optimizer.h"
#include "train/supervised_sampler.h"
#include "train/train_config.h"
#include "train/trainer.h"

namespace {

ssn::AdamW single_param_optimizer(torch::Tensor p, double lr, double wd) {
  ssn::ParamGroup g{"g", {{"w", p}}, lr, lr, wd};
  return ssn::AdamW({g});
}

// The learning rate used in each epoch of an E-epoch run.
std::vector<double> lr_per_epoch(int64_t epochs) {
  torch::Tensor p = torch::zeros({1});
  ssn::AdamW opt = single_param_optimizer(p, 1.0, 0.0);
  ssn::MultiStepLR sched = ssn::MultiStepLR::official(epochs);
  std::vector<double> lrs;
  for (int64_t e = 0; e < epochs; ++e) {
    lrs.push_back(opt.groups()[0].lr);
    sched.step(opt);
  }
  return lrs;
}

}  // namespace

SSN_TEST(train_lr_schedule_official_milestones) {
  const std::vector<double> lrs = lr_per_epoch(300);
  for (int64_t e = 0; e < 300; ++e) {
    const double want = e < 240 ? 1.0 : e < 270 ? 0.4 : 0.4 * 0.4;
    SSN_CHECK_MSG(lrs[e] == want, "epoch " << e << " lr " << lrs[e]);
  }
  // E = 10: 8.0 and 9.0 are whole numbers and fire; E = 8: 6.4 and 7.2 never do (the official quirk).
  const std::vector<double> ten = lr_per_epoch(10);
  SSN_CHECK(ten[7] == 1.0 && ten[8] == 0.4 && ten[9] == 0.4 * 0.4);
  for (double lr : lr_per_epoch(8)) SSN_CHECK(lr == 1.0);
  // E = 15: 12.0 fires, 13.5 does not.
  const std::vector<double> fifteen = lr_per_epoch(15);
  SSN_CHECK(fifteen[11] == 1.0 && fifteen[12] == 0.4 && fifteen[14] == 0.4);
  // restore() replays the same products.
  torch::Tensor p = torch::zeros({1});
  ssn::AdamW opt = single_param_optimizer(p, 2e-4, 0.0);
  ssn::MultiStepLR sched = ssn::MultiStepLR::official(300);
  sched.restore(opt, 275);
  SSN_CHECK(opt.groups()[0].lr == 2e-4 * 0.4 * 0.4 && sched.last_epoch() == 275);
  SSN_CHECK(sched.factor_at(250) == 0.4);
}

SSN_TEST(train_adamw_matches_the_formula_and_libtorch) {
  const double lr = 1e-2, wd = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  torch::Tensor p = torch::tensor({0.5, -1.0, 2.0}, torch::kFloat64);
  torch::Tensor ref = p.clone();
  torch::Tensor lib = p.clone().requires_grad_(true);
  p.requires_grad_(true);
  ssn::AdamW opt = single_param_optimizer(p, lr, wd);
  torch::optim::AdamW libopt({lib}, torch::optim::AdamWOptions(lr).betas({b1, b2}).eps(eps).weight_decay(wd));
  double m[3] = {0, 0, 0}, v[3] = {0, 0, 0};
  const double grads[2][3] = {{0.3, -0.2, 1e-3}, {-0.1, 0.4, 2.0}};
  for (int t = 1; t <= 2; ++t) {
    const torch::Tensor g = torch::tensor({grads[t - 1][0], grads[t - 1][1], grads[t - 1][2]}, torch::kFloat64);
    p.mutable_grad() = g.clone();
    lib.mutable_grad() = g.clone();
    opt.step();
    libopt.step();
    for (int i = 0; i < 3; ++i) {
      double x = ref[i].item<double>() * (1 - lr * wd);
      m[i] = b1 * m[i] + (1 - b1) * grads[t - 1][i];
      v[i] = b2 * v[i] + (1 - b2) * grads[t - 1][i] * grads[t - 1][i];
      const double denom = std::sqrt(v[i]) / std::sqrt(1 - std::pow(b2, t)) + eps;
      x -= lr / (1 - std::pow(b1, t)) * m[i] / denom;
      ref[i] = x;
    }
    SSN_CHECK(torch::allclose(p.detach(), ref, 1e-12, 1e-14));
    SSN_CHECK(torch::allclose(p.detach(), lib.detach(), 1e-12, 1e-14));
  }
  // Moments export / import round trip, and zero_grad sets gradients to none.
  const ssn::NamedTensors state = opt.export_state("opt.");
  SSN_CHECK(state.at("opt.w.step").item<int64_t>() == 2 && state.size() == 3);
  opt.zero_grad();
  SSN_CHECK(!p.grad().defined());
  ssn::AdamW fresh = single_param_optimizer(p, lr, wd);
  fresh.import_state(state, "opt.");
  SSN_CHECK(torch::equal(fresh.export_state("opt.").at("opt.w.exp_avg_sq"), state.at("opt.w.exp_avg_sq")));
  ssn::NamedTensors extra = state;
  extra["opt.other.step"] = torch::tensor(1);
  SSN_CHECK_THROWS_CODE(fresh.import_state(extra, "opt."), ssn::ErrorCode::Checkpoint);
}

SSN_TEST(train_grad_norm_clipping) {
  torch::Tensor a = torch::zeros({2}, torch::requires_grad());
  torch::Tensor b = torch::zeros({1}, torch::requires_grad());
  torch::Tensor none = torch::zeros({1}, torch::requires_grad());
  a.mutable_grad() = torch::tensor({3.0f, 0.0f});
  b.mutable_grad() = torch::tensor({4.0f});
  SSN_CHECK_CLOSE(ssn::global_grad_norm({a, b, none}).item<double>(), 5.0, 1e-6);
  const double before = ssn::clip_grad_norm({a, b, none}, 1.0).item<double>();
  SSN_CHECK_CLOSE(before, 5.0, 1e-6);
  SSN_CHECK_CLOSE(a.grad()[0].item<double>(), 3.0 / (5.0 + 1e-6), 1e-6);
  SSN_CHECK_CLOSE(ssn::global_grad_norm({a, b}).item<double>(), 1.0, 1e-5);
  // Below the limit nothing changes.
  SSN_CHECK_CLOSE(ssn::clip_grad_norm({a, b}, 10.0).item<double>(), 1.0, 1e-5);
  SSN_CHECK_CLOSE(b.grad()[0].item<double>(), 4.0 / (5.0 + 1e-6), 1e-6);
}

SSN_TEST(train_supervised_sampler_epoch_composition) {
  // P = 2 positives (source 10, 11), Nn = 9 negatives: with flips 4P = 8 <= 9, drawn without replacement.
  std::vector<int64_t> negatives;
  for (int64_t i = 0; i < 9; ++i) negatives.push_back(100 + i);
  ssn::SupervisedSampler sampler({10, 11}, negatives, true);
  SSN_CHECK(sampler.epoch_length() == 16);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(5);
  for (int pass = 0; pass < 3; ++pass) {
    std::set<int64_t> seen;
    for (int64_t i = 0; i < 16; ++i) {
      const ssn::SampledItem item = sampler.retrieve(i, gen);
      if (i < 8) {
        SSN_CHECK(item.source_index == 10 + i % 2);
        SSN_CHECK(static_cast<int>(item.flip) == i / 2);
      } else {
        SSN_CHECK(item.source_index >= 100 && item.source_index < 109 && item.flip == ssn::Flip::None);
        seen.insert(item.source_index);
      }
    }
    SSN_CHECK_MSG(seen.size() == 8, "pass " << pass << ": 8 distinct negatives, got " << seen.size());
  }
  const ssn::NamedTensors state = sampler.export_state("s.");
  SSN_CHECK(state.at("s.frequency").sum().item<int64_t>() == 24 && state.at("s.counter").item<int64_t>() == 16);
  // Inverse frequency: after one pass the negative left out weighs 2^(4 ln 9) ~ 440 times the others, so it is
  // drawn in the next pass (a miss has probability ~ 1e-3 and the generator is seeded).
  ssn::SupervisedSampler fresh({10, 11}, negatives, true);
  std::set<int64_t> first;
  for (int64_t i = 0; i < 16; ++i) {
    const int64_t s = fresh.retrieve(i, gen).source_index;
    if (i >= 8) first.insert(s);
  }
  bool missing_drawn = false;
  for (int64_t i = 8; i < 16; ++i) {  // the first retrieval after a full pass redraws
    const int64_t s = fresh.retrieve(i, gen).source_index;
    missing_drawn = missing_drawn || first.count(s) == 0;
  }
  SSN_CHECK(missing_drawn);
  // Flips act on the last two dimensions.
  const torch::Tensor img = torch::arange(4, torch::kFloat32).view({1, 2, 2});
  SSN_CHECK(
      torch::equal(ssn::apply_flip(img, ssn::Flip::Vertical), torch::tensor({2.f, 3.f, 0.f, 1.f}).view({1, 2, 2})));
  SSN_CHECK(
      torch::equal(ssn::apply_flip(img[0], ssn::Flip::Horizontal), torch::tensor({1.f, 0.f, 3.f, 2.f}).view({2, 2})));
  SSN_CHECK(torch::equal(ssn::apply_flip(img, ssn::Flip::Rot180), torch::tensor({3.f, 2.f, 1.f, 0.f}).view({1, 2, 2})));
  SSN_CHECK_THROWS_CODE(ssn::SupervisedSampler({}, negatives, true), ssn::ErrorCode::Input);
}

SSN_TEST(train_config_defaults_and_json) {
  const ssn::TrainConfig u = ssn::TrainConfig::defaults(ssn::Supervision::Unsupervised);
  SSN_CHECK(u.epochs == 300 && u.batch_size == 32 && u.generator.perlin_thr == 0.2 && u.generator.overlap &&
            u.stop_grad && u.clip_grad_norm == 0 && !u.flips && u.seed == 42);
  SSN_CHECK(u.optimizer.adapt_lr == 1e-4 && u.optimizer.adapt_wd == 0.01 && u.optimizer.seg_wd == 1e-5);
  const ssn::TrainConfig s = ssn::TrainConfig::defaults(ssn::Supervision::Supervised);
  SSN_CHECK(s.generator.perlin_thr == 0.6 && !s.generator.overlap && !s.stop_grad && s.clip_grad_norm == 1.0 &&
            s.flips && s.seed == 456654);
  ssn::TrainConfig c = s;
  c.epochs = 7;
  c.optimizer.seg_lr = 3e-4;
  c.generator.no_anomaly = ssn::NoAnomalyRule::Full;
  const ssn::TrainConfig back = ssn::TrainConfig::from_json(ssn::Json::parse(c.to_json().dump()));
  SSN_CHECK(back.to_json().dump() == c.to_json().dump());
  SSN_CHECK(back.generator.no_anomaly == ssn::NoAnomalyRule::Full && back.epochs == 7);
  // Partial JSON: the setting's defaults fill the rest.
  const ssn::TrainConfig partial =
      ssn::TrainConfig::from_json(ssn::Json::parse(R"({"setting":"supervised","epochs":5})"));
  SSN_CHECK(partial.epochs == 5 && partial.clip_grad_norm == 1.0);
  SSN_CHECK_THROWS_CODE(ssn::TrainConfig::from_json(ssn::Json::parse(R"({"epoch":5})")), ssn::ErrorCode::Config);
  SSN_CHECK_THROWS_CODE(ssn::TrainConfig::from_json(ssn::Json::parse(R"({"epochs":0})")), ssn::ErrorCode::Config);
  SSN_CHECK_THROWS_CODE(ssn::TrainConfig::from_json(ssn::Json::parse(R"({"batch_size":"8"})")), ssn::ErrorCode::Config);
  SSN_CHECK_THROWS_CODE(ssn::TrainConfig::from_json(ssn::Json::parse(R"({"setting":"semi"})")), ssn::ErrorCode::Config);
  SSN_CHECK_THROWS_CODE(ssn::TrainConfig::from_json(ssn::Json::parse(R"({"dt_power":0})")), ssn::ErrorCode::Config);
  SSN_CHECK_THROWS_CODE(ssn::TrainConfig::from_json(ssn::Json::parse(R"({"no_anomaly":"half"})")),
                        ssn::ErrorCode::Config);
}

namespace {

constexpr int64_t kSize = 32;

ssn::SuperSimpleNet tiny_net() {
  torch::manual_seed(3);
  return ssn::SuperSimpleNet(ssn::BackboneArch::ResNet18, kSize, kSize);
}

// 3 images; with `defect` the last one is anomalous with a 12x12 defect.
ssn::TensorDataSource tiny_data(bool defect) {
  torch::Tensor images =
      torch::sin(torch::arange(3 * 3 * kSize * kSize, torch::kFloat32) * 0.37f).view({3, 3, kSize, kSize});
  torch::Tensor masks = torch::zeros({3, kSize, kSize});
  torch::Tensor labels = torch::zeros({3}, torch::kInt64);
  if (defect) {
    masks[2].narrow(0, 4, 12).narrow(1, 8, 12).fill_(1.0f);
    labels[2] = 1;
  }
  return ssn::TensorDataSource(images, masks, labels);
}

ssn::TrainConfig tiny_config(const std::string& setting, int64_t epochs, int64_t batch) {
  ssn::TrainConfig c = ssn::TrainConfig::defaults(ssn::parse_supervision(setting));
  c.epochs = epochs;
  c.batch_size = batch;
  c.seed = 11;
  return c;
}

bool same_state(const ssn::NamedTensors& a, const ssn::NamedTensors& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [k, t] : a) {
    const auto it = b.find(k);
    if (it == b.end() || !torch::equal(t, it->second)) return false;
  }
  return true;
}

}  // namespace

SSN_TEST(train_loop_same_seed_same_weights) {
  ssn::NamedTensors results[2];
  for (auto& result : results) {
    ssn::SuperSimpleNet net = tiny_net();
    ssn::TensorDataSource data = tiny_data(false);
    ssn::Trainer trainer(net, tiny_config("unsupervised", 1, 2));
    std::vector<ssn::TrainProgress> reports;
    trainer.fit(data, [&](const ssn::TrainProgress& p) { reports.push_back(p); });
    SSN_CHECK(reports.size() == 2 && trainer.finished() && !net->is_training());
    SSN_CHECK(reports[0].step == 1 && reports[1].step == 2 && reports[1].steps_per_epoch == 2 &&
              reports[1].epochs == 1);
    SSN_CHECK(reports[1].eta_seconds == 0 && reports[0].images_per_second > 0 && reports[0].lr_seg == 2e-4);
    SSN_CHECK(std::isfinite(reports[0].losses.loss) && reports[0].losses.grad_norm > 0);
    result = trainer.export_state();
  }
  SSN_CHECK(same_state(results[0], results[1]));
  SSN_CHECK(results[0].at("discriminator.seg.1.num_batches_tracked").item<int64_t>() == 2);
  // The heads moved away from their initialisation.
  SSN_CHECK(!torch::equal(results[0].at("feature_adaptor.projection.weight"),
                          tiny_net()->head_state().at("feature_adaptor.projection.weight")));
}

// Gradient accumulation: each step's batch runs as micro_batches parts, each with its own BatchNorm statistics
// (a part that gets no sample is skipped), and the run stays reproducible.
SSN_TEST(train_loop_micro_batches) {
  ssn::NamedTensors results[2];
  for (auto& result : results) {
    ssn::SuperSimpleNet net = tiny_net();
    ssn::TensorDataSource data = tiny_data(false);
    ssn::TrainConfig config = tiny_config("unsupervised", 1, 2);
    config.micro_batches = 2;  // 3 images: a step of 2 (two parts of 1), then a step of 1 (one empty part)
    ssn::Trainer trainer(net, config);
    std::vector<ssn::TrainProgress> reports;
    trainer.fit(data, [&](const ssn::TrainProgress& p) { reports.push_back(p); });
    SSN_CHECK(reports.size() == 2 && reports[0].batch == 2 && reports[1].batch == 1);
    SSN_CHECK(std::isfinite(reports[1].losses.loss) && reports[1].losses.grad_norm > 0);
    result = trainer.export_state();
  }
  SSN_CHECK(same_state(results[0], results[1]));
  SSN_CHECK(results[0].at("discriminator.seg.1.num_batches_tracked").item<int64_t>() == 3);
  // More parts than a batch has samples are refused.
  ssn::TrainConfig three = tiny_config("unsupervised", 1, 4);
  three.micro_batches = 5;
  SSN_CHECK_THROWS_CODE(ssn::Trainer(tiny_net(), three), ssn::ErrorCode::Config);
}

SSN_TEST(train_loop_cancel_raises_aborted) {
  ssn::SuperSimpleNet net = tiny_net();
  ssn::TensorDataSource data = tiny_data(false);
  ssn::Trainer trainer(net, tiny_config("unsupervised", 2, 2));
  const ssn::NamedTensors before = trainer.export_state();
  std::atomic<bool> cancel{true};
  SSN_CHECK_THROWS_CODE(trainer.fit(data, nullptr, &cancel), ssn::ErrorCode::Aborted);
  SSN_CHECK(trainer.epoch() == 0 && trainer.step_in_epoch() == 0);
  SSN_CHECK(torch::equal(before.at("feature_adaptor.projection.weight"),
                         net->head_state().at("feature_adaptor.projection.weight")));
  // Cancelled from the progress callback after the first step.
  cancel = false;
  int steps = 0;
  SSN_CHECK_THROWS_CODE(trainer.fit(
                            data, [&](const ssn::TrainProgress&) { cancel = ++steps == 1; }, &cancel),
                        ssn::ErrorCode::Aborted);
  SSN_CHECK(steps == 1 && trainer.epoch() == 0 && trainer.step_in_epoch() == 1 && !net->is_training());
}

// Supervised (sampler, flips, clipping): a run cancelled after 3 steps, exported, imported into a fresh
// network and finished, ends bit-identical to an uninterrupted run.
SSN_TEST(train_loop_resume_continues_exactly) {
  const ssn::TrainConfig config = tiny_config("supervised", 2, 4);  // P = 1: 8 samples, 2 steps per epoch
  ssn::NamedTensors straight;
  {
    ssn::SuperSimpleNet net = tiny_net();
    ssn::TensorDataSource data = tiny_data(true);
    ssn::Trainer trainer(net, config);
    trainer.fit(data);
    SSN_CHECK(trainer.finished() && trainer.epoch() == 2);
    straight = trainer.export_state();
  }
  ssn::NamedTensors saved;
  {
    ssn::SuperSimpleNet net = tiny_net();
    ssn::TensorDataSource data = tiny_data(true);
    ssn::Trainer trainer(net, config);
    std::atomic<bool> cancel{false};
    int steps = 0;
    SSN_CHECK_THROWS_CODE(trainer.fit(
                              data, [&](const ssn::TrainProgress&) { cancel = ++steps == 3; }, &cancel),
                          ssn::ErrorCode::Aborted);
    SSN_CHECK(trainer.epoch() == 1 && trainer.step_in_epoch() == 1);
    saved = trainer.export_state();
  }
  SSN_CHECK(saved.count("train.order") == 1 && saved.count("train.sampler.frequency") == 1);
  torch::manual_seed(99);  // the fresh network's own initialisation must not matter
  ssn::SuperSimpleNet net(ssn::BackboneArch::ResNet18, kSize, kSize);
  net->backbone()->load_native_weights([] {
    const ssn::SuperSimpleNet original = tiny_net();
    ssn::NamedTensors w;
    for (const auto& p : original->backbone()->named_parameters(true)) w[p.key()] = p.value().detach().clone();
    for (const auto& b : original->backbone()->named_buffers(true)) w[b.key()] = b.value().detach().clone();
    return w;
  }());
  ssn::TensorDataSource data = tiny_data(true);
  ssn::Trainer resumed(net, config);
  resumed.import_state(saved);
  SSN_CHECK(resumed.epoch() == 1 && resumed.step_in_epoch() == 1);
  int steps = 0;
  resumed.fit(data, [&](const ssn::TrainProgress&) { ++steps; });
  SSN_CHECK(steps == 1 && resumed.finished());
  SSN_CHECK(same_state(straight, resumed.export_state()));
  // A state missing an entry is refused.
  ssn::NamedTensors broken = saved;
  broken.erase("train.rng.data");
  ssn::Trainer other(tiny_net(), config);
  SSN_CHECK_THROWS_CODE(other.import_state(broken), ssn::ErrorCode::Checkpoint);
}

SSN_TEST(train_loop_rejects_bad_data) {
  ssn::SuperSimpleNet net = tiny_net();
  ssn::Trainer trainer(net, tiny_config("unsupervised", 1, 2));
  ssn::TensorDataSource wrong_size(torch::zeros({2, 3, 16, 16}), torch::Tensor(), torch::zeros({2}));
  SSN_CHECK_THROWS_CODE(trainer.fit(wrong_size), ssn::ErrorCode::Shape);
  ssn::Trainer supervised(net, tiny_config("supervised", 1, 2));
  ssn::TensorDataSource normal_only = tiny_data(false);
  SSN_CHECK_THROWS_CODE(supervised.fit(normal_only), ssn::ErrorCode::Input);
  SSN_CHECK_THROWS_CODE(ssn::TensorDataSource(torch::zeros({2, 3, 8, 8}), torch::Tensor(), torch::zeros({3})),
                        ssn::ErrorCode::Shape);
}
