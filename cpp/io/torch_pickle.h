// What a torch.save pickle means: persistent ids name storages, torch._utils._rebuild_* calls make
// tensors of them, and the top object is a (nested) dict of tensors. Shared by the zip and the legacy
// container readers, which only differ in where the storage bytes live.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "io/named_tensors.h"
#include "io/pickle.h"

namespace ssn::torch_pickle {

// One storage of the checkpoint: its key in the file, element type and count. `data` (1-D, `numel`
// elements of `dtype`, on the CPU) is filled by the container reader.
struct Storage {
  std::string key;
  torch::ScalarType dtype = torch::kFloat;
  int64_t numel = 0;
  torch::Tensor data;
  bool claimed = false;  // handed out whole as a tensor: later tensors of it get their own copy
};

// Resolves persistent ids ('storage', storage_type, key, location, numel[, view_metadata]) and keeps one
// Storage per key. Every location ('cpu', 'cuda:0', ...) is read onto the CPU.
class StorageTable {
 public:
  explicit StorageTable(std::string path) : path_(std::move(path)) {}
  pickle::ValuePtr persistent_load(const pickle::ValuePtr& pid);
  const std::map<std::string, std::shared_ptr<Storage>>& storages() const { return storages_; }

 private:
  std::string path_;
  std::map<std::string, std::shared_ptr<Storage>> storages_;
};

// The flat name -> tensor map of the unpickled top object: a dict / OrderedDict of tensors, or one nesting
// such a dict under "state_dict" or "model". Non-tensor values are skipped. `load` gives a storage's bytes
// (it may read them lazily). Throws ErrorCode::Checkpoint naming `path`.
NamedTensors collect_tensors(const pickle::ValuePtr& top, const std::function<void(Storage&)>& load,
                             const std::string& path);

}  // namespace ssn::torch_pickle
