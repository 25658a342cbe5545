// Truncated L1 and focal losses (spec section 7) against values worked out by hand.
#include <cmath>

#include "common/error.h"
#include "test_framework.h"
#include "train/losses.h"

namespace {

// BCE * (1 - p_t)^4 for one element, in double.
double focal_term(double p, double t) {
  const double ce = -(t * std::max(std::log(p), -100.0) + (1 - t) * std::max(std::log(1 - p), -100.0));
  const double pt = p * t + (1 - p) * (1 - t);
  return ce * std::pow(1 - pt, 4);
}

}  // namespace

SSN_TEST(trainops_truncated_l1_by_hand) {
  // 2x1x2x2 logits; target pixels: three anomalous, five normal.
  const torch::Tensor m = torch::tensor({-1.0f, -0.2f, 0.3f, 1.0f, 0.7f, -0.6f, 0.1f, -0.5f}).view({2, 1, 2, 2});
  const torch::Tensor t = torch::tensor({0.0f, 0.0f, 1.0f, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f}).view({2, 1, 2, 2});
  // normal m: -1, -0.2, 0.7, 0.1, -0.5 -> relu(m + 0.5): 0, 0.3, 1.2, 0.6, 0 -> mean 2.1 / 5 = 0.42
  // anomalous m: 0.3, 1.0, -0.6 -> relu(0.5 - m): 0.2, 0, 1.1 -> mean 1.3 / 3
  SSN_CHECK_CLOSE(ssn::truncated_l1_loss(m, t).item<double>(), 0.42 + 1.3 / 3.0, 1e-6);
  // Integer targets work the same.
  SSN_CHECK_CLOSE(ssn::truncated_l1_loss(m, t.to(torch::kLong)).item<double>(), 0.42 + 1.3 / 3.0, 1e-6);
  // Empty anomalous set: only the normal term (no NaN from an empty mean).
  const torch::Tensor all_normal = torch::zeros_like(t);
  // relu(m + 0.5) over all: 0, 0.3, 0.8, 1.5, 1.2, 0, 0.6, 0 -> 4.4 / 8
  SSN_CHECK_CLOSE(ssn::truncated_l1_loss(m, all_normal).item<double>(), 4.4 / 8.0, 1e-6);
  // Empty normal set: relu(0.5 - m) over all: 1.5, 0.7, 0.2, 0, 0, 1.1, 0.4, 1.0 -> 4.9 / 8
  SSN_CHECK_CLOSE(ssn::truncated_l1_loss(m, torch::ones_like(t)).item<double>(), 4.9 / 8.0, 1e-6);
}

SSN_TEST(trainops_truncated_l1_gradient) {
  const torch::Tensor m = torch::tensor({-1.0f, -0.2f, 0.3f, 1.0f}).view({1, 1, 2, 2}).requires_grad_(true);
  const torch::Tensor t = torch::tensor({0.0f, 0.0f, 1.0f, 1.0f}).view({1, 1, 2, 2});
  ssn::truncated_l1_loss(m, t).backward();
  // normal: -1 (inactive), -0.2 (active, +1/2); anomalous: 0.3 (active, -1/2), 1.0 (inactive).
  const torch::Tensor want = torch::tensor({0.0f, 0.5f, -0.5f, 0.0f}).view({1, 1, 2, 2});
  SSN_CHECK(torch::allclose(m.grad(), want));
}

SSN_TEST(trainops_focal_loss_by_hand) {
  const std::vector<float> p = {0.9f, 0.2f, 0.6f, 0.01f, 0.5f, 0.999f};
  const std::vector<float> t = {1.0f, 1.0f, 0.0f, 0.0f, 1.0f, 0.0f};
  double want = 0.0;
  for (size_t i = 0; i < p.size(); ++i) want += focal_term(p[i], t[i]);
  want /= static_cast<double>(p.size());
  SSN_CHECK_CLOSE(ssn::focal_loss(torch::tensor(p), torch::tensor(t)).item<double>(), want, 1e-6);
  // e.g. p = 0.9, t = 1: -ln 0.9 * 0.1^4 = 1.0536e-5 — a confident right answer costs almost nothing.
  SSN_CHECK_CLOSE(ssn::focal_loss(torch::tensor({0.9f}), torch::tensor({1.0f})).item<double>(), 1.0536052e-5, 1e-10);
  // log clamp: p = 0 with t = 1 costs 100 * 1^4 = 100, not infinity.
  SSN_CHECK_CLOSE(ssn::focal_loss(torch::tensor({0.0f}), torch::tensor({1.0f})).item<double>(), 100.0, 1e-4);
}

SSN_TEST(trainops_total_loss_parts) {
  const torch::Tensor map = torch::tensor({-1.0f, -0.2f, 0.3f, 1.0f, 0.7f, -0.6f, 0.1f, -0.5f}).view({2, 1, 2, 2});
  const torch::Tensor mask = torch::tensor({0.0f, 0.0f, 1.0f, 1.0f, 0.0f, 0.0f, 0.0f, 0.0f}).view({2, 1, 2, 2});
  const torch::Tensor score = torch::tensor({2.0f, -3.0f});
  const torch::Tensor label = torch::tensor({1.0f, 0.0f});
  const ssn::LossParts parts = ssn::supersimplenet_loss(map, mask, score, label);
  double focal_map = 0.0;
  for (int64_t i = 0; i < 8; ++i) {
    const double logit = map.view({-1})[i].item<double>();
    focal_map += focal_term(1.0 / (1.0 + std::exp(-logit)), mask.view({-1})[i].item<double>());
  }
  focal_map /= 8.0;
  const double focal_score =
      (focal_term(1.0 / (1.0 + std::exp(-2.0)), 1.0) + focal_term(1.0 / (1.0 + std::exp(3.0)), 0.0)) / 2.0;
  SSN_CHECK_CLOSE(parts.truncated_l1.item<double>(), ssn::truncated_l1_loss(map, mask).item<double>(), 0.0);
  SSN_CHECK_CLOSE(parts.focal_map.item<double>(), focal_map, 1e-6);
  SSN_CHECK_CLOSE(parts.focal_score.item<double>(), focal_score, 1e-7);
  SSN_CHECK_CLOSE(parts.total.item<double>(),
                  parts.truncated_l1.item<double>() + parts.focal_map.item<double>() + parts.focal_score.item<double>(),
                  1e-6);
}

SSN_TEST(trainops_losses_reject_mismatched_shapes) {
  SSN_CHECK_THROWS_CODE(ssn::truncated_l1_loss(torch::zeros({2, 1, 2, 2}), torch::zeros({2, 1, 2, 3})),
                        ssn::ErrorCode::Shape);
  SSN_CHECK_THROWS_CODE(ssn::focal_loss(torch::zeros({4}), torch::zeros({2})), ssn::ErrorCode::Shape);
  SSN_CHECK_THROWS_CODE(ssn::focal_loss(torch::zeros({2}, torch::kLong), torch::zeros({2})), ssn::ErrorCode::Input);
}
