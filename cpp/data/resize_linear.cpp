#include "data/resize_linear.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace ssn {
namespace {

constexpr int kCoefBits = 11;
constexpr int kCoefScale = 1 << kCoefBits;  // INTER_RESIZE_COEF_SCALE

// saturate_cast<short>(float): round half to even, then clamp.
int16_t round_coef(float v) {
  const float r = std::nearbyint(v);
  return static_cast<int16_t>(std::clamp(r, -32768.0f, 32767.0f));
}

struct Tap {
  int64_t index;     // first source index (in pixels)
  int16_t alpha[2];  // fixed-point weights of index and index + 1
};

// One axis of OpenCV's resizeGeneric_ set-up. `clamp_weights` mirrors that OpenCV clamps the x axis
// (fx = 0 at the borders) while rows keep their weights and only clip their indices.
std::vector<Tap> make_taps(int64_t src, int64_t dst, bool clamp_weights) {
  const double scale = static_cast<double>(src) / static_cast<double>(dst);
  std::vector<Tap> taps(dst);
  for (int64_t d = 0; d < dst; ++d) {
    float f = static_cast<float>((d + 0.5) * scale - 0.5);
    int64_t s = static_cast<int64_t>(std::floor(f));
    f -= static_cast<float>(s);
    if (clamp_weights) {
      if (s < 0) f = 0, s = 0;
      if (s >= src - 1) f = 0, s = src - 1;
    }
    taps[d].index = s;
    taps[d].alpha[0] = round_coef((1.0f - f) * kCoefScale);
    taps[d].alpha[1] = round_coef(f * kCoefScale);
  }
  return taps;
}

std::vector<uint8_t> area_half(const uint8_t* src, int64_t width, int64_t channels, int64_t dst_h, int64_t dst_w) {
  std::vector<uint8_t> dst(dst_h * dst_w * channels);
  const int64_t row = width * channels;
  for (int64_t y = 0; y < dst_h; ++y) {
    const uint8_t* r0 = src + (2 * y) * row;
    const uint8_t* r1 = r0 + row;
    uint8_t* out = dst.data() + y * dst_w * channels;
    for (int64_t x = 0; x < dst_w; ++x)
      for (int64_t c = 0; c < channels; ++c) {
        const int64_t i = 2 * x * channels + c;
        out[x * channels + c] = static_cast<uint8_t>((r0[i] + r0[i + channels] + r1[i] + r1[i + channels] + 2) >> 2);
      }
  }
  return dst;
}

}  // namespace

std::vector<uint8_t> resize_linear_u8(const uint8_t* src, int64_t height, int64_t width, int64_t channels,
                                      int64_t dst_h, int64_t dst_w) {
  if (height == dst_h && width == dst_w) return std::vector<uint8_t>(src, src + height * width * channels);
  if (height == 2 * dst_h && width == 2 * dst_w) return area_half(src, width, channels, dst_h, dst_w);

  const std::vector<Tap> xt = make_taps(width, dst_w, /*clamp_weights=*/true);
  const std::vector<Tap> yt = make_taps(height, dst_h, /*clamp_weights=*/false);

  // Horizontal pass of one source row into fixed-point ints (value * 2048), as HResizeLinear does.
  std::vector<int32_t> rows(2 * dst_w * channels);
  int64_t cached[2] = {-1, -1};
  auto hresize = [&](int64_t sy, int32_t* out) {
    const uint8_t* s = src + sy * width * channels;
    for (int64_t x = 0; x < dst_w; ++x) {
      const int64_t x0 = xt[x].index;
      const int64_t x1 = std::min(x0 + 1, width - 1);
      for (int64_t c = 0; c < channels; ++c)
        out[x * channels + c] = s[x0 * channels + c] * xt[x].alpha[0] + s[x1 * channels + c] * xt[x].alpha[1];
    }
  };

  std::vector<uint8_t> dst(dst_h * dst_w * channels);
  const int64_t n = dst_w * channels;
  for (int64_t y = 0; y < dst_h; ++y) {
    const int64_t sy[2] = {std::clamp<int64_t>(yt[y].index, 0, height - 1),
                           std::clamp<int64_t>(yt[y].index + 1, 0, height - 1)};
    const int32_t* line[2];
    for (int k = 0; k < 2; ++k) {
      int32_t* slot = rows.data() + k * n;
      if (cached[k] != sy[k]) {
        if (cached[1 - k] == sy[k]) {
          std::memcpy(slot, rows.data() + (1 - k) * n, n * sizeof(int32_t));
        } else {
          hresize(sy[k], slot);
        }
        cached[k] = sy[k];
      }
      line[k] = slot;
    }
    // VResizeLinear<uchar, int, short> with FixedPtCast: OpenCV's exact rounding sequence.
    const int32_t b0 = yt[y].alpha[0], b1 = yt[y].alpha[1];
    uint8_t* out = dst.data() + y * n;
    for (int64_t i = 0; i < n; ++i)
      out[i] = static_cast<uint8_t>((((b0 * (line[0][i] >> 4)) >> 16) + ((b1 * (line[1][i] >> 4)) >> 16) + 2) >> 2);
  }
  return dst;
}

}  // namespace ssn
