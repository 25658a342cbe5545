// The contract every fuzz target checks: an input either parses or is refused with ssn::Error. Any other
// exception escaping a parser (libtorch's c10::Error, std::bad_alloc, a std::out_of_range...) is a finding, and
// so is a crash, a hang or an allocation over libFuzzer's -rss_limit_mb.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string>
#include <typeinfo>

#include <unistd.h>

#include "common/error.h"

namespace ssn_fuzz {

template <typename Parse>
int run(Parse parse) {
  try {
    parse();
  } catch (const ssn::Error&) {
    // refused with a stable code: the expected outcome for most inputs
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz finding: a %s escaped the parser: %s\n", typeid(e).name(), e.what());
    std::abort();
  }
  return 0;
}

// A scratch file of this process holding the input (the readers take paths).
inline std::string write_scratch(const uint8_t* data, size_t size, const std::string& name) {
  const std::string dir = "/tmp/ssn-fuzz-" + std::to_string(::getpid());
  static const bool made = [&] { return std::system(("mkdir -p " + dir).c_str()) == 0; }();
  (void)made;
  const std::string path = dir + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

}  // namespace ssn_fuzz
