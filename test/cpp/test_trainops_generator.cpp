// The anomaly generator's noise-mask logic (spec section 6) on hand-made masks, GT downsampling, and the
// golden training steps of the official code (recorded Perlin masks -> recorded targets).
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "common/error.h"
#include "ops/noise_inject.h"
#include "test_framework.h"
#include "test_io_helpers.h"
#include "test_trainops_npz.h"
#include "train/anomaly_generator.h"
#include "train/gt_mask.h"
#include "train/losses.h"

namespace {

constexpr int64_t kB = 2, kC = 3, kH = 4, kW = 4;

torch::Tensor mask_with(std::initializer_list<std::pair<int, int>> pixels) {
  torch::Tensor m = torch::zeros({1, kH, kW});
  for (const auto& [i, j] : pixels) m[0][i][j] = 1.0f;
  return m;
}

struct Case {
  torch::Tensor a, m_gt, y_gt, perlin, noise;
};

// Sample 0 normal; sample 1 a real defect at (0,0), (0,1). Perlin masks of the four duplicated samples:
// 0: (1,1); 1: none; 2: (0,0), (3,3); 3: (0,1), (2,2).
Case hand_case() {
  Case c;
  c.a = torch::arange(kB * kC * kH * kW, torch::kFloat32).view({kB, kC, kH, kW}) / 10;
  c.m_gt = torch::stack({mask_with({}), mask_with({{0, 0}, {0, 1}})});
  c.y_gt = torch::tensor({0.0f, 1.0f});
  c.perlin =
      torch::stack({mask_with({{1, 1}}), mask_with({}), mask_with({{0, 0}, {3, 3}}), mask_with({{0, 1}, {2, 2}})});
  c.noise = torch::full({2 * kB, kC, kH, kW}, 0.25f) + torch::arange(2 * kB, torch::kFloat32).view({-1, 1, 1, 1});
  return c;
}

// The spec rules pixel by pixel.
torch::Tensor reference_noise_mask(const Case& c, const ssn::AnomalyGeneratorConfig& cfg) {
  torch::Tensor n = torch::zeros({2 * kB, 1, kH, kW});
  for (int64_t s = 0; s < 2 * kB; ++s) {
    const int64_t src = s % kB;
    for (int64_t i = 0; i < kH; ++i) {
      for (int64_t j = 0; j < kW; ++j) {
        bool on = true;
        if (!cfg.bad && c.y_gt[src].item<float>() > 0) on = false;
        if (!cfg.overlap && c.m_gt[src][0][i][j].item<float>() > 0) on = false;
        if (cfg.perlin) {
          if (c.perlin[s][0][i][j].item<float>() == 0) on = false;
        } else if (s < kB) {
          on = false;
        }
        n[s][0][i][j] = on ? 1.0f : 0.0f;
      }
    }
  }
  return n;
}

ssn::AnomalyRandom make_random(uint64_t seed) {
  ssn::AnomalyRandom r;
  r.perlin_generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  r.noise_seed = seed;
  return r;
}

}  // namespace

SSN_TEST(trainops_generator_flag_combinations) {
  const Case c = hand_case();
  for (int bits = 0; bits < 8; ++bits) {
    ssn::AnomalyGeneratorConfig cfg;
    cfg.bad = (bits & 1) != 0;
    cfg.overlap = (bits & 2) != 0;
    cfg.perlin = (bits & 4) != 0;
    ssn::AnomalyRandom random = make_random(1);
    const ssn::AnomalyInjection inject{c.perlin, c.noise};
    const ssn::AnomalyBatch out = ssn::generate_anomalies(c.a, c.m_gt, c.y_gt, cfg, random, &inject);
    const torch::Tensor n = reference_noise_mask(c, cfg);
    const torch::Tensor m2 = torch::cat({c.m_gt, c.m_gt});
    const torch::Tensor y2 = torch::cat({c.y_gt, c.y_gt});
    const torch::Tensor want_mask = ((m2 + n) > 0).to(torch::kFloat32);
    const torch::Tensor want_label = ((y2 + want_mask.view({2 * kB, -1}).amax(1)) > 0).to(torch::kFloat32);
    SSN_CHECK_MSG(torch::equal(out.target_mask, want_mask), "flags " << bits);
    SSN_CHECK_MSG(torch::equal(out.target_label, want_label), "flags " << bits);
    SSN_CHECK_MSG(torch::equal(out.perturbed, torch::cat({c.a, c.a}) + c.noise * n), "flags " << bits);
  }
}

