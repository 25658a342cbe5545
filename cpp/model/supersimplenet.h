// The SuperSimpleNet network (official ICPR code, spec sections 1-5): frozen backbone -> upscale/concat ->
// 3x3 average pooling -> 1x1 adaptor -> segmentation head + classification head -> blurred anomaly map.
// Submodule names reproduce the official state_dict keys: feature_adaptor.projection.*,
// discriminator.seg.{0,1,3}.*, discriminator.dec_head.{0,1}.*, discriminator.fc_score.*; the backbone
// sits under feature_extractor.* with its native (torchvision-style) names.
#pragma once
#include <cstdint>
#include <memory>
#include <utility>

#include <torch/torch.h>

#include "io/named_tensors.h"
#include "model/backbone.h"
#include "model/discriminator.h"
#include "model/feature_adaptor.h"
#include "model/variant.h"

namespace ssn {

struct InferenceOutput {
  torch::Tensor map;          // [B,1,H,W] blurred raw segmentation logits at model size
  torch::Tensor score_logit;  // [B] raw classification logit
};

// A batch the network accepts: [B,3,image_h,image_w] (B >= 1), preprocessed, floating point. Throws
// ssn::Error(Shape) or (Input) with a hint.
void check_model_input(const torch::Tensor& x, int64_t image_h, int64_t image_w);

class SuperSimpleNetImpl : public torch::nn::Module {
 public:
  SuperSimpleNetImpl(BackboneArch arch, int64_t image_h, int64_t image_w, ModelVariant variant = ModelVariant::Icpr);

  // Backbone (always eval mode, no grad) + upscale to 2x layer2 size (bilinear, align_corners true),
  // concat [layer2, layer3], 3x3 avg-pool counting the padding. x: preprocessed [B,3,H,W].
  torch::Tensor extract_features(const torch::Tensor& x);
  // (fh, fw) of extract_features' output, found once by running the backbone on a blank image.
  std::pair<int64_t, int64_t> feature_size();
  torch::Tensor adapt(const torch::Tensor& features);  // 1x1 conv with bias
  // Segmentation head on seg_features, then classification head on [cls_features, M_o]: the adapted
  // features for both in the ICPR variant, the non-adapted ones for the classification head in JIMS (see
  // cls_features()). stop_grad detaches the map copies fed to the classification head (forward values unchanged).
  HeadOutput heads(const torch::Tensor& seg_features, const torch::Tensor& cls_features, bool stop_grad);
  // What the classification head reads in this variant: `adapted` (ICPR) or `features` (JIMS).
  const torch::Tensor& cls_features(const torch::Tensor& features, const torch::Tensor& adapted) const {
    return variant_ == ModelVariant::Icpr ? adapted : features;
  }
  ModelVariant variant() const { return variant_; }
  // Bilinear (align_corners false) to the model size, then the 25x25 sigma-4 Gaussian with reflect padding.
  torch::Tensor anomaly_map(const torch::Tensor& seg_logits);
  // Eval-mode inference; callers hold a NoGradGuard / InferenceMode.
  InferenceOutput infer(const torch::Tensor& x);

  // Official initialisation of the heads (spec section 4): Xavier-normal conv/linear weights,
  // PyTorch default biases, BN weight 1 / bias 0 / running stats 0,1.
  void init_heads();

  // Head tensors under their official names (no feature_extractor.* keys), BN buffers included.
  NamedTensors head_state();
  // Loads official-named head tensors; every missing or mis-shaped key is reported in one ssn::Error.
  void load_head_state(const NamedTensors& state);

  std::shared_ptr<BackboneImpl> backbone() const { return backbone_; }
  const FeatureAdaptorImpl& adaptor() const { return *adaptor_; }
  const DiscriminatorImpl& discriminator() const { return *discriminator_; }
  int64_t image_h() const { return image_h_; }
  int64_t image_w() const { return image_w_; }
  int64_t feature_channels() const;  // C2 + C3 (1536 for WRN50 / Keras ResNet50, 384 for resnet18)
  // Trainable head parameters, by optimiser group (spec section 8).
  std::vector<torch::Tensor> adaptor_parameters() const { return adaptor_->parameters(); }
  std::vector<torch::Tensor> seg_parameters() const { return discriminator_->seg_parameters(); }
  std::vector<torch::Tensor> cls_parameters() const { return discriminator_->cls_parameters(); }
  // Put the heads in train/eval mode; the backbone always stays in eval mode.
  void train(bool on = true) override;

 private:
  std::shared_ptr<BackboneImpl> backbone_;
  FeatureAdaptor adaptor_{nullptr};
  Discriminator discriminator_{nullptr};
  torch::Tensor blur_kernel_;  // [1,1,25,25] non-persistent
  int64_t image_h_, image_w_;
  int64_t feature_h_ = 0, feature_w_ = 0;  // 0 until feature_size() ran
  ModelVariant variant_;
};
TORCH_MODULE(SuperSimpleNet);

}  // namespace ssn
