#include "train/mixed_precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "common/error.h"

namespace ssn {
namespace {

// libtorch 2.4 replaced the per-backend autocast setters with ones taking a device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool autocast_enabled(bool cuda) { return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU); }
void set_autocast_enabled(bool cuda, bool on) { at::autocast::set_autocast_enabled(cuda ? at::kCUDA : at::kCPU, on); }
torch::ScalarType autocast_dtype(bool cuda) { return at::autocast::get_autocast_dtype(cuda ? at::kCUDA : at::kCPU); }
void set_autocast_dtype(bool cuda, torch::ScalarType t) {
  at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, t);
}
#else
bool autocast_enabled(bool cuda) { return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled(); }
void set_autocast_enabled(bool cuda, bool on) {
  if (cuda)
    at::autocast::set_enabled(on);
  else
    at::autocast::set_cpu_enabled(on);
}
torch::ScalarType autocast_dtype(bool cuda) {
  return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}
void set_autocast_dtype(bool cuda, torch::ScalarType t) {
  if (cuda)
    at::autocast::set_autocast_gpu_dtype(t);
  else
    at::autocast::set_autocast_cpu_dtype(t);
}
#endif

constexpr double kGrowthFactor = 2.0;
constexpr double kBackoffFactor = 0.5;
constexpr int64_t kGrowthInterval = 2000;

}  // namespace

PrecisionChoice choose_training_precision(const std::string& requested, const torch::Device& device) {
  const Bf16Support bf16 = bf16_support(device);
  const std::string where = device.is_cuda() ? "this GPU (" + bf16.what + ")" : "this CPU (" + bf16.what + ")";
  if (requested == "auto") {
    if (bf16.native) {
      // The reason points to the measurements rather than claiming more than they show (one seed so far).
      return {Precision::BFloat16, "bf16 (auto): " + where +
                                       " computes bf16 natively (speed: bench/README.md; quality against fp32: "
                                       "bench/quality/README.md)"};
    }
    return {Precision::Float32, "fp32 (auto): " + where + " has no native bf16"};
  }
  PrecisionChoice choice{parse_precision(requested), requested + " (asked for)"};
  if (choice.precision == Precision::Float16 && !device.is_cuda()) {
    throw Error(ErrorCode::Config, "fp16 training needs a CUDA device, the model is on the CPU",
                "train in 'bf16' or 'fp32' on the CPU (or leave precision to 'auto')");
  }
  if (choice.precision == Precision::BFloat16 && !bf16.native) {
    choice.reason += "; " + where + " has no native bf16, so it is emulated and slower than fp32";
  }
  return choice;
}

AutocastScope::AutocastScope(const torch::Device& device, Precision precision) {
  if (precision == Precision::Float32) return;
  if (precision == Precision::Float16 && !device.is_cuda()) {
    throw Error(ErrorCode::Config, "fp16 training needs a CUDA device", "train in 'bf16' or 'fp32' on the CPU");
  }
  active_ = true;
  cuda_ = device.is_cuda();
  previous_enabled_ = autocast_enabled(cuda_);
  previous_dtype_ = autocast_dtype(cuda_);
  set_autocast_enabled(cuda_, true);
  set_autocast_dtype(cuda_, precision_dtype(precision));
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast_enabled(cuda_, previous_enabled_);
  set_autocast_dtype(cuda_, previous_dtype_);
}

bool GradScaler::unscale(const std::vector<torch::Tensor>& params) const {
  if (!enabled_) return true;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> finite;
  for (const auto& p : params) {
    torch::Tensor g = p.grad();
    if (!g.defined()) continue;
    g.mul_(1.0 / scale_);
    finite.push_back(torch::isfinite(g).all());
  }
  return finite.empty() || torch::stack(finite).all().item<bool>();  // one device sync
}

void GradScaler::update(bool found_inf) {
  if (!enabled_) return;
  if (found_inf) {
    scale_ *= kBackoffFactor;
    growth_tracker_ = 0;
  } else if (++growth_tracker_ == kGrowthInterval) {
    scale_ *= kGrowthFactor;
    growth_tracker_ = 0;
  }
}

void GradScaler::export_state(NamedTensors& state, const std::string& prefix) const {
  if (!enabled_) return;
  state[prefix + "scale"] = torch::tensor(scale_, torch::kFloat64);
  state[prefix + "growth_tracker"] = torch::tensor(growth_tracker_, torch::kInt64);
}

void GradScaler::import_state(const NamedTensors& state, const std::string& prefix) {
  const auto scale = state.find(prefix + "scale");
  const auto tracker = state.find(prefix + "growth_tracker");
  if (scale != state.end()) scale_ = scale->second.item<double>();
  if (tracker != state.end()) growth_tracker_ = tracker->second.item<int64_t>();
}

}  // namespace ssn