// The official supervised flags (overlap false, bad true) written out by hand.
SSN_TEST(trainops_generator_supervised_by_hand) {
  const Case c = hand_case();
  ssn::AnomalyGeneratorConfig cfg;
  cfg.overlap = false;
  ssn::AnomalyRandom random = make_random(1);
  const ssn::AnomalyInjection inject{c.perlin, c.noise};
  const ssn::AnomalyBatch out = ssn::generate_anomalies(c.a, c.m_gt, c.y_gt, cfg, random, &inject);
  SSN_CHECK(torch::equal(out.target_mask[0], mask_with({{1, 1}})));
  SSN_CHECK(torch::equal(out.target_mask[1], mask_with({{0, 0}, {0, 1}})));
  SSN_CHECK(torch::equal(out.target_mask[2], mask_with({{0, 0}, {3, 3}})));
  SSN_CHECK(torch::equal(out.target_mask[3], mask_with({{0, 0}, {0, 1}, {2, 2}})));
  SSN_CHECK(torch::equal(out.target_label, torch::ones({4})));
  // Noise at (1,1) of sample 0, (0,0) and (3,3) of sample 2, and (2,2) of sample 3 only: (0,1) of
  // sample 3 is a real defect (no overlap).
  const torch::Tensor changed = (out.perturbed != torch::cat({c.a, c.a})).any(1);
  SSN_CHECK(changed.sum().item<int64_t>() == 4);
  SSN_CHECK(changed[0][1][1].item<bool>() && changed[2][0][0].item<bool>() && changed[2][3][3].item<bool>() &&
            changed[3][2][2].item<bool>());
  SSN_CHECK(out.perturbed[3][1][2][2].item<float>() == c.a[1][1][2][2].item<float>() + 3.25f);
}

SSN_TEST(trainops_generator_random_draws) {
  const Case c = hand_case();
  ssn::AnomalyGeneratorConfig cfg;
  ssn::AnomalyRandom random = make_random(42);
  random.noise_offset = 7;
  const torch::Tensor a = c.a.clone().requires_grad_(true);
  const ssn::AnomalyBatch out = ssn::generate_anomalies(a, c.m_gt, c.y_gt, cfg, random);
  SSN_CHECK(random.noise_offset == 8);  // one Philox stream per call
  // The Perlin masks are those of the same generator seed; the noise is the Philox stream at offset 7.
  const torch::Tensor perlin =
      ssn::perlin_masks(2 * kB, kH, kW, cfg.perlin_thr, cfg.no_anomaly, at::make_generator<at::CPUGeneratorImpl>(42));
  const torch::Tensor m2 = torch::cat({c.m_gt, c.m_gt});
  SSN_CHECK(torch::equal(out.target_mask, ((m2 + perlin) > 0).to(torch::kFloat32)));
  const torch::Tensor noise = ssn::philox_normal({2 * kB, kC, kH, kW}, cfg.noise_std, 42, 7);
  SSN_CHECK(torch::equal(out.perturbed.detach(), torch::cat({c.a, c.a}) + noise * perlin));
  // Gradients reach the features through both copies.
  out.perturbed.sum().backward();
  SSN_CHECK(torch::equal(a.grad(), torch::full_like(c.a, 2.0f)));
}

// Micro-batches and distributed ranks: the parts of a step's batch, each drawn from the step's draws, give
// the rows of the whole batch's call (copy 0 and copy 1 of their samples), whatever the split.
SSN_TEST(trainops_generator_parts_of_a_step) {
  const Case c = hand_case();
  for (const bool jims : {false, true}) {
    ssn::AnomalyGeneratorConfig cfg;
    ssn::AnomalyRandom whole_random = make_random(9), part_random = make_random(9);
    const torch::Tensor f = jims ? c.a * 2 : torch::Tensor();
    const ssn::AnomalyBatch whole = ssn::generate_anomalies(c.a, c.m_gt, c.y_gt, cfg, whole_random, nullptr, f);
    const ssn::StepDraws draws = ssn::draw_step(cfg, part_random, kB, kH, kW);
    SSN_CHECK(part_random.noise_offset == whole_random.noise_offset);
    for (int64_t first = 0; first < kB; ++first) {
      const ssn::AnomalyBatch part =
          ssn::generate_anomalies(c.a.narrow(0, first, 1), c.m_gt.narrow(0, first, 1), c.y_gt.narrow(0, first, 1), cfg,
                                  draws, first, nullptr, jims ? f.narrow(0, first, 1) : torch::Tensor());
      for (int64_t copy = 0; copy < 2; ++copy) {
        const int64_t row = copy * kB + first;
        SSN_CHECK(torch::equal(part.perturbed[copy], whole.perturbed[row]));
        SSN_CHECK(torch::equal(part.target_mask[copy], whole.target_mask[row]));
        SSN_CHECK(torch::equal(part.target_label[copy], whole.target_label[row]));
        if (jims) SSN_CHECK(torch::equal(part.perturbed_features[copy], whole.perturbed_features[row]));
      }
    }
    // A part outside the step's batch is refused.
    SSN_CHECK_THROWS_CODE(ssn::generate_anomalies(c.a, c.m_gt, c.y_gt, cfg, draws, 1), ssn::ErrorCode::Shape);
  }
}

