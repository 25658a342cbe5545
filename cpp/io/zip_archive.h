// The members of a zip archive, as PyTorch writes them (stored, uncompressed; zip64 for big files).
// Only the central directory is read up front; member data is read on demand.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/binary_file.h"

namespace ssn {

class ZipArchive {
 public:
  struct Entry {
    std::string name;
    uint64_t header_offset = 0;  // of the local file header
    uint64_t size = 0;           // uncompressed
    uint64_t compressed_size = 0;
    uint16_t method = 0;  // 0 = stored
  };

  // Throws ErrorCode::Checkpoint when the file has no valid zip directory.
  explicit ZipArchive(const BinaryFile& file);

  const std::vector<Entry>& entries() const { return entries_; }
  const Entry* find(const std::string& name) const;
  // Where the member's bytes start; throws for compressed or encrypted members.
  uint64_t data_offset(const Entry& entry) const;
  void read(const Entry& entry, void* dst, uint64_t count) const;  // the first `count` bytes
  std::string read(const Entry& entry) const;

 private:
  [[noreturn]] void fail(const std::string& what) const;

  const BinaryFile& file_;
  std::vector<Entry> entries_;
};

}  // namespace ssn
