// libFuzzer target: a safetensors file (header length, JSON header, offsets, dtypes, shapes, data).
#include "fuzz_target.h"
#include "io/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ssn_fuzz::write_scratch(data, size, "input.safetensors");
  return ssn_fuzz::run([&] { ssn::read_safetensors(path); });
}
