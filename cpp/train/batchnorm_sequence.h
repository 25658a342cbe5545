// The heads' BatchNorm running statistics under data-parallel training. Each part of a step (a rank's share
// of the batch) normalises with its own batch statistics, as under PyTorch DDP. The running statistics,
// though, are made the same on every rank: the ones a single process gets when it runs the step's parts one
// after the other (gradient accumulation). That keeps the ranks' models identical and a W-rank run equal to
// a one-process run with W micro-batches, running statistics included.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "model/supersimplenet.h"
#include "train/distributed_group.h"

namespace ssn {

class BatchNormSequence {
 public:
  // The heads' BatchNorm layers (the backbone's stay frozen). Throws ssn::Error(Config) for a layer without
  // momentum (a cumulative average has no sequential form here).
  explicit BatchNormSequence(SuperSimpleNet& net);

  void begin_step();          // keeps the running statistics of the step's start
  void before_part();         // zeroes them: the part's forward then leaves momentum * its statistics
  void after_part(bool ran);  // records what the part left (nothing when it had no samples)
  // Gathers every rank's parts and applies them in rank order to the step's starting statistics.
  void finish_step(DistributedGroup& group, const std::string& what);

 private:
  struct Layer {
    torch::nn::BatchNorm2dImpl* bn;
    double momentum;
  };
  std::vector<Layer> layers_;
  std::vector<torch::Tensor> start_mean_, start_var_;
  std::vector<torch::Tensor> parts_;  // per part of this rank: [ran, (m*mean, m*var) of every layer] flat
  int64_t local_ran_ = 0;             // this rank's parts that had samples (each counted itself)
};

}  // namespace ssn
