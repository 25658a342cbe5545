// safetensors: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the raw
// little-endian tensor bytes (offsets relative to the end of the header).
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

#ifdef _WIN32
#include <io.h>
#include <process.h>
#else
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#endif

#include "common/error.h"
#include "io/binary_file.h"
#include "io/checkpoint.h"
#include "io/json.h"

namespace ssn {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // as the reference implementation: larger is corrupt
const char* const kMetadataKey = "__metadata__";

const std::vector<std::pair<const char*, torch::ScalarType>>& dtype_table() {
  static const std::vector<std::pair<const char*, torch::ScalarType>> table = {
      {"F32", torch::kFloat}, {"F16", torch::kHalf},  {"BF16", torch::kBFloat16}, {"F64", torch::kDouble},
      {"I64", torch::kLong},  {"I32", torch::kInt},   {"I16", torch::kShort},     {"I8", torch::kChar},
      {"U8", torch::kByte},   {"BOOL", torch::kBool},
  };
  return table;
}

[[noreturn]] void bad_file(const std::string& path, const std::string& what) {
  throw Error(ErrorCode::Checkpoint, "'" + path + "' is not a valid safetensors file: " + what,
              "The file is damaged or truncated. Get it again, or re-export it.");
}

struct Record {
  std::string name;
  torch::ScalarType dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

Record parse_record(const std::string& path, const std::string& name, const Json& info) {
  if (!info.is_object()) bad_file(path, "entry '" + name + "' is not an object");
  if (!info.contains("dtype") || !info.at("dtype").is_string()) bad_file(path, "entry '" + name + "' has no dtype");
  const std::string& dtype_name = info.at("dtype").as_string();
  const auto& table = dtype_table();
  auto it = std::find_if(table.begin(), table.end(), [&](const auto& e) { return dtype_name == e.first; });
  if (it == table.end())
    bad_file(path, "entry '" + name + "' has unsupported dtype '" + dtype_name +
                       "' (supported: F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL)");
  Record r{name, it->second, {}, 0, 0};
  if (!info.contains("shape") || !info.at("shape").is_array()) bad_file(path, "entry '" + name + "' has no shape");
  if (!info.contains("data_offsets") || !info.at("data_offsets").is_array() || info.at("data_offsets").size() != 2)
    bad_file(path, "entry '" + name + "' has no data_offsets [begin, end]");
  try {
    uint64_t numel = 1;
    for (const Json& d : info.at("shape").as_array()) {
      const int64_t v = d.as_int();
      if (v < 0) bad_file(path, "entry '" + name + "' has a negative dimension");
      if (v != 0 && numel > (uint64_t(1) << 62) / static_cast<uint64_t>(v))
        bad_file(path, "entry '" + name + "' is impossibly large");
      numel *= static_cast<uint64_t>(v);
      r.shape.push_back(v);
    }
    const auto& off = info.at("data_offsets").as_array();
    const int64_t b = off[0].as_int(), e = off[1].as_int();
    if (b < 0 || e < b)
      bad_file(path, "entry '" + name + "' has data_offsets [" + std::to_string(b) + ", " + std::to_string(e) + "]");
    r.begin = static_cast<uint64_t>(b);
    r.end = static_cast<uint64_t>(e);
    const uint64_t need = numel * c10::elementSize(r.dtype);
    if (r.end - r.begin != need)
      bad_file(path, "entry '" + name + "' spans " + std::to_string(r.end - r.begin) +
                         " bytes but its dtype and shape need " + std::to_string(need));
  } catch (const std::runtime_error& e) {
    if (dynamic_cast<const Error*>(&e)) throw;
    bad_file(path, "entry '" + name + "': " + e.what());
  }
  return r;
}

void sync_file(std::FILE* f) {
#ifdef _WIN32
  _commit(_fileno(f));
#else
  fsync(fileno(f));
#endif
}

long process_id() {
#ifdef _WIN32
  return static_cast<long>(_getpid());
#else
  return static_cast<long>(getpid());
#endif
}

// The rename is durable only once the folder's entry is on disk too.
void sync_folder(const std::filesystem::path& folder) {
#ifndef _WIN32
  const int fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
#else
  (void)folder;
#endif
}

// "<target>.tmp-<pid>" files of writers that died mid-save (their pid runs no more): removed by the next save of
// the same target, so that killed saves leave nothing behind for long. Live writers' files are left alone.
void remove_stale_temp_files(const std::filesystem::path& target) {
#ifndef _WIN32
  namespace fs = std::filesystem;
  const std::string prefix = target.filename().string() + ".tmp-";
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.size() > prefix.size() + 9 || name.rfind(prefix, 0) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const long pid = std::stol(digits);
    if (pid == process_id() || pid <= 0 || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    std::error_code ignored;
    fs::remove(it->path(), ignored);
  }
#else
  (void)target;
#endif
}

}  // namespace

SafetensorsContent read_safetensors(const std::string& path) {
  const BinaryFile file(path);
  if (file.size() < 8)
    bad_file(path, "shorter than its 8-byte header length (" + std::to_string(file.size()) + " bytes)");
  const std::string len_bytes = file.read_string(0, 8);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<uint8_t>(len_bytes[i]);
  if (header_len < 2 || header_len > kMaxHeaderBytes || header_len > file.size() - 8)
    bad_file(path, "header length " + std::to_string(header_len) + " does not fit the file of " +
                       std::to_string(file.size()) + " bytes");
  const std::string header_text = file.read_string(8, header_len, "safetensors header");
  Json header;
  try {
    header = Json::parse(header_text);
  } catch (const std::runtime_error& e) {
    bad_file(path, std::string("header: ") + e.what());
  }
  if (!header.is_object()) bad_file(path, "header is not a JSON object");

  SafetensorsContent content;
  std::vector<Record> records;
  for (const auto& [name, info] : header.items()) {
    if (name == kMetadataKey) {
      if (!info.is_object()) bad_file(path, "__metadata__ is not an object");
      for (const auto& [k, v] : info.items()) {
        if (!v.is_string()) bad_file(path, "__metadata__ value of '" + k + "' is not a string");
        content.metadata[k] = v.as_string();
      }
      continue;
    }
    records.push_back(parse_record(path, name, info));
  }

  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = file.size() - data_start;
  std::vector<const Record*> by_offset;
  for (const auto& r : records) by_offset.push_back(&r);
  std::sort(by_offset.begin(), by_offset.end(), [](const Record* a, const Record* b) { return a->begin < b->begin; });
  const Record* furthest = nullptr;  // the entry that reaches furthest among those seen
  for (const Record* r : by_offset) {
    if (r->end > data_size)
      bad_file(path, "entry '" + r->name + "' ends at byte " + std::to_string(r->end) + " of a data section of " +
                         std::to_string(data_size) + " (truncated file?)");
    if (furthest && r->begin < furthest->end && r->begin != r->end)
      bad_file(path, "entries '" + furthest->name + "' and '" + r->name + "' overlap");
    if (!furthest || r->end > furthest->end) furthest = r;
  }

  for (const auto& r : records) {
    torch::Tensor t = torch::empty(r.shape, torch::TensorOptions().dtype(r.dtype));
    file.read_at(data_start + r.begin, t.data_ptr(), r.end - r.begin, r.name.c_str());
    content.tensors[r.name] = t;
  }
  return content;
}

void write_safetensors_atomic(const std::string& path, const NamedTensors& tensors,
                              const std::map<std::string, std::string>& metadata) {
  // NamedTensors is ordered by name, so the layout is deterministic.
  std::vector<torch::Tensor> data;
  Json header = Json::object();
  if (!metadata.empty()) {
    Json& meta = header[kMetadataKey];
    meta = Json::object();
    for (const auto& [k, v] : metadata) meta[k] = Json(v);
  }
  int64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == kMetadataKey)
      throw Error(ErrorCode::Input, "A tensor cannot be named '__metadata__' in a safetensors file");
    if (!tensor.defined()) throw Error(ErrorCode::Input, "Tensor '" + name + "' is undefined; cannot write it");
    const auto& table = dtype_table();
    const auto type = tensor.scalar_type();  // a lambda may not capture a structured binding (C++17)
    auto it = std::find_if(table.begin(), table.end(), [type](const auto& e) { return e.second == type; });
    if (it == table.end())
      throw Error(ErrorCode::Input,
                  "Tensor '" + name + "' has dtype " + c10::toString(tensor.scalar_type()) +
                      ", which safetensors writing does not support",
                  "Convert it to float32, float16, bfloat16, float64, an integer type or bool.");
    torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    const int64_t nbytes = static_cast<int64_t>(t.numel() * t.element_size());
    Json entry = Json::object();
    entry["dtype"] = Json(it->first);
    Json shape = Json::array();
    for (int64_t d : t.sizes()) shape.push_back(Json(d));
    entry["shape"] = shape;
    Json offsets = Json::array();
    offsets.push_back(Json(offset));
    offsets.push_back(Json(offset + nbytes));
    entry["data_offsets"] = offsets;
    header[name] = entry;
    offset += nbytes;
    data.push_back(t);
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // keeps the tensor data 8-byte aligned

