// TF.js layers model: model.json names the weights in "weightsManifest": groups of
// {paths: [shard files], weights: [{name, shape, dtype[, quantization]}]}; a group's shards, concatenated
// in order, hold its weights back to back as little-endian values.
#include <algorithm>
#include <filesystem>
#include <memory>
#include <vector>

#include "common/error.h"
#include "io/binary_file.h"
#include "io/checkpoint.h"
#include "io/json.h"

namespace ssn {

namespace {

const char* const kHint = "Keep model.json and its .bin shards together, as the TF.js converter wrote them.";

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(ErrorCode::Checkpoint, "TF.js model '" + path + "': " + what, kHint);
}

// The shards of one group, read as if they were one file.
class ShardChain {
 public:
  void add(std::unique_ptr<BinaryFile> file) {
    total_ += file->size();
    files_.push_back(std::move(file));
  }
  uint64_t size() const { return total_; }
  void read(uint64_t offset, uint8_t* dst, uint64_t count) const {
    for (const auto& f : files_) {
      if (count == 0) return;
      if (offset >= f->size()) {
        offset -= f->size();
        continue;
      }
      const uint64_t n = std::min(count, f->size() - offset);
      f->read_at(offset, dst, n, "weights");
      dst += n;
      count -= n;
      offset = 0;
    }
  }

 private:
  std::vector<std::unique_ptr<BinaryFile>> files_;
  uint64_t total_ = 0;
};

struct Spec {
  std::string name;
  std::vector<int64_t> shape;
  int64_t numel = 1;
  torch::ScalarType stored;  // as in the shard
  torch::ScalarType dtype;   // as returned
  double scale = 1.0, min = 0.0;
  bool affine = false;  // uint8 / uint16 quantization: value = q * scale + min
};

Spec parse_spec(const std::string& path, const Json& w) {
  Spec s;
  if (!w.is_object() || !w.contains("name") || !w.at("name").is_string()) fail(path, "a weight entry has no name");
  s.name = w.at("name").as_string();
  const std::string where = "weight '" + s.name + "'";
  if (!w.contains("shape") || !w.at("shape").is_array()) fail(path, where + " has no shape");
  for (const Json& d : w.at("shape").as_array()) {
    int64_t v = -1;
    try {
      v = d.as_int();
    } catch (const std::runtime_error&) {
    }
    if (v < 0) fail(path, where + " has a bad dimension " + d.dump());
    if (v != 0 && s.numel > (int64_t(1) << 40) / v) fail(path, where + " is impossibly large");
    s.numel *= v;
    s.shape.push_back(v);
  }
  const std::string dtype = w.contains("dtype") && w.at("dtype").is_string() ? w.at("dtype").as_string() : "float32";
  if (dtype == "float32")
    s.dtype = torch::kFloat;
  else if (dtype == "int32")
    s.dtype = torch::kInt;
  else if (dtype == "bool")
    s.dtype = torch::kBool;
  else
    fail(path, where + " has unsupported dtype '" + dtype + "' (supported: float32, int32, bool)");
  s.stored = s.dtype;
  if (w.contains("quantization") && !w.at("quantization").is_null()) {
    const Json& q = w.at("quantization");
    const std::string qtype = q.contains("dtype") && q.at("dtype").is_string() ? q.at("dtype").as_string() : "";
    if (s.dtype != torch::kFloat)
      fail(path, where + " is a quantized " + dtype + ", only quantized float32 is supported");
    if (qtype == "float16") {
      s.stored = torch::kHalf;
    } else if (qtype == "uint8" || qtype == "uint16") {
      if (!q.contains("scale") || !q.at("scale").is_number() || !q.contains("min") || !q.at("min").is_number())
        fail(path, where + " has " + qtype + " quantization without scale and min");
      // uint16 has no torch dtype everywhere: read it as int16 and undo the sign below.
      s.stored = qtype == "uint8" ? torch::kByte : torch::kShort;
      s.scale = q.at("scale").as_number();
      s.min = q.at("min").as_number();
      s.affine = true;
    } else {
      fail(path, where + " has unsupported quantization '" + qtype + "' (supported: uint8, uint16, float16)");
    }
  }
  return s;
}

torch::Tensor dequantize(const Spec& s, torch::Tensor stored) {
  if (!s.affine) return stored.to(s.dtype);
  torch::Tensor q = stored.to(torch::kInt);
  if (s.stored == torch::kShort) q = q.bitwise_and(0xFFFF);  // back to 0..65535
  return (q.to(torch::kDouble) * s.scale + s.min).to(torch::kFloat);
}

// A shard named by the manifest, confined to the model's folder `root` (canonical): absolute names, "..", and
// symlinks that resolve outside it are refused, and nothing about a file outside (not even its size) reaches a
// message.
std::filesystem::path confined_shard(const std::string& path, const std::filesystem::path& root,
                                     const std::string& name) {
  const std::filesystem::path relative(name);
  if (name.empty() || relative.is_absolute() || relative.has_root_name())
    fail(path, "weight shard '" + name + "' is not a file name inside the model's folder");
  std::error_code ec;
  const std::filesystem::path shard = std::filesystem::weakly_canonical(root / relative, ec);
  const auto [end, _] = std::mismatch(root.begin(), root.end(), shard.begin(), shard.end());
  if (ec || end != root.end() || shard == root)
    fail(path, "weight shard '" + name + "' lies outside the model's folder; refused");
  if (!std::filesystem::is_regular_file(shard, ec)) fail(path, "weight shard '" + name + "' is missing");
  return shard;
}

}  // namespace

