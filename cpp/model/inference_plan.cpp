#include "model/inference_plan.h"

#include <sstream>
#include <utility>
#include <variant>

#include "common/error.h"
#include "model/anomaly_map.h"
#include "model/feature_pipeline.h"

namespace ssn {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

constexpr double kSegSlope = 0.2;  // LeakyReLU of the segmentation head

using ModuleMap = torch::OrderedDict<std::string, std::shared_ptr<nn::Module>>;

std::shared_ptr<nn::Module> find_module(const ModuleMap& modules, const std::string& key) {
  const auto* found = modules.find(key);
  return found ? *found : nullptr;
}

std::shared_ptr<nn::Module> need_module(const ModuleMap& modules, const std::string& key) {
  auto m = find_module(modules, key);
  if (!m) throw Error(ErrorCode::Internal, "inference plan: the network has no module '" + key + "'");
  return m;
}

// Conv options hold padding as a variant (c10::variant in libtorch 1.x, std::variant in 2.x): the using
// declaration lets argument-dependent lookup pick the right get_if in both.
std::vector<int64_t> numeric_padding(const nn::Conv2dOptions::padding_t& padding) {
  using std::get_if;
  if (const auto* values = get_if<torch::ExpandingArray<2>>(&padding))
    return std::vector<int64_t>((*values)->begin(), (*values)->end());
  if (get_if<torch::enumtype::kValid>(&padding)) return {0, 0};
  throw Error(ErrorCode::Internal, "inference plan: 'same' padding is not used by any SuperSimpleNet convolution");
}

// A convolution's weights in double precision on the CPU, and its geometry.
struct RawConv {
  torch::Tensor w, b;
  std::vector<int64_t> stride, padding, dilation;
  int64_t groups = 1;
};

RawConv raw_conv(const std::shared_ptr<nn::Module>& conv_module) {
  const auto* conv = conv_module->as<nn::Conv2d>();
  if (!conv) throw Error(ErrorCode::Internal, "inference plan: expected a Conv2d module");
  RawConv c;
  c.w = conv->weight.detach().to(torch::kCPU, torch::kDouble);
  c.b = conv->bias.defined() ? conv->bias.detach().to(torch::kCPU, torch::kDouble)
                             : torch::zeros({c.w.size(0)}, torch::kDouble);
  const auto& o = conv->options;
  c.stride.assign(o.stride()->begin(), o.stride()->end());
  c.dilation.assign(o.dilation()->begin(), o.dilation()->end());
  c.padding = numeric_padding(o.padding());
  c.groups = o.groups();
  return c;
}

// Folds eval-mode BatchNorm into c; returns the per-channel scale g / sqrt(v + eps).
torch::Tensor fold_batchnorm(RawConv& c, const std::shared_ptr<nn::Module>& bn_module) {
  const auto* bn = bn_module->as<nn::BatchNorm2d>();
  if (!bn) throw Error(ErrorCode::Internal, "inference plan: expected a BatchNorm2d module");
  torch::Tensor scale = bn->weight.detach().to(torch::kCPU, torch::kDouble) /
                        (bn->running_var.detach().to(torch::kCPU, torch::kDouble) + bn->options.eps()).sqrt();
  c.w = c.w * scale.view({-1, 1, 1, 1});
  c.b = (c.b - bn->running_mean.detach().to(torch::kCPU, torch::kDouble)) * scale +
        bn->bias.detach().to(torch::kCPU, torch::kDouble);
  return scale;
}

torch::Tensor to_plan(const torch::Tensor& t, const PlanOptions& options) {
  torch::Tensor out = t.to(options.device, precision_dtype(options.precision));
  return options.channels_last && out.dim() == 4 ? out.contiguous(torch::MemoryFormat::ChannelsLast) : out;
}

FoldedConv finish(const RawConv& c, const PlanOptions& options) {
  FoldedConv out;
  out.weight = to_plan(c.w, options);
  out.bias = c.b.to(options.device, precision_dtype(options.precision));
  out.stride = c.stride;
  out.padding = c.padding;
  out.dilation = c.dilation;
  out.groups = c.groups;
  return out;
}

FoldedConv fold(const std::shared_ptr<nn::Module>& conv_module, const std::shared_ptr<nn::Module>& bn_module,
                const PlanOptions& options) {
  RawConv c = raw_conv(conv_module);
  if (bn_module) fold_batchnorm(c, bn_module);
  return finish(c, options);
}

// rows [R, C] times the adaptor's [C, C] matrix, in float32 on the plan's device (fast on CUDA, a fraction
// of one forward on the CPU), back in double.
torch::Tensor times_adaptor(const torch::Tensor& rows, const torch::Tensor& adaptor, const torch::Device& device) {
  return rows.to(device, torch::kFloat).matmul(adaptor.to(device, torch::kFloat)).to(torch::kCPU, torch::kDouble);
}

FoldedBlock torchvision_block(const ModuleMap& modules, const std::string& prefix, const PlanOptions& options) {
  FoldedBlock block;
  for (int i = 1; i <= 3; ++i) {
    const std::string conv = prefix + ".conv" + std::to_string(i);
    if (!find_module(modules, conv)) break;  // basic blocks have two convolutions, bottlenecks three
    block.main.push_back(
        fold(need_module(modules, conv), need_module(modules, prefix + ".bn" + std::to_string(i)), options));
  }
  if (find_module(modules, prefix + ".downsample")) {
    block.has_shortcut = true;
    block.shortcut =
        fold(need_module(modules, prefix + ".downsample.0"), need_module(modules, prefix + ".downsample.1"), options);
  }
  return block;
}

FoldedConv keras_conv(const ModuleMap& modules, const std::string& root, const std::string& conv, const std::string& bn,
                      const PlanOptions& options) {
  return fold(need_module(modules, root + conv), need_module(modules, root + bn), options);
}

}  // namespace

