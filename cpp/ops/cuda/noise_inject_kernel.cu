// Fused noise injection on CUDA: one thread per Philox block of four elements, grid-stride loop.
// Includes no torch header so that nvcc can compile it standalone (scripts/check-cuda-compile.sh).
#include "ops/cuda/noise_inject_kernel.h"

#include <string>

#include "common/error.h"
#include "ops/philox.h"

namespace ssn {
namespace {

__global__ void noise_inject_f32_kernel(const float* feat, const float* mask, float* out, int64_t total, int64_t chw,
                                        int64_t hw, float std_dev, uint64_t seed, uint64_t offset, uint64_t first) {
  // Element i draws the stream's normal first + i (the CPU kernel's rule).
  const uint64_t first_block = first / 4;
  const auto blocks = static_cast<int64_t>((first + static_cast<uint64_t>(total) + 3) / 4 - first_block);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t b = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; b < blocks; b += stride) {
    const uint64_t block = first_block + static_cast<uint64_t>(b);
    float z[4];
    philox::normal4(block, seed, offset, z);
    for (int lane = 0; lane < 4; ++lane) {
      const uint64_t g = 4 * block + static_cast<uint64_t>(lane);
      if (g < first) continue;
      const auto i = static_cast<int64_t>(g - first);
      if (i >= total) break;
      const int64_t m = (i / chw) * hw + (i % hw);
      out[i] = philox::inject(feat[i], mask[m], std_dev, z[lane]);
    }
  }
}

}  // namespace

void launch_noise_inject_f32(const float* feat, const float* mask, float* out, int64_t n, int64_t c, int64_t hw,
                             float std, uint64_t seed, uint64_t offset, uint64_t first, cudaStream_t stream) {
  const int64_t total = n * c * hw;
  if (total == 0) return;
  constexpr int kThreads = 256;
  const int64_t blocks = (total + 3) / 4 + 1;  // + 1: a first that is not a multiple of 4 spans one more block
  // Enough blocks to fill any current GPU; the grid-stride loop covers the rest.
  const int64_t needed = (blocks + kThreads - 1) / kThreads;
  const int64_t grid = needed < 65535 ? needed : 65535;
  noise_inject_f32_kernel<<<static_cast<unsigned>(grid), kThreads, 0, stream>>>(feat, mask, out, total, c * hw, hw, std,
                                                                                seed, offset, first);
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) {
    throw Error(ErrorCode::Internal, std::string("noise_inject: CUDA kernel launch failed: ") + cudaGetErrorString(err),
                "check that the GPU is healthy and that the tensors live on the current device");
  }
}

}  // namespace ssn
