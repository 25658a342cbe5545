// The official initialisation of the trainable modules (spec section 4): Xavier-normal conv and linear
// weights over PyTorch's default biases, BatchNorm weight 1, bias 0, running statistics 0 and 1.
#pragma once
#include <torch/torch.h>

namespace ssn {

// Initialises every submodule of `head` in registration order (the order fixes the random sequence).
void init_official_head(torch::nn::Module& head);

}  // namespace ssn
