// The fast inference path: a frozen copy of a SuperSimpleNet in eval mode with every BatchNorm folded into
// the convolution before it (backbone and heads), the 1x1 adaptor folded into both heads, a separable
// Gaussian blur, optional half precision and channels-last activations. Each module folds itself
// (BackboneImpl::fold, DiscriminatorImpl::fold); the plan only assembles the pieces. The trainable module stays
// untouched; a plan is rebuilt when its weights change. Outputs equal SuperSimpleNet::infer to float tolerance
// (fp32).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "io/json.h"
#include "io/named_tensors.h"
#include "model/discriminator.h"
#include "model/folding.h"
#include "model/supersimplenet.h"

namespace ssn {

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

  // The plan as a graph description for exporters (lib/export/onnx.ts): its geometry and layers as JSON,
  // naming tensors that it adds to `tensors` (float32, CPU, contiguous). See plan_description.cpp.
  Json describe(NamedTensors& tensors) const;

  const PlanOptions& options() const { return options_; }
  int64_t image_h() const { return image_h_; }
  int64_t image_w() const { return image_w_; }

 private:
  torch::Tensor prepare(const torch::Tensor& x) const;  // device, dtype, memory format

  PlanOptions options_;
  torch::ScalarType dtype_;
  int64_t image_h_, image_w_;
  int64_t feature_h_ = 0, feature_w_ = 0;  // the heads' input size: twice layer2's
  FoldedBackbone backbone_;
  FoldedHeads heads_;
  torch::Tensor blur_kernel1d_;  // float32 on the device
};

}  // namespace ssn
