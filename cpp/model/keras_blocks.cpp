#include "model/keras_blocks.h"

namespace ssn {

namespace nn = torch::nn;

namespace {
constexpr double kBnEps = 1e-3;  // Keras default (torchvision uses 1e-5)
}  // namespace

torch::Tensor KerasConvBn::forward(const torch::Tensor& x) const { return bn.ptr()->forward(conv.ptr()->forward(x)); }

torch::Tensor KerasBlock::forward(const torch::Tensor& x) const {
  torch::Tensor y = torch::relu(branch2a.forward(x));
  y = torch::relu(branch2b.forward(y));
  y = branch2c.forward(y);
  return torch::relu(y + (has_shortcut ? branch1.forward(x) : x));
}

FoldedConv KerasConvBn::fold(const PlanOptions& options) const { return fold_conv_bn(*conv, bn.get(), options); }

FoldedBlock KerasBlock::fold(const PlanOptions& options) const {
  FoldedBlock block;
  block.main = {branch2a.fold(options), branch2b.fold(options), branch2c.fold(options)};
  block.has_shortcut = has_shortcut;
  if (has_shortcut) block.shortcut = branch1.fold(options);
  return block;
}

KerasConvBn add_keras_conv_bn(nn::Module& owner, const std::string& conv_name, const std::string& bn_name, int64_t in,
                              int64_t out, int64_t kernel, int64_t stride) {
  KerasConvBn cb;
  cb.conv_name = conv_name;
  cb.bn_name = bn_name;
  // The stem's explicit ZeroPadding2D(3) + "valid" 7x7 conv is the same as padding 3.
  cb.conv = owner.register_module(
      conv_name, nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding((kernel - 1) / 2).bias(true)));
  cb.bn = owner.register_module(bn_name, nn::BatchNorm2d(nn::BatchNorm2dOptions(out).eps(kBnEps)));
  return cb;
}

void init_keras_convs(const std::vector<KerasConvBn>& all) {
  torch::NoGradGuard no_grad;
  for (const auto& cb : all) {
    nn::init::xavier_uniform_(cb.conv->weight);
    nn::init::zeros_(cb.conv->bias);
  }
}

std::vector<KerasBlock> add_keras_stage(nn::Module& owner, int stage, int64_t blocks, int64_t in, int64_t filters,
                                        int64_t stride, std::vector<KerasConvBn>& all) {
  std::vector<KerasBlock> out;
  const int64_t width = filters * 4;
  for (int64_t b = 0; b < blocks; ++b) {
    const std::string id = std::to_string(stage) + std::string(1, static_cast<char>('a' + b));
    const int64_t s = b == 0 ? stride : 1;
    KerasBlock blk;
    blk.branch2a = add_keras_conv_bn(owner, "res" + id + "_branch2a", "bn" + id + "_branch2a", in, filters, 1, s);
    blk.branch2b = add_keras_conv_bn(owner, "res" + id + "_branch2b", "bn" + id + "_branch2b", filters, filters, 3, 1);
    blk.branch2c = add_keras_conv_bn(owner, "res" + id + "_branch2c", "bn" + id + "_branch2c", filters, width, 1, 1);
    all.insert(all.end(), {blk.branch2a, blk.branch2b, blk.branch2c});
    if (b == 0) {
      blk.has_shortcut = true;
      blk.branch1 = add_keras_conv_bn(owner, "res" + id + "_branch1", "bn" + id + "_branch1", in, width, 1, s);
      all.push_back(blk.branch1);
    }
    out.push_back(blk);
    in = width;
  }
  return out;
}

torch::Tensor run_keras_stage(const std::vector<KerasBlock>& blocks, torch::Tensor x) {
  for (const auto& b : blocks) x = b.forward(x);
  return x;
}

torch::Tensor keras_hwio_to_oihw(const torch::Tensor& t) { return t.dim() == 4 ? t.permute({3, 2, 0, 1}) : t; }

void append_keras_assignments(const KerasConvBn& cb, std::vector<TensorAssignment>& out) {
  out.push_back({cb.conv_name + "/kernel", cb.conv->weight, false, keras_hwio_to_oihw});
  out.push_back({cb.conv_name + "/bias", cb.conv->bias, false, {}});
  out.push_back({cb.bn_name + "/gamma", cb.bn->weight, false, {}});
  out.push_back({cb.bn_name + "/beta", cb.bn->bias, false, {}});
  out.push_back({cb.bn_name + "/moving_mean", cb.bn->running_mean, false, {}});
  out.push_back({cb.bn_name + "/moving_variance", cb.bn->running_var, false, {}});
}

}  // namespace ssn
