// The official training loop (spec sections 8-9): epochs of shuffled batches (drop_last false), the
// supervised epoch composition, MultiStepLR after every epoch, progress reports, cancellation between
// steps, and a training state that resumes exactly.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include <ATen/core/Generator.h>
#include <torch/torch.h>

#include "io/named_tensors.h"
#include "model/supersimplenet.h"
#include "train/batchnorm_sequence.h"
#include "train/data_source.h"
#include "train/distributed_group.h"
#include "train/optimizer.h"
#include "train/supervised_sampler.h"
#include "train/train_config.h"
#include "train/train_step.h"

namespace ssn {

struct TrainProgress {
  int64_t epoch = 0;  // 0-based epoch of the step just done
  int64_t epochs = 0;
  int64_t step = 0;  // 1-based step within the epoch
  int64_t steps_per_epoch = 0;
  int64_t batch = 0;  // images in this step
  Precision precision = Precision::Float32;
  TrainStepResult losses;
  double lr_adaptor = 0, lr_seg = 0, lr_cls = 0;  // the rates this step used
  double images_per_second = 0;                   // over the steps of this fit() call
  double eta_seconds = 0;                         // remaining steps of the run at that pace
};
using TrainProgressCallback = std::function<void(const TrainProgress&)>;
// Called after each finished epoch (scheduler stepped): export_state() then resumes at the next epoch.
using EpochEndCallback = std::function<void(int64_t finished_epochs)>;

class Trainer {
 public:
  // The network is trained in place, on the device it is on. Throws ssn::Error(Config) on a bad config.
  Trainer(SuperSimpleNet net, TrainConfig config);

  // Trains from the current state to the last epoch. `cancel` is read before every step: when set, the
  // state stays that of the last finished step and ssn::Error(Aborted) is thrown (fit() again resumes).
  // The heads are left in eval mode. Throws ssn::Error(Input/Shape) on bad data.
  void fit(TrainDataSource& data, const TrainProgressCallback& progress = nullptr,
           const std::atomic<bool>* cancel = nullptr, const EpochEndCallback& epoch_end = nullptr);

  // Data-parallel training: this process is one rank of `group` (kept alive by the caller through fit()).
  // Every rank runs the same steps over the same shuffled order and takes its parts of each step's batch
  // (config.micro_batches / world size of them, which must divide); the gradients and losses are summed
  // across ranks before the optimizer step, so the ranks' models stay identical. nullptr: one process.
  void use_group(DistributedGroup* group);

  // Seconds per training step of a full batch, over `timed_steps` steps after one untimed warm-up step.
  // The steps train: use a throwaway trainer and restore the heads afterwards (Engine::train does).
  double seconds_per_step(TrainDataSource& data, int64_t timed_steps, const std::atomic<bool>* cancel = nullptr);
  int64_t steps_per_epoch(TrainDataSource& data);

  bool finished() const { return epoch_ >= config_.epochs; }
  int64_t epoch() const { return epoch_; }         // finished epochs
  int64_t step_in_epoch() const { return step_; }  // finished steps of the current epoch
  const TrainConfig& config() const { return config_; }
  const AdamW& optimizer() const { return optimizer_; }

  // Everything a resume needs: the heads under their official names (BN statistics included) and
  // "train.*" entries (optimizer moments, scheduler epoch, position in the epoch and its order, RNG states,
  // noise stream, supervised sampler). CPU tensors.
  NamedTensors export_state() const;
  // Restores export_state's tensors into this trainer (same model and config); ssn::Error(Checkpoint) on
  // missing or mismatching entries.
  void import_state(const NamedTensors& state);

 private:
  int64_t prepare_epochs(TrainDataSource& data);  // builds the supervised sampler; returns the epoch length
  // One optimizer step over the samples of `indices` (the whole step's batch, on every rank).
  TrainStepResult run_step(TrainDataSource& data, const torch::Tensor& indices);
  TrainBatch load_batch(TrainDataSource& data, const std::vector<SampledItem>& items);
  void sum_across_ranks(TrainStepResult& losses, const std::string& what);
  // Every rank checks that the others train the same run on the same data before the first step.
  void check_ranks_agree(TrainDataSource& data);
  void check_sample(const TrainSample& s, int64_t index) const;

  SuperSimpleNet net_;
  TrainConfig config_;
  AdamW optimizer_;
  MultiStepLR scheduler_;
  TrainStepConfig step_config_;
  GradScaler scaler_;             // fp16 only
  at::Generator data_generator_;  // shuffling and supervised sampling
  AnomalyRandom random_;          // Perlin masks and the Philox noise stream
  std::unique_ptr<SupervisedSampler> sampler_;
  NamedTensors pending_sampler_state_;  // imported before fit() built the sampler
  int64_t epoch_ = 0, step_ = 0;
  torch::Tensor order_;  // int64 shuffled epoch indices; undefined between epochs
  DistributedGroup* group_ = nullptr;
  std::unique_ptr<BatchNormSequence> batchnorm_sequence_;  // with a group of 2 or more ranks
  int64_t steps_taken_ = 0;                                // this process's steps: names collectives in errors
  const std::atomic<bool>* cancel_ = nullptr;              // fit()'s flag, shared with the other ranks each step
  bool stop_agreed_ = false;                               // a rank's flag was set: all stop after this step
};

}  // namespace ssn
