// torch.save containers: the zip archive (default since PyTorch 1.6) and the legacy stream of pickles.
#include <algorithm>
#include <cstring>
#include <memory>

#include <caffe2/serialize/inline_container.h>

#include "common/error.h"
#include "io/binary_file.h"
#include "io/checkpoint.h"
#include "io/pickle.h"
#include "io/torch_pickle.h"
#include "io/zip_crc.h"

namespace ssn {

namespace {

using pickle::Value;
using pickle::ValuePtr;
using torch_pickle::Storage;
using torch_pickle::StorageTable;

const char* const kHint = "Re-export it with torch.save(model.state_dict(), path), or save it as safetensors.";

[[noreturn]] void fail(const std::string& path, const std::string& what, const char* hint = kHint) {
  throw Error(ErrorCode::Checkpoint, "'" + path + "' " + what, hint);
}

// Runs one pickle of the file; its errors get the checkpoint hint.
pickle::LoadResult run_pickle(const uint8_t* data, size_t size, pickle::LoadOptions options) {
  try {
    return pickle::load(data, size, options);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::Checkpoint) throw;
    throw Error(ErrorCode::Checkpoint, e.what(), std::string("The file is damaged or truncated. ") + kHint);
  }
}

void swap_bytes(torch::Tensor& t) {
  const size_t esize = t.element_size();
  if (esize < 2) return;
  auto* p = static_cast<uint8_t*>(t.data_ptr());
  for (int64_t i = 0; i < t.numel(); ++i, p += esize) std::reverse(p, p + esize);
}

uint64_t storage_bytes(const Storage& s) { return static_cast<uint64_t>(s.numel) * c10::elementSize(s.dtype); }

// ---- zip ----------------------------------------------------------------------------------------------

// c10 messages carry a backtrace after the first line.
std::string first_line(const c10::Error& e) {
  const std::string what = e.what_without_backtrace();
  return what.substr(0, what.find('\n'));
}

// The archive through libtorch's own reader (miniz: stored or deflated members, zip64). Its record names are
// relative to the archive's one folder: data.pkl, byteorder, data/<key>. It checks no CRC: every member read is
// checked here against the CRC-32 the central directory declares.
NamedTensors read_zip(const BinaryFile& file) {
  const std::string& path = file.path();
  const std::unordered_map<std::string, uint32_t> crcs = zip_declared_crcs(file);
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    fail(path, "is a zip archive but not a PyTorch checkpoint (" + first_line(e) + ")");
  }
  auto has = [&](const std::string& name) {
    try {
      return reader->hasRecord(name);
    } catch (const c10::Error& e) {
      fail(path, "has a damaged zip directory (" + first_line(e) + ")");
    }
  };
  std::string folder;  // the archive's folder, with its slash
  for (const auto& [name, crc] : crcs) {
    const size_t slash = name.find('/');
    if (slash != std::string::npos && name.compare(slash, std::string::npos, "/data.pkl") == 0)
      folder = name.substr(0, slash + 1);
  }
  auto record = [&](const std::string& name) {
    std::tuple<at::DataPtr, size_t> out;
    try {
      out = reader->getRecord(name);
    } catch (const c10::Error& e) {
      fail(path, "has a damaged member '" + name + "' (" + first_line(e) + ")",
           "The file is damaged or truncated. Get it again, or re-export it.");
    }
    const auto declared = crcs.find(folder + name);
    if (declared == crcs.end() || crc32(std::get<0>(out).get(), std::get<1>(out)) != declared->second)
      fail(path, "has a damaged member '" + name + "': its bytes do not match the CRC-32 of the zip directory",
           "The file is damaged. Get it again, or re-export it.");
    return out;
  };
  if (!has("data.pkl")) fail(path, "is a zip archive without data.pkl: not a PyTorch checkpoint");
  if (has("constants.pkl"))
    fail(path, "is a TorchScript archive (torch.jit.save), not a torch.save checkpoint",
         "Save the weights with torch.save(model.state_dict(), path) instead of torch.jit.save.");

  bool big_endian = false;
  if (has("byteorder")) {
    const auto [ptr, size] = record("byteorder");
    const std::string value(static_cast<const char*>(ptr.get()), size);
    if (value != "little" && value != "big") fail(path, "has an unknown byteorder '" + value.substr(0, 16) + "'");
    big_endian = value == "big";
  }

  const auto [pkl, pkl_size] = record("data.pkl");
  StorageTable table(path);
  pickle::LoadOptions options;
  options.source = "'" + path + "' (data.pkl)";
  options.persistent_load = [&table](const ValuePtr& pid) { return table.persistent_load(pid); };
  const ValuePtr top = run_pickle(static_cast<const uint8_t*>(pkl.get()), pkl_size, options).value;

