#include "model/supersimplenet.h"

#include <set>
#include <sstream>

#include "common/error.h"
#include "common/limits.h"
#include "model/anomaly_map.h"
#include "model/feature_pipeline.h"
#include "model/head_init.h"
#include "model/tensor_assign.h"

namespace ssn {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
bool is_head_key(const std::string& key) {
  return starts_with(key, "feature_adaptor.") || starts_with(key, "discriminator.");
}

}  // namespace

SuperSimpleNetImpl::SuperSimpleNetImpl(BackboneArch arch, int64_t image_h, int64_t image_w, ModelVariant variant)
    : image_h_(image_h), image_w_(image_w), variant_(variant) {
  static_assert(kMinModelSide == kBlurKernelSize / 2 + 1, "the blur's reflect padding sets the smallest model side");
  if (image_h < kMinModelSide || image_w < kMinModelSide) {
    std::ostringstream os;
    os << "Expected an image size of at least " << kMinModelSide << "x" << kMinModelSide
       << " (the anomaly-map blur reflects 12 pixels) but received " << image_h << "x" << image_w << ".";
    throw Error(ErrorCode::Config, os.str(), "Use a larger image size (the paper uses 256x256).");
  }
  backbone_ = register_module("feature_extractor", make_backbone(arch));
  const int64_t c = feature_channels();

  adaptor_ = register_module("feature_adaptor", FeatureAdaptor(c));
  discriminator_ = register_module("discriminator", Discriminator(c, variant == ModelVariant::Icpr));

  blur_kernel_ = gaussian_kernel2d(kBlurKernelSize, kBlurSigma);
  init_heads();
  backbone_->eval();
}

int64_t SuperSimpleNetImpl::feature_channels() const {
  return backbone_->layer2_channels() + backbone_->layer3_channels();
}

void check_model_input(const torch::Tensor& x, int64_t image_h, int64_t image_w) {
  if (x.dim() != 4 || x.size(0) < 1 || x.size(1) != 3 || x.size(2) != image_h || x.size(3) != image_w) {
    std::ostringstream os;
    os << "Expected images shaped [B,3," << image_h << "," << image_w << "] (B >= 1) but received " << x.sizes() << ".";
    throw Error(ErrorCode::Shape, os.str(), "Resize the images to the model's size first.");
  }
  if (!x.is_floating_point()) {
    throw Error(ErrorCode::Input,
                std::string("Expected preprocessed float images but received dtype ") +
                    std::string(c10::toString(x.scalar_type())) + ".",
                "Apply the backbone's preprocessing first.");
  }
}

torch::Tensor SuperSimpleNetImpl::extract_features(const torch::Tensor& x) {
  check_model_input(x, image_h_, image_w_);
  const auto& w = adaptor_->projection().weight;
  torch::Tensor input = x.to(w.device(), w.scalar_type());
  backbone_->eval();  // the backbone is frozen: running statistics always, as in the official code
  torch::NoGradGuard no_grad;
  BackboneFeatures f = backbone_->forward(input);
  return aggregate_features(f.layer2, f.layer3);
}

std::pair<int64_t, int64_t> SuperSimpleNetImpl::feature_size() {
  if (feature_h_ == 0) {
    const auto& w = adaptor_->projection().weight;
    const torch::Tensor f = extract_features(torch::zeros({1, 3, image_h_, image_w_}, w.options()));
    feature_h_ = f.size(2);
    feature_w_ = f.size(3);
  }
  return {feature_h_, feature_w_};
}

torch::Tensor SuperSimpleNetImpl::adapt(const torch::Tensor& features) { return adaptor_->forward(features); }

HeadOutput SuperSimpleNetImpl::heads(const torch::Tensor& seg_features, const torch::Tensor& cls_features,
                                     bool stop_grad) {
  for (const torch::Tensor* t : {&seg_features, &cls_features}) {
    if (t->dim() != 4 || t->size(1) != feature_channels() || t->sizes() != seg_features.sizes()) {
      std::ostringstream os;
      os << "Expected head features shaped [B," << feature_channels() << ",h,w], both alike, but received "
         << seg_features.sizes() << " and " << cls_features.sizes() << ".";
      throw Error(ErrorCode::Shape, os.str());
    }
  }
  return discriminator_->forward(seg_features, cls_features, stop_grad);
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
  const torch::Tensor features = extract_features(x);
  const torch::Tensor adapted = adapt(features);
  HeadOutput out = heads(adapted, cls_features(features, adapted), false);
  return {anomaly_map(out.seg_logits), out.score_logit};
}

void SuperSimpleNetImpl::init_heads() {
  init_official_head(*adaptor_);
  init_official_head(*discriminator_);
}

NamedTensors SuperSimpleNetImpl::head_state() {
  // Detached views of the live tensors: callers that keep them across training should clone.
  NamedTensors state;
  for (const auto& p : named_parameters(true)) {
    if (is_head_key(p.key())) state.emplace(p.key(), p.value().detach());
  }
  for (const auto& b : named_buffers(true)) {
    if (is_head_key(b.key())) state.emplace(b.key(), b.value().detach());
  }
  return state;
}

void SuperSimpleNetImpl::load_head_state(const NamedTensors& state) {
  std::vector<TensorAssignment> assignments;
  std::set<std::string> expected;
  for (auto& a : same_name_assignments(*this)) {
    if (!is_head_key(a.source_key)) continue;
    expected.insert(a.source_key);
    assignments.push_back(std::move(a));
  }
  std::vector<std::string> unexpected;
  for (const auto& kv : state) {
    if (is_head_key(kv.first) && expected.count(kv.first) == 0) unexpected.push_back(kv.first);
  }
  assign_tensors(assignments, state, "SuperSimpleNet head weights", unexpected);
}

void SuperSimpleNetImpl::train(bool on) {
  torch::nn::Module::train(on);
  backbone_->eval();
}

}  // namespace ssn
