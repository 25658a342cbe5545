// What libtorch's zip reader does not check: each member's CRC-32 against the one its central directory declares,
// so that a flipped byte in a torch.save archive is refused instead of loaded as a wrong weight.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <unordered_map>

#include "io/binary_file.h"

namespace ssn {

// Member name -> declared CRC-32, from the central directory (zip64 included). Throws ssn::Error(Checkpoint)
// when the directory cannot be found or read.
std::unordered_map<std::string, uint32_t> zip_declared_crcs(const BinaryFile& file);

// CRC-32 (IEEE, as zip uses it) of `n` bytes.
uint32_t crc32(const void* data, size_t n);

}  // namespace ssn
