#include "io/zip_archive.h"

#include <algorithm>

#include "common/error.h"

namespace ssn {

namespace {

constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr size_t kEndSize = 22;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kLocalHeaderSize = 30;

uint64_t le(const std::string& s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

}  // namespace

void ZipArchive::fail(const std::string& what) const {
  throw Error(
      ErrorCode::Checkpoint, "'" + file_.path() + "' is not a readable zip archive: " + what,
      "The file is damaged or truncated. Get it again, or re-export it with torch.save(model.state_dict(), path).");
}

ZipArchive::ZipArchive(const BinaryFile& file) : file_(file) {
  const uint64_t size = file.size();
  if (size < kEndSize) fail("too short for a zip directory");
  // The end record sits in the last 22 bytes plus an optional comment of up to 64 KiB.
  const uint64_t tail_len = std::min<uint64_t>(size, kEndSize + 0xFFFF);
  const std::string tail = file.read_string(size - tail_len, tail_len, "zip end record");
  size_t end_at = std::string::npos;
  for (size_t i = tail.size() - kEndSize + 1; i-- > 0;) {
    if (le(tail, i, 4) == kEndSig && i + kEndSize + le(tail, i + 20, 2) <= tail.size()) {
      end_at = i;
      break;
    }
  }
  if (end_at == std::string::npos) fail("no end-of-central-directory record (the end of the file is missing?)");
  const uint64_t end_offset = size - tail_len + end_at;
  uint64_t count = le(tail, end_at + 10, 2);
  uint64_t cd_size = le(tail, end_at + 12, 4);
  uint64_t cd_offset = le(tail, end_at + 16, 4);

  if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    if (end_offset < 20) fail("zip64 locator missing");
    const std::string loc = file.read_string(end_offset - 20, 20, "zip64 locator");
    if (le(loc, 0, 4) != kZip64LocatorSig) fail("zip64 locator missing");
    const uint64_t z64_offset = le(loc, 8, 8);
    const std::string rec = file.read_string(z64_offset, 56, "zip64 end record");
    if (le(rec, 0, 4) != kZip64EndSig) fail("bad zip64 end record");
    count = le(rec, 32, 8);
    cd_size = le(rec, 40, 8);
    cd_offset = le(rec, 48, 8);
  }
  if (cd_offset > size || cd_size > size - cd_offset) fail("central directory lies beyond the end of the file");
  if (count > cd_size / kCentralHeaderSize)
    fail("central directory too small for its " + std::to_string(count) + " entries");

  const std::string cd = file.read_string(cd_offset, cd_size, "zip central directory");
  size_t at = 0;
  entries_.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) {
    if (at + kCentralHeaderSize > cd.size() || le(cd, at, 4) != kCentralHeaderSig)
      fail("corrupt central directory entry");
    Entry e;
    const uint64_t flags = le(cd, at + 8, 2);
    e.method = static_cast<uint16_t>(le(cd, at + 10, 2));
    e.compressed_size = le(cd, at + 20, 4);
    e.size = le(cd, at + 24, 4);
    const size_t name_len = static_cast<size_t>(le(cd, at + 28, 2));
    const size_t extra_len = static_cast<size_t>(le(cd, at + 30, 2));
    const size_t comment_len = static_cast<size_t>(le(cd, at + 32, 2));
    e.header_offset = le(cd, at + 42, 4);
    const size_t var_at = at + kCentralHeaderSize;
    if (var_at + name_len + extra_len + comment_len > cd.size()) fail("corrupt central directory entry");
    e.name = cd.substr(var_at, name_len);
    if (flags & 1) fail("member '" + e.name + "' is encrypted");
    // Zip64 extra field: the 64-bit values of the fields that were saturated, in this order.
    for (size_t x = var_at + name_len; x + 4 <= var_at + name_len + extra_len;) {
      const uint64_t id = le(cd, x, 2), len = le(cd, x + 2, 2);
      if (x + 4 + len > var_at + name_len + extra_len) fail("corrupt extra field of '" + e.name + "'");
      if (id == 0x0001) {
        size_t p = x + 4;
        const size_t stop = x + 4 + static_cast<size_t>(len);
        for (uint64_t* field : {&e.size, &e.compressed_size, &e.header_offset}) {
          if (*field != 0xFFFFFFFF) continue;
          if (p + 8 > stop) fail("corrupt zip64 field of '" + e.name + "'");
          *field = le(cd, p, 8);
          p += 8;
        }
      }
      x += 4 + static_cast<size_t>(len);
    }
    if (e.header_offset > cd_offset) fail("member '" + e.name + "' starts beyond the central directory");
    entries_.push_back(std::move(e));
    at = var_at + name_len + extra_len + comment_len;
  }
}

const ZipArchive::Entry* ZipArchive::find(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

uint64_t ZipArchive::data_offset(const Entry& entry) const {
  if (entry.method != 0)
    fail("member '" + entry.name + "' is compressed (method " + std::to_string(entry.method) +
         "); PyTorch stores members uncompressed, so the archive was repacked by another tool");
  const std::string h = file_.read_string(entry.header_offset, kLocalHeaderSize, "zip local header");
  if (le(h, 0, 4) != kLocalHeaderSig) fail("bad local header for member '" + entry.name + "'");
  const uint64_t offset = entry.header_offset + kLocalHeaderSize + le(h, 26, 2) + le(h, 28, 2);
  if (offset > file_.size() || entry.size > file_.size() - offset)
    throw Error(ErrorCode::Checkpoint,
                "'" + file_.path() + "' is truncated: member '" + entry.name + "' runs past the end of the file",
                "The file is incomplete (an interrupted download or copy?). Get it again.");
  return offset;
}

void ZipArchive::read(const Entry& entry, void* dst, uint64_t count) const {
  if (count > entry.size) fail("member '" + entry.name + "' is shorter than expected");
  file_.read_at(data_offset(entry), dst, count, entry.name.c_str());
}

std::string ZipArchive::read(const Entry& entry) const {
  const uint64_t offset = data_offset(entry);  // validates the size before we allocate for it
  return file_.read_string(offset, entry.size, entry.name.c_str());
}

}  // namespace ssn
