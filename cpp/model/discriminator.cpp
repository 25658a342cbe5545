#include "model/discriminator.h"

#include "common/error.h"

namespace ssn {

namespace nn = torch::nn;

namespace {

constexpr int64_t kSegHidden = 1024;
constexpr int64_t kClsChannels = 128;

// Pooling order fixes the fc_score weight columns: [max(dec), mean(dec), max(map), mean(map)]. Training pools
// as the official code does (adaptive max pooling sends the gradient to one maximum, amax would share it among
// ties); inference takes the cheaper amax/mean, equal in value.
torch::Tensor pool_for_score(const torch::Tensor& dec, const torch::Tensor& map) {
  auto global_max = [](const torch::Tensor& t) { return std::get<0>(torch::adaptive_max_pool2d(t, {1, 1})); };
  auto global_avg = [](const torch::Tensor& t) { return torch::adaptive_avg_pool2d(t, {1, 1}); };
  return torch::cat({global_max(dec), global_avg(dec), global_max(map), global_avg(map)}, 1).flatten(1);
}

torch::Tensor pool_for_score_eval(const torch::Tensor& dec, const torch::Tensor& map) {
  return torch::cat({dec.amax({2, 3}), dec.mean({2, 3}), map.amax({2, 3}), map.mean({2, 3})}, 1);
}

// rows [R, C] times the adaptor's [C, C] matrix, in float32 on the plan's device (fast on CUDA, a fraction
// of one forward on the CPU), back in double.
torch::Tensor times_adaptor(const torch::Tensor& rows, const torch::Tensor& adaptor, const torch::Device& device) {
  return rows.to(device, torch::kFloat).matmul(adaptor.to(device, torch::kFloat)).to(torch::kCPU, torch::kDouble);
}

template <typename ModuleType>
const typename ModuleType::ContainedType& layer(const nn::Sequential& sequence, size_t index) {
  const auto* m = sequence->ptr(index)->as<ModuleType>();
  if (!m) throw Error(ErrorCode::Internal, "discriminator: unexpected layer type at index " + std::to_string(index));
  return *m;
}

}  // namespace

DiscriminatorImpl::DiscriminatorImpl(int64_t c, bool cls_on_adapted)
    : nn::Module("Discriminator"), cls_on_adapted_(cls_on_adapted) {
  seg_ = register_module("seg", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(c, kSegHidden, 1).bias(true)),
                                               nn::BatchNorm2d(nn::BatchNorm2dOptions(kSegHidden)),
                                               nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(kSegLeakySlope)),
                                               nn::Conv2d(nn::Conv2dOptions(kSegHidden, 1, 1).bias(false))));
  dec_head_ = register_module(
      "dec_head", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(c + 1, kClsChannels, 5).padding(2).bias(true)),
                                 nn::BatchNorm2d(nn::BatchNorm2dOptions(kClsChannels)), nn::ReLU()));
  fc_score_ = register_module("fc_score", nn::Linear(nn::LinearOptions(2 * kClsChannels + 2, 1)));
}

HeadOutput DiscriminatorImpl::forward(const torch::Tensor& seg_features, const torch::Tensor& cls_features,
                                      bool stop_grad) {
  torch::Tensor seg = seg_->forward(seg_features);
  torch::Tensor map_for_cls = stop_grad ? seg.detach() : seg;
  torch::Tensor dec = dec_head_->forward(torch::cat({cls_features, map_for_cls}, 1));
  return {seg, fc_score_->forward(pool_for_score(dec, map_for_cls)).reshape({-1})};
}

std::vector<torch::Tensor> DiscriminatorImpl::cls_parameters() const {
  std::vector<torch::Tensor> params = dec_head_->parameters();
  for (const auto& p : fc_score_->parameters()) params.push_back(p);
  return params;
}

