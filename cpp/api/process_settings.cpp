#include "api/process_settings.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <string>

#include "common/error.h"

namespace ssn {

std::mutex& seeded_construction_mutex() {
  static std::mutex m;
  return m;
}

void set_process_threads(int64_t threads) {
  if (threads < 0 || threads > 1024)
    throw Error(ErrorCode::Input,
                "Expected 0 (libtorch's choice) to 1024 threads but received " + std::to_string(threads));
  if (threads > 0) torch::set_num_threads(static_cast<int>(threads));
}

void configure_cuda_for_model(const torch::Device& device, Precision precision) {
  if (!device.is_cuda()) return;
  at::globalContext().setBenchmarkCuDNN(true);
  // libtorch's default lets cuDNN run fp32 convolutions in TF32 on Ampere and later (10-bit mantissa).
  if (precision == Precision::Float32) at::globalContext().setAllowTF32CuDNN(false);
}

void release_freed_memory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace ssn
