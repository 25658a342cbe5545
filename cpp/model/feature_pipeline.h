// SuperSimpleNet's feature pipeline (spec section 2): both backbone layers resized to twice layer2's size
// (bilinear, align_corners true), concatenated [layer2, layer3], then a 3x3 average pooling (stride 1,
// padding 1, padding counted in the divisor).
#pragma once
#include <torch/torch.h>

namespace ssn {

torch::Tensor aggregate_features(const torch::Tensor& layer2, const torch::Tensor& layer3);

}  // namespace ssn
