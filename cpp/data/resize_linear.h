// Image resizing exactly as the official data pipeline does it: OpenCV cv::resize with INTER_LINEAR on
// 8-bit images (albumentations Resize), i.e. half-pixel centres, no antialias, 11-bit fixed-point
// coefficients and OpenCV's rounding. An exact 2x downscale takes OpenCV's INTER_AREA fast path, as
// cv::resize itself does.
#pragma once
#include <cstdint>
#include <vector>

namespace ssn {

// src: height x width x channels, row-major, no padding. Returns dst_h x dst_w x channels.
std::vector<uint8_t> resize_linear_u8(const uint8_t* src, int64_t height, int64_t width, int64_t channels,
                                      int64_t dst_h, int64_t dst_w);

}  // namespace ssn
