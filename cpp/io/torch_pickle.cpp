#include "io/torch_pickle.h"

#include <limits>
#include <optional>
#include <vector>

#include "common/error.h"

namespace ssn::torch_pickle {

using pickle::Value;
using pickle::ValuePtr;
using Kind = pickle::Value::Kind;

namespace {

const char* const kHint = "Re-export it with torch.save(model.state_dict(), path), or save it as safetensors.";

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(ErrorCode::Checkpoint, "'" + path + "': " + what, kHint);
}

// A storage as a tensor sees it: a root storage, or (legacy format) a slice of one.
struct StorageSlice {
  std::shared_ptr<Storage> root;
  int64_t offset = 0;
  int64_t numel = 0;
};

std::optional<torch::ScalarType> storage_dtype(const std::string& name) {
  static const std::map<std::string, torch::ScalarType> types = {
      {"FloatStorage", torch::kFloat},       {"DoubleStorage", torch::kDouble}, {"HalfStorage", torch::kHalf},
      {"BFloat16Storage", torch::kBFloat16}, {"LongStorage", torch::kLong},     {"IntStorage", torch::kInt},
      {"ShortStorage", torch::kShort},       {"CharStorage", torch::kChar},     {"ByteStorage", torch::kByte},
      {"BoolStorage", torch::kBool},         {"UntypedStorage", torch::kByte},  // raw bytes, as torch.load reads it
  };
  auto it = types.find(name);
  if (it == types.end()) return std::nullopt;
  return it->second;
}

std::optional<torch::ScalarType> dtype_global(const Value& v) {
  static const std::map<std::string, torch::ScalarType> types = {
      {"float32", torch::kFloat}, {"float", torch::kFloat}, {"float64", torch::kDouble},    {"double", torch::kDouble},
      {"float16", torch::kHalf},  {"half", torch::kHalf},   {"bfloat16", torch::kBFloat16}, {"int64", torch::kLong},
      {"long", torch::kLong},     {"int32", torch::kInt},   {"int", torch::kInt},           {"int16", torch::kShort},
      {"short", torch::kShort},   {"int8", torch::kChar},   {"uint8", torch::kByte},        {"bool", torch::kBool},
  };
  if (v.kind != Kind::Global || v.text != "torch") return std::nullopt;
  auto it = types.find(v.name);
  if (it == types.end()) return std::nullopt;
  return it->second;
}

bool is_text(const ValuePtr& v) { return v && (v->kind == Kind::String || v->kind == Kind::Bytes); }
bool is_int(const ValuePtr& v) { return v && v->kind == Kind::Int; }

// ---- tensors ----------------------------------------------------------------------------------------

class TensorBuilder {
 public:
  TensorBuilder(const std::function<void(Storage&)>& load, const std::string& path) : load_(load), path_(path) {}

  // A tensor if `v` is one of torch's tensor-rebuilding calls, nullopt for any other value.
  std::optional<torch::Tensor> tensor_of(const ValuePtr& v, int depth = 0) {
    if (!v || v->kind != Kind::Object || !v->callable || v->callable->kind != Kind::Global) return std::nullopt;
    if (depth > 4) fail(path_, "tensor wrapped too deeply");
    const std::string& module = v->callable->text;
    const std::string& name = v->callable->name;
    const std::string where = "tensor made by " + module + "." + name;
    if (!v->args || v->args->kind != Kind::Tuple) fail(path_, where + ": arguments are not a tuple");
    const auto& args = v->args->items;

    if (module == "torch._utils") {
      if (name == "_rebuild_tensor_v2" || name == "_rebuild_tensor" || name == "_rebuild_tensor_v3")
        return rebuild(args, name == "_rebuild_tensor_v3", where);
      if (name == "_rebuild_parameter" || name == "_rebuild_parameter_with_state") {
        if (args.empty()) fail(path_, where + ": no data");
        auto t = tensor_of(args[0], depth + 1);
        if (!t) fail(path_, where + ": its data is " + args[0]->describe() + ", not a tensor");
        return t;
      }
      if (name.rfind("_rebuild", 0) == 0)
        fail(path_,
             where + " is not supported (only dense CPU/CUDA tensors are: no quantized, sparse or meta tensors)");
      return std::nullopt;
    }
    if (module == "torch._tensor" && name == "_rebuild_from_type_v2") {
      // (func, new_type, args, state): a Tensor subclass; the data is func(*args).
      if (args.size() < 3) fail(path_, where + ": expected 4 arguments");
      auto inner = Value::make(Kind::Object);
      inner->callable = args[0];
      inner->args = args[2];
      auto t = tensor_of(inner, depth + 1);
      if (!t) fail(path_, where + ": unsupported inner call " + args[0]->describe());
      return t;
    }
    return std::nullopt;
  }

