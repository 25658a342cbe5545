// Torch-free launcher of the fused noise-injection kernel (compiled by nvcc without libtorch headers).
#pragma once
#include <cuda_runtime.h>
#include <cstdint>

namespace ssn {

// out[i] = feat[i] + (std * z_i) * mask[n, 0, h, w] over a contiguous [n, c, hw] float tensor, with z_i the
// Philox normal first + i of stream (seed, offset) (ops/philox.h).
// Throws ssn::Error (Internal) when the launch fails.
void launch_noise_inject_f32(const float* feat, const float* mask, float* out, int64_t n, int64_t c, int64_t hw,
                             float std, uint64_t seed, uint64_t offset, uint64_t first, cudaStream_t stream);

}  // namespace ssn
