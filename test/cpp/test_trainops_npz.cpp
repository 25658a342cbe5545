// Minimal .npz reader: zip central directory -> entries -> (inflate) -> .npy header -> tensor.
#include "test_trainops_npz.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace ssn_test {
namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("npz: " + what); }

// LSB-first bit reader of a DEFLATE stream.
class Bits {
 public:
  explicit Bits(const std::string& data) : data_(data) {}
  uint32_t take(int count) {
    uint32_t value = 0;
    for (int i = 0; i < count; ++i) {
      if (pos_ >= data_.size()) fail("deflate stream ends early");
      value |= static_cast<uint32_t>((static_cast<uint8_t>(data_[pos_]) >> bit_) & 1u) << i;
      if (++bit_ == 8) {
        bit_ = 0;
        ++pos_;
      }
    }
    return value;
  }
  void align() {
    if (bit_ != 0) {
      bit_ = 0;
      ++pos_;
    }
  }
  uint8_t byte() {
    if (pos_ >= data_.size()) fail("stored block ends early");
    return static_cast<uint8_t>(data_[pos_++]);
  }

 private:
  const std::string& data_;
  size_t pos_ = 0;
  int bit_ = 0;
};

// Canonical Huffman code: how many codes of each length, and the symbols ordered by (length, symbol).
struct Huffman {
  std::array<int, 16> count{};
  std::vector<int> symbols;
  Huffman(const int* lengths, int n) {
    for (int s = 0; s < n; ++s) ++count[lengths[s]];
    count[0] = 0;
    std::array<int, 16> offset{};
    for (int len = 1; len < 16; ++len) offset[len] = offset[len - 1] + count[len - 1];
    symbols.assign(static_cast<size_t>(n), 0);
    for (int s = 0; s < n; ++s) {
      if (lengths[s] != 0) symbols[static_cast<size_t>(offset[lengths[s]]++)] = s;
    }
  }
  int decode(Bits& in) const {
    int code = 0, first = 0, index = 0;
    for (int len = 1; len < 16; ++len) {
      code |= static_cast<int>(in.take(1));
      if (code - first < count[len]) return symbols[static_cast<size_t>(index + code - first)];
      index += count[len];
      first = (first + count[len]) << 1;
      code <<= 1;
    }
    fail("invalid Huffman code");
  }
};

constexpr int kLengthBase[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
constexpr int kLengthExtra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                  2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr int kDistBase[30] = {1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
                               193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
constexpr int kDistExtra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

void inflate_block(Bits& in, const Huffman& lit, const Huffman& dist, std::string& out) {
  for (;;) {
    const int sym = lit.decode(in);
    if (sym < 256) {
      out.push_back(static_cast<char>(sym));
    } else if (sym == 256) {
      return;
    } else {
      const int ls = sym - 257;
      if (ls >= 29) fail("bad length symbol");
      const size_t length = static_cast<size_t>(kLengthBase[ls]) + in.take(kLengthExtra[ls]);
      const int ds = dist.decode(in);
      if (ds >= 30) fail("bad distance symbol");
      const size_t distance = static_cast<size_t>(kDistBase[ds]) + in.take(kDistExtra[ds]);
      if (distance > out.size()) fail("distance too far back");
      for (size_t i = 0; i < length; ++i) out.push_back(out[out.size() - distance]);
    }
  }
}

uint32_t le32(const std::string& s, size_t at) {
  if (at + 4 > s.size()) fail("truncated zip structure");
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[at + static_cast<size_t>(i)]);
  return v;
}
uint16_t le16(const std::string& s, size_t at) {
  if (at + 2 > s.size()) fail("truncated zip structure");
  return static_cast<uint16_t>(static_cast<uint8_t>(s[at]) | (static_cast<uint8_t>(s[at + 1]) << 8));
}
uint64_t le64(const std::string& s, size_t at) { return le32(s, at) | (static_cast<uint64_t>(le32(s, at + 4)) << 32); }

torch::Tensor parse_npy(const std::string& npy, const std::string& name) {
  if (npy.size() < 10 || npy.compare(0, 6, "\x93NUMPY") != 0) fail(name + " is not a .npy array");
  const int major = static_cast<uint8_t>(npy[6]);
  const size_t header_len = major == 1 ? le16(npy, 8) : le32(npy, 8);
  const size_t header_start = major == 1 ? 10 : 12;
  const std::string header = npy.substr(header_start, header_len);
  auto field = [&](const std::string& key) {
    const size_t k = header.find("'" + key + "'");
    if (k == std::string::npos) fail(name + ": header without " + key);
    return header.substr(header.find(':', k) + 1);
  };
  const std::string descr_field = field("descr");
  const size_t q0 = descr_field.find('\''), q1 = descr_field.find('\'', q0 + 1);
  const std::string descr = descr_field.substr(q0 + 1, q1 - q0 - 1);
  const std::string order = field("fortran_order");
  if (order.compare(order.find_first_not_of(' '), 5, "False") != 0) {
    fail(name + ": Fortran order is not supported");
  }
  const std::string shape_field = field("shape");
  const std::string dims_text =
      shape_field.substr(shape_field.find('(') + 1, shape_field.find(')') - shape_field.find('(') - 1);
  std::vector<int64_t> shape;
  std::stringstream ss(dims_text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.find_first_of("0123456789") != std::string::npos) shape.push_back(std::stoll(item));
  }
  torch::ScalarType dtype;
  if (descr == "<f4")
    dtype = torch::kFloat32;
  else if (descr == "<f8")
    dtype = torch::kFloat64;
  else if (descr == "<i8")
    dtype = torch::kInt64;
  else if (descr == "<i4")
    dtype = torch::kInt32;
  else if (descr == "|u1")
    dtype = torch::kUInt8;
  else if (descr == "|b1")
    dtype = torch::kBool;
  else
    fail(name + ": unsupported dtype " + descr);
  torch::Tensor t = torch::empty(shape, dtype);
  const size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
  if (header_start + header_len + bytes != npy.size()) fail(name + ": data size does not match the shape");
  std::memcpy(t.data_ptr(), npy.data() + header_start + header_len, bytes);
  return t;
}

}  // namespace