NamedTensors read_tfjs_layers_model(const std::string& model_json_path) {
  const std::string& path = model_json_path;
  Json model;
  {
    const BinaryFile file(path);
    try {
      model = Json::parse(file.read_all());
    } catch (const std::runtime_error& e) {
      if (dynamic_cast<const Error*>(&e)) throw;
      fail(path, std::string("model.json is not valid JSON: ") + e.what());
    }
  }
  if (!model.is_object() || !model.contains("weightsManifest") || !model.at("weightsManifest").is_array())
    fail(path, "has no weightsManifest; expected the model.json of a TF.js layers model");
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  const std::filesystem::path folder = std::filesystem::canonical(parent.empty() ? "." : parent, ec);
  if (ec) fail(path, "its folder cannot be resolved");

  NamedTensors out;
  size_t group_index = 0;
  for (const Json& group : model.at("weightsManifest").as_array()) {
    const std::string gname = "weightsManifest[" + std::to_string(group_index++) + "]";
    if (!group.is_object() || !group.contains("paths") || !group.at("paths").is_array() || !group.contains("weights") ||
        !group.at("weights").is_array())
      fail(path, gname + " lacks paths or weights");

    std::vector<Spec> specs;
    uint64_t need = 0;
    for (const Json& w : group.at("weights").as_array()) {
      specs.push_back(parse_spec(path, w));
      need += static_cast<uint64_t>(specs.back().numel) * c10::elementSize(specs.back().stored);
    }

    ShardChain shards;
    std::string shard_names;
    for (const Json& p : group.at("paths").as_array()) {
      if (!p.is_string()) fail(path, gname + " has a path that is not a string");
      const std::filesystem::path shard = confined_shard(path, folder, p.as_string());
      shards.add(std::make_unique<BinaryFile>(shard.string()));
      shard_names += (shard_names.empty() ? "" : ", ") + p.as_string();
    }
    if (shards.size() != need)
      fail(path, gname + " needs " + std::to_string(need) + " bytes of weights but its shards (" + shard_names +
                     ") hold " + std::to_string(shards.size()) + (shards.size() < need ? " (a shard is short)" : ""));

    uint64_t offset = 0;
    for (const Spec& s : specs) {
      torch::Tensor stored = torch::empty(s.shape, torch::TensorOptions().dtype(s.stored));
      const uint64_t n = static_cast<uint64_t>(s.numel) * c10::elementSize(s.stored);
      shards.read(offset, static_cast<uint8_t*>(stored.data_ptr()), n);
      offset += n;
      out[s.name] = dequantize(s, stored);
    }
  }
  if (out.empty()) fail(path, "lists no weights");
  return out;
}

}  // namespace ssn
