#include "train/gt_mask.h"

#include <sstream>

#include "common/error.h"

namespace ssn {

namespace {

torch::Tensor bilinear(const torch::Tensor& x, int64_t fh, int64_t fw, bool align_corners) {
  return torch::nn::functional::interpolate(x, torch::nn::functional::InterpolateFuncOptions()
                                                   .size(std::vector<int64_t>{fh, fw})
                                                   .mode(torch::kBilinear)
                                                   .align_corners(align_corners));
}

}  // namespace

torch::Tensor downsample_gt_mask(const torch::Tensor& mask, int64_t fh, int64_t fw, bool align_corners) {
  const bool valid_rank = mask.defined() && (mask.dim() == 3 || (mask.dim() == 4 && mask.size(1) == 1));
  if (!valid_rank || fh < 1 || fw < 1) {
    std::ostringstream os;
    os << "downsample_gt_mask: expected a mask [B,H,W] or [B,1,H,W] and a size >= 1, got ";
    if (mask.defined())
      os << mask.sizes();
    else
      os << "an undefined tensor";
    os << " and (" << fh << ", " << fw << ")";
    throw Error(ErrorCode::Shape, os.str(), "pass the batch of ground-truth masks and the feature map size");
  }
  if (mask.is_complex()) {
    throw Error(ErrorCode::Input, "downsample_gt_mask: complex masks are not supported", "pass a 0/1 mask");
  }
  const torch::Tensor m = (mask.dim() == 3 ? mask.unsqueeze(1) : mask).to(torch::kFloat32);
  const torch::Tensor resized = bilinear(m, fh, fw, align_corners);
  return (resized < 0.5).logical_not().to(torch::kFloat32);  // as the official where(m < 0.5, 0, 1)
}

torch::Tensor downsample_loss_weights(const torch::Tensor& weights, int64_t fh, int64_t fw) {
  if (!weights.defined() || weights.dim() != 3) {
    throw Error(ErrorCode::Shape, "downsample_loss_weights: expected weights [B,H,W]", "pass one map per image");
  }
  return bilinear(weights.unsqueeze(1).to(torch::kFloat32), fh, fw, /*align_corners=*/true);
}

}  // namespace ssn
