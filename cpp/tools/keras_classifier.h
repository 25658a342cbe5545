// Keras ResNet50's full ImageNet classifier: the resnet50-keras backbone (stages 2-4), then stage 5,
// global average pooling and fc1000 + softmax. It checks an import of the default backbone end to end
// (`ssn weights verify`): photos must come out with their ImageNet classes.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "data/image.h"
#include "io/named_tensors.h"
#include "model/keras_blocks.h"
#include "model/keras_resnet50.h"

namespace ssn {

constexpr int64_t kImageNetClasses = 1000;
constexpr int64_t kKerasImageNetSize = 224;  // the input size the classifier was trained at

class KerasImageNetClassifierImpl : public torch::nn::Module {
 public:
  KerasImageNetClassifierImpl();

  // x: preprocessed ("caffe") [B,3,H,W] -> class probabilities [B,1000] (softmax).
  torch::Tensor forward(const torch::Tensor& x);
  // TF.js names of the whole model: the backbone's, res5*/bn5*, and fc1000/kernel ([2048,1000]) + bias.
  void load_native_weights(const NamedTensors& weights);

 private:
  std::shared_ptr<KerasResNet50Impl> backbone_;
  std::vector<KerasBlock> stage5_;
  std::vector<KerasConvBn> stage5_all_;
  torch::nn::Linear fc1000_{nullptr};
};
TORCH_MODULE(KerasImageNetClassifier);

// Reads the TF.js model (model.json + shards), resizes each image to 224x224 (OpenCV-exact bilinear),
// applies the "caffe" preprocessing and returns, per image, the k most probable classes as
// (class index, probability), most probable first. Throws ssn::Error(Input) for no images or k outside
// 1..1000, and the reader's errors for a missing or incomplete model.
std::vector<std::vector<std::pair<int, float>>> keras_imagenet_top_k(const std::string& model_json,
                                                                     const std::vector<ImageU8>& images, int k);

}  // namespace ssn
