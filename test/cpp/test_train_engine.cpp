// Engine::train on a random resnet18 at 32x32: the 8-bit training set (resize, masks), the feature cache
// (same weights as without it), cancel + resume and checkpoints (same weights as straight through), the
// saved bundle with and without the training state, a calibration cleared by training, and input errors.
#include <unistd.h>
#include <atomic>
#include <cstdio>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "api/engine.h"
#include "api/train_set.h"
#include "common/error.h"
#include "common/precision.h"
#include "data/resize_nearest.h"
#include "io/checkpoint.h"
#include "io/json.h"
#include "test_framework.h"
#include "train/mixed_precision.h"
#include "train/train_config.h"

namespace {

constexpr int64_t kSize = 32;

std::unique_ptr<ssn::Engine> tiny_engine() {
  ssn::CreateOptions o;
  o.arch = ssn::BackboneArch::ResNet18;
  o.random_backbone = true;
  o.image_h = kSize;
  o.image_w = kSize;
  o.device = ssn::DevicePreference::Cpu;
  o.seed = 5;
  return ssn::Engine::create(o);
}

// Images of various sizes (40x36 RGB, 20x24 gray): the set resizes them. Item 5 is anomalous with a mask.
struct Pixels {
  std::vector<std::vector<uint8_t>> images, masks;
  std::vector<ssn::ImageU8> views, mask_views;
};

Pixels make_pixels(int count) {
  Pixels p;
  for (int i = 0; i < count; ++i) {
    const bool gray = i % 2 == 1;
    const int64_t w = gray ? 20 : 40, h = gray ? 24 : 36, c = gray ? 1 : 3;
    std::vector<uint8_t> img(w * h * c);
    for (size_t k = 0; k < img.size(); ++k) img[k] = static_cast<uint8_t>((k * 31 + i * 17) % 251);
    p.images.push_back(std::move(img));
    std::vector<uint8_t> mask(w * h, 0);
    for (int64_t y = h / 4; y < h / 2; ++y)
      for (int64_t x = w / 4; x < w / 2; ++x) mask[y * w + x] = 255;
    p.masks.push_back(std::move(mask));
  }
  for (int i = 0; i < count; ++i) {
    const bool gray = i % 2 == 1;
    const int64_t w = gray ? 20 : 40, h = gray ? 24 : 36;
    p.views.push_back(ssn::ImageU8{p.images[i].data(), w, h, gray ? 1 : 3});
    p.mask_views.push_back(ssn::ImageU8{p.masks[i].data(), w, h, 1});
  }
  return p;
}

ssn::TrainSet make_set(const Pixels& p, bool with_anomaly) {
  ssn::TrainSet set(kSize, kSize);
  for (size_t i = 0; i < p.views.size(); ++i) {
    const bool anomalous = with_anomaly && i == 5;
    set.add(p.views[i], anomalous ? &p.mask_views[i] : nullptr, anomalous ? 1 : 0);
  }
  return set;
}

std::string config_json(int64_t epochs, int64_t batch, const std::string& setting = "unsupervised",
                        const std::string& precision = "fp32") {
  return "{\"setting\":\"" + setting + "\",\"epochs\":" + std::to_string(epochs) +
         ",\"batch_size\":" + std::to_string(batch) + ",\"seg_lr\":0.001,\"dec_lr\":0.001,\"precision\":\"" +
         precision + "\"}";
}

ssn::NamedTensors heads(ssn::Engine& e) {
  ssn::NamedTensors out;
  for (const auto& [k, t] : e.network()->head_state()) out[k] = t.detach().clone();
  return out;
}

bool same_tensors(const ssn::NamedTensors& a, const ssn::NamedTensors& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [k, t] : a) {
    const auto it = b.find(k);
    if (it == b.end() || !torch::equal(t.to(torch::kCPU), it->second.to(torch::kCPU))) return false;
  }
  return true;
}

std::string temp_path(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/ssn_train_engine_" + std::to_string(::getpid()) + "_" + name;
}

}  // namespace

SSN_TEST(train_nearest_resize_matches_opencv_offsets) {
  // 3 -> 7: OpenCV picks floor(x * 3/7): 0 0 0 1 1 2 2.
  const std::vector<uint8_t> src{10, 20, 30};
  const std::vector<uint8_t> up = ssn::resize_nearest_u8(src.data(), 1, 3, 1, 1, 7);
  SSN_CHECK((up == std::vector<uint8_t>{10, 10, 10, 20, 20, 30, 30}));
  // 5 -> 2: floor(x * 2.5): 0, 2.
  const std::vector<uint8_t> five{1, 2, 3, 4, 5};
  SSN_CHECK((ssn::resize_nearest_u8(five.data(), 5, 1, 1, 2, 1) == std::vector<uint8_t>{1, 3}));
}

