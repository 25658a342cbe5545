#include "model/keras_resnet50.h"

#include "model/tensor_assign.h"

namespace ssn {

KerasResNet50Impl::KerasResNet50Impl() {
  stem_ = add_keras_conv_bn(*this, "conv1", "bn_conv1", 3, 64, 7, 2);
  all_.push_back(stem_);
  const int64_t blocks[3] = {3, 4, 6};
  int64_t in = 64;
  for (int s = 0; s < 3; ++s) {
    const int64_t filters = int64_t{64} << s;
    stages_[s] = add_keras_stage(*this, s + 2, blocks[s], in, filters, s == 0 ? 1 : 2, all_);
    in = filters * 4;
  }
  init_keras_convs(all_);
}

Preprocessing KerasResNet50Impl::preprocessing() const { return default_preprocessing(BackboneArch::KerasResNet50); }

BackboneFeatures KerasResNet50Impl::forward(const torch::Tensor& x) {
  torch::Tensor y = torch::relu(stem_.forward(x));
  // Keras zero-pads by 1 before a valid 3x3/s2 max-pool; after the ReLU every value is >= 0, so zero
  // padding gives the same maxima as max_pool2d's implicit -inf padding.
  y = torch::max_pool2d(y, {3, 3}, {2, 2}, {1, 1});
  y = run_keras_stage(stages_[0], y);
  torch::Tensor l2 = run_keras_stage(stages_[1], y);
  torch::Tensor l3 = run_keras_stage(stages_[2], l2);
  return {l2, l3};
}

FoldedBackbone KerasResNet50Impl::fold(const PlanOptions& options) const {
  FoldedBackbone out;
  out.stem = stem_.fold(options);
  for (int s = 0; s < 3; ++s)
    for (const KerasBlock& block : stages_[s]) out.stages[s].push_back(block.fold(options));
  return out;
}

void KerasResNet50Impl::load_native_weights(const NamedTensors& weights) {
  std::vector<TensorAssignment> assignments;
  for (const auto& cb : all_) append_keras_assignments(cb, assignments);
  assign_tensors(assignments, weights, "resnet50-keras backbone weights (TF.js names)");
}

}  // namespace ssn
