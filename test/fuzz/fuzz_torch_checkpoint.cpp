// libFuzzer target: a PyTorch checkpoint, zip (libtorch's reader plus our CRC-32 check) or legacy.
#include "fuzz_target.h"
#include "io/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ssn_fuzz::write_scratch(data, size, "input.pth");
  return ssn_fuzz::run([&] { ssn::read_torch_checkpoint(path); });
}