SSN_TEST(train_set_resizes_images_and_thresholds_masks) {
  Pixels p = make_pixels(6);
  ssn::TrainSet set = make_set(p, true);
  SSN_CHECK(set.size() == 6 && set.count(0) == 5 && set.count(1) == 1);
  SSN_CHECK(set.image(1).sizes() == torch::IntArrayRef({3, kSize, kSize}));
  // Gray images are replicated to RGB.
  SSN_CHECK(torch::equal(set.image(1)[0], set.image(1)[2]));
  SSN_CHECK(!set.mask(0).defined());
  const torch::Tensor m = set.mask(5);
  SSN_CHECK(m.max().item<int64_t>() == 1 && m.min().item<int64_t>() == 0);
  // Mask 24x20 region rows [6,12), cols [5,10) -> nearest at 32x32: rows 8..15, cols 8..15 set.
  SSN_CHECK(m[10][10].item<int64_t>() == 1 && m[2][2].item<int64_t>() == 0 && m[20][20].item<int64_t>() == 0);

  ssn::ImageU8 small_mask{p.masks[0].data(), 10, 10, 1};
  SSN_CHECK_THROWS_CODE(set.add(p.views[0], &small_mask, 1), ssn::ErrorCode::Input);
  SSN_CHECK_THROWS_CODE(set.add(p.views[0], nullptr, 2), ssn::ErrorCode::Input);
  SSN_CHECK(set.size() == 6);
}

SSN_TEST(train_engine_trains_and_reports_progress) {
  auto engine = tiny_engine();
  const ssn::NamedTensors before = heads(*engine);
  Pixels p = make_pixels(6);
  ssn::TrainSet set = make_set(p, false);
  ssn::TrainOptions o;
  o.config_json = config_json(2, 4);
  int reports = 0;
  const ssn::TrainSummary s = engine->train(set, o, [&](const ssn::TrainProgress& pr) {
    reports += 1;
    SSN_CHECK(pr.epochs == 2 && pr.steps_per_epoch == 2 && pr.batch == (pr.step == 1 ? 4 : 2));
  });
  SSN_CHECK(reports == 4 && s.steps == 4 && s.images == 12 && s.epochs == 2 && !s.resumed);
  SSN_CHECK(s.cached_features);  // 6 tiny samples fit the default budget
  SSN_CHECK(std::isfinite(s.last.loss) && s.last.loss > 0);
  SSN_CHECK(!same_tensors(before, heads(*engine)));
  SSN_CHECK(engine->config().heads_trained);
  const ssn::Json info = ssn::Json::parse(engine->info_json());
  SSN_CHECK(info.at("training").at("finished").as_bool() && info.at("training").at("epoch").as_int() == 2);
  SSN_CHECK(info.at("training").at("config").at("seg_lr").as_number() == 0.001);
}

SSN_TEST(train_feature_cache_gives_the_same_weights) {
  Pixels p = make_pixels(6);
  ssn::TrainSet set = make_set(p, true);
  ssn::NamedTensors results[2];
  for (int cached = 0; cached < 2; ++cached) {
    auto engine = tiny_engine();
    ssn::TrainOptions o;
    o.config_json = config_json(2, 4, "supervised").replace(0, 1, "{\"flips\":false,");
    o.cache_features = cached ? ssn::FeatureCache::On : ssn::FeatureCache::Off;
    const ssn::TrainSummary s = engine->train(set, o);
    SSN_CHECK(s.cached_features == (cached == 1));
    results[cached] = heads(*engine);
  }
  SSN_CHECK(same_tensors(results[0], results[1]));
  // The cache needs un-augmented samples: "on" with supervised flips is refused, "auto" quietly skips it.
  auto engine = tiny_engine();
  ssn::TrainOptions o;
  o.config_json = config_json(1, 4, "supervised");
  o.cache_features = ssn::FeatureCache::On;
  SSN_CHECK_THROWS_CODE(engine->train(set, o), ssn::ErrorCode::Config);
  o.cache_features = ssn::FeatureCache::Auto;
  SSN_CHECK(!engine->train(set, o).cached_features);
  // A budget too small for the cache turns it off.
  auto small = tiny_engine();
  o.config_json = config_json(1, 4);
  o.cache_budget_bytes = 1024;
  SSN_CHECK(!small->train(set, o).cached_features);
}

