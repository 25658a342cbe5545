// libFuzzer target: the pickle VM on raw bytes (what data.pkl and a legacy checkpoint's records hold).
#include "fuzz_target.h"
#include "io/pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ssn_fuzz::run([&] { ssn::pickle::load(data, size); });
}
