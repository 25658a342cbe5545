#include "tools/keras_classifier.h"

#include "common/error.h"
#include "data/preprocess.h"
#include "io/checkpoint.h"
#include "model/tensor_assign.h"

namespace ssn {

namespace nn = torch::nn;

KerasImageNetClassifierImpl::KerasImageNetClassifierImpl() {
  backbone_ = register_module("backbone", std::make_shared<KerasResNet50Impl>());
  stage5_ = add_keras_stage(*this, 5, 3, 1024, 512, 2, stage5_all_);
  fc1000_ = register_module("fc1000", nn::Linear(nn::LinearOptions(2048, kImageNetClasses).bias(true)));
  init_keras_convs(stage5_all_);
  torch::NoGradGuard no_grad;
  nn::init::xavier_uniform_(fc1000_->weight);  // Keras Dense defaults, like the convolutions
  nn::init::zeros_(fc1000_->bias);
}

torch::Tensor KerasImageNetClassifierImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = run_keras_stage(stage5_, backbone_->forward(x).layer3);
  return torch::softmax(fc1000_->forward(y.mean({2, 3})), 1);
}

void KerasImageNetClassifierImpl::load_native_weights(const NamedTensors& weights) {
  backbone_->load_native_weights(weights);
  std::vector<TensorAssignment> assignments;
  for (const auto& cb : stage5_all_) append_keras_assignments(cb, assignments);
  // Dense kernels are [in, out]; Linear wants [out, in].
  assignments.push_back({"fc1000/kernel", fc1000_->weight, false, [](const torch::Tensor& t) { return t.t(); }});
  assignments.push_back({"fc1000/bias", fc1000_->bias, false, {}});
  assign_tensors(assignments, weights, "Keras ResNet50 classifier weights (TF.js names)");
}

std::vector<std::vector<std::pair<int, float>>> keras_imagenet_top_k(const std::string& model_json,
                                                                     const std::vector<ImageU8>& images, int k) {
  if (images.empty()) {
    throw Error(ErrorCode::Input, "Expected at least one image to classify but received none",
                "Pass one or more images.");
  }
  if (k < 1 || k > kImageNetClasses) {
    throw Error(ErrorCode::Input,
                "Expected k between 1 and " + std::to_string(kImageNetClasses) + " but received " + std::to_string(k),
                "Ask for the top 1 to 1000 ImageNet classes.");
  }
  // Images are checked before the 100 MB model is read.
  const torch::Tensor input = preprocess_images(images, kKerasImageNetSize, kKerasImageNetSize,
                                                default_preprocessing(BackboneArch::KerasResNet50));
  KerasImageNetClassifier net;
  net->load_native_weights(read_tfjs_layers_model(model_json));
  net->eval();
  torch::NoGradGuard no_grad;
  const auto top = net->forward(input).topk(k, 1);
  const torch::Tensor probs = std::get<0>(top).contiguous();
  const torch::Tensor index = std::get<1>(top).contiguous();
  std::vector<std::vector<std::pair<int, float>>> out(images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    const float* p = probs[static_cast<int64_t>(i)].data_ptr<float>();
    const int64_t* c = index[static_cast<int64_t>(i)].data_ptr<int64_t>();
    for (int j = 0; j < k; ++j) out[i].emplace_back(static_cast<int>(c[j]), p[j]);
  }
  return out;
}

}  // namespace ssn
