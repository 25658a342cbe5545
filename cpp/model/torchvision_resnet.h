// torchvision ResNets (resnet18/34/50, wide_resnet50_2/101_2) truncated after layer3. Module names equal
// torchvision's, so named_parameters() + named_buffers() are exactly its state_dict keys up to layer3.
#pragma once
#include <vector>

#include "model/backbone.h"

namespace ssn {

// A residual block; the two kinds differ only in their convolutions.
class ResidualBlockImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  virtual FoldedBlock fold(const PlanOptions& options) const = 0;
};

class TorchvisionResNetImpl : public BackboneImpl {
 public:
  explicit TorchvisionResNetImpl(BackboneArch arch);  // any arch but KerasResNet50

  BackboneFeatures forward(const torch::Tensor& x) override;
  BackboneArch arch() const override { return arch_; }
  Preprocessing preprocessing() const override { return default_preprocessing(arch_); }
  int64_t layer2_channels() const override { return layer2_channels_; }
  int64_t layer3_channels() const override { return layer3_channels_; }
  void load_native_weights(const NamedTensors& weights) override;
  FoldedBackbone fold(const PlanOptions& options) const override;

 private:
  torch::Tensor run_layer(const std::vector<std::shared_ptr<ResidualBlockImpl>>& blocks, torch::Tensor x);

  BackboneArch arch_;
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  std::vector<std::shared_ptr<ResidualBlockImpl>> layers_[3];  // layer1..layer3
  int64_t layer2_channels_ = 0, layer3_channels_ = 0;
};

}  // namespace ssn
