// The one entry point the Node binding (and any other host) uses: build, import, load, save, train and run a
// SuperSimpleNet model (timing and other tools are in tools/). Plain C++ types in and out; every failure is an
// ssn::Error.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "api/checkpoint_keys.h"
#include "api/cuda_runtime.h"
#include "api/device.h"
#include "data/image.h"
#include "model/config.h"
#include "model/inference_plan.h"
#include "model/supersimplenet.h"
#include "train/trainer.h"

namespace ssn {

struct CreateOptions {
  BackboneArch arch = BackboneArch::KerasResNet50;
  std::string backbone_weights;               // torchvision .pth/.pt, safetensors or TF.js model.json
  bool random_backbone = false;               // allowed only when asked: benchmarks need no weights
  std::string head_weights;                   // optional official weights.pt / anomalib checkpoint
  HeadFormat head_format = HeadFormat::Auto;  // Auto: what the checkpoint's keys show
  ModelVariant variant = ModelVariant::Icpr;  // which published model the heads are (the keys cannot tell)
  int64_t image_h = 256;
  int64_t image_w = 256;
  DevicePreference device = DevicePreference::Auto;
  uint64_t seed = 0;                         // head initialisation when no head weights are given
  Precision precision = Precision::Float32;  // inference; Float16 needs CUDA
  int64_t threads = 0;                       // libtorch intra-op threads (process-wide); 0 keeps libtorch's choice
  bool cuda_graphs = true;                   // replay one captured CUDA graph per batch size (CUDA builds with graphs)
};

struct LoadOptions {
  DevicePreference device = DevicePreference::Auto;
  Precision precision = Precision::Float32;
  int64_t threads = 0;
  bool cuda_graphs = true;
};

struct PredictResult {
  int64_t batch = 0;
  int64_t height = 0;  // model size
  int64_t width = 0;
  std::vector<float> maps;    // batch * height * width, row-major
  std::vector<float> logits;  // batch
};

class TrainSet;

// Backbone features computed once and reused every epoch: Auto when they fit the budget and the samples are
// not augmented (flips change the features), On (refused with augmentation), Off.
enum class FeatureCache { Auto, On, Off };
FeatureCache parse_feature_cache(const std::string& s);  // "auto" | "on" | "off"; throws Error(Input)

struct TrainOptions {
  std::string config_json = "{}";  // TrainConfig keys (train_config.h); absent keys: the setting's defaults
  std::string resume_path;         // a checkpoint of this model to continue from (heads + training state)
  std::string checkpoint_path;     // written atomically after every `checkpoint_every` epochs
  int64_t checkpoint_every = 0;    // 0: no checkpoints
  FeatureCache cache_features = FeatureCache::Auto;
  int64_t cache_budget_bytes = int64_t{2} << 30;
  // > 0: a new run's schedule is sized to this wall-clock budget (cache, warm-up and epochs together):
  // the steps of a measured warm-up give the epochs, and the LR milestones become round(0.8E), round(0.9E).
  // The warm-up's updates are undone, so the run equals a plain run of that many epochs.
  double max_seconds = 0;
  // Data-parallel training (train/distributed_group.h): this process is one rank; every rank calls train()
  // with the same data and options; rank 0 writes the checkpoints. world_size 1: one process.
  DistributedOptions distributed;
  // Micro-batches per rank and step (gradients accumulated before the optimizer step); each has its own
  // BatchNorm statistics. 0: 1 for a new run, the interrupted run's split for a resumed one.
  int64_t grad_accumulation = 0;
};

struct TrainSummary {
  int64_t epochs = 0;        // finished epochs of the run (== its configured epochs once done)
  int64_t steps = 0;         // steps done by this call
  int64_t images = 0;        // images seen by this call
  double seconds = 0;        // wall time of this call, feature cache included
  double cache_seconds = 0;  // time spent filling the feature cache
  bool cached_features = false;
  bool resumed = false;          // the call continued an interrupted run
  TrainStepResult last;          // losses of the last step
  std::string config_json;       // the resolved TrainConfig
  std::string precision_reason;  // which precision ran and why
  std::string setting_reason;    // why the supervision setting (train/supervision.h) is the one in config_json
  double budget_seconds = 0;     // max_seconds when the schedule was sized to it
  double seconds_per_step = 0;   // the warm-up's measurement that sized it
  int64_t world_size = 1;        // processes that trained together (distributed), and this one's rank
  int64_t rank = 0;
  std::string backend;  // their c10d backend ("gloo", "nccl"); empty for one process
};

class Engine {
 public:
  static std::unique_ptr<Engine> create(const CreateOptions& options);
  static std::unique_ptr<Engine> load(const std::string& path, DevicePreference device);
  static std::unique_ptr<Engine> load(const std::string& path, const LoadOptions& options);

