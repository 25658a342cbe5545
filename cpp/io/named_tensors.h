// A set of named tensors, as every checkpoint format holds them. Ordered by name so that writes are
// deterministic.
#pragma once
#include <map>
#include <string>

#include <torch/torch.h>

namespace ssn {
using NamedTensors = std::map<std::string, torch::Tensor>;
}  // namespace ssn
