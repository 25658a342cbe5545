#include "model/anomaly_map.h"

namespace ssn {

namespace F = torch::nn::functional;

torch::Tensor gaussian_kernel1d(int64_t size, double sigma) {
  const double half = (size - 1) * 0.5;
  torch::Tensor x = torch::linspace(-half, half, size, torch::kFloat);
  torch::Tensor pdf = torch::exp((x / sigma).pow(2) * -0.5);
  return pdf / pdf.sum();
}

torch::Tensor gaussian_kernel2d(int64_t size, double sigma) {
  torch::Tensor k = gaussian_kernel1d(size, sigma);
  return torch::mm(k.unsqueeze(1), k.unsqueeze(0)).view({1, 1, size, size});
}

torch::Tensor gaussian_blur_reflect(const torch::Tensor& x, const torch::Tensor& kernel) {
  const int64_t channels = x.size(1);
  const int64_t pad_h = kernel.size(2) / 2, pad_w = kernel.size(3) / 2;
  torch::Tensor weight = kernel.to(x.options()).expand({channels, 1, kernel.size(2), kernel.size(3)});
  torch::Tensor padded = F::pad(x, F::PadFuncOptions({pad_w, pad_w, pad_h, pad_h}).mode(torch::kReflect));
  return F::conv2d(padded, weight, F::Conv2dFuncOptions().groups(channels));
}

}  // namespace ssn
