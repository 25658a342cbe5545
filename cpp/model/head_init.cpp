#include "model/head_init.h"

#include <cmath>

namespace ssn {

namespace nn = torch::nn;

namespace {

// PyTorch's default bias init, Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), then Xavier-normal (gain 1) weights:
// the official code keeps the default biases and overwrites only the weights.
void init_affine(torch::Tensor& weight, torch::Tensor& bias) {
  if (bias.defined()) {
    const double fan_in = static_cast<double>(weight.numel() / weight.size(0));
    const double bound = 1.0 / std::sqrt(fan_in);
    bias.uniform_(-bound, bound);
  }
  nn::init::xavier_normal_(weight, 1.0);
}

}  // namespace

void init_official_head(nn::Module& head) {
  torch::NoGradGuard no_grad;
  for (const auto& module : head.modules(/*include_self=*/false)) {
    nn::Module* m = module.get();
    if (auto* conv = m->as<nn::Conv2d>()) {
      init_affine(conv->weight, conv->bias);
    } else if (auto* linear = m->as<nn::Linear>()) {
      init_affine(linear->weight, linear->bias);
    } else if (auto* bn = m->as<nn::BatchNorm2d>()) {
      nn::init::ones_(bn->weight);
      nn::init::zeros_(bn->bias);
      bn->reset_running_stats();
    }
  }
}

}  // namespace ssn