std::string inflate_raw(const std::string& compressed, size_t expected_size) {
  std::string out;
  out.reserve(expected_size);
  Bits in(compressed);
  bool last = false;
  while (!last) {
    last = in.take(1) == 1;
    const uint32_t type = in.take(2);
    if (type == 0) {
      in.align();
      const uint16_t len = static_cast<uint16_t>(in.byte() | (in.byte() << 8));
      const uint16_t nlen = static_cast<uint16_t>(in.byte() | (in.byte() << 8));
      if (static_cast<uint16_t>(~nlen) != len) fail("stored block length check failed");
      for (uint16_t i = 0; i < len; ++i) out.push_back(static_cast<char>(in.byte()));
    } else if (type == 1) {
      int lengths[288 + 30];
      for (int s = 0; s < 288; ++s) lengths[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
      for (int s = 0; s < 30; ++s) lengths[288 + s] = 5;
      inflate_block(in, Huffman(lengths, 288), Huffman(lengths + 288, 30), out);
    } else if (type == 2) {
      const int hlit = static_cast<int>(in.take(5)) + 257, hdist = static_cast<int>(in.take(5)) + 1;
      const int hclen = static_cast<int>(in.take(4)) + 4;
      static constexpr int kOrder[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
      int cl_lengths[19] = {};
      for (int i = 0; i < hclen; ++i) cl_lengths[kOrder[i]] = static_cast<int>(in.take(3));
      const Huffman cl(cl_lengths, 19);
      std::vector<int> lengths;
      while (static_cast<int>(lengths.size()) < hlit + hdist) {
        const int sym = cl.decode(in);
        if (sym < 16) {
          lengths.push_back(sym);
        } else {
          int value = 0, repeat = 0;
          if (sym == 16) {
            if (lengths.empty()) fail("repeat without a previous length");
            value = lengths.back();
            repeat = 3 + static_cast<int>(in.take(2));
          } else if (sym == 17) {
            repeat = 3 + static_cast<int>(in.take(3));
          } else {
            repeat = 11 + static_cast<int>(in.take(7));
          }
          lengths.insert(lengths.end(), static_cast<size_t>(repeat), value);
        }
      }
      if (static_cast<int>(lengths.size()) != hlit + hdist) fail("code lengths overflow");
      inflate_block(in, Huffman(lengths.data(), hlit), Huffman(lengths.data() + hlit, hdist), out);
    } else {
      fail("invalid block type");
    }
  }
  if (out.size() != expected_size) fail("inflated size differs from the zip directory");
  return out;
}

std::map<std::string, torch::Tensor> read_npz(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) fail("cannot open " + path);
  const std::string zip((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  // End of central directory: the last "PK\5\6" (the archive comment is at most 64 KiB).
  const size_t eocd = zip.rfind(std::string("PK\x05\x06", 4));
  if (eocd == std::string::npos) fail(path + " is not a zip archive");
  const uint16_t entries = le16(zip, eocd + 10);
  size_t at = le32(zip, eocd + 16);
  std::map<std::string, torch::Tensor> arrays;
  for (uint16_t e = 0; e < entries; ++e) {
    if (le32(zip, at) != 0x02014b50u) fail("bad central directory entry");
    const uint16_t method = le16(zip, at + 10);
    uint64_t comp_size = le32(zip, at + 20), size = le32(zip, at + 24), local = le32(zip, at + 42);
    const uint16_t name_len = le16(zip, at + 28), extra_len = le16(zip, at + 30), comment_len = le16(zip, at + 32);
    const std::string name = zip.substr(at + 46, name_len);
    // ZIP64: the 0xffffffff fields are in the extra record 0x0001, in the order size, comp_size, local.
    for (size_t x = at + 46 + name_len; x + 4 <= at + 46 + name_len + extra_len;) {
      const uint16_t id = le16(zip, x), len = le16(zip, x + 2);
      if (id == 1) {
        size_t f = x + 4;
        if (size == 0xffffffffu) {
          size = le64(zip, f);
          f += 8;
        }
        if (comp_size == 0xffffffffu) {
          comp_size = le64(zip, f);
          f += 8;
        }
        if (local == 0xffffffffu) local = le64(zip, f);
      }
      x += 4u + len;
    }
    at += 46u + name_len + extra_len + comment_len;
    if (le32(zip, local) != 0x04034b50u) fail("bad local header of " + name);
    const size_t data = local + 30 + le16(zip, local + 26) + le16(zip, local + 28);
    if (data + comp_size > zip.size()) fail("truncated entry " + name);
    const std::string raw = zip.substr(data, comp_size);
    std::string npy;
    if (method == 0)
      npy = raw;
    else if (method == 8)
      npy = inflate_raw(raw, size);
    else
      fail(name + ": unsupported compression method " + std::to_string(method));
    const std::string key =
        name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0 ? name.substr(0, name.size() - 4) : name;
    arrays[key] = parse_npy(npy, name);
  }
  return arrays;
}

}  // namespace ssn_test
