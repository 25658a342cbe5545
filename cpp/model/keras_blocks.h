// The building blocks of Keras ResNet50 (keras_applications), shared by the truncated backbone (stages
// 2-4) and the ImageNet classifier (stage 5 + fc1000). Modules are registered under their Keras layer
// names, so a TF.js tensor "L/kernel" maps to "L.weight".
#pragma once
#include <string>
#include <vector>

#include <torch/torch.h>

#include "model/folding.h"
#include "model/tensor_assign.h"

namespace ssn {

// A convolution (with bias, as every Keras conv has) followed by its BatchNorm (epsilon 1e-3).
struct KerasConvBn {
  std::string conv_name, bn_name;  // Keras layer names
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};

  torch::Tensor forward(const torch::Tensor& x) const;
  FoldedConv fold(const PlanOptions& options) const;
};

// A bottleneck block: 1x1 -> 3x3 -> 1x1, plus the identity or (block "a") a projected shortcut.
struct KerasBlock {
  KerasConvBn branch2a, branch2b, branch2c;
  bool has_shortcut = false;
  KerasConvBn branch1;

  torch::Tensor forward(const torch::Tensor& x) const;
  FoldedBlock fold(const PlanOptions& options) const;
};

// Registers a conv+BN pair on `owner`. Odd kernels get the symmetric padding (kernel-1)/2 of Keras "same" at stride 1.
KerasConvBn add_keras_conv_bn(torch::nn::Module& owner, const std::string& conv_name, const std::string& bn_name,
                              int64_t in, int64_t out, int64_t kernel, int64_t stride);

// Registers Keras stage `stage` (2..5): `blocks` bottlenecks of width `filters` and output 4*filters.
// Keras puts the stage's stride on the first 1x1 convolution and on the shortcut. Every conv+BN pair is
// also appended to `all`, for weight loading.
std::vector<KerasBlock> add_keras_stage(torch::nn::Module& owner, int stage, int64_t blocks, int64_t in,
                                        int64_t filters, int64_t stride, std::vector<KerasConvBn>& all);

// Keras' initialisers (Glorot-uniform kernels, zero biases), so that an unloaded network is sane. Called
// once all modules exist, so that the random sequence does not depend on how they were grouped.
void init_keras_convs(const std::vector<KerasConvBn>& all);

torch::Tensor run_keras_stage(const std::vector<KerasBlock>& blocks, torch::Tensor x);

// Keras stores kernels as HWIO; libtorch wants OIHW. Other ranks are left for the shape check to report.
torch::Tensor keras_hwio_to_oihw(const torch::Tensor& t);

// The six TF.js tensors of a conv+BN pair: L/kernel, L/bias, B/gamma, B/beta, B/moving_mean, B/moving_variance.
void append_keras_assignments(const KerasConvBn& cb, std::vector<TensorAssignment>& out);

}  // namespace ssn
