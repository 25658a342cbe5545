// The backbone's input normalisation: what each backbone was trained with (default_preprocessing in
// backbone.h picks it per architecture), applied to 8-bit pixels.
#pragma once
#include <array>

#include <torch/torch.h>

namespace ssn {

// x = (pixel * scale - mean[c]) / std[c], channels taken in `bgr` order when set; pixel in 0..255.
struct Preprocessing {
  bool bgr = false;
  float scale = 1.0f / 255.0f;
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
};

// Applies `p` to pixels in 0..255: [B,3,H,W] RGB of any numeric dtype -> float32 network input.
torch::Tensor preprocess(const torch::Tensor& pixels, const Preprocessing& p);

}  // namespace ssn
