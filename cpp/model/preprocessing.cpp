#include "model/preprocessing.h"

#include <cmath>
#include <sstream>

#include "common/error.h"

namespace ssn {

torch::Tensor preprocess(const torch::Tensor& pixels, const Preprocessing& p) {
  if (pixels.dim() != 4 || pixels.size(1) != 3) {
    std::ostringstream os;
    os << "Expected RGB pixels shaped [B,3,H,W] but received " << pixels.sizes() << ".";
    throw Error(ErrorCode::Shape, os.str(), "Pass images as batched channel-first RGB.");
  }
  torch::Tensor x = (p.bgr ? pixels.flip({1}) : pixels).to(torch::kFloat);
  // The official data pipeline (albumentations Normalize), all in float32:
  // (x - mean * max_pixel) * (1 / (std * max_pixel)), with max_pixel = 1 / scale (255 for torchvision).
  const float max_pixel = static_cast<float>(std::round(1.0 / static_cast<double>(p.scale)));
  auto opts = torch::TensorOptions().dtype(torch::kFloat).device(x.device());
  auto mean = torch::tensor({p.mean[0], p.mean[1], p.mean[2]}, opts).mul(max_pixel).view({1, 3, 1, 1});
  auto inv_std = torch::tensor({p.std[0], p.std[1], p.std[2]}, opts).mul(max_pixel).reciprocal().view({1, 3, 1, 1});
  return x.sub(mean).mul(inv_std);
}

}  // namespace ssn
