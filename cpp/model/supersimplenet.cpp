#include "model/supersimplenet.h"

#include <sstream>

#include "common/error.h"
#include "model/anomaly_map.h"
#include "model/feature_pipeline.h"

namespace ssn {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {
constexpr int64_t kSegHidden = 1024;
constexpr int64_t kClsChannels = 128;
}  // namespace

SuperSimpleNetImpl::SuperSimpleNetImpl(BackboneArch arch, int64_t image_h, int64_t image_w)
    : image_h_(image_h), image_w_(image_w) {
  if (image_h <= kBlurKernelSize / 2 || image_w <= kBlurKernelSize / 2) {
    std::ostringstream os;
    os << "Expected an image size above " << kBlurKernelSize / 2 << "x" << kBlurKernelSize / 2
       << " (the anomaly-map blur reflects 12 pixels) but received " << image_h << "x" << image_w << ".";
    throw Error(ErrorCode::Config, os.str(), "Use a larger image size (the paper uses 256x256).");
  }
  backbone_ = register_module("feature_extractor", make_backbone(arch));
  const int64_t c = feature_channels();

  auto adaptor = register_module("feature_adaptor", std::make_shared<nn::Module>("FeatureAdaptor"));
  projection_ = adaptor->register_module("projection", nn::Conv2d(nn::Conv2dOptions(c, c, 1).bias(true)));

  auto discriminator = register_module("discriminator", std::make_shared<nn::Module>("Discriminator"));
  seg_ = discriminator->register_module("seg",
                                        nn::Sequential(nn::Conv2d(nn::Conv2dOptions(c, kSegHidden, 1).bias(true)),
                                                       nn::BatchNorm2d(nn::BatchNorm2dOptions(kSegHidden)),
                                                       nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)),
                                                       nn::Conv2d(nn::Conv2dOptions(kSegHidden, 1, 1).bias(false))));
  dec_head_ = discriminator->register_module(
      "dec_head", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(c + 1, kClsChannels, 5).padding(2).bias(true)),
                                 nn::BatchNorm2d(nn::BatchNorm2dOptions(kClsChannels)), nn::ReLU()));
  fc_score_ = discriminator->register_module("fc_score", nn::Linear(nn::LinearOptions(2 * kClsChannels + 2, 1)));

  blur_kernel_ = gaussian_kernel2d(kBlurKernelSize, kBlurSigma);
  init_heads();
  backbone_->eval();
}

int64_t SuperSimpleNetImpl::feature_channels() const {
  return backbone_->layer2_channels() + backbone_->layer3_channels();
}

torch::Tensor SuperSimpleNetImpl::extract_features(const torch::Tensor& x) {
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
  const auto& w = projection_->weight;
  torch::Tensor input = x.to(w.device(), w.scalar_type());
  backbone_->eval();  // the backbone is frozen: running statistics always, as in the official code
  torch::NoGradGuard no_grad;
  BackboneFeatures f = backbone_->forward(input);
  return aggregate_features(f.layer2, f.layer3);
}

torch::Tensor SuperSimpleNetImpl::adapt(const torch::Tensor& features) { return projection_->forward(features); }

HeadOutput SuperSimpleNetImpl::heads(const torch::Tensor& adapted, bool stop_grad) {
  if (adapted.dim() != 4 || adapted.size(1) != feature_channels()) {
    std::ostringstream os;
    os << "Expected adapted features shaped [B," << feature_channels() << ",h,w] but received " << adapted.sizes()
       << ".";
    throw Error(ErrorCode::Shape, os.str());
  }
  torch::Tensor seg = seg_->forward(adapted);
  torch::Tensor map_for_cls = stop_grad ? seg.detach() : seg;
  torch::Tensor dec = dec_head_->forward(torch::cat({adapted, map_for_cls}, 1));
  // Pooling order fixes the fc_score weight columns: [max(dec), mean(dec), max(map), mean(map)].
  auto global_max = [](const torch::Tensor& t) { return std::get<0>(torch::adaptive_max_pool2d(t, {1, 1})); };
  auto global_avg = [](const torch::Tensor& t) { return torch::adaptive_avg_pool2d(t, {1, 1}); };
  torch::Tensor pooled =
      torch::cat({global_max(dec), global_avg(dec), global_max(map_for_cls), global_avg(map_for_cls)}, 1).flatten(1);
  return {seg, fc_score_->forward(pooled).reshape({-1})};
}

torch::Tensor SuperSimpleNetImpl::anomaly_map(const torch::Tensor& seg_logits) {
  torch::Tensor map = F::interpolate(seg_logits, F::InterpolateFuncOptions()
                                                     .size(std::vector<int64_t>{image_h_, image_w_})
                                                     .mode(torch::kBilinear)
                                                     .align_corners(false));
  // Keep the kernel where the maps are, so the copy happens once per device/dtype change.
  if (blur_kernel_.device() != map.device() || blur_kernel_.scalar_type() != map.scalar_type()) {
    blur_kernel_ = blur_kernel_.to(map.options());
  }
  return gaussian_blur_reflect(map, blur_kernel_);
}

InferenceOutput SuperSimpleNetImpl::infer(const torch::Tensor& x) {
  if (is_training()) {
    throw Error(ErrorCode::Internal, "SuperSimpleNet::infer() called in training mode.",
                "Call eval() on the network before inference.");
  }
  HeadOutput out = heads(adapt(extract_features(x)), false);
  return {anomaly_map(out.seg_logits), out.score_logit};
}

std::vector<torch::Tensor> SuperSimpleNetImpl::adaptor_parameters() { return projection_->parameters(); }

std::vector<torch::Tensor> SuperSimpleNetImpl::seg_parameters() { return seg_->parameters(); }

std::vector<torch::Tensor> SuperSimpleNetImpl::cls_parameters() {
  std::vector<torch::Tensor> params = dec_head_->parameters();
  for (const auto& p : fc_score_->parameters()) params.push_back(p);
  return params;
}

void SuperSimpleNetImpl::train(bool on) {
  torch::nn::Module::train(on);
  backbone_->eval();
}

}  // namespace ssn
