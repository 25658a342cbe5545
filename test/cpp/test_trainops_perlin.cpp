// Perlin noise (spec section 6) against a scalar re-evaluation of the formula, and the mask generator.
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <set>

#include "common/error.h"
#include "ops/perlin.h"
#include "test_framework.h"

namespace {

constexpr double kTwoPi = 2.0 * 3.14159265358979323846;

at::Generator cpu_generator(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

// The spec formula, one pixel at a time in double precision.
double perlin_reference(int64_t i, int64_t j, int64_t hp, int64_t wp, int64_t rx, int64_t ry,
                        const torch::Tensor& angles) {
  const int64_t dx = hp / rx, dy = wp / ry, a = i / dx, b = j / dy;
  const double u = std::fmod(static_cast<double>(i) * rx / hp, 1.0),
               v = std::fmod(static_cast<double>(j) * ry / wp, 1.0);
  auto grad_dot = [&](int64_t ca, int64_t cb, double du, double dv) {
    const double th = angles[ca][cb].item<double>();
    return std::cos(th) * du + std::sin(th) * dv;
  };
  const double n00 = grad_dot(a, b, u, v), n10 = grad_dot(a + 1, b, u - 1, v);
  const double n01 = grad_dot(a, b + 1, u, v - 1), n11 = grad_dot(a + 1, b + 1, u - 1, v - 1);
  auto fade = [](double t) { return 6 * std::pow(t, 5) - 15 * std::pow(t, 4) + 10 * std::pow(t, 3); };
  auto lerp = [](double x, double y, double w) { return x + w * (y - x); };
  const double tu = fade(u), tv = fade(v);
  return std::sqrt(2.0) * lerp(lerp(n00, n10, tu), lerp(n01, n11, tu), tv);
}

void check_against_reference(int64_t hp, int64_t wp, int64_t rx, int64_t ry, uint64_t seed) {
  const torch::Tensor angles = kTwoPi * torch::rand({rx + 1, ry + 1}, cpu_generator(seed));
  const torch::Tensor noise = ssn::perlin_noise(hp, wp, rx, ry, angles);
  SSN_CHECK(noise.sizes() == at::IntArrayRef({hp, wp}));
  for (int64_t i = 0; i < hp; ++i) {
    for (int64_t j = 0; j < wp; ++j) {
      SSN_CHECK_CLOSE(noise[i][j].item<double>(), perlin_reference(i, j, hp, wp, rx, ry, angles), 2e-6);
    }
  }
}

}  // namespace

SSN_TEST(trainops_perlin_matches_formula) {
  check_against_reference(4, 4, 1, 1, 1);
  check_against_reference(8, 4, 2, 4, 2);  // anisotropic cells
  check_against_reference(16, 8, 4, 1, 3);
  check_against_reference(4, 4, 4, 4, 4);  // one pixel per cell: lattice points only
  // Lattice points are zero whatever the gradients.
  const torch::Tensor noise = ssn::perlin_noise(8, 8, 2, 2, torch::full({3, 3}, 1.234f));
  for (int64_t i = 0; i < 8; i += 4) {
    for (int64_t j = 0; j < 8; j += 4) SSN_CHECK(noise[i][j].item<float>() == 0.0f);
  }
  // Hand values on a 2x2 canvas, one cell, at pixel (1,1) where u = v = 1/2 and fade(1/2) = 1/2:
  // all gradients (1,0): n00 = n01 = 1/2, n10 = n11 = -1/2 -> sqrt(2) * 0 = 0;
  // gradients (1,0) on row 0 and (-1,0) on row 1: every n = 1/2 -> sqrt(2) / 2.
  SSN_CHECK(ssn::perlin_noise(2, 2, 1, 1, torch::zeros({2, 2}))[1][1].item<float>() == 0.0f);
  const torch::Tensor theta = torch::tensor({0.0f, 0.0f, 3.14159265f, 3.14159265f}).view({2, 2});
  SSN_CHECK_CLOSE(ssn::perlin_noise(2, 2, 1, 1, theta)[1][1].item<double>(), std::sqrt(2.0) / 2, 1e-6);
}

SSN_TEST(trainops_perlin_batched_and_range) {
  auto gen = cpu_generator(11);
  for (const int64_t r : {1, 2, 4, 8, 16, 32, 64}) {
    const torch::Tensor angles = kTwoPi * torch::rand({5, r + 1, r + 1}, gen);
    const torch::Tensor noise = ssn::perlin_noise(64, 64, r, r, angles);
    SSN_CHECK(noise.sizes() == at::IntArrayRef({5, 64, 64}));
    // Batched and single evaluations may differ in the last bit (vectorised vs scalar cos/sin tails).
    SSN_CHECK(torch::allclose(noise[3], ssn::perlin_noise(64, 64, r, r, angles[3]), 0.0, 1e-6));
    SSN_CHECK(noise.min().item<float>() >= -1.05f && noise.max().item<float>() <= 1.05f);
    if (r < 64) SSN_CHECK(noise.abs().max().item<float>() > 0.3f);  // not degenerate
  }
}

SSN_TEST(trainops_perlin_draws_cover_scales) {
  const auto draws = ssn::draw_perlin(600, 64, 64, cpu_generator(5));
  SSN_CHECK(draws.size() == 600);
  std::set<int64_t> rx, ry;
  int replaced = 0;
  for (const auto& d : draws) {
    rx.insert(d.rx);
    ry.insert(d.ry);
    replaced += d.replace ? 1 : 0;
    SSN_CHECK(d.angles.sizes() == at::IntArrayRef({d.rx + 1, d.ry + 1}));
    SSN_CHECK(d.angles.min().item<double>() >= 0.0 && d.angles.max().item<double>() < kTwoPi);
  }
  const std::set<int64_t> all_scales = {1, 2, 4, 8, 16, 32};
  SSN_CHECK(rx == all_scales && ry == all_scales);
  SSN_CHECK_MSG(replaced > 240 && replaced < 360, replaced);  // u > 0.5 in about half the draws
}

SSN_TEST(trainops_perlin_small_maps_cap_the_scale) {
  const auto draws = ssn::draw_perlin(200, 8, 2, cpu_generator(6));
  std::set<int64_t> rx, ry;
  for (const auto& d : draws) {
    rx.insert(d.rx);
    ry.insert(d.ry);
  }
  SSN_CHECK((rx == std::set<int64_t>{1, 2, 4, 8}));
  SSN_CHECK((ry == std::set<int64_t>{1, 2}));
  for (const auto& [fh, fw] : std::vector<std::pair<int64_t, int64_t>>{{8, 8}, {5, 3}, {1, 1}, {36, 36}, {160, 58}}) {
    const torch::Tensor masks = ssn::perlin_masks(24, fh, fw, 0.2, ssn::NoAnomalyRule::None, cpu_generator(7));
    SSN_CHECK(masks.sizes() == at::IntArrayRef({24, 1, fh, fw}));
    SSN_CHECK(torch::equal(masks, (masks > 0.5).to(torch::kFloat32)));  // binary
  }
}

SSN_TEST(trainops_perlin_masks_compose_resize_and_threshold) {
  const int64_t fh = 36, fw = 20;  // canvas 64 x 32
  const auto draws = ssn::draw_perlin(6, 64, 32, cpu_generator(8));
  const torch::Tensor masks = ssn::perlin_masks_from_draws(draws, fh, fw, 0.2, ssn::NoAnomalyRule::None);
  for (size_t k = 0; k < draws.size(); ++k) {
    const torch::Tensor noise =
        ssn::perlin_noise(64, 32, draws[k].rx, draws[k].ry, draws[k].angles).view({1, 1, 64, 32});
    const torch::Tensor resized =
        torch::nn::functional::interpolate(noise, torch::nn::functional::InterpolateFuncOptions()
                                                      .size(std::vector<int64_t>{fh, fw})
                                                      .mode(torch::kBilinear)
                                                      .align_corners(false));
    // Equal except where the value sits within float noise of the threshold (batched vs single evaluation).
    const torch::Tensor differ = masks[static_cast<int64_t>(k)] != (resized[0] > 0.2).to(torch::kFloat32);
    SSN_CHECK((differ & ((resized[0] - 0.2).abs() > 1e-5)).sum().item<int64_t>() == 0);
  }
}

SSN_TEST(trainops_perlin_no_anomaly_rules) {
  const auto draws = ssn::draw_perlin(400, 32, 32, cpu_generator(9));
  const torch::Tensor none = ssn::perlin_masks_from_draws(draws, 32, 32, 0.2, ssn::NoAnomalyRule::None);
  const torch::Tensor empty = ssn::perlin_masks_from_draws(draws, 32, 32, 0.2, ssn::NoAnomalyRule::Empty);
  const torch::Tensor full = ssn::perlin_masks_from_draws(draws, 32, 32, 0.2, ssn::NoAnomalyRule::Full);
  int replaced = 0;
  for (size_t k = 0; k < draws.size(); ++k) {
    const auto i = static_cast<int64_t>(k);
    if (draws[k].replace) {
      ++replaced;
      SSN_CHECK(empty[i].sum().item<float>() == 0.0f);
      SSN_CHECK(full[i].min().item<float>() == 1.0f);
    } else {
      SSN_CHECK(torch::equal(empty[i], none[i]) && torch::equal(full[i], none[i]));
    }
  }
  SSN_CHECK_MSG(replaced > 160 && replaced < 240, replaced);
  // Fraction of Perlin values above 0.2 (about a quarter) and above 0.6 (a few percent).
  const double above_02 = none.mean().item<double>();
  const double above_06 =
      ssn::perlin_masks_from_draws(draws, 32, 32, 0.6, ssn::NoAnomalyRule::None).mean().item<double>();
  SSN_CHECK_MSG(above_02 > 0.12 && above_02 < 0.35, above_02);
  SSN_CHECK_MSG(above_06 > 0.002 && above_06 < 0.08, above_06);
  // Under the official rule about half of the masks are empty (some kept masks are empty too).
  const double empty_share = (empty.view({400, -1}).amax(1) == 0).to(torch::kFloat64).mean().item<double>();
  SSN_CHECK_MSG(empty_share >= 0.4 && empty_share < 0.75, empty_share);
}

SSN_TEST(trainops_perlin_seeded_runs_repeat) {
  const torch::Tensor a = ssn::perlin_masks(8, 32, 48, 0.6, ssn::NoAnomalyRule::Empty, cpu_generator(10));
  const torch::Tensor b = ssn::perlin_masks(8, 32, 48, 0.6, ssn::NoAnomalyRule::Empty, cpu_generator(10));
  SSN_CHECK(torch::equal(a, b));
  const torch::Tensor c = ssn::perlin_masks(64, 32, 48, 0.2, ssn::NoAnomalyRule::None, cpu_generator(10));
  const torch::Tensor d = ssn::perlin_masks(64, 32, 48, 0.2, ssn::NoAnomalyRule::None, cpu_generator(12));
  SSN_CHECK(!torch::equal(c, d));
}

SSN_TEST(trainops_perlin_rejects_bad_input) {
  SSN_CHECK_THROWS_CODE(ssn::perlin_noise(8, 8, 3, 2, torch::zeros({4, 3})), ssn::ErrorCode::Shape);
  SSN_CHECK_THROWS_CODE(ssn::perlin_noise(8, 8, 16, 2, torch::zeros({17, 3})), ssn::ErrorCode::Shape);
  SSN_CHECK_THROWS_CODE(ssn::perlin_noise(8, 8, 2, 2, torch::zeros({2, 3})), ssn::ErrorCode::Shape);
  SSN_CHECK_THROWS_CODE(ssn::perlin_noise(8, 8, 2, 2, torch::zeros({3, 3}, torch::kFloat64)), ssn::ErrorCode::Input);
  SSN_CHECK_THROWS_CODE(ssn::perlin_masks(4, 0, 8, 0.2, ssn::NoAnomalyRule::Empty, cpu_generator(1)),
                        ssn::ErrorCode::Shape);
  SSN_CHECK_THROWS_CODE(ssn::draw_perlin(-1, 8, 8, cpu_generator(1)), ssn::ErrorCode::Shape);
  SSN_CHECK_THROWS_CODE(ssn::parse_no_anomaly_rule("sometimes"), ssn::ErrorCode::Config);
  SSN_CHECK(ssn::parse_no_anomaly_rule("empty") == ssn::NoAnomalyRule::Empty);
  SSN_CHECK(ssn::parse_no_anomaly_rule("full") == ssn::NoAnomalyRule::Full);
  SSN_CHECK(ssn::parse_no_anomaly_rule("none") == ssn::NoAnomalyRule::None);
  SSN_CHECK(ssn::next_power_of_two(1) == 1 && ssn::next_power_of_two(36) == 64 && ssn::next_power_of_two(64) == 64);
}
