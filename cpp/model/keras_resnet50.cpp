#include "model/keras_resnet50.h"

#include "model/tensor_assign.h"

namespace ssn {

namespace nn = torch::nn;

namespace {

constexpr double kBnEps = 1e-3;  // Keras default (torchvision uses 1e-5)

// Keras stores kernels as HWIO; libtorch wants OIHW. Other ranks are left for the shape check to report.
torch::Tensor hwio_to_oihw(const torch::Tensor& t) { return t.dim() == 4 ? t.permute({3, 2, 0, 1}) : t; }

}  // namespace

KerasResNet50Impl::ConvBn KerasResNet50Impl::add_conv_bn(const std::string& conv_name, const std::string& bn_name,
                                                         int64_t in, int64_t out, int64_t kernel, int64_t stride) {
  ConvBn cb;
  cb.conv_name = conv_name;
  cb.bn_name = bn_name;
  // Keras "same" padding for the odd kernels used with stride 1 is symmetric (k-1)/2; the stem's explicit
  // ZeroPadding2D(3) + "valid" 7x7 conv is the same as padding 3.
  cb.conv = register_module(conv_name, nn::Conv2d(nn::Conv2dOptions(in, out, kernel)
                                                      .stride(stride)
                                                      .padding((kernel - 1) / 2)
                                                      .bias(true)));
  cb.bn = register_module(bn_name, nn::BatchNorm2d(nn::BatchNorm2dOptions(out).eps(kBnEps)));
  all_.push_back(cb);
  return cb;
}

KerasResNet50Impl::KerasResNet50Impl() {
  stem_ = add_conv_bn("conv1", "bn_conv1", 3, 64, 7, 2);
  const int64_t blocks[3] = {3, 4, 6};
  int64_t in = 64;
  for (int s = 0; s < 3; ++s) {
    const std::string stage = std::to_string(s + 2);
    const int64_t filters = int64_t{64} << s, out = filters * 4;
    for (int64_t b = 0; b < blocks[s]; ++b) {
      const std::string id = stage + std::string(1, static_cast<char>('a' + b));
      // Keras puts the stage's stride 2 on the first 1x1 convolution and on the shortcut.
      const int64_t stride = (b == 0 && s > 0) ? 2 : 1;
      Block blk;
      blk.branch2a = add_conv_bn("res" + id + "_branch2a", "bn" + id + "_branch2a", in, filters, 1, stride);
      blk.branch2b = add_conv_bn("res" + id + "_branch2b", "bn" + id + "_branch2b", filters, filters, 3, 1);
      blk.branch2c = add_conv_bn("res" + id + "_branch2c", "bn" + id + "_branch2c", filters, out, 1, 1);
      if (b == 0) {
        blk.has_shortcut = true;
        blk.branch1 = add_conv_bn("res" + id + "_branch1", "bn" + id + "_branch1", in, out, 1, stride);
      }
      stages_[s].push_back(blk);
      in = out;
    }
  }
  // Keras' initialisers (Glorot-uniform kernels, zero biases), so that an unloaded backbone is sane.
  torch::NoGradGuard no_grad;
  for (auto& cb : all_) {
    nn::init::xavier_uniform_(cb.conv->weight);
    nn::init::zeros_(cb.conv->bias);
  }
}

Preprocessing KerasResNet50Impl::preprocessing() const {
  return default_preprocessing(BackboneArch::KerasResNet50);
}

torch::Tensor KerasResNet50Impl::run_block(const Block& b, const torch::Tensor& x) {
  auto apply = [](const ConvBn& cb, const torch::Tensor& t) { return cb.bn.ptr()->forward(cb.conv.ptr()->forward(t)); };
  torch::Tensor y = torch::relu(apply(b.branch2a, x));
  y = torch::relu(apply(b.branch2b, y));
  y = apply(b.branch2c, y);
  return torch::relu(y + (b.has_shortcut ? apply(b.branch1, x) : x));
}

torch::Tensor KerasResNet50Impl::run_stage(const std::vector<Block>& blocks, torch::Tensor x) {
  for (const auto& b : blocks) x = run_block(b, x);
  return x;
}

BackboneFeatures KerasResNet50Impl::forward(const torch::Tensor& x) {
  torch::Tensor y = torch::relu(stem_.bn->forward(stem_.conv->forward(x)));
  // Keras zero-pads by 1 before a valid 3x3/s2 max-pool; after the ReLU every value is >= 0, so zero
  // padding gives the same maxima as max_pool2d's implicit -inf padding.
  y = torch::max_pool2d(y, {3, 3}, {2, 2}, {1, 1});
  y = run_stage(stages_[0], y);
  torch::Tensor l2 = run_stage(stages_[1], y);
  torch::Tensor l3 = run_stage(stages_[2], l2);
  return {l2, l3};
}

void KerasResNet50Impl::load_native_weights(const NamedTensors& weights) {
  std::vector<TensorAssignment> assignments;
  for (const auto& cb : all_) {
    assignments.push_back({cb.conv_name + "/kernel", cb.conv->weight, false, hwio_to_oihw});
    assignments.push_back({cb.conv_name + "/bias", cb.conv->bias, false, {}});
    assignments.push_back({cb.bn_name + "/gamma", cb.bn->weight, false, {}});
    assignments.push_back({cb.bn_name + "/beta", cb.bn->bias, false, {}});
    assignments.push_back({cb.bn_name + "/moving_mean", cb.bn->running_mean, false, {}});
    assignments.push_back({cb.bn_name + "/moving_variance", cb.bn->running_var, false, {}});
  }
  assign_tensors(assignments, weights, "resnet50-keras backbone weights (TF.js names)");
}

}  // namespace ssn
