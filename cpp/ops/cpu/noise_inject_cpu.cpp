// CPU kernel of noise_inject: the same per-element formula as the CUDA kernel (ops/philox.h), so that
// both devices give identical floats. Parallel over Philox blocks; the result does not depend on threads.
#include <ATen/Parallel.h>

#include "ops/noise_inject.h"
#include "ops/philox.h"

namespace ssn {
namespace detail {

torch::Tensor noise_inject_cpu(const torch::Tensor& features, const torch::Tensor& noise_mask, int64_t n, int64_t c,
                               int64_t hw, float std, uint64_t seed, uint64_t offset, uint64_t first) {
  torch::Tensor out = torch::empty_like(features);
  const float* feat = features.data_ptr<float>();
  const float* mask = noise_mask.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  const int64_t total = n * c * hw;
  const int64_t chw = c * hw;
  // Element i draws the stream's normal first + i: the Philox blocks that hold first .. first + total - 1.
  const uint64_t first_block = first / 4;
  const auto blocks = static_cast<int64_t>((first + static_cast<uint64_t>(total) + 3) / 4 - first_block);
  at::parallel_for(0, total == 0 ? 0 : blocks, 2048, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const uint64_t block = first_block + static_cast<uint64_t>(b);
      float z[4];
      philox::normal4(block, seed, offset, z);
      for (int lane = 0; lane < 4; ++lane) {
        const uint64_t g = 4 * block + static_cast<uint64_t>(lane);
        if (g < first) continue;
        const auto i = static_cast<int64_t>(g - first);
        if (i >= total) break;
        dst[i] = philox::inject(feat[i], mask[(i / chw) * hw + (i % hw)], std, z[lane]);
      }
    }
  });
  return out;
}

}  // namespace detail
}  // namespace ssn
