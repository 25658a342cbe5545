// Optimiser, learning-rate schedule and gradient clipping of the official recipe (spec section 8).
// AdamW is written out here (not torch::optim::AdamW) so that the update is the same on libtorch 1.13
// and 2.x, follows torch 2.1's Python single-tensor AdamW line by line, and its moments can be exported
// by parameter name for resumable training.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "io/named_tensors.h"
#include "model/supersimplenet.h"

namespace ssn {

struct ParamGroup {
  std::string name;                                           // "adaptor" | "seg" | "cls"
  std::vector<std::pair<std::string, torch::Tensor>> params;  // official parameter names
  double lr = 1e-3;                                           // current learning rate (the scheduler changes it)
  double initial_lr = 1e-3;                                   // the base rate the schedule starts from
  double weight_decay = 0.0;
};

struct AdamWHyper {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

// Decoupled-decay Adam (torch 2.1 AdamW, amsgrad off, maximize off), per parameter with a gradient:
//   step += 1; p *= 1 - lr*wd; m = lerp(m, g, 1-beta1); v = beta2*v + (1-beta2)*g*g;
//   p -= lr/(1-beta1^step) * m / (sqrt(v)/sqrt(1-beta2^step) + eps)
// Parameters without a gradient are skipped and their step count does not advance.
class AdamW {
 public:
  AdamW(std::vector<ParamGroup> groups, AdamWHyper hyper = {});

  void zero_grad();  // sets gradients to none (torch 2.x default)
  void step();

  std::vector<ParamGroup>& groups() { return groups_; }
  const std::vector<ParamGroup>& groups() const { return groups_; }
  // Every group's parameters in group order (clipping, gradient all-reduce).
  std::vector<torch::Tensor> parameters() const;
  const AdamWHyper& hyper() const { return hyper_; }

  // Moments and step counts as "<prefix><param name>.exp_avg|exp_avg_sq|step" (CPU copies; step int64).
  // Parameters that never had a gradient have no entries.
  NamedTensors export_state(const std::string& prefix) const;
  // Replaces the state from export_state's tensors; throws ssn::Error(Checkpoint) on a missing or
  // mis-shaped entry or an unknown parameter name.
  void import_state(const NamedTensors& state, const std::string& prefix);

 private:
  struct Moments {
    torch::Tensor exp_avg, exp_avg_sq;
    int64_t step = 0;
  };
  std::vector<ParamGroup> groups_;
  AdamWHyper hyper_;
  std::map<std::string, Moments> state_;  // by parameter name
};

struct OptimizerConfig {
  double adapt_lr = 1e-4, adapt_wd = 0.01;  // the adaptor silently keeps AdamW's default decay (spec 12b.3)
  double seg_lr = 2e-4, seg_wd = 1e-5;
  double dec_lr = 2e-4, dec_wd = 1e-5;
  AdamWHyper hyper;
};

// The official three groups: feature_adaptor.* | discriminator.seg.* | discriminator.dec_head.* + fc_score.*
AdamW make_supersimplenet_optimizer(SuperSimpleNet& net, const OptimizerConfig& config);

// torch MultiStepLR as the official code builds it: milestones [0.8*E, 0.9*E] as doubles, gamma applied
// (multiplicatively, to the current rate) when the epoch counter equals a milestone exactly. A milestone
// that is not a whole number therefore never fires (E = 8: 6.4 and 7.2), which we reproduce on purpose.
class MultiStepLR {
 public:
  MultiStepLR(std::vector<double> milestones, double gamma);
  static MultiStepLR official(int64_t epochs, double gamma = 0.4);

  // After an epoch: epoch counter += 1, then each group's lr *= gamma^(milestones equal to the counter).
  void step(AdamW& optimizer);
  int64_t last_epoch() const { return last_epoch_; }
  // Sets the counter and recomputes every group's lr from initial_lr by replaying the same products.
  void restore(AdamW& optimizer, int64_t last_epoch);
  // The factor of epoch `epoch` (0-based) relative to the base rate, by the same products.
  double factor_at(int64_t epoch) const;
  const std::vector<double>& milestones() const { return milestones_; }

 private:
  int64_t hits(int64_t epoch) const;  // milestones equal to epoch
  std::vector<double> milestones_;
  double gamma_;
  int64_t last_epoch_ = 0;
};

// The global L2 norm of the gradients of `params` (those without a gradient are ignored), as
// torch.nn.utils.clip_grad_norm_ computes it: the norm of the per-tensor norms. 0 without gradients.
torch::Tensor global_grad_norm(const std::vector<torch::Tensor>& params);
// clip_grad_norm_: scales every gradient by min(1, max_norm / (norm + 1e-6)); returns the norm before.
torch::Tensor clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

}  // namespace ssn
