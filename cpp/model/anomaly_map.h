// The anomaly-map smoothing of the official code: torchvision's GaussianBlur (kernel 25, sigma 4), which
// reflect-pads by 12 on every side and convolves with the outer product of a normalised 1-D Gaussian.
#pragma once
#include <cstdint>

#include <torch/torch.h>

namespace ssn {

constexpr int64_t kBlurKernelSize = 25;  // 2 * ceil(3 * sigma) + 1
constexpr double kBlurSigma = 4.0;

// float32, computed as torchvision does: x = linspace(-(k-1)/2, (k-1)/2, k), exp(-0.5 (x/sigma)^2) / sum.
torch::Tensor gaussian_kernel1d(int64_t size, double sigma);
// [1,1,k,k] outer product of the 1-D kernel with itself.
torch::Tensor gaussian_kernel2d(int64_t size, double sigma);
// x [B,C,H,W]; kernel [1,1,k,k] (moved to x's device and dtype). Reflect padding needs H, W > k/2.
torch::Tensor gaussian_blur_reflect(const torch::Tensor& x, const torch::Tensor& kernel);

}  // namespace ssn
