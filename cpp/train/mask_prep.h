// Ground-truth mask preparation of the 2025 extension (JIMS code, datamodules/base/dataset.py), applied at the
// image's own resolution before it is resized to the model size, as the official dataset does:
// - dilation: cv2.dilate with a k x k square of ones (anchor at its centre, pixels outside the image ignored);
// - distance-transform loss weights (mixed-segdec-net): for each 8-connected defect region, the Euclidean distance
//   of each pixel to the nearest pixel outside the region (scipy distance_transform_edt), divided by the region's
//   maximum, raised to `power`, times `weight`; every pixel outside the defects weighs 1.
#pragma once
#include <cstdint>
#include <vector>

namespace ssn {

struct MaskPrep {
  int64_t dilate = 0;     // square side; 0 = none
  double dt_weight = 0;   // w of w * d^p; 0 = no loss weights
  double dt_power = 1.0;  // p

  bool weights() const { return dt_weight > 0; }
  bool operator==(const MaskPrep& o) const {
    return dilate == o.dilate && dt_weight == o.dt_weight && dt_power == o.dt_power;
  }
  bool operator!=(const MaskPrep& o) const { return !(*this == o); }
};

// mask: height x width, 0 or 1. Returns the dilated mask.
std::vector<uint8_t> dilate_square(const std::vector<uint8_t>& mask, int64_t height, int64_t width, int64_t side);

// mask: height x width, 0 or 1 (already dilated). Returns the loss weights, height x width.
std::vector<float> distance_weights(const std::vector<uint8_t>& mask, int64_t height, int64_t width, double weight,
                                    double power);

}  // namespace ssn
