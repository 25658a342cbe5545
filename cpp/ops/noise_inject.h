// Masked Gaussian feature noise of the training-time anomaly generator (spec section 6, step 5), drawn
// from a counter-based Philox stream so that CPU and CUDA give the same bits for the same (seed, offset).
#pragma once
#include <cstdint>

#include <torch/torch.h>

namespace ssn {

// features + N(0, std^2) * noise_mask, the normal of element i of the flattened [N,C,H,W] tensor being
// the Philox normal first_row * C*H*W + i of stream (seed, offset) (ops/philox.h): rows first_row.. of a
// larger batch drawn as one tensor get the bits that batch's rows would (micro-batches, distributed ranks).
// features: float32 [N,C,H,W];
// noise_mask: float32 [N,1,H,W] on the same device. Non-contiguous inputs are copied to contiguous ones.
// Autograd: the gradient w.r.t. features is the identity (the noise is a constant); none for the mask.
// Throws ssn::Error: Shape (ranks, sizes), Input (dtype, device mismatch, std), CudaUnavailable.
torch::Tensor noise_inject(const torch::Tensor& features, const torch::Tensor& noise_mask, double std, uint64_t seed,
                           uint64_t offset, int64_t first_row = 0);

// The noise alone: std * z_i for every element i of a tensor of `shape` (float32 on `device`), equal
// bit for bit to noise_inject(zeros, ones, ...) and usable for tests and the test-only injection hook.
torch::Tensor philox_normal(at::IntArrayRef shape, double std, uint64_t seed, uint64_t offset,
                            const torch::Device& device = torch::kCPU);

namespace detail {
// Device kernels without autograd; inputs already checked and contiguous, c = channels, hw = H*W; element i
// draws the stream's normal first + i.
torch::Tensor noise_inject_cpu(const torch::Tensor& features, const torch::Tensor& noise_mask, int64_t n, int64_t c,
                               int64_t hw, float std, uint64_t seed, uint64_t offset, uint64_t first);
#ifdef SSN_WITH_CUDA
torch::Tensor noise_inject_cuda(const torch::Tensor& features, const torch::Tensor& noise_mask, int64_t n, int64_t c,
                                int64_t hw, float std, uint64_t seed, uint64_t offset, uint64_t first);
#endif
}  // namespace detail

}  // namespace ssn
