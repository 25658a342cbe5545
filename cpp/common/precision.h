// Numeric precision of inference and training: one enum, its names and dtypes, and what the hardware offers.
#pragma once
#include <string>

#include <torch/torch.h>

namespace ssn {

enum class Precision { Float32, Float16, BFloat16 };
Precision parse_precision(const std::string& s);  // "fp32" | "fp16" | "bf16"; throws ssn::Error(Input)
const char* precision_name(Precision p);
torch::ScalarType precision_dtype(Precision p);

// bf16 arithmetic in hardware: on the CPU, AMX-BF16 or AVX512-BF16 (x86 CPUID; oneDNN then runs bf16
// convolutions natively instead of emulating them); on CUDA, compute capability 8.0 or later.
struct Bf16Support {
  bool native = false;
  std::string what;  // e.g. "AVX512-BF16 (no AMX)", "sm_90", "no AVX512-BF16 or AMX"
};
Bf16Support bf16_support(const torch::Device& device);

}  // namespace ssn