torch::Tensor FoldedConv::forward(const torch::Tensor& x) const {
  return torch::conv2d(x, weight, bias, stride, padding, dilation, groups);
}

int64_t FoldedConv::macs(int64_t in_h, int64_t in_w, int64_t& out_h, int64_t& out_w) const {
  out_h = (in_h + 2 * padding[0] - dilation[0] * (weight.size(2) - 1) - 1) / stride[0] + 1;
  out_w = (in_w + 2 * padding[1] - dilation[1] * (weight.size(3) - 1) - 1) / stride[1] + 1;
  return out_h * out_w * weight.numel();
}

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
  const ModuleMap modules = net.named_modules();
  const std::string bb = "feature_extractor.";
  if (net.backbone()->arch() == BackboneArch::KerasResNet50) {
    stem_ = keras_conv(modules, bb, "conv1", "bn_conv1", options);
    for (int s = 0; s < 3; ++s) {
      for (char letter = 'a';; ++letter) {
        const std::string id = std::to_string(s + 2) + letter;
        if (!find_module(modules, bb + "res" + id + "_branch2a")) break;
        FoldedBlock block;
        for (const char* branch : {"2a", "2b", "2c"})
          block.main.push_back(
              keras_conv(modules, bb, "res" + id + "_branch" + branch, "bn" + id + "_branch" + branch, options));
        if (find_module(modules, bb + "res" + id + "_branch1")) {
          block.has_shortcut = true;
          block.shortcut = keras_conv(modules, bb, "res" + id + "_branch1", "bn" + id + "_branch1", options);
        }
        stages_[s].push_back(std::move(block));
      }
    }
  } else {
    stem_ = fold(need_module(modules, bb + "conv1"), need_module(modules, bb + "bn1"), options);
    for (int s = 0; s < 3; ++s) {
      const std::string layer = bb + "layer" + std::to_string(s + 1) + ".";
      for (int b = 0; find_module(modules, layer + std::to_string(b)); ++b)
        stages_[s].push_back(torchvision_block(modules, layer + std::to_string(b), options));
    }
  }
  for (int s = 0; s < 3; ++s)
    if (stages_[s].empty()) throw Error(ErrorCode::Internal, "inference plan: backbone stage without blocks");

  // The adaptor is a 1x1 convolution feeding only the two heads: folded into both, it costs nothing.
  // seg: W_s (A f + a) + b_s = (W_s A) f + (W_s a + b_s).
  const RawConv adaptor = raw_conv(need_module(modules, "feature_adaptor.projection"));
  const int64_t channels = adaptor.w.size(0);
  const torch::Tensor a_matrix = adaptor.w.view({channels, adaptor.w.size(1)});
  projection_macs_per_pixel_ = adaptor.w.numel();
  RawConv seg = raw_conv(need_module(modules, "discriminator.seg.0"));
  const torch::Tensor ws = seg.w.view({seg.w.size(0), channels});
  seg.b = seg.b + ws.matmul(adaptor.b);
  seg.w = times_adaptor(ws, a_matrix, options.device).view({seg.w.size(0), a_matrix.size(1), 1, 1});
  fold_batchnorm(seg, need_module(modules, "discriminator.seg.1"));
  seg_hidden_ = finish(seg, options);
  seg_out_ = fold(need_module(modules, "discriminator.seg.3"), nullptr, options);
  // dec on cat(A f + a, map): the feature taps become W_d A; the adaptor bias a meets only the taps that fall
  // inside the zero-padded map, so its part is a fixed per-position map: conv(ones, sum_c W_d[:, c] a_c).
  RawConv dec = raw_conv(need_module(modules, "discriminator.dec_head.0"));
  const int64_t out_c = dec.w.size(0), kh = dec.w.size(2), kw = dec.w.size(3);
  const torch::Tensor wd_feat = dec.w.slice(1, 0, channels), wd_map = dec.w.slice(1, channels, channels + 1);
  const torch::Tensor taps = wd_feat.permute({0, 2, 3, 1}).reshape({out_c * kh * kw, channels});
  const torch::Tensor folded_taps =
      times_adaptor(taps, a_matrix, options.device).view({out_c, kh, kw, a_matrix.size(1)}).permute({0, 3, 1, 2});
  const torch::Tensor bias_taps = taps.matmul(adaptor.b).view({out_c, 1, kh, kw});
  dec.w = torch::cat({folded_taps, wd_map}, 1);
  const torch::Tensor dec_scale = fold_batchnorm(dec, need_module(modules, "discriminator.dec_head.1"));
  int64_t fh = 0, fw = 0;
  feature_size(fh, fw);
  const torch::Tensor bias_map =
      torch::conv2d(torch::ones({1, 1, fh, fw}, torch::kDouble), bias_taps, {}, dec.stride, dec.padding, dec.dilation);
  dec_ = finish(dec, options);
  dec_bias_map_ = to_plan(bias_map * dec_scale.view({1, -1, 1, 1}), options);
  const auto* fc = need_module(modules, "discriminator.fc_score")->as<nn::Linear>();
  if (!fc) throw Error(ErrorCode::Internal, "inference plan: fc_score is not a Linear module");
  // Copies, never views: the plan is a frozen snapshot until the engine rebuilds it.
  fc_weight_ = fc->weight.detach().to(options.device, dtype_, /*non_blocking=*/false, /*copy=*/true);
  fc_bias_ = fc->bias.detach().to(options.device, dtype_, /*non_blocking=*/false, /*copy=*/true);
  blur_kernel1d_ = gaussian_kernel1d(kBlurKernelSize, kBlurSigma).to(options.device);
}

