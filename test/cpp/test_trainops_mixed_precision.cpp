// Mixed-precision pieces: the autocast scope (nesting, restore, fp32 no-op) and the fp16 gradient scaler
// (unscale, skip on inf, back-off and growth, state round trip).
#include <ATen/autocast_mode.h>

#include "common/error.h"
#include "test_framework.h"
#include "train/mixed_precision.h"

SSN_TEST(trainops_autocast_scope_casts_convolutions_and_restores) {
  const torch::Tensor x = torch::randn({1, 4, 5, 5});
  const torch::Tensor w = torch::randn({3, 4, 1, 1});
  SSN_CHECK(!at::autocast::is_cpu_enabled());
  {
    ssn::AutocastScope fp32(torch::kCPU, ssn::Precision::Float32);
    SSN_CHECK(!at::autocast::is_cpu_enabled());
    SSN_CHECK(torch::conv2d(x, w).scalar_type() == torch::kFloat32);
  }
  {
    ssn::AutocastScope outer(torch::kCPU, ssn::Precision::BFloat16);
    SSN_CHECK(at::autocast::is_cpu_enabled());
    SSN_CHECK(torch::conv2d(x, w).scalar_type() == torch::kBFloat16);
    {
      ssn::AutocastScope inner(torch::kCPU, ssn::Precision::BFloat16);
      SSN_CHECK(torch::conv2d(x, w).scalar_type() == torch::kBFloat16);
    }
    SSN_CHECK(at::autocast::is_cpu_enabled());  // the inner scope restored the outer one
  }
  SSN_CHECK(!at::autocast::is_cpu_enabled());
  SSN_CHECK(torch::conv2d(x, w).scalar_type() == torch::kFloat32);
  SSN_CHECK_THROWS_CODE(ssn::AutocastScope(torch::kCPU, ssn::Precision::Float16), ssn::ErrorCode::Config);
}

SSN_TEST(trainops_grad_scaler_unscales_skips_and_adapts) {
  ssn::GradScaler off(false);
  SSN_CHECK(torch::equal(off.scale_loss(torch::ones({})), torch::ones({})));

  ssn::GradScaler scaler(true);
  SSN_CHECK(scaler.scale() == 65536.0);
  torch::Tensor p = torch::zeros({3}).requires_grad_(true);
  scaler.scale_loss((p * torch::tensor({1.0f, 2.0f, 3.0f})).sum()).backward();
  SSN_CHECK(scaler.unscale({p}));
  SSN_CHECK(torch::allclose(p.grad(), torch::tensor({1.0f, 2.0f, 3.0f})));
  scaler.update(false);
  SSN_CHECK(scaler.scale() == 65536.0);

  p.mutable_grad() = torch::tensor({1.0f, INFINITY, 0.0f});
  SSN_CHECK(!scaler.unscale({p}));
  scaler.update(true);
  SSN_CHECK(scaler.scale() == 32768.0);  // backed off by half

  for (int i = 0; i < 2000; ++i) scaler.update(false);
  SSN_CHECK(scaler.scale() == 65536.0);  // grew by 2 after 2000 clean steps

  scaler.update(false);
  ssn::NamedTensors state;
  scaler.export_state(state, "s.");
  ssn::GradScaler restored(true);
  restored.import_state(state, "s.");
  SSN_CHECK(restored.scale() == scaler.scale());
  for (int i = 0; i < 1999; ++i) restored.update(false);
  SSN_CHECK(restored.scale() == 2 * 65536.0);  // the growth tracker came back too
}
