// libFuzzer target: a TF.js layers model.json, beside a 256-byte shard 's.bin' it may name.
#include "fuzz_target.h"
#include "io/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const uint8_t shard[256] = {};
  static const std::string shard_path = ssn_fuzz::write_scratch(shard, sizeof shard, "s.bin");
  (void)shard_path;
  const std::string path = ssn_fuzz::write_scratch(data, size, "model.json");
  return ssn_fuzz::run([&] { ssn::read_tfjs_layers_model(path); });
}
