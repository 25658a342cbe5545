#include "model/feature_pipeline.h"

namespace ssn {

namespace F = torch::nn::functional;

torch::Tensor aggregate_features(const torch::Tensor& layer2, const torch::Tensor& layer3) {
  const std::vector<int64_t> size{layer2.size(2) * 2, layer2.size(3) * 2};
  auto resize = [&](const torch::Tensor& t) {
    return F::interpolate(t, F::InterpolateFuncOptions().size(size).mode(torch::kBilinear).align_corners(true));
  };
  torch::Tensor features = torch::cat({resize(layer2), resize(layer3)}, 1);
  return torch::avg_pool2d(features, {3, 3}, {1, 1}, {1, 1}, /*ceil_mode=*/false, /*count_include_pad=*/true);
}

}  // namespace ssn
