#include "model/folding.h"

#include <variant>

#include "common/error.h"
#include "model/backbone.h"

namespace ssn {

namespace nn = torch::nn;

namespace {

// Conv options hold padding as a variant (c10::variant in libtorch 1.x, std::variant in 2.x): the using
// declaration lets argument-dependent lookup pick the right get_if in both.
std::vector<int64_t> numeric_padding(const nn::Conv2dOptions::padding_t& padding) {
  using std::get_if;
  if (const auto* values = get_if<torch::ExpandingArray<2>>(&padding))
    return std::vector<int64_t>((*values)->begin(), (*values)->end());
  if (get_if<torch::enumtype::kValid>(&padding)) return {0, 0};
  throw Error(ErrorCode::Internal, "inference plan: 'same' padding is not used by any SuperSimpleNet convolution");
}

torch::Tensor cpu_double(const torch::Tensor& t) { return t.detach().to(torch::kCPU, torch::kDouble); }

}  // namespace

torch::Tensor FoldedConv::forward(const torch::Tensor& x) const {
  torch::Tensor y = torch::conv2d(x, weight, bias, stride, padding, dilation, groups);
  if (!bn.defined()) return y;
  return torch::batch_norm(y, bn.weight, bn.bias, bn.mean, bn.var, /*training=*/false, /*momentum=*/0.0, bn.eps,
                           /*cudnn_enabled=*/true);
}

int64_t FoldedConv::macs(int64_t in_h, int64_t in_w, int64_t& out_h, int64_t& out_w) const {
  out_h = (in_h + 2 * padding[0] - dilation[0] * (weight.size(2) - 1) - 1) / stride[0] + 1;
  out_w = (in_w + 2 * padding[1] - dilation[1] * (weight.size(3) - 1) - 1) / stride[1] + 1;
  return out_h * out_w * weight.numel();
}

torch::Tensor FoldedBlock::forward(const torch::Tensor& x) const {
  torch::Tensor z = x;
  for (size_t i = 0; i < main.size(); ++i) {
    z = main[i].forward(z);
    if (i + 1 < main.size()) z.relu_();
  }
  return z.add_(has_shortcut ? shortcut.forward(x) : x).relu_();
}

int64_t FoldedBlock::macs(int64_t& h, int64_t& w) const {
  const int64_t in_h = h, in_w = w;
  int64_t total = 0;
  for (const FoldedConv& conv : main) total += conv.macs(h, w, h, w);
  int64_t sh = 0, sw = 0;
  if (has_shortcut) total += shortcut.macs(in_h, in_w, sh, sw);
  return total;
}

BackboneFeatures FoldedBackbone::forward(const torch::Tensor& x) const {
  torch::Tensor y = torch::max_pool2d(stem.forward(x).relu_(), {3, 3}, {2, 2}, {1, 1});
  torch::Tensor layers[3];
  for (int s = 0; s < 3; ++s) {
    for (const FoldedBlock& block : stages[s]) y = block.forward(y);
    layers[s] = y;
  }
  return {layers[1], layers[2]};
}

int64_t FoldedBackbone::macs(int64_t& h, int64_t& w, int64_t& l2_h, int64_t& l2_w) const {
  int64_t total = stem.macs(h, w, h, w);
  h = (h + 2 - 3) / 2 + 1;  // max-pool 3x3, stride 2, padding 1
  w = (w + 2 - 3) / 2 + 1;
  for (int s = 0; s < 3; ++s) {
    for (const FoldedBlock& block : stages[s]) total += block.macs(h, w);
    if (s == 1) l2_h = h, l2_w = w;
  }
  return total;
}

RawConv raw_conv(const nn::Conv2dImpl& conv) {
  RawConv c;
  c.w = cpu_double(conv.weight);
  c.b = conv.bias.defined() ? cpu_double(conv.bias) : torch::zeros({c.w.size(0)}, torch::kDouble);
  const auto& o = conv.options;
  c.stride.assign(o.stride()->begin(), o.stride()->end());
  c.dilation.assign(o.dilation()->begin(), o.dilation()->end());
  c.padding = numeric_padding(o.padding());
  c.groups = o.groups();
  return c;
}

torch::Tensor fold_batchnorm(RawConv& c, const nn::BatchNorm2dImpl& bn) {
  torch::Tensor scale = cpu_double(bn.weight) / (cpu_double(bn.running_var) + bn.options.eps()).sqrt();
  c.w = c.w * scale.view({-1, 1, 1, 1});
  c.b = (c.b - cpu_double(bn.running_mean)) * scale + cpu_double(bn.bias);
  return scale;
}

torch::Tensor to_plan(const torch::Tensor& t, const PlanOptions& options) {
  torch::Tensor out = t.to(options.device, precision_dtype(options.precision));
  return options.channels_last && out.dim() == 4 ? out.contiguous(torch::MemoryFormat::ChannelsLast) : out;
}

FoldedConv to_folded(const RawConv& c, const PlanOptions& options) {
  FoldedConv out;
  out.weight = to_plan(c.w, options);
  out.bias = c.b.to(options.device, precision_dtype(options.precision));
  out.stride = c.stride;
  out.padding = c.padding;
  out.dilation = c.dilation;
  out.groups = c.groups;
  return out;
}

FoldedConv fold_conv_bn(const nn::Conv2dImpl& conv, const nn::BatchNorm2dImpl* bn, const PlanOptions& options) {
  RawConv c = raw_conv(conv);
  if (bn && options.fold) fold_batchnorm(c, *bn);
  FoldedConv out = to_folded(c, options);
  if (bn && !options.fold) {
    auto copy = [&](const torch::Tensor& t) {
      return cpu_double(t).to(options.device, precision_dtype(options.precision));
    };
    out.bn = {copy(bn->weight), copy(bn->bias), copy(bn->running_mean), copy(bn->running_var), bn->options.eps()};
  }
  return out;
}

}  // namespace ssn
