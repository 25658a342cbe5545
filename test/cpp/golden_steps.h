// Shared by the golden training-step tests (ICPR: test_train_golden.cpp, JIMS: test_train_golden_jims.cpp): the
// pinned noise formula of the fixtures and the check of one step's losses against the official ones.
#pragma once
#include <cmath>
#include <iomanip>
#include <string>

#include "io/json.h"
#include "test_framework.h"
#include "train/optimizer.h"
#include "train/train_step.h"

namespace ssn_test {

inline bool close_rel(double got, double want, double rel) {
  return std::fabs(got - want) <= rel * std::fabs(want) + 1e-9;
}

// The fixture config's learning rates (the other AdamW settings are the official defaults).
inline ssn::OptimizerConfig golden_optimizer(const ssn::Json& cfg) {
  ssn::OptimizerConfig o;
  o.adapt_lr = cfg.at("adapt_lr").as_number();
  o.seg_lr = cfg.at("seg_lr").as_number();
  o.dec_lr = cfg.at("dec_lr").as_number();
  return o;
}

// The fixture config's generator flags, noise and stop-grad; clipping and mask handling are the caller's.
inline ssn::TrainStepConfig golden_step_config(const ssn::Json& cfg) {
  ssn::TrainStepConfig c;
  c.generator.perlin_thr = cfg.at("perlin_thr").as_number();
  c.generator.overlap = cfg.at("overlap").as_bool();
  c.generator.bad = cfg.at("bad").as_bool();
  c.generator.noise_std = cfg.at("noise_std").as_number();
  c.stop_grad = cfg.at("stop_grad").as_bool();
  return c;
}

// The recorded Perlin masks of step k and the fixtures' noise: over the flattened [2B,C,fh,fw] tensor,
// noise[i] = float32(0.015 * sin(0.1 * i + 1.7 * k)) computed in double precision.
inline ssn::AnomalyInjection golden_injection(const torch::Tensor& perlin_u8, int64_t channels, int k) {
  const torch::Tensor perlin = perlin_u8.to(torch::kFloat32);
  const int64_t b2 = perlin.size(0), fh = perlin.size(2), fw = perlin.size(3);
  const torch::Tensor index = torch::arange(b2 * channels * fh * fw, torch::kFloat64);
  const torch::Tensor noise =
      (0.015 * torch::sin(0.1 * index + 1.7 * k)).to(torch::kFloat32).view({b2, channels, fh, fw});
  return {perlin, noise};
}

// Every loss part and the gradient norm of step k against the official values, to 1e-5 relative. The score
// focal loss is (1 - p_t)^4-amplified: once the weights carry the float differences of earlier updates, its last
// digits move most (ICPR unsupervised step 2: 1.6e-5 relative), so later steps hold it to 5e-5.
inline void check_golden_step(const ssn::TrainStepResult& r, const ssn::Json& want, const std::string& where, int k) {
  SSN_CHECK_MSG(close_rel(r.loss, want.at("loss").as_number(), 1e-5), where << " loss " << r.loss);
  SSN_CHECK_MSG(close_rel(r.truncated_l1, want.at("trunc_l1").as_number(), 1e-5),
                where << " trunc_l1 " << r.truncated_l1);
  SSN_CHECK_MSG(close_rel(r.focal_map, want.at("focal_map").as_number(), 1e-5), where << " focal_map " << r.focal_map);
  const double focal_score_tol = k == 0 ? 1e-5 : 5e-5;
  SSN_CHECK_MSG(close_rel(r.focal_score, want.at("focal_score").as_number(), focal_score_tol),
                where << " focal_score " << std::setprecision(10) << r.focal_score);
  SSN_CHECK_MSG(close_rel(r.grad_norm, want.at("grad_norm_before_clip").as_number(), 1e-5),
                where << " grad norm " << r.grad_norm);
}

}  // namespace ssn_test
