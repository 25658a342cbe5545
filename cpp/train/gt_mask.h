// Ground-truth mask downsampling to the feature resolution (spec section 6, "GT mask downsampling").
#pragma once
#include <cstdint>

#include <torch/torch.h>

namespace ssn {

// mask [B,H,W] or [B,1,H,W] in {0,1} (any real or bool dtype) -> [B,1,fh,fw] float32 in {0,1}: bilinear
// resize (no antialias; align_corners false in the ICPR code, true in the JIMS code), then 1 where >= 0.5. A
// small defect may vanish; the image label is not touched here (it stays 1 with an all-zero target mask).
torch::Tensor downsample_gt_mask(const torch::Tensor& mask, int64_t fh, int64_t fw, bool align_corners = false);

// Loss weights [B,H,W] -> [B,1,fh,fw] float32: bilinear with align_corners true, not thresholded (JIMS train.py).
torch::Tensor downsample_loss_weights(const torch::Tensor& weights, int64_t fh, int64_t fw);

}  // namespace ssn
