// Non-trivial BatchNorm parameters and statistics everywhere in a network, so that folding and eval-mode
// paths are really exercised (fresh BatchNorms are the identity). Draws from libtorch's global generator:
// seed it first. Shared by the core tests and the CUDA checks.
#pragma once
#include <torch/torch.h>

#include "model/supersimplenet.h"

namespace ssn_test {

inline void randomise_batchnorms(ssn::SuperSimpleNetImpl& net) {
  torch::NoGradGuard no_grad;
  for (auto& m : net.modules(false)) {
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.normal_(0.0, 0.1);
      bn->running_mean.normal_(0.0, 0.1);
      bn->running_var.uniform_(0.5, 2.0);
    }
  }
}

}  // namespace ssn_test