  // Resizes each image to the model size like the official pipeline (OpenCV INTER_LINEAR on uint8),
  // converts gray/RGBA to RGB, applies the backbone's preprocessing and runs inference.
  PredictResult predict(const std::vector<ImageU8>& images);
  // Inference on an already preprocessed [B,3,H,W] float tensor of exactly the model size, through the
  // inference plan (BatchNorm folded, chosen precision, CUDA graphs).
  PredictResult predict_tensor(const torch::Tensor& batch);
  // The same through the trainable module's eager forward (fp32): the reference the plan is checked against.
  PredictResult predict_tensor_reference(const torch::Tensor& batch);

  // The inference plan of the current weights (built on first use) and a raw run of it on any [B,3,H,W]
  // float input of the model size, CPU or device (CUDA graphs when on): for tools that time or inspect it.
  const InferencePlan& plan();
  InferenceOutput run_plan(const torch::Tensor& batch);
  bool cuda_graphs_active() const { return graphs_ != nullptr; }

  // Call after changing the network's weights in place (training, loading heads): the inference plan,
  // a frozen copy of the weights, is rebuilt from the network on the next prediction.
  void weights_changed();

  // Trains the heads on `data` (which must have the model size). A run interrupted by `cancel`
  // (ssn::Error(Aborted)) or saved in a checkpoint continues exactly where it stopped on the next call;
  // a finished run followed by another call starts a new run from the current heads.
  TrainSummary train(const TrainSet& data, const TrainOptions& options, const TrainProgressCallback& progress = nullptr,
                     const std::atomic<bool>* cancel = nullptr);

  // Our .safetensors bundle, written atomically. `with_training_state` adds the "train.*" entries
  // (optimizer moments, RNG states, position) a resume needs; they roughly triple the heads' size.
  void save(const std::string& path, bool with_training_state = false);
  std::string info_json();  // config, parameter counts, device, calibration (stored form or null)

  // The verdict thresholds stored with the model (nullopt: not calibrated). Safe beside a running train(),
  // which clears them whenever it changes the weights (they were chosen for the old ones).
  std::optional<Calibration> calibration() const;
  void set_calibration(std::optional<Calibration> calibration);

  // Not while train() runs on another thread (it updates config().training); info_json() is safe then.
  const ModelConfig& config() const { return config_; }
  SuperSimpleNet& network() { return net_; }
  // The current weights as an fp32 CPU inference plan, described for exporters (InferencePlan::describe); with
  // fold off, BatchNorms and the adaptor stay layers of their own.
  Json describe_plan(NamedTensors& tensors, bool fold = true);
  const torch::Device& device() const { return device_; }
  const std::string& device_reason() const { return device_reason_; }  // why 'auto' chose what it did
  Precision precision() const { return precision_; }

 private:
  Engine(ModelConfig config, SuperSimpleNet net, torch::Device device, std::string reason);
  // Heads and training state from a bundle's tensors ("train.*" entries and config.training).
  void restore_training(const Json& training, const NamedTensors& tensors, const std::string& source);
  void update_training_json();
  void mark_trained();  // heads_trained, no calibration, then weights_changed()
  // Applies precision, threads and graphs; validates them against the device.
  void configure(Precision precision, int64_t threads, bool cuda_graphs);
  void check_input(const torch::Tensor& batch) const;
  void ensure_plan();  // builds the plan (and the graph runner) from the network's current weights
  PredictResult to_result(const InferenceOutput& out, int64_t batch) const;

  ModelConfig config_;
  SuperSimpleNet net_;
  torch::Device device_;
  std::string device_reason_;
  std::unique_ptr<Trainer> trainer_;  // the current or last training run
  // train() updates config_.training and clears config_.calibration while info_json() may read them.
  mutable std::mutex config_mutex_;
  Precision precision_ = Precision::Float32;
  bool cuda_graphs_ = true;
  std::unique_ptr<InferencePlan> plan_;
  std::unique_ptr<CudaGraphRunner> graphs_;
};

// Versions of everything, as JSON: package, libtorch, CUDA availability and devices, threads.
std::string library_info_json();

}  // namespace ssn
