// libtorch glue of the CUDA noise-injection kernel: device guard, current stream, output allocation.
// Compiled only in CUDA builds of libtorch (SSN_WITH_CUDA); the kernel itself is torch-free.
#ifdef SSN_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "ops/cuda/noise_inject_kernel.h"
#include "ops/noise_inject.h"

namespace ssn {
namespace detail {

torch::Tensor noise_inject_cuda(const torch::Tensor& features, const torch::Tensor& noise_mask, int64_t n, int64_t c,
                                int64_t hw, float std, uint64_t seed, uint64_t offset, uint64_t first) {
  const c10::cuda::CUDAGuard guard(features.device());
  torch::Tensor out = torch::empty_like(features);
  launch_noise_inject_f32(features.data_ptr<float>(), noise_mask.data_ptr<float>(), out.data_ptr<float>(), n, c, hw,
                          std, seed, offset, first,
                          c10::cuda::getCurrentCUDAStream(features.device().index()).stream());
  return out;
}

}  // namespace detail
}  // namespace ssn
#endif  // SSN_WITH_CUDA
