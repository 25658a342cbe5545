// Device choice: 'auto' takes CUDA when libtorch has it and a device is present, and says why.
#pragma once
#include <string>
#include <utility>

#include <torch/torch.h>

namespace ssn {

enum class DevicePreference { Auto, Cpu, Cuda };
DevicePreference parse_device_preference(const std::string& s);  // "auto" | "cpu" | "cuda"

// Returns the device and one line saying what was chosen and why. Throws ssn::Error(CudaUnavailable)
// when CUDA is asked for and not there.
std::pair<torch::Device, std::string> choose_device(DevicePreference preference);

}  // namespace ssn