static void check_resume_matches_straight_run(const std::string& precision);

// In both CPU precisions: resume is exact within a precision.
SSN_TEST(train_cancel_checkpoint_and_resume_match_a_straight_run) {
  for (const std::string precision : {"fp32", "bf16"}) check_resume_matches_straight_run(precision);
}

static void check_resume_matches_straight_run(const std::string& precision) {
  Pixels p = make_pixels(6);
  ssn::TrainSet set = make_set(p, false);
  ssn::TrainOptions o;
  o.config_json = config_json(3, 4, "unsupervised", precision);

  auto straight = tiny_engine();
  straight->train(set, o);
  const ssn::NamedTensors want = heads(*straight);

  // Cancelled after 3 steps (epoch 1, step 1), saved with its state, loaded, resumed.
  auto first = tiny_engine();
  std::atomic<bool> cancel{false};
  int steps = 0;
  ssn::TrainOptions with_ckpt = o;
  with_ckpt.checkpoint_path = temp_path("ckpt.safetensors");
  with_ckpt.checkpoint_every = 1;
  SSN_CHECK_THROWS_CODE(first->train(
                            set, with_ckpt,
                            [&](const ssn::TrainProgress&) {
                              if (++steps == 3) cancel = true;
                            },
                            &cancel),
                        ssn::ErrorCode::Aborted);
  SSN_CHECK(ssn_test::file_exists(with_ckpt.checkpoint_path));
  const std::string state_path = temp_path("state.safetensors");
  first->save(state_path, true);
  auto resumed = ssn::Engine::load(state_path, ssn::DevicePreference::Cpu);
  const ssn::TrainSummary s = resumed->train(set, o);
  SSN_CHECK(s.resumed && s.steps == 3 && s.epochs == 3);
  SSN_CHECK(same_tensors(want, heads(*resumed)));

  // The same from the epoch-1 checkpoint, through TrainOptions::resume_path on a fresh model.
  auto fresh = tiny_engine();
  ssn::TrainOptions from_ckpt = o;
  from_ckpt.resume_path = with_ckpt.checkpoint_path;
  SSN_CHECK(fresh->train(set, from_ckpt).steps == 4);
  SSN_CHECK(same_tensors(want, heads(*fresh)));

  // In-memory resume after a cancel: the same engine continues.
  auto again = tiny_engine();
  cancel = false;
  steps = 0;
  SSN_CHECK_THROWS_CODE(again->train(
                            set, o,
                            [&](const ssn::TrainProgress&) {
                              if (++steps == 2) cancel = true;
                            },
                            &cancel),
                        ssn::ErrorCode::Aborted);
  cancel = false;
  SSN_CHECK_THROWS_CODE(again->train(set, ssn::TrainOptions{config_json(5, 4, "unsupervised", precision)}),
                        ssn::ErrorCode::Config);
  SSN_CHECK(again->train(set, o).resumed);
  SSN_CHECK(same_tensors(want, heads(*again)));

  // The final model carries no optimizer state unless asked; a checkpoint does.
  const std::string final_path = temp_path("final.safetensors");
  straight->save(final_path);
  size_t train_keys = 0;
  for (const auto& kv : ssn::read_safetensors(final_path).tensors) train_keys += kv.first.rfind("train.", 0) == 0;
  SSN_CHECK(train_keys == 0);
  for (const auto& kv : ssn::read_safetensors(with_ckpt.checkpoint_path).tensors)
    train_keys += kv.first.rfind("train.", 0) == 0;
  SSN_CHECK(train_keys > 0);
  auto plain = ssn::Engine::load(final_path, ssn::DevicePreference::Cpu);
  SSN_CHECK(plain->config().heads_trained && same_tensors(want, heads(*plain)));
  for (const std::string& f : {with_ckpt.checkpoint_path, state_path, final_path}) std::remove(f.c_str());
}

