// Nearest-neighbour resizing as the official mask pipeline does it: OpenCV cv::resize with INTER_NEAREST,
// source index floor(dst * (1 / (dst_size / src_size))), clamped to the last row/column.
#pragma once
#include <cstdint>
#include <vector>

namespace ssn {

// src: height x width x channels, row-major, no padding. Returns dst_h x dst_w x channels.
std::vector<uint8_t> resize_nearest_u8(const uint8_t* src, int64_t height, int64_t width, int64_t channels,
                                       int64_t dst_h, int64_t dst_w);
// The same for one float channel (loss-weight maps).
std::vector<float> resize_nearest_f32(const float* src, int64_t height, int64_t width, int64_t dst_h, int64_t dst_w);

}  // namespace ssn