torch::Tensor InferencePlan::prepare(const torch::Tensor& x) const {
  if (x.dim() != 4 || x.size(0) < 1 || x.size(1) != 3 || x.size(2) != image_h_ || x.size(3) != image_w_) {
    std::ostringstream os;
    os << "Expected images shaped [B,3," << image_h_ << "," << image_w_ << "] (B >= 1) but received " << x.sizes()
       << ".";
    throw Error(ErrorCode::Shape, os.str(), "Resize the images to the model's size first.");
  }
  if (!x.is_floating_point()) {
    throw Error(ErrorCode::Input,
                std::string("Expected preprocessed float images but received dtype ") +
                    std::string(c10::toString(x.scalar_type())) + ".",
                "Apply the backbone's preprocessing first.");
  }
  torch::Tensor y = x.to(options_.device, dtype_);
  return options_.channels_last ? y.contiguous(torch::MemoryFormat::ChannelsLast) : y;
}

InferenceOutput InferencePlan::run(const torch::Tensor& x) const {
  torch::Tensor y = stem_.forward(prepare(x)).relu_();
  y = torch::max_pool2d(y, {3, 3}, {2, 2}, {1, 1});
  torch::Tensor layers[3];
  for (int s = 0; s < 3; ++s) {
    for (const FoldedBlock& block : stages_[s]) {
      torch::Tensor z = y;
      for (size_t i = 0; i < block.main.size(); ++i) {
        z = block.main[i].forward(z);
        if (i + 1 < block.main.size()) z.relu_();
      }
      y = z.add_(block.has_shortcut ? block.shortcut.forward(y) : y).relu_();
    }
    layers[s] = y;
  }
  torch::Tensor features = aggregate_features(layers[1], layers[2]);
  torch::Tensor hidden = seg_hidden_.forward(features);
  torch::Tensor seg = seg_out_.forward(torch::leaky_relu_(hidden, kSegSlope));
  torch::Tensor dec = dec_.forward(torch::cat({features, seg}, 1)).add_(dec_bias_map_).relu_();
  // Pooling order fixes the fc_score weight columns: [max(dec), mean(dec), max(map), mean(map)].
  torch::Tensor pooled = torch::cat({dec.amax({2, 3}), dec.mean({2, 3}), seg.amax({2, 3}), seg.mean({2, 3})}, 1);
  torch::Tensor score = torch::linear(pooled, fc_weight_, fc_bias_).reshape({-1}).to(torch::kFloat);
  torch::Tensor map =
      F::interpolate(seg.to(torch::kFloat).contiguous(), F::InterpolateFuncOptions()
                                                             .size(std::vector<int64_t>{image_h_, image_w_})
                                                             .mode(torch::kBilinear)
                                                             .align_corners(false));
  return {gaussian_blur_reflect_separable(map, blur_kernel1d_), score};
}

