// The two heads of the official code (spec section 3), registered as discriminator:
// - segmentation: seg.0 1x1 conv C -> 1024, seg.1 BatchNorm, LeakyReLU(0.2), seg.3 1x1 conv 1024 -> 1
//   (no bias), giving the map logits M_o;
// - classification: dec_head.0 5x5 conv (padding 2) on [adapted, M_o] -> 128, dec_head.1 BatchNorm, ReLU;
//   then fc_score on [max(dec), mean(dec), max(M_o), mean(M_o)] -> the score logit.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "model/feature_adaptor.h"
#include "model/folding.h"

namespace ssn {

struct HeadOutput {
  torch::Tensor seg_logits;   // M_o [B,1,fh,fw]
  torch::Tensor score_logit;  // s [B]
};

// The heads in eval mode with the adaptor and both BatchNorms folded in (see DiscriminatorImpl::fold), or with
// PlanOptions::fold off, kept apart.
constexpr double kSegLeakySlope = 0.2;  // LeakyReLU of the segmentation head

struct FoldedHeads {
  FoldedConv seg_hidden, seg_out, dec;  // the adaptor is folded into seg_hidden and dec
  torch::Tensor dec_bias_map;           // the adaptor bias through dec's zero padding, [1,128,fh,fw]; undefined
                                        // when dec reads non-adapted features or the adaptor is kept apart
  bool has_adaptor = false;             // fold off: the adaptor runs first, as its own 1x1 convolution
  FoldedConv adaptor;
  bool cls_on_adapted = false;  // with has_adaptor: dec reads the adapted features (icpr), else the raw ones
  torch::Tensor fc_weight, fc_bias;
  int64_t adaptor_macs_per_pixel = 0;  // for the official FLOP count, which counts the adaptor

  // features: aggregated backbone features in the plan's dtype and layout; outputs in that dtype.
  HeadOutput forward(const torch::Tensor& features) const;

  struct Macs {
    int64_t profiled = 0;  // what torch.profiler counts: everything but the padding="same" 5x5 conv
    int64_t dec = 0;       // that convolution
  };
  Macs macs(int64_t fh, int64_t fw) const;
};

class DiscriminatorImpl : public torch::nn::Module {
 public:
  // cls_on_adapted: the classification head reads the adapted features (ICPR) or the non-adapted ones (JIMS).
  DiscriminatorImpl(int64_t channels, bool cls_on_adapted);

  // seg_features feed the segmentation head, cls_features (with its map) the classification head. stop_grad
  // detaches the map copies fed to the classification head (forward values unchanged).
  HeadOutput forward(const torch::Tensor& seg_features, const torch::Tensor& cls_features, bool stop_grad);
  bool cls_on_adapted() const { return cls_on_adapted_; }

  // Folds `adaptor` (which feeds only these heads: the segmentation head, and the classification head when it
  // reads adapted features) and both BatchNorms into an eval-mode copy for features of fh x fw.
  FoldedHeads fold(const FeatureAdaptorImpl& adaptor, const PlanOptions& options, int64_t fh, int64_t fw) const;

  // Trainable parameters by optimiser group (spec section 8).
  std::vector<torch::Tensor> seg_parameters() const { return seg_->parameters(); }
  std::vector<torch::Tensor> cls_parameters() const;

 private:
  torch::nn::Sequential seg_{nullptr};
  torch::nn::Sequential dec_head_{nullptr};
  torch::nn::Linear fc_score_{nullptr};
  bool cls_on_adapted_;

  void copy_fc(FoldedHeads& out, const PlanOptions& options) const;
};
TORCH_MODULE(Discriminator);

}  // namespace ssn
