// noise_inject / philox_normal: argument checks, device dispatch and the autograd rule.
#include "ops/noise_inject.h"

#include <cmath>
#include <sstream>
#include <string>

#include <c10/util/accumulate.h>

#include "common/error.h"

namespace ssn {
namespace {

std::string sizes_of(const torch::Tensor& t) {
  std::ostringstream os;
  os << t.sizes();
  return os.str();
}

float checked_std(double std_dev, const char* op) {
  if (!std::isfinite(std_dev) || std_dev < 0.0) {
    throw Error(ErrorCode::Input,
                std::string(op) + ": std must be a finite number >= 0, got " + std::to_string(std_dev),
                "pass the standard deviation of the noise, e.g. 0.015");
  }
  return static_cast<float>(std_dev);
}

void require_cuda_build(const torch::Device& device, const char* op) {
  if (!device.is_cuda()) return;
#ifdef SSN_WITH_CUDA
  if (!torch::cuda::is_available()) {
    throw Error(ErrorCode::CudaUnavailable, std::string(op) + ": CUDA device requested but no GPU is available",
                "run on the CPU or on a machine with a CUDA GPU");
  }
#else
  throw Error(ErrorCode::CudaUnavailable, std::string(op) + ": this build has no CUDA kernels",
              "run on the CPU or rebuild against a CUDA libtorch");
#endif
}

// The raw kernel call over a contiguous [n, c, hw] float tensor and its [n, 1, hw] mask.
torch::Tensor run_kernel(const torch::Tensor& features, const torch::Tensor& mask, int64_t n, int64_t c, int64_t hw,
                         float std_dev, uint64_t seed, uint64_t offset, uint64_t first = 0) {
#ifdef SSN_WITH_CUDA
  if (features.is_cuda()) return detail::noise_inject_cuda(features, mask, n, c, hw, std_dev, seed, offset, first);
#endif
  return detail::noise_inject_cpu(features, mask, n, c, hw, std_dev, seed, offset, first);
}

// Gradient: identity for the features, nothing for the mask (a 0/1 selection, not a learned input).
struct NoiseInjectFunction : public torch::autograd::Function<NoiseInjectFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* /*ctx*/, const torch::Tensor& features,
                               const torch::Tensor& mask, double std_dev, uint64_t seed, uint64_t offset,
                               int64_t first_row) {
    const int64_t n = features.size(0), c = features.size(1), hw = features.size(2) * features.size(3);
    return run_kernel(features, mask, n, c, hw, static_cast<float>(std_dev), seed, offset,
                      static_cast<uint64_t>(first_row) * static_cast<uint64_t>(c * hw));
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* /*ctx*/,
                                                 torch::autograd::variable_list grad_out) {
    return {grad_out[0], torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor noise_inject(const torch::Tensor& features, const torch::Tensor& noise_mask, double std_dev,
                           uint64_t seed, uint64_t offset, int64_t first_row) {
  const float std_f = checked_std(std_dev, "noise_inject");
  if (first_row < 0) {
    throw Error(ErrorCode::Input, "noise_inject: first_row must be >= 0, got " + std::to_string(first_row),
                "pass the index of the first sample within the batch the stream was drawn for");
  }
  if (!features.defined() || !noise_mask.defined()) {
    throw Error(ErrorCode::Input, "noise_inject: features and noise_mask must be defined tensors",
                "pass the adapted features [N,C,H,W] and the noise mask [N,1,H,W]");
  }
  if (features.dim() != 4) {
    throw Error(ErrorCode::Shape, "noise_inject: features must be [N,C,H,W], got " + sizes_of(features),
                "pass a 4-D feature tensor");
  }
  if (noise_mask.dim() != 4 || noise_mask.size(0) != features.size(0) || noise_mask.size(1) != 1 ||
      noise_mask.size(2) != features.size(2) || noise_mask.size(3) != features.size(3)) {
    throw Error(ErrorCode::Shape,
                "noise_inject: noise_mask must be [N,1,H,W] = [" + std::to_string(features.size(0)) + ", 1, " +
                    std::to_string(features.size(2)) + ", " + std::to_string(features.size(3)) + "] for features " +
                    sizes_of(features) + ", got " + sizes_of(noise_mask),
                "give one mask channel per sample with the spatial size of the features");
  }
  if (features.scalar_type() != torch::kFloat32 || noise_mask.scalar_type() != torch::kFloat32) {
    throw Error(ErrorCode::Input,
                std::string("noise_inject: features and noise_mask must be float32, got ") +
                    c10::toString(features.scalar_type()) + " and " + c10::toString(noise_mask.scalar_type()),
                "convert with .to(torch::kFloat32)");
  }
  if (features.device() != noise_mask.device()) {
    throw Error(ErrorCode::Input,
                "noise_inject: features are on " + features.device().str() + " but noise_mask is on " +
                    noise_mask.device().str(),
                "move both tensors to the same device");
  }
  if (!features.device().is_cpu() && !features.device().is_cuda()) {
    throw Error(ErrorCode::Input, "noise_inject: unsupported device " + features.device().str(),
                "use a CPU or CUDA tensor");
  }
  require_cuda_build(features.device(), "noise_inject");
  return NoiseInjectFunction::apply(features.contiguous(), noise_mask.contiguous(), static_cast<double>(std_f), seed,
                                    offset, first_row);
}

torch::Tensor philox_normal(at::IntArrayRef shape, double std_dev, uint64_t seed, uint64_t offset,
                            const torch::Device& device) {
  const float std_f = checked_std(std_dev, "philox_normal");
  for (const int64_t s : shape) {
    if (s < 0) {
      std::ostringstream os;
      os << "philox_normal: sizes must be >= 0, got " << shape;
      throw Error(ErrorCode::Shape, os.str(), "pass a valid tensor shape");
    }
  }
  if (!device.is_cpu() && !device.is_cuda()) {
    throw Error(ErrorCode::Input, "philox_normal: unsupported device " + device.str(), "use the CPU or CUDA");
  }
  require_cuda_build(device, "philox_normal");
  const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  const int64_t numel = c10::multiply_integers(shape);
  // 0 + (std * z) * 1 == std * z: the shared kernel with a zero input and a unit mask.
  const torch::NoGradGuard no_grad;
  const torch::Tensor out =
      run_kernel(torch::zeros({numel}, options), torch::ones({1}, options), 1, numel, 1, std_f, seed, offset);
  return out.reshape(shape);
}

}  // namespace ssn
