#include "io/zip_crc.h"

#include <algorithm>
#include <array>

#include "common/error.h"

namespace ssn {

namespace {

constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr size_t kEndSize = 22;
constexpr size_t kCentralHeaderSize = 46;

uint64_t le(const std::string& s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

[[noreturn]] void fail(const BinaryFile& file, const std::string& what) {
  throw Error(ErrorCode::Checkpoint, "'" + file.path() + "' has a damaged zip directory: " + what,
              "The file is damaged or truncated. Get it again, or re-export it with torch.save.");
}

// Slicing-by-8 tables: eight bytes per step, about 2 GB/s, so checking a checkpoint costs little next to reading it.
std::array<std::array<uint32_t, 256>, 8> make_tables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i)
    for (size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  return t;
}

}  // namespace

uint32_t crc32(const void* data, size_t n) {
  static const auto t = make_tables();
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = 0xFFFFFFFFu;
  for (; n >= 8; n -= 8, p += 8) {
    const uint32_t lo = c ^ (uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24);
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^ t[3][p[4]] ^ t[2][p[5]] ^
        t[1][p[6]] ^ t[0][p[7]];
  }
  for (; n > 0; --n, ++p) c = (c >> 8) ^ t[0][(c ^ *p) & 0xFF];
  return ~c;
}

std::unordered_map<std::string, uint32_t> zip_declared_crcs(const BinaryFile& file) {
  const uint64_t size = file.size();
  if (size < kEndSize) fail(file, "too short");
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
  if (end_at == std::string::npos) fail(file, "no end-of-central-directory record");
  const uint64_t end_offset = size - tail_len + end_at;
  uint64_t count = le(tail, end_at + 10, 2), cd_size = le(tail, end_at + 12, 4), cd_offset = le(tail, end_at + 16, 4);
  if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    if (end_offset < 20) fail(file, "zip64 locator missing");
    const std::string loc = file.read_string(end_offset - 20, 20, "zip64 locator");
    if (le(loc, 0, 4) != kZip64LocatorSig) fail(file, "zip64 locator missing");
    const std::string rec = file.read_string(le(loc, 8, 8), 56, "zip64 end record");
    if (le(rec, 0, 4) != kZip64EndSig) fail(file, "bad zip64 end record");
    count = le(rec, 32, 8);
    cd_size = le(rec, 40, 8);
    cd_offset = le(rec, 48, 8);
  }
  if (cd_offset > size || cd_size > size - cd_offset || count > cd_size / kCentralHeaderSize)
    fail(file, "the central directory does not fit the file");
  const std::string cd = file.read_string(cd_offset, cd_size, "zip central directory");
  std::unordered_map<std::string, uint32_t> crcs;
  size_t at = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (at + kCentralHeaderSize > cd.size() || le(cd, at, 4) != kCentralHeaderSig) fail(file, "a corrupt entry");
    const size_t name_len = static_cast<size_t>(le(cd, at + 28, 2));
    const size_t rest = name_len + static_cast<size_t>(le(cd, at + 30, 2)) + static_cast<size_t>(le(cd, at + 32, 2));
    if (at + kCentralHeaderSize + rest > cd.size()) fail(file, "a corrupt entry");
    crcs[cd.substr(at + kCentralHeaderSize, name_len)] = static_cast<uint32_t>(le(cd, at + 16, 4));
    at += kCentralHeaderSize + rest;
  }
  return crcs;
}

}  // namespace ssn
