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

}  // namespace

int main() {
  // Odd sizes so that the last Philox block is partial and the mask broadcast is exercised.
  const int64_t n = 3, c = 37, hw = 29 * 31, total = n * c * hw;
  const float std_dev = 0.015f;
  const uint64_t seed = 0x123456789abcdefULL, offset = 7;
  std::vector<float> feat(total), mask(n * hw), out(total), ref(total);
  for (int64_t i = 0; i < total; ++i) feat[i] = static_cast<float>((i * 7919) % 1000) * 1e-3f - 0.5f;
  for (int64_t i = 0; i < n * hw; ++i) mask[i] = (i % 3 == 0) ? 0.0f : 1.0f;
  for (int64_t b = 0; b < (total + 3) / 4; ++b) {
    float z[4];
    ssn::philox::normal4(static_cast<uint64_t>(b), seed, offset, z);
    for (int lane = 0; lane < 4 && 4 * b + lane < total; ++lane) {
      const int64_t i = 4 * b + lane;
      ref[i] = ssn::philox::inject(feat[i], mask[(i / (c * hw)) * hw + i % hw], std_dev, z[lane]);
    }
  }
  float *d_feat = nullptr, *d_mask = nullptr, *d_out = nullptr;
  if (!cuda_ok(cudaMalloc(&d_feat, total * sizeof(float)), "cudaMalloc") ||
      !cuda_ok(cudaMalloc(&d_mask, n * hw * sizeof(float)), "cudaMalloc") ||
      !cuda_ok(cudaMalloc(&d_out, total * sizeof(float)), "cudaMalloc") ||
      !cuda_ok(cudaMemcpy(d_feat, feat.data(), total * sizeof(float), cudaMemcpyHostToDevice), "cudaMemcpy") ||
      !cuda_ok(cudaMemcpy(d_mask, mask.data(), n * hw * sizeof(float), cudaMemcpyHostToDevice), "cudaMemcpy")) {
    return 2;
  }
  try {
    ssn::launch_noise_inject_f32(d_feat, d_mask, d_out, n, c, hw, std_dev, seed, offset, nullptr);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  if (!cuda_ok(cudaMemcpy(out.data(), d_out, total * sizeof(float), cudaMemcpyDeviceToHost), "cudaMemcpy")) return 2;
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
  std::printf("noise_inject device vs host: %lld of %lld elements differ\n", (long long)mismatches, (long long)total);
  return mismatches == 0 ? 0 : 1;
}
