#include "data/resize_nearest.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace ssn {
namespace {

// OpenCV's resizeNN offsets: ifx = 1 / (dst / src) in double, sx = cvFloor(x * ifx), min(sx, src - 1).
std::vector<int64_t> nearest_offsets(int64_t src, int64_t dst) {
  const double inv_scale = static_cast<double>(dst) / static_cast<double>(src);
  const double ifx = 1.0 / inv_scale;
  std::vector<int64_t> out(dst);
  for (int64_t x = 0; x < dst; ++x) out[x] = std::min(static_cast<int64_t>(std::floor(x * ifx)), src - 1);
  return out;
}

}  // namespace

std::vector<uint8_t> resize_nearest_u8(const uint8_t* src, int64_t height, int64_t width, int64_t channels,
                                       int64_t dst_h, int64_t dst_w) {
  const std::vector<int64_t> xs = nearest_offsets(width, dst_w), ys = nearest_offsets(height, dst_h);
  std::vector<uint8_t> out(dst_h * dst_w * channels);
  for (int64_t y = 0; y < dst_h; ++y) {
    const uint8_t* row = src + ys[y] * width * channels;
    uint8_t* dst = out.data() + y * dst_w * channels;
    for (int64_t x = 0; x < dst_w; ++x) std::memcpy(dst + x * channels, row + xs[x] * channels, channels);
  }
  return out;
}

std::vector<float> resize_nearest_f32(const float* src, int64_t height, int64_t width, int64_t dst_h, int64_t dst_w) {
  const std::vector<int64_t> xs = nearest_offsets(width, dst_w), ys = nearest_offsets(height, dst_h);
  std::vector<float> out(dst_h * dst_w);
  for (int64_t y = 0; y < dst_h; ++y)
    for (int64_t x = 0; x < dst_w; ++x) out[y * dst_w + x] = src[ys[y] * width + xs[x]];
  return out;
}

}  // namespace ssn
