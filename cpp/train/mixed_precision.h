// Mixed-precision training: an autocast scope for the adaptor and heads (CPU bf16; CUDA fp16 or bf16) and
// the gradient scaler fp16 needs. Weights, AdamW moments and losses stay fp32; the frozen backbone is not
// autocast, so training sees the same features as fp32 inference.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/precision.h"
#include "io/named_tensors.h"

namespace ssn {

struct PrecisionChoice {
  Precision precision = Precision::Float32;
  std::string reason;  // one line: why this precision
};
// "auto": bf16 where the device has bf16 arithmetic (common/precision.h), fp32 elsewhere; fp16 is never
// chosen on its own. "fp32" | "bf16" | "fp16" are taken as asked; fp16 without CUDA is ssn::Error(Config).
PrecisionChoice choose_training_precision(const std::string& requested, const torch::Device& device);

// torch.autocast(device_type, dtype) as an RAII scope; does nothing for fp32. Scopes nest: the outermost
// clears the cache of casted weights when it ends, as torch.autocast.__exit__ does.
class AutocastScope {
 public:
  AutocastScope(const torch::Device& device, Precision precision);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool previous_enabled_ = false;
  torch::ScalarType previous_dtype_ = torch::kFloat;
};

// torch.cuda.amp.GradScaler with its defaults (init 2^16, growth 2 every 2000 clean steps, backoff 0.5):
// the loss is multiplied by scale() before backward; unscale() divides the gradients back and says whether
// any is inf/NaN, in which case the optimizer step is skipped and the scale backs off.
class GradScaler {
 public:
  explicit GradScaler(bool enabled) : enabled_(enabled) {}
  bool enabled() const { return enabled_; }
  double scale() const { return scale_; }
  torch::Tensor scale_loss(const torch::Tensor& loss) const { return enabled_ ? loss * scale_ : loss; }
  // Divides every defined gradient by the scale; true when all of them are finite.
  bool unscale(const std::vector<torch::Tensor>& params) const;
  // After the step (taken or skipped): adjust the scale.
  void update(bool found_inf);

  void export_state(NamedTensors& state, const std::string& prefix) const;
  void import_state(const NamedTensors& state, const std::string& prefix);  // absent entries: defaults

 private:
  bool enabled_;
  double scale_ = 65536.0;
  int64_t growth_tracker_ = 0;
};

}  // namespace ssn