int64_t InferencePlan::walk_backbone(int64_t& h, int64_t& w, int64_t& l2_h, int64_t& l2_w) const {
  int64_t macs = stem_.macs(h, w, h, w);
  h = (h + 2 - 3) / 2 + 1;  // max-pool 3x3, stride 2, padding 1
  w = (w + 2 - 3) / 2 + 1;
  for (int s = 0; s < 3; ++s) {
    for (const FoldedBlock& block : stages_[s]) {
      const int64_t in_h = h, in_w = w;
      for (const FoldedConv& conv : block.main) macs += conv.macs(h, w, h, w);
      int64_t sh = 0, sw = 0;
      if (block.has_shortcut) macs += block.shortcut.macs(in_h, in_w, sh, sw);
    }
    if (s == 1) l2_h = h, l2_w = w;
  }
  return macs;
}

void InferencePlan::feature_size(int64_t& fh, int64_t& fw) const {
  int64_t h = image_h_, w = image_w_, l2_h = 0, l2_w = 0;
  walk_backbone(h, w, l2_h, l2_w);
  fh = 2 * l2_h;
  fw = 2 * l2_w;
}

InferencePlan::Flops InferencePlan::gflops(int64_t batch) const {
  int64_t h = image_h_, w = image_w_, l2_h = 0, l2_w = 0, oh = 0, ow = 0;
  int64_t macs = walk_backbone(h, w, l2_h, l2_w);
  const int64_t fh = 2 * l2_h, fw = 2 * l2_w;
  // The official model's count: the adaptor is counted although the plan folds it away.
  macs += fh * fw * projection_macs_per_pixel_;
  for (const FoldedConv* conv : {&seg_hidden_, &seg_out_}) macs += conv->macs(fh, fw, oh, ow);
  const int64_t dec_macs = dec_.macs(fh, fw, oh, ow);
  macs += fc_weight_.numel();
  macs += image_h_ * image_w_ * kBlurKernelSize * kBlurKernelSize;
  const double scale = 2.0 * static_cast<double>(batch) / 1e9;
  Flops out;
  out.total = scale * static_cast<double>(macs + dec_macs);
  out.profiler_equivalent = scale * static_cast<double>(macs);
  return out;
}

}  // namespace ssn