SSN_TEST(trainops_generator_without_noise_passes_through) {
  const Case c = hand_case();
  ssn::AnomalyGeneratorConfig cfg;
  cfg.noise = false;
  ssn::AnomalyRandom random = make_random(3);
  const ssn::AnomalyBatch out = ssn::generate_anomalies(c.a, c.m_gt, c.y_gt.to(torch::kLong), cfg, random);
  SSN_CHECK(torch::equal(out.perturbed, c.a));
  SSN_CHECK(torch::equal(out.target_mask, c.m_gt));
  SSN_CHECK(torch::equal(out.target_label, c.y_gt));
  SSN_CHECK(random.noise_offset == 0);
}

SSN_TEST(trainops_generator_rejects_bad_shapes) {
  const Case c = hand_case();
  ssn::AnomalyGeneratorConfig cfg;
  ssn::AnomalyRandom random = make_random(3);
  SSN_CHECK_THROWS_CODE(ssn::generate_anomalies(c.a[0], c.m_gt, c.y_gt, cfg, random), ssn::ErrorCode::Shape);
  SSN_CHECK_THROWS_CODE(ssn::generate_anomalies(c.a, c.m_gt.squeeze(1), c.y_gt, cfg, random), ssn::ErrorCode::Shape);
  SSN_CHECK_THROWS_CODE(ssn::generate_anomalies(c.a, c.m_gt, torch::zeros({3}), cfg, random), ssn::ErrorCode::Shape);
  SSN_CHECK_THROWS_CODE(ssn::generate_anomalies(c.a.to(torch::kFloat64), c.m_gt, c.y_gt, cfg, random),
                        ssn::ErrorCode::Input);
  const ssn::AnomalyInjection short_perlin{c.perlin.narrow(0, 0, 2), torch::Tensor()};
  SSN_CHECK_THROWS_CODE(ssn::generate_anomalies(c.a, c.m_gt, c.y_gt, cfg, random, &short_perlin),
                        ssn::ErrorCode::Shape);
  const ssn::AnomalyInjection wrong_noise{torch::Tensor(), torch::zeros({2 * kB, kC + 1, kH, kW})};
  SSN_CHECK_THROWS_CODE(ssn::generate_anomalies(c.a, c.m_gt, c.y_gt, cfg, random, &wrong_noise), ssn::ErrorCode::Shape);
}

SSN_TEST(trainops_gt_mask_downsampling) {
  // 4x4 -> 2x2, bilinear, align_corners false: each output is the mean of its 2x2 block.
  // Blocks: top-left 2 of 4 set (0.5 -> 1), top-right 1 of 4 (0.25 -> 0), bottom-left 4 of 4, bottom-right 0.
  const torch::Tensor gt = torch::tensor({1.f, 1.f, 0.f, 1.f,  //
                                          0.f, 0.f, 0.f, 0.f,  //
                                          1.f, 1.f, 0.f, 0.f,  //
                                          1.f, 1.f, 0.f, 0.f})
                               .view({1, 4, 4});
  const torch::Tensor want = torch::tensor({1.f, 0.f, 1.f, 0.f}).view({1, 1, 2, 2});
  SSN_CHECK(torch::equal(ssn::downsample_gt_mask(gt, 2, 2), want));
  SSN_CHECK(torch::equal(ssn::downsample_gt_mask(gt.unsqueeze(1).to(torch::kBool), 2, 2), want));
  SSN_CHECK(torch::equal(ssn::downsample_gt_mask(gt.to(torch::kUInt8), 4, 4), gt.unsqueeze(1)));
  // A one-pixel defect vanishes at a quarter of the resolution.
  SSN_CHECK(ssn::downsample_gt_mask(torch::zeros({1, 8, 8}).index_put_({0, 3, 3}, 1.0f), 2, 2).sum().item<float>() ==
            0);
  SSN_CHECK_THROWS_CODE(ssn::downsample_gt_mask(torch::zeros({4, 4}), 2, 2), ssn::ErrorCode::Shape);
  SSN_CHECK_THROWS_CODE(ssn::downsample_gt_mask(torch::zeros({1, 2, 4, 4}), 2, 2), ssn::ErrorCode::Shape);
  SSN_CHECK_THROWS_CODE(ssn::downsample_gt_mask(gt, 0, 2), ssn::ErrorCode::Shape);
}