 private:
  int64_t checked_int(const ValuePtr& v, const std::string& where, const char* what) {
    if (!is_int(v) || v->integer < 0)
      fail(path_, where + ": " + what + " is " + (v ? v->describe() : "missing") + ", expected an int >= 0");
    return v->integer;
  }

  std::vector<int64_t> int_tuple(const ValuePtr& v, const std::string& where, const char* what) {
    if (!v || (v->kind != Kind::Tuple && v->kind != Kind::List))
      fail(path_, where + ": " + what + " is " + (v ? v->describe() : "missing") + ", expected a tuple of ints");
    std::vector<int64_t> out;
    for (const auto& item : v->items) out.push_back(checked_int(item, where, what));
    return out;
  }

  // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, dtype (v3)], metadata])
  torch::Tensor rebuild(const std::vector<ValuePtr>& args, bool v3, const std::string& where) {
    if (args.size() < (v3 ? 7u : 4u))
      fail(path_, where + ": expected at least " + std::to_string(v3 ? 7 : 4) + " arguments");
    if (!args[0] || args[0]->kind != Kind::Opaque || !args[0]->opaque)
      fail(path_, where + ": its storage is " + args[0]->describe() + ", expected a persistent storage id");
    const auto& slice = *std::static_pointer_cast<StorageSlice>(args[0]->opaque);
    const int64_t offset = checked_int(args[1], where, "storage offset");
    const std::vector<int64_t> size = int_tuple(args[2], where, "size");
    const std::vector<int64_t> stride = int_tuple(args[3], where, "stride");
    if (size.size() != stride.size())
      fail(path_,
           where + ": size has " + std::to_string(size.size()) + " dims but stride " + std::to_string(stride.size()));

    Storage& storage = *slice.root;
    load_(storage);
    torch::Tensor base = storage.data.narrow(0, slice.offset, slice.numel);
    if (v3) {
      // v3 names the dtype itself; its storage is raw bytes.
      auto dtype = args[6] ? dtype_global(*args[6]) : std::nullopt;
      if (!dtype) fail(path_, where + ": unsupported dtype " + args[6]->describe());
      if (*dtype != base.scalar_type()) {
        const int64_t esize = static_cast<int64_t>(c10::elementSize(*dtype));
        if (base.scalar_type() != torch::kByte || base.numel() % esize != 0)
          fail(path_, where + ": storage of " + std::string(c10::toString(base.scalar_type())) + " cannot hold " +
                          c10::toString(*dtype));
        base = base.view(*dtype);
      }
    }

    // Every element the view can reach must lie inside the storage (overflow-safe).
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    int64_t numel = 1, last = offset;
    for (size_t i = 0; i < size.size(); ++i) {
      if (size[i] != 0 && numel > kMax / size[i]) fail(path_, where + ": size overflows");
      numel *= size[i];
    }
    if (numel > 0) {
      for (size_t i = 0; i < size.size(); ++i) {
        const int64_t reach = size[i] - 1;
        if (reach > 0 && stride[i] > (kMax - last) / reach) fail(path_, where + ": strides overflow");
        last += reach * stride[i];
      }
      if (last >= base.numel())
        fail(path_, where + ": reaches element " + std::to_string(last) + " of a storage of " +
                        std::to_string(base.numel()) + " (storage '" + storage.key + "')");
    } else if (offset > base.numel()) {
      fail(path_, where + ": offset beyond its storage");
    }

    torch::Tensor view = base.as_strided(size, stride, base.storage_offset() + offset);
    // A tensor that is exactly its whole storage takes it over; anything else gets its own copy, so that
    // no two returned tensors share memory and no small tensor pins a big storage.
    if (!storage.claimed && view.is_contiguous() && view.numel() == storage.data.numel() &&
        view.storage_offset() == 0 && view.scalar_type() == storage.data.scalar_type()) {
      storage.claimed = true;
      return view;
    }
    return view.clone(torch::MemoryFormat::Contiguous);
  }

