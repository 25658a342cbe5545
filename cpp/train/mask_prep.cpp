#include "train/mask_prep.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ssn {
namespace {

constexpr double kFar = 1e20;  // "no background pixel seen yet" in the squared-distance passes

// One pass of the exact squared Euclidean distance transform (Felzenszwalb and Huttenlocher 2012) over n
// samples of f, `stride` apart; f holds 0 at background pixels and kFar elsewhere on the first pass.
void edt_1d(double* f, int64_t n, int64_t stride, std::vector<double>& d, std::vector<int64_t>& v,
            std::vector<double>& z) {
  d.resize(n);
  v.resize(n);
  z.resize(n + 1);
  // The lower envelope of the parabolas (x - q)^2 + f(q): v holds their vertices, z the envelope's breakpoints.
  auto meet = [&](int64_t q, int64_t p) {
    return ((f[q * stride] + double(q) * q) - (f[p * stride] + double(p) * p)) / (2.0 * double(q - p));
  };
  int64_t k = 0;
  v[0] = 0;
  z[0] = -std::numeric_limits<double>::infinity();
  z[1] = std::numeric_limits<double>::infinity();
  for (int64_t q = 1; q < n; ++q) {
    double s = meet(q, v[k]);
    while (s <= z[k]) s = meet(q, v[--k]);
    ++k;
    v[k] = q;
    z[k] = s;
    z[k + 1] = std::numeric_limits<double>::infinity();
  }
  k = 0;
  for (int64_t q = 0; q < n; ++q) {
    while (z[k + 1] < double(q)) ++k;
    const double dq = double(q - v[k]);
    d[q] = dq * dq + f[v[k] * stride];
  }
  for (int64_t q = 0; q < n; ++q) f[q * stride] = d[q];
}

// Squared distance of every pixel of a h x w grid to its nearest background pixel (inside[i] false).
std::vector<double> squared_edt(const std::vector<bool>& inside, int64_t h, int64_t w) {
  std::vector<double> f(h * w);
  for (int64_t i = 0; i < h * w; ++i) f[i] = inside[i] ? kFar : 0.0;
  std::vector<double> d;
  std::vector<int64_t> v;
  std::vector<double> z;
  for (int64_t x = 0; x < w; ++x) edt_1d(f.data() + x, h, w, d, v, z);
  for (int64_t y = 0; y < h; ++y) edt_1d(f.data() + y * w, w, 1, d, v, z);
  return f;
}

// One 1-D pass of a square dilation along `lines` lines of `length` pixels (`step` apart, lines `stride`
// apart): a pixel becomes the maximum of its neighbours from -before to +after, those outside ignored.
void max_pass(const std::vector<uint8_t>& in, std::vector<uint8_t>& out, int64_t lines, int64_t length, int64_t stride,
              int64_t step, int64_t before, int64_t after) {
  for (int64_t l = 0; l < lines; ++l)
    for (int64_t x = 0; x < length; ++x) {
      uint8_t m = 0;
      for (int64_t i = std::max<int64_t>(0, x - after); i <= std::min(length - 1, x + before) && !m; ++i)
        m = in[l * stride + i * step];
      out[l * stride + x * step] = m;
    }
}

}  // namespace

std::vector<uint8_t> dilate_square(const std::vector<uint8_t>& mask, int64_t height, int64_t width, int64_t side) {
  if (side <= 1) return mask;
  // OpenCV's default anchor is the kernel centre, side / 2: offsets -a .. side - 1 - a. A square is separable.
  const int64_t before = side / 2, after = side - 1 - before;
  std::vector<uint8_t> rows(mask.size()), out(mask.size());
  max_pass(mask, rows, height, width, width, 1, before, after);
  max_pass(rows, out, width, height, 1, width, before, after);
  return out;
}

std::vector<float> distance_weights(const std::vector<uint8_t>& mask, int64_t height, int64_t width, double weight,
                                    double power) {
  std::vector<float> out(height * width, 1.0f);
  std::vector<int32_t> label(height * width, 0);
  std::vector<int64_t> stack;
  int32_t regions = 0;
  for (int64_t start = 0; start < height * width; ++start) {
    if (!mask[start] || label[start]) continue;
    // One 8-connected region (cv2.connectedComponents, connectivity 8), with its bounding box.
    const int32_t id = ++regions;
    int64_t y0 = height, y1 = -1, x0 = width, x1 = -1;
    std::vector<int64_t> pixels;
    label[start] = id;
    stack.assign(1, start);
    while (!stack.empty()) {
      const int64_t p = stack.back();
      stack.pop_back();
      pixels.push_back(p);
      const int64_t py = p / width, px = p % width;
      y0 = std::min(y0, py), y1 = std::max(y1, py), x0 = std::min(x0, px), x1 = std::max(x1, px);
      for (int64_t dy = -1; dy <= 1; ++dy)
        for (int64_t dx = -1; dx <= 1; ++dx) {
          const int64_t ny = py + dy, nx = px + dx;
          if (ny < 0 || ny >= height || nx < 0 || nx >= width) continue;
          const int64_t q = ny * width + nx;
          if (mask[q] && !label[q]) label[q] = id, stack.push_back(q);
        }
    }
    // The distance to the nearest pixel outside the region: a one-pixel ring around its box (clipped to the
    // image) always holds a nearer outside pixel than anything beyond it, so the box plus the ring suffices.
    const int64_t by0 = std::max<int64_t>(0, y0 - 1), by1 = std::min(height - 1, y1 + 1);
    const int64_t bx0 = std::max<int64_t>(0, x0 - 1), bx1 = std::min(width - 1, x1 + 1);
    const int64_t bh = by1 - by0 + 1, bw = bx1 - bx0 + 1;
    std::vector<bool> inside(bh * bw, false);
    for (const int64_t p : pixels) inside[(p / width - by0) * bw + (p % width - bx0)] = true;
    std::vector<double> d2;
    if (static_cast<int64_t>(pixels.size()) == height * width) {
      // No pixel outside the region anywhere: scipy then measures to the point just above the top-left pixel.
      d2.resize(bh * bw);
      for (int64_t y = 0; y < bh; ++y)
        for (int64_t x = 0; x < bw; ++x) d2[y * bw + x] = double(y + 1) * (y + 1) + double(x) * x;
    } else {
      d2 = squared_edt(inside, bh, bw);
    }
    double max_d = 0;
    for (const int64_t p : pixels) max_d = std::max(max_d, d2[(p / width - by0) * bw + (p % width - bx0)]);
    max_d = std::sqrt(max_d);
    for (const int64_t p : pixels) {
      const double d = std::sqrt(d2[(p / width - by0) * bw + (p % width - bx0)]) / max_d;
      out[p] = static_cast<float>(std::pow(d, power) * weight);
    }
  }
  return out;
}

}  // namespace ssn