SSN_TEST(train_engine_rejects_bad_input) {
  auto engine = tiny_engine();
  Pixels p = make_pixels(2);
  ssn::TrainSet anomalous_only(kSize, kSize);
  anomalous_only.add(p.views[0], &p.mask_views[0], 1);
  ssn::TrainOptions o;
  o.config_json = config_json(1, 2);
  SSN_CHECK_THROWS_CODE(engine->train(anomalous_only, o), ssn::ErrorCode::Input);
  SSN_CHECK_THROWS_CODE(engine->train(ssn::TrainSet(kSize, kSize), o), ssn::ErrorCode::Input);
  ssn::TrainSet other_size(16, 16);
  other_size.add(p.views[0], nullptr, 0);
  SSN_CHECK_THROWS_CODE(engine->train(other_size, o), ssn::ErrorCode::Shape);
  ssn::TrainSet ok = make_set(p, false);
  o.config_json = "{\"epochs\": 0}";
  SSN_CHECK_THROWS_CODE(engine->train(ok, o), ssn::ErrorCode::Config);
  o.config_json = "{\"unknown_key\": 1}";
  SSN_CHECK_THROWS_CODE(engine->train(ok, o), ssn::ErrorCode::Config);
  o.config_json = "{";
  SSN_CHECK_THROWS_CODE(engine->train(ok, o), ssn::ErrorCode::Config);
  o.config_json = config_json(1, 2);
  o.checkpoint_every = 1;  // no path
  SSN_CHECK_THROWS_CODE(engine->train(ok, o), ssn::ErrorCode::Config);
  o.checkpoint_every = 0;
  o.resume_path = temp_path("missing.safetensors");
  SSN_CHECK(engine->train(ok, ssn::TrainOptions{config_json(1, 2)}).steps == 1);
  bool failed = false;
  try {
    engine->train(ok, o);
  } catch (const ssn::Error&) {
    failed = true;
  }
  SSN_CHECK(failed);
}

SSN_TEST(train_clears_the_calibration_that_save_and_load_keep) {
  auto engine = tiny_engine();
  ssn::Calibration c;
  c.quantile = 0.9;
  c.image_threshold = 0.25;
  c.pixel_threshold = 1;
  c.map_low = -1;
  c.map_high = 2;
  c.normal = 3;
  engine->set_calibration(c);
  SSN_CHECK(ssn::Json::parse(engine->info_json()).at("calibration").at("image_threshold").as_number() == 0.25);
  const std::string path = temp_path("calibrated.safetensors");
  engine->save(path);
  auto loaded = ssn::Engine::load(path, ssn::DevicePreference::Cpu);
  SSN_CHECK(loaded->calibration() && loaded->calibration()->to_json().dump() == c.to_json().dump());

  // A run that fails before it changes the weights keeps the calibration; one that trains clears it.
  Pixels p = make_pixels(4);
  ssn::TrainSet set = make_set(p, false);
  ssn::TrainOptions missing{config_json(1, 2)};
  missing.resume_path = temp_path("missing.safetensors");
  SSN_CHECK_THROWS_CODE(loaded->train(set, missing), ssn::ErrorCode::Io);
  SSN_CHECK(loaded->calibration().has_value());
  loaded->train(set, ssn::TrainOptions{config_json(1, 2)});
  SSN_CHECK(!loaded->calibration().has_value());
  SSN_CHECK(ssn::Json::parse(loaded->info_json()).at("calibration").is_null());
  loaded->save(path);
  SSN_CHECK(!ssn::Engine::load(path, ssn::DevicePreference::Cpu)->calibration().has_value());
  std::remove(path.c_str());
}

SSN_TEST(train_bf16_keeps_fp32_weights_moments_and_losses) {
  Pixels p = make_pixels(6);
  ssn::TrainSet set = make_set(p, false);
  double first_loss[2] = {0, 0};
  const std::string precisions[2] = {"fp32", "bf16"};
  for (int i = 0; i < 2; ++i) {
    auto engine = tiny_engine();
    ssn::TrainOptions o;
    o.config_json = config_json(1, 6, "unsupervised", precisions[i]);
    bool reported = false;
    const ssn::TrainSummary s = engine->train(set, o, [&](const ssn::TrainProgress& pr) {
      first_loss[i] = pr.losses.loss;
      reported = pr.precision == ssn::parse_precision(precisions[i]);
    });
    SSN_CHECK(reported);
    SSN_CHECK(s.config_json.find("\"precision\":\"" + precisions[i] + "\"") != std::string::npos);
    SSN_CHECK(s.precision_reason.rfind(precisions[i] + " (asked for)", 0) == 0);
    engine->save(temp_path("mp.safetensors"), true);
    for (const auto& [name, t] : ssn::read_safetensors(temp_path("mp.safetensors")).tensors) {
      if (t.is_floating_point())
        SSN_CHECK_MSG(t.scalar_type() == torch::kFloat32 || t.scalar_type() == torch::kFloat64, name);
    }
  }
  std::remove(temp_path("mp.safetensors").c_str());
  // One step from the same weights and draws: bf16 rounding moves the fp32 loss by well under 5 %.
  SSN_CHECK_CLOSE(first_loss[1], first_loss[0], 0.05 * first_loss[0]);
}

