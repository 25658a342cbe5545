// Copies checkpoint tensors into module parameters and buffers, checking every one before touching any:
// all missing, mis-shaped and unexpected keys are reported together in one ssn::Error (Shape when the
// only problems are shapes, Checkpoint otherwise).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "io/named_tensors.h"

namespace ssn {

struct TensorAssignment {
  std::string source_key;  // name in the checkpoint
  torch::Tensor target;    // parameter or buffer to fill (shape, dtype and device are kept)
  bool optional = false;   // may be absent (BatchNorm num_batches_tracked: old checkpoints lack it)
  // Layout conversion applied before the shape check (e.g. Keras HWIO -> OIHW); empty = none.
  std::function<torch::Tensor(const torch::Tensor&)> convert;
};

// `what` names the weights in messages ("resnet18 backbone weights"). Keys of `source` that no
// assignment asks for are ignored, except those the caller lists in `unexpected`: they are reported in
// the same error as the missing and mis-shaped ones.
void assign_tensors(const std::vector<TensorAssignment>& assignments, const NamedTensors& source,
                    const std::string& what, const std::vector<std::string>& unexpected = {});

// Assignments for every parameter and buffer of `module`, each read from the key of the same name.
// num_batches_tracked buffers are optional.
std::vector<TensorAssignment> same_name_assignments(const torch::nn::Module& module);

}  // namespace ssn
