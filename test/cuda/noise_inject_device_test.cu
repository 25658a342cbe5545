// Standalone GPU check (no libtorch): the CUDA noise-injection kernel must give the same float bits as the
// host evaluation of ops/philox.h, element by element. Built by scripts/check-cuda-compile.sh; run it on a
// machine with a GPU (the script runs it with --run). Exit code 0 = identical, 1 = mismatch, 2 = CUDA error.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "ops/cuda/noise_inject_kernel.h"
#include "ops/philox.h"

namespace {

bool cuda_ok(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return true;
  std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(err));
  return false;
}

// Rows first_row.. of the tensor launched on their own with the stream's element offset first_row * c * hw
// (an offset that is not a multiple of 4 here: c * hw is odd), compared bit for bit with the host formula.
int64_t mismatches_of(int64_t n, int64_t c, int64_t hw, int64_t first_row, const std::vector<float>& feat,
                      const std::vector<float>& mask) {
  const float std_dev = 0.015f;
  const uint64_t seed = 0x123456789abcdefULL, offset = 7;
  const int64_t rows = n - first_row, total = rows * c * hw;
  const uint64_t first = static_cast<uint64_t>(first_row * c * hw);
  const float* f = feat.data() + first_row * c * hw;
  const float* m = mask.data() + first_row * hw;
  std::vector<float> out(total), ref(total);
  for (int64_t i = 0; i < total; ++i) {
    const uint64_t g = first + static_cast<uint64_t>(i);
    float z[4];
    ssn::philox::normal4(g / 4, seed, offset, z);
    ref[i] = ssn::philox::inject(f[i], m[(i / (c * hw)) * hw + i % hw], std_dev, z[g % 4]);
  }
  float *d_feat = nullptr, *d_mask = nullptr, *d_out = nullptr;
  if (!cuda_ok(cudaMalloc(&d_feat, total * sizeof(float)), "cudaMalloc") ||
      !cuda_ok(cudaMalloc(&d_mask, rows * hw * sizeof(float)), "cudaMalloc") ||
      !cuda_ok(cudaMalloc(&d_out, total * sizeof(float)), "cudaMalloc") ||
      !cuda_ok(cudaMemcpy(d_feat, f, total * sizeof(float), cudaMemcpyHostToDevice), "cudaMemcpy") ||
      !cuda_ok(cudaMemcpy(d_mask, m, rows * hw * sizeof(float), cudaMemcpyHostToDevice), "cudaMemcpy")) {
    return -1;
  }
  try {
    ssn::launch_noise_inject_f32(d_feat, d_mask, d_out, rows, c, hw, std_dev, seed, offset, first, nullptr);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return -1;
  }
  if (!cuda_ok(cudaMemcpy(out.data(), d_out, total * sizeof(float), cudaMemcpyDeviceToHost), "cudaMemcpy")) return -1;
  cudaFree(d_feat);
  cudaFree(d_mask);
  cudaFree(d_out);
  int64_t mismatches = 0;
  for (int64_t i = 0; i < total; ++i) {
    if (std::memcmp(&out[i], &ref[i], sizeof(float)) != 0) {
      if (mismatches < 5) std::fprintf(stderr, "element %lld: device %.9g host %.9g\n", (long long)i, out[i], ref[i]);
      ++mismatches;
    }
  }
  std::printf("noise_inject device vs host, rows %lld..: %lld of %lld elements differ\n", (long long)first_row,
              (long long)mismatches, (long long)total);
  return mismatches;
}

}  // namespace

int main() {
  // Odd sizes so that the last Philox block is partial and the mask broadcast is exercised.
  const int64_t n = 3, c = 37, hw = 29 * 31, total = n * c * hw;
  std::vector<float> feat(total), mask(n * hw);
  for (int64_t i = 0; i < total; ++i) feat[i] = static_cast<float>((i * 7919) % 1000) * 1e-3f - 0.5f;
  for (int64_t i = 0; i < n * hw; ++i) mask[i] = (i % 3 == 0) ? 0.0f : 1.0f;
  const int64_t whole = mismatches_of(n, c, hw, 0, feat, mask);
  const int64_t tail = mismatches_of(n, c, hw, 1, feat, mask);
  if (whole < 0 || tail < 0) return 2;
  return whole == 0 && tail == 0 ? 0 : 1;
}
