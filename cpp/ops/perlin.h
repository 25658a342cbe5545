// Perlin noise and the binary Perlin masks of the training-time anomaly generator (spec section 6).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <torch/torch.h>

namespace ssn {

// 2-D Perlin noise on an (hp, wp) canvas with (rx, ry) lattice cells along (H, W); rx must divide hp and
// ry divide wp. angles: gradient angles in radians, [rx+1, ry+1] or batched [S, rx+1, ry+1] (float32);
// result [hp, wp] or [S, hp, wp]. Pixel (i, j) lies in cell (i / (hp/rx), j / (wp/ry)) at local coordinates
// u = frac(i*rx/hp), v = frac(j*ry/wp); noise = sqrt(2) * lerp(lerp(n00, n10, f(u)), lerp(n01, n11, f(u)), f(v))
// with n.. the dot products of the corner gradients (cos, sin) and the offsets to the corners and
// f(t) = 6t^5 - 15t^4 + 10t^3. Range about [-1, 1].
torch::Tensor perlin_noise(int64_t hp, int64_t wp, int64_t rx, int64_t ry, const torch::Tensor& angles);

// What happens to a mask whose "no anomaly" draw u ~ U[0,1) exceeds 0.5 (config `no_anomaly`).
enum class NoAnomalyRule { Empty, Full, None };
// "empty" | "full" | "none"; throws ssn::Error(Config) otherwise.
NoAnomalyRule parse_no_anomaly_rule(const std::string& name);

// The smallest power of two >= n (n >= 1).
int64_t next_power_of_two(int64_t n);

// The random draws of one Perlin mask, in the official order per sample (randint, randint, rand, rand).
struct PerlinDraw {
  int64_t rx = 1, ry = 1;  // lattice resolution along H and W
  torch::Tensor angles;    // [rx+1, ry+1] gradient angles in radians, float32 CPU
  bool replace = false;    // the "no anomaly" draw u > 0.5
};

// `count` draws on `generator` (a CPU generator) for a canvas (hp, wp): kx, ky ~ randint(0, 6);
// rx = min(2^kx, hp), ry = min(2^ky, wp) (the cap keeps small feature maps valid; on canvases >= 32 the
// official scales 1..32 are unchanged); angles = 2*pi * rand(rx+1, ry+1); u = rand(1).
std::vector<PerlinDraw> draw_perlin(int64_t count, int64_t hp, int64_t wp, at::Generator generator);

// Binary masks [count, 1, fh, fw] (float32 0/1, CPU) from the draws on the canvas (next powers of two
// >= (fh, fw)): noise resized to (fh, fw) (bilinear, align_corners false), 1 where > threshold, then
// all zeros (Empty) or all ones (Full) where the draw says replace. Draws sharing a scale form one batch.
torch::Tensor perlin_masks_from_draws(const std::vector<PerlinDraw>& draws, int64_t fh, int64_t fw, double threshold,
                                      NoAnomalyRule rule);

// draw_perlin + perlin_masks_from_draws: the generator's Perlin masks (spec section 6, steps 1-5).
torch::Tensor perlin_masks(int64_t count, int64_t fh, int64_t fw, double threshold, NoAnomalyRule rule,
                           at::Generator generator);

}  // namespace ssn
