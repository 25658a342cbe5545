#include "model/torchvision_resnet.h"

#include <string>

#include "common/error.h"
#include "model/tensor_assign.h"

namespace ssn {

namespace nn = torch::nn;

namespace {

constexpr double kBnEps = 1e-5;

nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).bias(false));
}
nn::BatchNorm2d bn(int64_t c) { return nn::BatchNorm2d(nn::BatchNorm2dOptions(c).eps(kBnEps)); }

// Block 0 of a layer projects the shortcut when the stride or the channel count changes.
nn::Sequential make_downsample(int64_t in, int64_t out, int64_t stride) {
  return nn::Sequential(conv(in, out, 1, stride, 0), bn(out));
}

// The block's convolutions (conv1+bn1, conv2+bn2, ...) and its downsample, if any, folded.
FoldedBlock fold_block(std::initializer_list<std::pair<const nn::Conv2d*, const nn::BatchNorm2d*>> main,
                       const nn::Sequential& downsample, const PlanOptions& options) {
  FoldedBlock block;
  for (const auto& [c, n] : main) block.main.push_back(fold_conv_bn(**c, n->get(), options));
  if (downsample) {
    block.has_shortcut = true;
    block.shortcut =
        fold_conv_bn(*downsample->ptr(0)->as<nn::Conv2d>(), downsample->ptr(1)->as<nn::BatchNorm2d>(), options);
  }
  return block;
}

class BasicBlockImpl : public ResidualBlockImpl {
 public:
  static constexpr int64_t kExpansion = 1;
  BasicBlockImpl(int64_t in, int64_t planes, int64_t stride) {
    conv1_ = register_module("conv1", conv(in, planes, 3, stride, 1));
    bn1_ = register_module("bn1", bn(planes));
    conv2_ = register_module("conv2", conv(planes, planes, 3, 1, 1));
    bn2_ = register_module("bn2", bn(planes));
    if (stride != 1 || in != planes) downsample_ = register_module("downsample", make_downsample(in, planes, stride));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor y = torch::relu(bn1_->forward(conv1_->forward(x)));
    y = bn2_->forward(conv2_->forward(y));
    return torch::relu(y + (downsample_ ? downsample_->forward(x) : x));
  }
  FoldedBlock fold(const PlanOptions& options) const override {
    return fold_block({{&conv1_, &bn1_}, {&conv2_, &bn2_}}, downsample_, options);
  }

 private:
  nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  nn::Sequential downsample_{nullptr};
};

// ResNet v1.5 bottleneck: the stride sits on the 3x3 convolution.
class BottleneckImpl : public ResidualBlockImpl {
 public:
  static constexpr int64_t kExpansion = 4;
  BottleneckImpl(int64_t in, int64_t planes, int64_t width, int64_t stride) {
    const int64_t out = planes * kExpansion;
    conv1_ = register_module("conv1", conv(in, width, 1, 1, 0));
    bn1_ = register_module("bn1", bn(width));
    conv2_ = register_module("conv2", conv(width, width, 3, stride, 1));
    bn2_ = register_module("bn2", bn(width));
    conv3_ = register_module("conv3", conv(width, out, 1, 1, 0));
    bn3_ = register_module("bn3", bn(out));
    if (stride != 1 || in != out) downsample_ = register_module("downsample", make_downsample(in, out, stride));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor y = torch::relu(bn1_->forward(conv1_->forward(x)));
    y = torch::relu(bn2_->forward(conv2_->forward(y)));
    y = bn3_->forward(conv3_->forward(y));
    return torch::relu(y + (downsample_ ? downsample_->forward(x) : x));
  }
  FoldedBlock fold(const PlanOptions& options) const override {
    return fold_block({{&conv1_, &bn1_}, {&conv2_, &bn2_}, {&conv3_, &bn3_}}, downsample_, options);
  }

 private:
  nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  nn::Sequential downsample_{nullptr};
};

