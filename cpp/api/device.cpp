#include "api/device.h"

#include "common/error.h"

namespace ssn {

DevicePreference parse_device_preference(const std::string& s) {
  if (s == "auto") return DevicePreference::Auto;
  if (s == "cpu") return DevicePreference::Cpu;
  if (s == "cuda") return DevicePreference::Cuda;
  throw Error(ErrorCode::Input, "Expected 'auto', 'cpu' or 'cuda' for device but received '" + s + "'");
}

std::pair<torch::Device, std::string> choose_device(DevicePreference preference) {
#ifdef SSN_WITH_CUDA
  const bool built_with_cuda = true;
#else
  const bool built_with_cuda = false;
#endif
  const bool cuda = torch::cuda::is_available();
  switch (preference) {
    case DevicePreference::Cpu:
      return {torch::kCPU, "device: cpu (asked for)"};
    case DevicePreference::Cuda:
      if (!cuda)
        throw Error(
            ErrorCode::CudaUnavailable,
            built_with_cuda ? "CUDA was asked for, but no CUDA device is visible to libtorch"
                            : "CUDA was asked for, but this build links a CPU-only libtorch",
            built_with_cuda
                ? "check the NVIDIA driver (nvidia-smi) and CUDA_VISIBLE_DEVICES, or use device 'cpu'"
                : "rebuild against a CUDA libtorch (LIBTORCH=/path/to/libtorch npx ssn build), or use device 'cpu'");
      return {torch::Device(torch::kCUDA, 0), "device: cuda:0 (asked for)"};
    case DevicePreference::Auto:
      break;
  }
  if (cuda)
    return {torch::Device(torch::kCUDA, 0), "device: auto chose cuda:0 (libtorch sees " +
                                                std::to_string(torch::cuda::device_count()) + " CUDA device(s))"};
  return {torch::kCPU, built_with_cuda ? "device: auto chose cpu (libtorch has CUDA, but no device is visible)"
                                       : "device: auto chose cpu (libtorch is CPU-only)"};
}

}  // namespace ssn
