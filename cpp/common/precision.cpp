#include "common/precision.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#ifdef SSN_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

#include "common/error.h"

namespace ssn {

Precision parse_precision(const std::string& s) {
  if (s == "fp32") return Precision::Float32;
  if (s == "fp16") return Precision::Float16;
  if (s == "bf16") return Precision::BFloat16;
  throw Error(ErrorCode::Input, "Expected 'fp32', 'fp16' or 'bf16' for precision but received '" + s + "'");
}

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::Float32:
      return "fp32";
    case Precision::Float16:
      return "fp16";
    case Precision::BFloat16:
      return "bf16";
  }
  return "fp32";
}

torch::ScalarType precision_dtype(Precision p) {
  switch (p) {
    case Precision::Float32:
      return torch::kFloat;
    case Precision::Float16:
      return torch::kHalf;
    case Precision::BFloat16:
      return torch::kBFloat16;
  }
  return torch::kFloat;
}

namespace {

Bf16Support cpu_bf16_support() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  // Leaf 7 sub-leaf 0: EDX bit 22 = AMX-BF16. Sub-leaf 1: EAX bit 5 = AVX512-BF16.
  if (__get_cpuid_max(0, nullptr) < 7) return {false, "no AVX512-BF16 or AMX"};
  __cpuid_count(7, 0, a, b, c, d);
  const bool amx = (d >> 22) & 1u;
  __cpuid_count(7, 1, a, b, c, d);
  const bool avx512_bf16 = (a >> 5) & 1u;
  if (amx) return {true, avx512_bf16 ? "AMX-BF16 and AVX512-BF16" : "AMX-BF16"};
  if (avx512_bf16) return {true, "AVX512-BF16 (no AMX)"};
  return {false, "no AVX512-BF16 or AMX"};
#else
  return {false, "not an x86 CPU"};
#endif
}

}  // namespace

Bf16Support bf16_support(const torch::Device& device) {
  if (!device.is_cuda()) return cpu_bf16_support();
#ifdef SSN_WITH_CUDA
  cudaDeviceProp props{};
  if (cudaGetDeviceProperties(&props, device.has_index() ? device.index() : 0) != cudaSuccess) {
    return {false, "the CUDA device could not be queried"};
  }
  return {props.major >= 8, "sm_" + std::to_string(props.major) + std::to_string(props.minor)};
#else
  return {false, "no CUDA in this build"};
#endif
}

}  // namespace ssn