struct ResNetSpec {
  bool bottleneck;
  int64_t blocks[3];     // layer1..layer3
  int64_t width_factor;  // bottleneck width = planes * width_factor (2 for the wide variants)
};

ResNetSpec spec_of(BackboneArch arch) {
  switch (arch) {
    case BackboneArch::ResNet18:
      return {false, {2, 2, 2}, 1};
    case BackboneArch::ResNet34:
      return {false, {3, 4, 6}, 1};
    case BackboneArch::ResNet50:
      return {true, {3, 4, 6}, 1};
    case BackboneArch::WideResNet50_2:
      return {true, {3, 4, 6}, 2};
    case BackboneArch::WideResNet101_2:
      return {true, {3, 4, 23}, 2};
    case BackboneArch::KerasResNet50:
      break;
  }
  throw Error(ErrorCode::Internal, std::string("not a torchvision ResNet: ") + backbone_arch_name(arch));
}

}  // namespace

TorchvisionResNetImpl::TorchvisionResNetImpl(BackboneArch arch) : arch_(arch) {
  const ResNetSpec spec = spec_of(arch);
  conv1_ = register_module("conv1", conv(3, 64, 7, 2, 3));
  bn1_ = register_module("bn1", bn(64));
  int64_t in = 64;
  for (int i = 0; i < 3; ++i) {
    const int64_t planes = int64_t{64} << i;
    auto layer = register_module("layer" + std::to_string(i + 1), nn::ModuleList());
    for (int64_t b = 0; b < spec.blocks[i]; ++b) {
      const int64_t stride = (i > 0 && b == 0) ? 2 : 1;
      std::shared_ptr<ResidualBlockImpl> block;
      if (spec.bottleneck) {
        block = std::make_shared<BottleneckImpl>(in, planes, planes * spec.width_factor, stride);
        in = planes * BottleneckImpl::kExpansion;
      } else {
        block = std::make_shared<BasicBlockImpl>(in, planes, stride);
        in = planes * BasicBlockImpl::kExpansion;
      }
      layer->push_back(block);
      layers_[i].push_back(block);
    }
    if (i == 1) layer2_channels_ = in;
    if (i == 2) layer3_channels_ = in;
  }
  // torchvision's initialisation, so that a backbone without loaded weights behaves like torchvision's.
  torch::NoGradGuard no_grad;
  for (auto& m : modules(false)) {
    if (auto* c = m->as<nn::Conv2d>()) {
      nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
    } else if (auto* n = m->as<nn::BatchNorm2d>()) {
      nn::init::ones_(n->weight);
      nn::init::zeros_(n->bias);
    }
  }
}

torch::Tensor TorchvisionResNetImpl::run_layer(const std::vector<std::shared_ptr<ResidualBlockImpl>>& blocks,
                                               torch::Tensor x) {
  for (const auto& block : blocks) x = block->forward(x);
  return x;
}

BackboneFeatures TorchvisionResNetImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = torch::relu(bn1_->forward(conv1_->forward(x)));
  y = torch::max_pool2d(y, {3, 3}, {2, 2}, {1, 1});
  y = run_layer(layers_[0], y);
  torch::Tensor l2 = run_layer(layers_[1], y);
  torch::Tensor l3 = run_layer(layers_[2], l2);
  return {l2, l3};
}

FoldedBackbone TorchvisionResNetImpl::fold(const PlanOptions& options) const {
  FoldedBackbone out;
  out.stem = fold_conv_bn(*conv1_, bn1_.get(), options);
  for (int s = 0; s < 3; ++s)
    for (const auto& block : layers_[s]) out.stages[s].push_back(block->fold(options));
  return out;
}

void TorchvisionResNetImpl::load_native_weights(const NamedTensors& weights) {
  assign_tensors(same_name_assignments(*this), weights,
                 std::string(backbone_arch_name(arch_)) + " backbone weights (torchvision names)");
}

}  // namespace ssn