namespace {

// The numbers after every occurrence of "key": in the text, in order (expected.json is flat enough).
std::vector<double> numbers_after(const std::string& text, const std::string& key) {
  std::vector<double> values;
  for (size_t at = text.find("\"" + key + "\""); at != std::string::npos; at = text.find("\"" + key + "\"", at + 1)) {
    values.push_back(std::stod(text.substr(text.find(':', at) + 1)));
  }
  return values;
}

bool flag_in(const std::string& text, const std::string& key) {
  const size_t at = text.find("\"" + key + "\"");
  SSN_CHECK_MSG(at != std::string::npos, key);
  return text.compare(text.find_first_not_of(" :", text.find(':', at)), 4, "true") == 0;
}

}  // namespace

// With the recorded Perlin masks injected, the generator must hand the recorded targets to the loss,
// and the focal loss of the recorded score logits must give the recorded focal_score.
SSN_TEST(trainops_generator_golden_training_steps) {
  for (const std::string setting : {"unsupervised", "supervised"}) {
    const std::string dir = ssn_test::golden_dir() + "/train/" + setting;
    const std::string expected = ssn_test::read_bytes(dir + "/expected.json");
    SSN_CHECK_MSG(!expected.empty(), dir + "/expected.json");
    ssn::AnomalyGeneratorConfig cfg;
    cfg.perlin_thr = numbers_after(expected, "perlin_thr").at(0);
    cfg.overlap = flag_in(expected, "overlap");
    cfg.bad = flag_in(expected, "bad");
    cfg.perlin = flag_in(expected, "perlin");
    const std::vector<double> focal_scores = numbers_after(expected, "focal_score");
    SSN_CHECK(focal_scores.size() == 3);
    for (int step = 0; step < 3; ++step) {
      auto npz = ssn_test::read_npz(dir + "/step" + std::to_string(step) + ".npz");
      const torch::Tensor perlin = npz.at("perlin").to(torch::kFloat32);
      const int64_t b = npz.at("label").size(0), fh = perlin.size(2), fw = perlin.size(3), c = 2;
      const torch::Tensor gt = ssn::downsample_gt_mask(npz.at("gt_mask"), fh, fw);
      // The documented noise formula: noise[i] = float32(0.015 * sin(0.1 i + 1.7 K)) in double.
      const torch::Tensor index = torch::arange(2 * b * c * fh * fw, torch::kFloat64);
      const torch::Tensor noise =
          (0.015 * torch::sin(0.1 * index + 1.7 * step)).to(torch::kFloat32).view({2 * b, c, fh, fw});
      const torch::Tensor a = torch::randn({b, c, fh, fw});
      ssn::AnomalyRandom random = make_random(0);
      const ssn::AnomalyInjection inject{perlin, noise};
      const ssn::AnomalyBatch out = ssn::generate_anomalies(a, gt, npz.at("label"), cfg, random, &inject);
      const std::string where = setting + " step " + std::to_string(step);
      SSN_CHECK_MSG(torch::equal(out.target_mask, npz.at("target_mask").to(torch::kFloat32)), where);
      SSN_CHECK_MSG(torch::equal(out.target_label, npz.at("target_label").to(torch::kFloat32)), where);
      const double focal = ssn::focal_loss(torch::sigmoid(npz.at("score_logits")), out.target_label).item<double>();
      SSN_CHECK_MSG(std::fabs(focal - focal_scores[step]) <= 1e-5 * std::fabs(focal_scores[step]) + 1e-7,
                    where << ": focal_score " << focal << " vs " << focal_scores[step]);
    }
  }
}
