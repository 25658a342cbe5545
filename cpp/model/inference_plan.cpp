#include "model/inference_plan.h"

#include "common/error.h"
#include "model/anomaly_map.h"
#include "model/feature_pipeline.h"

namespace ssn {

namespace F = torch::nn::functional;

torch::Tensor gaussian_blur_reflect_separable(const torch::Tensor& x, const torch::Tensor& kernel1d) {
  const int64_t channels = x.size(1), k = kernel1d.size(0), pad = k / 2;
  torch::Tensor kernel = kernel1d.to(x.options());
  torch::Tensor padded = F::pad(x, F::PadFuncOptions({pad, pad, pad, pad}).mode(torch::kReflect));
  torch::Tensor vertical =
      F::conv2d(padded, kernel.view({1, 1, k, 1}).expand({channels, 1, k, 1}), F::Conv2dFuncOptions().groups(channels));
  return F::conv2d(vertical, kernel.view({1, 1, 1, k}).expand({channels, 1, 1, k}),
                   F::Conv2dFuncOptions().groups(channels));
}

InferencePlan::InferencePlan(SuperSimpleNetImpl& net, const PlanOptions& options)
    : options_(options), dtype_(precision_dtype(options.precision)), image_h_(net.image_h()), image_w_(net.image_w()) {
  if (options.device.is_cpu() && options.precision == Precision::Float16) {
    throw Error(ErrorCode::Input, "fp16 inference needs CUDA; received precision 'fp16' on the CPU",
                "use precision 'fp32' (or 'bf16') on the CPU");
  }
  torch::NoGradGuard no_grad;
  backbone_ = net.backbone()->fold(options);
  for (const auto& stage : backbone_.stages)
    if (stage.empty()) throw Error(ErrorCode::Internal, "inference plan: backbone stage without blocks");
  int64_t h = image_h_, w = image_w_, l2_h = 0, l2_w = 0;
  backbone_.macs(h, w, l2_h, l2_w);
  feature_h_ = 2 * l2_h;
  feature_w_ = 2 * l2_w;
  heads_ = net.discriminator().fold(net.adaptor(), options, feature_h_, feature_w_);
  blur_kernel1d_ = gaussian_kernel1d(kBlurKernelSize, kBlurSigma).to(options.device);
}

torch::Tensor InferencePlan::prepare(const torch::Tensor& x) const {
  check_model_input(x, image_h_, image_w_);
  torch::Tensor y = x.to(options_.device, dtype_);
  return options_.channels_last ? y.contiguous(torch::MemoryFormat::ChannelsLast) : y;
}

InferenceOutput InferencePlan::run(const torch::Tensor& x) const {
  const BackboneFeatures layers = backbone_.forward(prepare(x));
  const HeadOutput heads = heads_.forward(aggregate_features(layers.layer2, layers.layer3));
  torch::Tensor map = F::interpolate(heads.seg_logits.to(torch::kFloat).contiguous(),
                                     F::InterpolateFuncOptions()
                                         .size(std::vector<int64_t>{image_h_, image_w_})
                                         .mode(torch::kBilinear)
                                         .align_corners(false));
  return {gaussian_blur_reflect_separable(map, blur_kernel1d_), heads.score_logit.to(torch::kFloat)};
}

InferencePlan::Flops InferencePlan::gflops(int64_t batch) const {
  int64_t h = image_h_, w = image_w_, l2_h = 0, l2_w = 0;
  const FoldedHeads::Macs head_macs = heads_.macs(feature_h_, feature_w_);
  const int64_t macs = backbone_.macs(h, w, l2_h, l2_w) + head_macs.profiled +
                       image_h_ * image_w_ * kBlurKernelSize * kBlurKernelSize;  // blur as the official 25x25 conv
  const double scale = 2.0 * static_cast<double>(batch) / 1e9;
  Flops out;
  out.total = scale * static_cast<double>(macs + head_macs.dec);
  out.profiler_equivalent = scale * static_cast<double>(macs);
  return out;
}

}  // namespace ssn
