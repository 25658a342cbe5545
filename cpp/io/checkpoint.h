// Readers of every weight format we import. All return CPU tensors; all throw ssn::Error
// (ErrorCode::Checkpoint or Io) naming the file and what is wrong with it.
#pragma once
#include <map>
#include <string>

#include "io/named_tensors.h"

namespace ssn {

// PyTorch checkpoints: the zip format (torch.save default since 1.6) and the legacy pickle format.
// Storages tagged with a CUDA location are mapped to CPU. A dict / OrderedDict of tensors is returned
// flat; a dict nesting one under "state_dict" or "model" is unwrapped.
NamedTensors read_torch_checkpoint(const std::string& path);

// safetensors: tensors and the free-form string metadata ("__metadata__").
struct SafetensorsContent {
  NamedTensors tensors;
  std::map<std::string, std::string> metadata;
};
SafetensorsContent read_safetensors(const std::string& path);
// Writes to `path + ".tmp-<pid>"`, flushes, then renames over `path`: a reader never sees a partial file.
void write_safetensors_atomic(const std::string& path, const NamedTensors& tensors,
                              const std::map<std::string, std::string>& metadata);

// TF.js layers model: model.json (weightsManifest) + its binary shards, beside it. Names as in the
// manifest ("conv1/kernel", "bn_conv1/gamma", ...), shapes as stored (Keras HWIO kernels).
NamedTensors read_tfjs_layers_model(const std::string& model_json_path);

// Any of the above, chosen by content (zip / pickle magic / safetensors header / JSON).
NamedTensors read_any_checkpoint(const std::string& path);

}  // namespace ssn
