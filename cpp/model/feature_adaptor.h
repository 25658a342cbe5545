// The feature adaptor of the official code (spec section 3): one 1x1 convolution with bias, C -> C. Its
// module is registered as feature_adaptor, so its weights are feature_adaptor.projection.{weight,bias}.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace ssn {

class FeatureAdaptorImpl : public torch::nn::Module {
 public:
  explicit FeatureAdaptorImpl(int64_t channels);

  torch::Tensor forward(const torch::Tensor& features) { return projection_->forward(features); }
  const torch::nn::Conv2dImpl& projection() const { return *projection_; }

 private:
  torch::nn::Conv2d projection_{nullptr};
};
TORCH_MODULE(FeatureAdaptor);

}  // namespace ssn
