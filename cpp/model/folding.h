// Eval-mode layers with BatchNorm folded into the convolution before it: what an InferencePlan is made of.
// Each module folds itself (BackboneImpl::fold, DiscriminatorImpl::fold); these are the shared pieces. With
// PlanOptions::fold off, every BatchNorm and the adaptor stay layers of their own: the trainable model's structure,
// for the plain ONNX export (lib/export/onnx.ts).
#pragma once
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "common/precision.h"

namespace ssn {

struct BackboneFeatures;  // model/backbone.h

struct PlanOptions {
  torch::Device device = torch::kCPU;
  Precision precision = Precision::Float32;  // weights and activations; the map post-processing stays fp32
  bool channels_last = false;
  bool fold = true;  // false: BatchNorms and the adaptor kept apart (same outputs, slower)
};

// An eval-mode BatchNorm kept apart from its convolution (a plan built with fold off).
struct PlanBatchNorm {
  torch::Tensor weight, bias, mean, var;
  double eps = 0;
  bool defined() const { return weight.defined(); }
};

// conv(x) with BatchNorm folded in: W' = W * g / sqrt(v + eps), b' = (b - m) * g / sqrt(v + eps) + beta.
struct FoldedConv {
  torch::Tensor weight, bias;  // bias always defined
  std::vector<int64_t> stride, padding, dilation;
  int64_t groups = 1;
  PlanBatchNorm bn;  // defined only with fold off: applied after the convolution

  torch::Tensor forward(const torch::Tensor& x) const;
  // Multiply-accumulates for one image of in_h x in_w; sets the output size.
  int64_t macs(int64_t in_h, int64_t in_w, int64_t& out_h, int64_t& out_w) const;
};

// A residual block: main convs with ReLU between them, plus the identity or a projected shortcut, then ReLU.
struct FoldedBlock {
  std::vector<FoldedConv> main;
  bool has_shortcut = false;
  FoldedConv shortcut;

  torch::Tensor forward(const torch::Tensor& x) const;
  int64_t macs(int64_t& h, int64_t& w) const;  // h, w: in, then out
};

// A ResNet truncated after layer3: stem conv + ReLU, 3x3/2 max-pool, three stages of blocks.
struct FoldedBackbone {
  FoldedConv stem;
  std::vector<FoldedBlock> stages[3];  // layer1..layer3

  BackboneFeatures forward(const torch::Tensor& x) const;
  // MACs for one h x w image; h, w become layer3's size, l2_h, l2_w layer2's.
  int64_t macs(int64_t& h, int64_t& w, int64_t& l2_h, int64_t& l2_w) const;
};

// A convolution's weights in double precision on the CPU, and its geometry: folding works on these.
struct RawConv {
  torch::Tensor w, b;  // b always defined (zeros for a bias-free conv)
  std::vector<int64_t> stride, padding, dilation;
  int64_t groups = 1;
};

RawConv raw_conv(const torch::nn::Conv2dImpl& conv);
// Folds eval-mode BatchNorm into c; returns the per-channel scale g / sqrt(v + eps).
torch::Tensor fold_batchnorm(RawConv& c, const torch::nn::BatchNorm2dImpl& bn);
// The plan's copy of c: its device, dtype and memory format.
FoldedConv to_folded(const RawConv& c, const PlanOptions& options);
// conv, then bn when given, as one FoldedConv (bn folded in, or kept as FoldedConv::bn with fold off).
FoldedConv fold_conv_bn(const torch::nn::Conv2dImpl& conv, const torch::nn::BatchNorm2dImpl* bn,
                        const PlanOptions& options);
// A tensor on the plan's device and dtype (channels-last for 4-D tensors when asked).
torch::Tensor to_plan(const torch::Tensor& t, const PlanOptions& options);

}  // namespace ssn
