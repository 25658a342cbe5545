// Keras ResNet50 (keras_applications, the TF.js ImageNet model) truncated after stage 4 (= layer3).
// Module names are the Keras layer names (conv1, bn_conv1, res2a_branch2a, bn2a_branch2a, ...), so a TF.js
// tensor "L/kernel" lands in "L.weight". See KERAS_RESNET50.md for the differences from torchvision.
#pragma once
#include <string>
#include <vector>

#include "model/backbone.h"
#include "model/keras_blocks.h"

namespace ssn {

class KerasResNet50Impl : public BackboneImpl {
 public:
  KerasResNet50Impl();

  BackboneFeatures forward(const torch::Tensor& x) override;
  BackboneArch arch() const override { return BackboneArch::KerasResNet50; }
  Preprocessing preprocessing() const override;  // "caffe": BGR, minus the ImageNet BGR mean, no scaling
  int64_t layer2_channels() const override { return 512; }
  int64_t layer3_channels() const override { return 1024; }
  // TF.js names: "conv1/kernel" (HWIO), "bn_conv1/gamma|beta|moving_mean|moving_variance", ...
  void load_native_weights(const NamedTensors& weights) override;
  FoldedBackbone fold(const PlanOptions& options) const override;

 private:
  KerasConvBn stem_;
  std::vector<KerasBlock> stages_[3];  // Keras stages 2, 3, 4
  std::vector<KerasConvBn> all_;       // every conv+BN pair, for weight loading
};

}  // namespace ssn
