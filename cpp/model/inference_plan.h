// The fast inference path: a frozen copy of a SuperSimpleNet in eval mode with every BatchNorm folded into
// the convolution before it (backbone and heads), the 1x1 adaptor folded into both heads, a separable
// Gaussian blur, optional half precision and channels-last activations. The trainable module stays untouched; a plan is
// rebuilt when its weights change. Outputs equal SuperSimpleNet::infer to float tolerance (fp32).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/precision.h"
#include "model/supersimplenet.h"

namespace ssn {

struct PlanOptions {
  torch::Device device = torch::kCPU;
  Precision precision = Precision::Float32;  // weights and activations; the map post-processing stays fp32
  bool channels_last = false;
};

// conv(x) with BatchNorm folded in: W' = W * g / sqrt(v + eps), b' = (b - m) * g / sqrt(v + eps) + beta.
struct FoldedConv {
  torch::Tensor weight, bias;  // bias always defined
  std::vector<int64_t> stride, padding, dilation;
  int64_t groups = 1;

  torch::Tensor forward(const torch::Tensor& x) const;
  // Multiply-accumulates for one image of in_h x in_w; sets the output size.
  int64_t macs(int64_t in_h, int64_t in_w, int64_t& out_h, int64_t& out_w) const;
};

// A residual block: main convs with ReLU between them, plus the identity or a projected shortcut, then ReLU.
struct FoldedBlock {
  std::vector<FoldedConv> main;
  bool has_shortcut = false;
  FoldedConv shortcut;
};

// The blur of the official anomaly map as two 1-D passes over one reflect-padded copy (25 + 25 taps instead
// of 625). x [B,C,H,W] float; kernel1d [k].
torch::Tensor gaussian_blur_reflect_separable(const torch::Tensor& x, const torch::Tensor& kernel1d);

class InferencePlan {
 public:
  // Reads the network's current weights; `net` is not kept.
  InferencePlan(SuperSimpleNetImpl& net, const PlanOptions& options);

  // x: preprocessed [B,3,H,W] of the model size, any float dtype and device. Returns float32 outputs on the
  // plan's device: map [B,1,H,W], score logit [B].
  InferenceOutput run(const torch::Tensor& x) const;

  // Analytic GFLOPs of a forward of `batch` images: 2 per multiply-accumulate of every convolution and linear
  // layer, the blur counted as the official 25x25 convolution.
  struct Flops {
    double total = 0;
    // What torch.profiler(with_flops=True) reports for the official model, hence the paper's 56.3 G: the
    // profiler has no formula for a convolution with padding="same", the 5x5 conv of the classification head.
    double profiler_equivalent = 0;
  };
  Flops gflops(int64_t batch = 1) const;

  const PlanOptions& options() const { return options_; }
  int64_t image_h() const { return image_h_; }
  int64_t image_w() const { return image_w_; }

 private:
  torch::Tensor prepare(const torch::Tensor& x) const;  // device, dtype, memory format
  // Backbone MACs for one h x w image; h, w become layer3's size, l2_h, l2_w layer2's.
  int64_t walk_backbone(int64_t& h, int64_t& w, int64_t& l2_h, int64_t& l2_w) const;
  void feature_size(int64_t& fh, int64_t& fw) const;  // the heads' input size: twice layer2's

  PlanOptions options_;
  torch::ScalarType dtype_;
  FoldedConv stem_;
  std::vector<FoldedBlock> stages_[3];     // layer1..layer3 (Keras stages 2..4)
  FoldedConv seg_hidden_, seg_out_, dec_;  // adaptor folded into seg_hidden_ and dec_
  torch::Tensor dec_bias_map_;             // the adaptor bias through dec_'s zero padding, [1,128,fh,fw]
  int64_t projection_macs_per_pixel_ = 0;  // for the official FLOP count
  torch::Tensor fc_weight_, fc_bias_;
  torch::Tensor blur_kernel1d_;  // float32 on the device
  int64_t image_h_, image_w_;
};

}  // namespace ssn