SSN_TEST(train_precision_auto_follows_the_hardware_and_fp16_needs_cuda) {
  const ssn::Bf16Support bf16 = ssn::bf16_support(torch::kCPU);
  const ssn::PrecisionChoice choice = ssn::choose_training_precision("auto", torch::kCPU);
  SSN_CHECK(choice.precision == (bf16.native ? ssn::Precision::BFloat16 : ssn::Precision::Float32));
  SSN_CHECK(choice.reason.find(bf16.what) != std::string::npos);
  SSN_CHECK_THROWS_CODE(ssn::choose_training_precision("fp16", torch::kCPU), ssn::ErrorCode::Config);
  SSN_CHECK_THROWS_CODE(ssn::choose_training_precision("fp64", torch::kCPU), ssn::ErrorCode::Input);
  Pixels p = make_pixels(2);
  ssn::TrainSet set = make_set(p, false);
  auto engine = tiny_engine();
  ssn::TrainOptions o;
  o.config_json = "{\"epochs\":1,\"batch_size\":2}";
  const ssn::TrainSummary s = engine->train(set, o);
  SSN_CHECK(s.precision_reason.find("(auto)") != std::string::npos);
  o.config_json = "{\"epochs\":1,\"precision\":\"fp16\"}";
  SSN_CHECK_THROWS_CODE(engine->train(set, o), ssn::ErrorCode::Config);
  o.config_json = "{\"epochs\":1,\"precision\":16}";
  SSN_CHECK_THROWS_CODE(engine->train(set, o), ssn::ErrorCode::Config);
}

// A budget sizes the epochs from a warm-up whose updates are undone: the run equals a plain run of the
// epochs and milestones it chose, bit for bit.
SSN_TEST(train_budget_sizes_the_schedule_and_equals_a_plain_run) {
  Pixels p = make_pixels(6);
  ssn::TrainSet set = make_set(p, false);
  auto budgeted = tiny_engine();
  ssn::TrainOptions o;
  o.config_json = config_json(300, 4);
  o.max_seconds = 2.0;
  const ssn::TrainSummary s = budgeted->train(set, o);
  SSN_CHECK(s.budget_seconds == 2.0 && s.seconds_per_step > 0);
  const ssn::TrainConfig chosen = ssn::TrainConfig::from_json(ssn::Json::parse(s.config_json));
  SSN_CHECK(chosen.epochs >= 1 && chosen.epochs < 300 && s.epochs == chosen.epochs);
  SSN_CHECK(chosen.milestones.size() == 2 && chosen.milestones[0] == std::round(0.8 * chosen.epochs) &&
            chosen.milestones[1] == std::round(0.9 * chosen.epochs));

  auto plain = tiny_engine();
  ssn::TrainOptions same;
  same.config_json = s.config_json;
  plain->train(set, same);
  SSN_CHECK(same_tensors(heads(*budgeted), heads(*plain)));

  o.max_seconds = -1;
  SSN_CHECK_THROWS_CODE(tiny_engine()->train(set, o), ssn::ErrorCode::Config);
}

// Absurd learning rates make the heads' outputs overflow: a clear Config error naming the cause, not
// libtorch's complaint about the loss's input range.
SSN_TEST(train_divergence_is_a_config_error_that_names_the_cause) {
  Pixels p = make_pixels(6);
  ssn::TrainSet set = make_set(p, false);
  auto engine = tiny_engine();
  ssn::TrainOptions o;
  o.config_json =
      "{\"epochs\":20,\"batch_size\":3,\"adapt_lr\":1e30,\"seg_lr\":1e30,\"dec_lr\":1e30,\"precision\":\"fp32\"}";
  bool thrown = false;
  try {
    engine->train(set, o);
  } catch (const ssn::Error& e) {
    thrown = true;
    SSN_CHECK_MSG(e.code() == ssn::ErrorCode::Config, e.what());
    SSN_CHECK_MSG(std::string(e.what()).find("training diverged") != std::string::npos, e.what());
    SSN_CHECK(e.hint().find("learning rates") != std::string::npos);
  }
  SSN_CHECK(thrown);
}