  remove_stale_temp_files(path);
  const std::string tmp = path + ".tmp-" + std::to_string(process_id());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f)
    throw Error(ErrorCode::Io,
                "Cannot write '" + path + "': cannot create '" + tmp + "' (" + std::strerror(errno) + ")",
                "Check that the folder exists and is writable.");
  bool ok = true;
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; ++i)
    len_bytes[i] = static_cast<unsigned char>((uint64_t(header_text.size()) >> (8 * i)) & 0xFF);
  ok = ok && std::fwrite(len_bytes, 1, 8, f) == 8;
  ok = ok && std::fwrite(header_text.data(), 1, header_text.size(), f) == header_text.size();
  for (const auto& t : data) {
    const size_t n = static_cast<size_t>(t.numel() * t.element_size());
    ok = ok && (n == 0 || std::fwrite(t.data_ptr(), 1, n, f) == n);
  }
  ok = ok && std::fflush(f) == 0;
  if (ok) sync_file(f);
  ok = (std::fclose(f) == 0) && ok;
  std::error_code ec;
  if (ok) std::filesystem::rename(tmp, path, ec);
  if (!ok || ec) {
    const std::string reason = ec ? ec.message() : std::string(std::strerror(errno));
    std::filesystem::remove(tmp, ec);
    throw Error(ErrorCode::Io, "Cannot write '" + path + "': " + reason, "Check free disk space and permissions.");
  }
  sync_folder(std::filesystem::path(path).parent_path());
}

}  // namespace ssn
