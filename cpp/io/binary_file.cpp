#include "io/binary_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "common/error.h"

namespace ssn {

namespace {

bool seek(std::FILE* f, uint64_t offset) {
#ifdef _WIN32
  return _fseeki64(f, static_cast<__int64>(offset), SEEK_SET) == 0;
#else
  return fseeko(f, static_cast<off_t>(offset), SEEK_SET) == 0;
#endif
}

}  // namespace

BinaryFile::BinaryFile(const std::string& path) : path_(path), file_(nullptr, &std::fclose) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status))
    throw Error(ErrorCode::Io, "Cannot open '" + path + "': no such file", "Check the path.");
  if (std::filesystem::is_directory(status))
    throw Error(ErrorCode::Io, "Cannot open '" + path + "': it is a directory, expected a file", "Check the path.");
  errno = 0;
  file_.reset(std::fopen(path.c_str(), "rb"));
  if (!file_)
    throw Error(ErrorCode::Io, "Cannot open '" + path + "': " + std::strerror(errno),
                "Check that the file exists and is readable.");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw Error(ErrorCode::Io, "Cannot read the size of '" + path + "': " + ec.message());
  size_ = static_cast<uint64_t>(size);
}

void BinaryFile::read_at(uint64_t offset, void* dst, uint64_t count, const char* what) const {
  if (offset > size_ || count > size_ - offset)
    throw Error(ErrorCode::Checkpoint,
                "'" + path_ + "' is truncated: " + what + " needs bytes " + std::to_string(offset) + ".." +
                    std::to_string(offset + count) + " but the file has " + std::to_string(size_),
                "The file is incomplete (an interrupted download or copy?). Get it again.");
  if (count == 0) return;
  if (!seek(file_.get(), offset) || std::fread(dst, 1, static_cast<size_t>(count), file_.get()) != count)
    throw Error(ErrorCode::Io, "Cannot read " + std::string(what) + " of '" + path_ + "' at offset " +
                                   std::to_string(offset) + ": " + std::strerror(errno));
}

std::string BinaryFile::read_string(uint64_t offset, uint64_t count, const char* what) const {
  if (offset > size_ || count > size_ - offset) read_at(offset, nullptr, count, what);  // throws "truncated"
  std::string out(static_cast<size_t>(count), '\0');
  read_at(offset, out.data(), count, what);
  return out;
}

}  // namespace ssn
