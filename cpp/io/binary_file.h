// Random-access reads of a file with errors that name it: ErrorCode::Io when the file cannot be opened or
// read, ErrorCode::Checkpoint when a read runs past its end (a truncated file).
#pragma once
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace ssn {

class BinaryFile {
 public:
  explicit BinaryFile(const std::string& path);
  BinaryFile(const BinaryFile&) = delete;
  BinaryFile& operator=(const BinaryFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }
  // Exactly `count` bytes at `offset`, or an error (`what` names the part being read).
  void read_at(uint64_t offset, void* dst, uint64_t count, const char* what = "data") const;
  std::string read_string(uint64_t offset, uint64_t count, const char* what = "data") const;
  std::string read_all() const { return read_string(0, size_); }

 private:
  std::string path_;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_;
  uint64_t size_ = 0;
};

}  // namespace ssn