FoldedHeads DiscriminatorImpl::fold(const FeatureAdaptorImpl& adaptor_module, const PlanOptions& options, int64_t fh,
                                    int64_t fw) const {
  FoldedHeads out;
  const RawConv adaptor = raw_conv(adaptor_module.projection());
  const int64_t channels = adaptor.w.size(0);
  const torch::Tensor a_matrix = adaptor.w.view({channels, adaptor.w.size(1)});
  out.adaptor_macs_per_pixel = adaptor.w.numel();
  copy_fc(out, options);
  if (!options.fold) {  // every layer as trained: the adaptor, then the heads with their BatchNorms
    out.has_adaptor = true;
    out.adaptor = to_folded(adaptor, options);
    out.cls_on_adapted = cls_on_adapted_;
    out.seg_hidden = fold_conv_bn(layer<nn::Conv2d>(seg_, 0), &layer<nn::BatchNorm2d>(seg_, 1), options);
    out.seg_out = fold_conv_bn(layer<nn::Conv2d>(seg_, 3), nullptr, options);
    out.dec = fold_conv_bn(layer<nn::Conv2d>(dec_head_, 0), &layer<nn::BatchNorm2d>(dec_head_, 1), options);
    return out;
  }

  // The adaptor is a 1x1 convolution feeding only the heads: folded into them, it costs nothing.
  // seg: W_s (A f + a) + b_s = (W_s A) f + (W_s a + b_s).
  RawConv seg = raw_conv(layer<nn::Conv2d>(seg_, 0));
  const torch::Tensor ws = seg.w.view({seg.w.size(0), channels});
  seg.b = seg.b + ws.matmul(adaptor.b);
  seg.w = times_adaptor(ws, a_matrix, options.device).view({seg.w.size(0), a_matrix.size(1), 1, 1});
  fold_batchnorm(seg, layer<nn::BatchNorm2d>(seg_, 1));
  out.seg_hidden = to_folded(seg, options);
  out.seg_out = fold_conv_bn(layer<nn::Conv2d>(seg_, 3), nullptr, options);

  if (cls_on_adapted_) {
    // dec on cat(A f + a, map): the feature taps become W_d A; the adaptor bias a meets only the taps that fall
    // inside the zero-padded map, so its part is a fixed per-position map: conv(ones, sum_c W_d[:, c] a_c).
    RawConv dec = raw_conv(layer<nn::Conv2d>(dec_head_, 0));
    const int64_t out_c = dec.w.size(0), kh = dec.w.size(2), kw = dec.w.size(3);
    const torch::Tensor wd_feat = dec.w.slice(1, 0, channels), wd_map = dec.w.slice(1, channels, channels + 1);
    const torch::Tensor taps = wd_feat.permute({0, 2, 3, 1}).reshape({out_c * kh * kw, channels});
    const torch::Tensor folded_taps =
        times_adaptor(taps, a_matrix, options.device).view({out_c, kh, kw, a_matrix.size(1)}).permute({0, 3, 1, 2});
    const torch::Tensor bias_taps = taps.matmul(adaptor.b).view({out_c, 1, kh, kw});
    dec.w = torch::cat({folded_taps, wd_map}, 1);
    const torch::Tensor dec_scale = fold_batchnorm(dec, layer<nn::BatchNorm2d>(dec_head_, 1));
    const torch::Tensor bias_map = torch::conv2d(torch::ones({1, 1, fh, fw}, torch::kDouble), bias_taps, {}, dec.stride,
                                                 dec.padding, dec.dilation);
    out.dec = to_folded(dec, options);
    out.dec_bias_map = to_plan(bias_map * dec_scale.view({1, -1, 1, 1}), options);
  } else {  // dec on cat(f, map): the features are not adapted, only its BatchNorm folds
    out.dec = fold_conv_bn(layer<nn::Conv2d>(dec_head_, 0), &layer<nn::BatchNorm2d>(dec_head_, 1), options);
  }
  return out;
}

void DiscriminatorImpl::copy_fc(FoldedHeads& out, const PlanOptions& options) const {
  // Copies, never views: the plan is a frozen snapshot until the engine rebuilds it.
  const torch::ScalarType dtype = precision_dtype(options.precision);
  out.fc_weight = fc_score_->weight.detach().to(options.device, dtype, /*non_blocking=*/false, /*copy=*/true);
  out.fc_bias = fc_score_->bias.detach().to(options.device, dtype, /*non_blocking=*/false, /*copy=*/true);
}

HeadOutput FoldedHeads::forward(const torch::Tensor& features) const {
  const torch::Tensor adapted = has_adaptor ? adaptor.forward(features) : features;
  torch::Tensor hidden = seg_hidden.forward(adapted);
  torch::Tensor seg = seg_out.forward(torch::leaky_relu_(hidden, kSegLeakySlope));
  torch::Tensor d = dec.forward(torch::cat({has_adaptor && cls_on_adapted ? adapted : features, seg}, 1));
  if (dec_bias_map.defined()) d.add_(dec_bias_map);
  d.relu_();
  return {seg, torch::linear(pool_for_score_eval(d, seg), fc_weight, fc_bias).reshape({-1})};
}

FoldedHeads::Macs FoldedHeads::macs(int64_t fh, int64_t fw) const {
  Macs m;
  int64_t oh = 0, ow = 0;
  m.profiled = fh * fw * adaptor_macs_per_pixel;  // counted by the official model, although folded away here
  for (const FoldedConv* conv : {&seg_hidden, &seg_out}) m.profiled += conv->macs(fh, fw, oh, ow);
  m.profiled += fc_weight.numel();
  m.dec = dec.macs(fh, fw, oh, ow);
  return m;
}

}  // namespace ssn