  auto load = [&](Storage& s) {
    if (s.data.defined()) return;
    const std::string name = "data/" + s.key;
    if (!has(name)) fail(path, "lacks storage member '" + name + "'");
    const auto [ptr, size] = record(name);
    const uint64_t need = storage_bytes(s);
    if (size < need)
      fail(path, "has storage '" + name + "' of " + std::to_string(size) + " bytes, expected " + std::to_string(need));
    s.data = torch::empty({s.numel}, torch::TensorOptions().dtype(s.dtype));
    std::memcpy(s.data.data_ptr(), ptr.get(), need);
    if (big_endian) swap_bytes(s.data);
  };
  return torch_pickle::collect_tensors(top, load, path);
}

// ---- legacy -------------------------------------------------------------------------------------------

// 0x1950a86a20f9469cfc6c, as LONG1 bytes (two's complement, little-endian).
const char kLegacyMagic[] = "\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";
constexpr int64_t kLegacyProtocol = 1001;

NamedTensors read_legacy(const BinaryFile& file) {
  const std::string& path = file.path();
  const std::string bytes = file.read_all();
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t pos = 0;
  auto next = [&](const char* what, pickle::LoadOptions options = {}) {
    options.source = "'" + path + "' (" + what + ")";
    auto r = run_pickle(data + pos, bytes.size() - pos, options);
    pos += r.end;
    return r.value;
  };

  const ValuePtr magic = next("magic number");
  if (magic->kind != Value::Kind::BigInt || magic->text != std::string(kLegacyMagic, 10))
    fail(path, "is a pickle but not a PyTorch checkpoint (its first value is " + magic->describe() +
                   ", not torch's magic number)");
  const ValuePtr protocol = next("protocol version");
  if (protocol->kind != Value::Kind::Int || protocol->integer != kLegacyProtocol)
    fail(path, "has legacy protocol " + protocol->describe() + ", expected " + std::to_string(kLegacyProtocol));
  next("system info");

  StorageTable table(path);
  pickle::LoadOptions options;
  options.persistent_load = [&table](const ValuePtr& pid) { return table.persistent_load(pid); };
  const ValuePtr top = next("data", options);
  const ValuePtr keys = next("storage keys");
  if (keys->kind != Value::Kind::List) fail(path, "has storage keys " + keys->describe() + ", expected a list");

  // Then, per key: the element count (int64) and the elements, always little-endian.
  for (const auto& key : keys->items) {
    if (key->kind != Value::Kind::String) fail(path, "has a storage key " + key->describe());
    auto it = table.storages().find(key->text);
    if (it == table.storages().end()) fail(path, "has data for storage '" + key->text + "' that no tensor uses");
    Storage& s = *it->second;
    if (bytes.size() - pos < 8)
      fail(path, "is truncated: storage '" + s.key + "' is missing", "The file is incomplete. Get it again.");
    int64_t count = 0;
    for (int i = 7; i >= 0; --i) count = (count << 8) | data[pos + i];
    pos += 8;
    if (count != s.numel)
      fail(path, "has " + std::to_string(count) + " elements for storage '" + s.key + "', expected " +
                     std::to_string(s.numel));
    const uint64_t need = storage_bytes(s);
    if (need > bytes.size() - pos)
      fail(path, "is truncated inside storage '" + s.key + "'", "The file is incomplete. Get it again.");
    s.data = torch::empty({s.numel}, torch::TensorOptions().dtype(s.dtype));
    std::memcpy(s.data.data_ptr(), data + pos, need);
    pos += need;
  }
  auto load = [&](Storage& s) {
    if (!s.data.defined()) fail(path, "has no data for storage '" + s.key + "' (the file is cut short?)");
  };
  return torch_pickle::collect_tensors(top, load, path);
}

}  // namespace

NamedTensors read_torch_checkpoint(const std::string& path) {
  const BinaryFile file(path);
  if (file.size() == 0) fail(path, "is empty (0 bytes)", "The file is incomplete. Get it again, or re-export it.");
  const std::string head = file.read_string(0, std::min<uint64_t>(file.size(), 2));
  try {
    if (head == "PK") return read_zip(file);
    if (static_cast<uint8_t>(head[0]) == 0x80) return read_legacy(file);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    // libtorch or allocation failures on absurd input: still a bad checkpoint, never a crash.
    fail(path, std::string("cannot be read: ") + e.what());
  }
  fail(path, "is not a PyTorch checkpoint (neither a zip archive nor a pickle)");
}

}  // namespace ssn
