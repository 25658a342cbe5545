// An 8-bit image as the core takes it from its host: a view, not owned.
#pragma once
#include <cstdint>

namespace ssn {

// Rows of width*channels bytes, no padding; channels 1 (gray), 3 (RGB) or 4 (RGBA).
struct ImageU8 {
  const uint8_t* data = nullptr;
  int64_t width = 0;
  int64_t height = 0;
  int64_t channels = 0;
};

}  // namespace ssn