  const std::function<void(Storage&)>& load_;
  const std::string& path_;
};

const Value* as_dict(const ValuePtr& v) {
  if (!v) return nullptr;
  if (v->kind == Kind::Dict) return v.get();
  if (v->is_call_of("collections", "OrderedDict")) return v.get();
  return nullptr;
}

NamedTensors tensors_in(const Value& dict, TensorBuilder& builder) {
  NamedTensors out;
  for (const auto& [key, value] : dict.entries) {
    if (!key || key->kind != Kind::String) continue;
    if (auto t = builder.tensor_of(value)) out[key->text] = *t;
  }
  return out;
}

}  // namespace

// ---- persistent ids ----------------------------------------------------------------------------------

ValuePtr StorageTable::persistent_load(const ValuePtr& pid) {
  const std::string what = "persistent id " + pid->describe();
  if (pid->kind != Kind::Tuple || pid->items.size() < 5 || !is_text(pid->items[0]) || pid->items[0]->text != "storage")
    fail(path_, what + " is not ('storage', type, key, location, numel)");
  const auto& it = pid->items;
  const ValuePtr& type = it[1];
  std::optional<torch::ScalarType> dtype;
  if (type->kind == Kind::Global && (type->text == "torch" || type->text == "torch.cuda"))
    dtype = storage_dtype(type->name);
  if (!dtype) fail(path_, "unsupported storage type " + type->describe());
  std::string key;
  if (is_text(it[2]))
    key = it[2]->text;
  else if (is_int(it[2]))
    key = std::to_string(it[2]->integer);
  else
    fail(path_, what + ": storage key is " + it[2]->describe());
  if (!is_text(it[3])) fail(path_, what + ": location is " + it[3]->describe());  // any device: read onto the CPU
  if (!is_int(it[4]) || it[4]->integer < 0) fail(path_, what + ": element count is " + it[4]->describe());
  const int64_t numel = it[4]->integer;
  if (numel > std::numeric_limits<int64_t>::max() / 16) fail(path_, "storage '" + key + "' is impossibly large");

  auto& root = storages_[key];
  if (!root) {
    root = std::make_shared<Storage>();
    root->key = key;
    root->dtype = *dtype;
    root->numel = numel;
  } else if (root->dtype != *dtype || root->numel != numel) {
    fail(path_, "storage '" + key + "' is declared twice with different types or sizes");
  }

  auto slice = std::make_shared<StorageSlice>();
  slice->root = root;
  slice->numel = numel;
  // Legacy format: (view_key, offset, size) makes this id a slice of the root storage.
  if (it.size() > 5 && it[5] && it[5]->kind != Kind::None) {
    const ValuePtr& view = it[5];
    if (view->kind != Kind::Tuple || view->items.size() != 3 || !is_int(view->items[1]) || !is_int(view->items[2]))
      fail(path_, what + ": view metadata is " + view->describe());
    slice->offset = view->items[1]->integer;
    slice->numel = view->items[2]->integer;
    if (slice->offset < 0 || slice->numel < 0 || slice->offset > numel || slice->numel > numel - slice->offset)
      fail(path_, "storage view outside storage '" + key + "'");
  }
  auto v = Value::make(Kind::Opaque);
  v->opaque = slice;
  return v;
}

// ---- the state dict ---------------------------------------------------------------------------------

NamedTensors collect_tensors(const ValuePtr& top, const std::function<void(Storage&)>& load, const std::string& path) {
  const Value* root = as_dict(top);
  if (!root) {
    if (top && top->kind == Kind::Object)
      fail(path, "holds a pickled " + top->describe() + " instead of a state_dict (a dict of tensors)");
    fail(path,
         "holds " + (top ? top->describe() : std::string("nothing")) + ", expected a state_dict (a dict of tensors)");
  }
  TensorBuilder builder(load, path);
  // Lightning / anomalib checkpoints nest the weights.
  for (const char* nested : {"state_dict", "model"}) {
    if (const ValuePtr* inner = root->find(nested)) {
      if (const Value* dict = as_dict(*inner)) {
        NamedTensors tensors = tensors_in(*dict, builder);
        if (!tensors.empty()) return tensors;
      }
    }
  }
  NamedTensors tensors = tensors_in(*root, builder);
  if (tensors.empty())
    fail(path, "holds a dict without tensors (" + std::to_string(root->entries.size()) + " entries)");
  return tensors;
}

}  // namespace ssn::torch_pickle
