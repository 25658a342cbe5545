// Frozen feature extractors truncated after layer3 (torchvision naming): they return layer2 and layer3.
// Each backbone carries its own input preprocessing.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "io/named_tensors.h"
#include "model/folding.h"
#include "model/preprocessing.h"

namespace ssn {

enum class BackboneArch { ResNet18, ResNet34, ResNet50, WideResNet50_2, WideResNet101_2, KerasResNet50 };

const std::vector<BackboneArch>& all_backbone_archs();   // in the order above
const char* backbone_arch_name(BackboneArch arch);       // "resnet18", ..., "resnet50-keras"
BackboneArch parse_backbone_arch(const std::string& s);  // throws ssn::Error(Config) listing the valid names

// The preprocessing each backbone was trained with (same as make_backbone(arch)->preprocessing()).
Preprocessing default_preprocessing(BackboneArch arch);

struct BackboneFeatures {
  torch::Tensor layer2;  // [B, C2, H/8, W/8]
  torch::Tensor layer3;  // [B, C3, H/16, W/16]
};

class BackboneImpl : public torch::nn::Module {
 public:
  virtual ~BackboneImpl() = default;
  virtual BackboneFeatures forward(const torch::Tensor& x) = 0;  // x: preprocessed [B,3,H,W] float
  virtual BackboneArch arch() const = 0;
  virtual Preprocessing preprocessing() const = 0;
  virtual int64_t layer2_channels() const = 0;
  virtual int64_t layer3_channels() const = 0;
  // Loads weights in the backbone's native naming (torchvision keys, or Keras TF.js names). Extra keys
  // (layer4, fc, ...) are ignored; missing or mis-shaped needed keys throw ssn::Error(Checkpoint) naming
  // every one of them.
  virtual void load_native_weights(const NamedTensors& weights) = 0;
  // The backbone's eval-mode copy for an InferencePlan, BatchNorm folded into every convolution.
  virtual FoldedBackbone fold(const PlanOptions& options) const = 0;
};

std::shared_ptr<BackboneImpl> make_backbone(BackboneArch arch);

}  // namespace ssn
