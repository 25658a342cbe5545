#include <cmath>
#include <sstream>

#include "common/error.h"
#include "model/backbone.h"

namespace ssn {

Preprocessing default_preprocessing(BackboneArch arch) {
  Preprocessing p;  // torchvision: RGB / 255, ImageNet mean and std
  if (arch == BackboneArch::KerasResNet50) {
    // Keras "caffe" mode: BGR, minus the ImageNet BGR mean in 0..255 units, no std.
    p.bgr = true;
    p.scale = 1.0f;
    p.mean = {103.939f, 116.779f, 123.68f};
    p.std = {1.0f, 1.0f, 1.0f};
  }
  return p;
}

torch::Tensor preprocess(const torch::Tensor& pixels, const Preprocessing& p) {
  if (pixels.dim() != 4 || pixels.size(1) != 3) {
    std::ostringstream os;
    os << "Expected RGB pixels shaped [B,3,H,W] but received " << pixels.sizes() << ".";
    throw Error(ErrorCode::Shape, os.str(), "Pass images as batched channel-first RGB.");
  }
  torch::Tensor x = p.bgr ? pixels.flip({1}) : pixels;
  x = x.to(torch::kFloat);
  // torchvision's ToTensor divides by 255; multiplying by the float 1/255 differs in the last bit for
  // half of the pixel values, so a scale that is the reciprocal of an integer becomes a division.
  const double inverse = 1.0 / static_cast<double>(p.scale);
  const double rounded = std::round(inverse);
  if (std::abs(inverse - rounded) < 1e-3 * rounded) {
    if (rounded != 1.0) x = x.div(rounded);
  } else {
    x = x.mul(p.scale);
  }
  auto opts = torch::TensorOptions().dtype(torch::kFloat).device(x.device());
  auto mean = torch::tensor({p.mean[0], p.mean[1], p.mean[2]}, opts).view({1, 3, 1, 1});
  auto std = torch::tensor({p.std[0], p.std[1], p.std[2]}, opts).view({1, 3, 1, 1});
  return x.sub(mean).div(std);
}

}  // namespace ssn
