// The one entry point the Node binding (and any other host) uses: build, import, load, save and run a
// SuperSimpleNet model. Plain C++ types in and out; every failure is an ssn::Error.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "api/device.h"
#include "model/config.h"
#include "model/supersimplenet.h"
#include "train/trainer.h"

namespace ssn {

// An 8-bit image, rows of width*channels bytes, channels 1 (gray), 3 (RGB) or 4 (RGBA). Not owned.
struct ImageU8 {
  const uint8_t* data = nullptr;
  int64_t width = 0;
  int64_t height = 0;
  int64_t channels = 0;
};

struct CreateOptions {
  std::string arch = "resnet50-keras";  // backbone_arch_name() values
  std::string backbone_weights;         // torchvision .pth/.pt, safetensors or TF.js model.json
  bool random_backbone = false;         // allowed only when asked: benchmarks need no weights
  std::string head_weights;             // optional official weights.pt / anomalib checkpoint
  std::string head_format = "auto";     // "official" | "anomalib" | "auto"
  int64_t image_h = 256;
  int64_t image_w = 256;
  DevicePreference device = DevicePreference::Auto;
  uint64_t seed = 0;                    // head initialisation when no head weights are given
};

struct PredictResult {
  int64_t batch = 0;
  int64_t height = 0;          // model size
  int64_t width = 0;
  std::vector<float> maps;     // batch * height * width, row-major
  std::vector<float> logits;   // batch
};

class TrainSet;

struct TrainOptions {
  std::string config_json = "{}";  // TrainConfig keys (train_config.h); absent keys: the setting's defaults
  std::string resume_path;         // a checkpoint of this model to continue from (heads + training state)
  std::string checkpoint_path;     // written atomically after every `checkpoint_every` epochs
  int64_t checkpoint_every = 0;    // 0: no checkpoints
  std::string cache_features = "auto";  // "auto" (when it fits the budget) | "on" | "off"
  int64_t cache_budget_bytes = int64_t{2} << 30;
};

struct TrainSummary {
  int64_t epochs = 0;            // finished epochs of the run (== its configured epochs once done)
  int64_t steps = 0;             // steps done by this call
  int64_t images = 0;            // images seen by this call
  double seconds = 0;            // wall time of this call, feature cache included
  double cache_seconds = 0;      // time spent filling the feature cache
  bool cached_features = false;
  bool resumed = false;          // the call continued an interrupted run
  TrainStepResult last;          // losses of the last step
  std::string config_json;       // the resolved TrainConfig
};

class Engine {
 public:
  static std::unique_ptr<Engine> create(const CreateOptions& options);
  static std::unique_ptr<Engine> load(const std::string& path, DevicePreference device);

  // Resizes each image to the model size like the official pipeline (OpenCV INTER_LINEAR on uint8),
  // converts gray/RGBA to RGB, applies the backbone's preprocessing and runs inference.
  PredictResult predict(const std::vector<ImageU8>& images);
  // Inference on an already preprocessed [B,3,H,W] float tensor of exactly the model size.
  PredictResult predict_tensor(const torch::Tensor& batch);

  // Trains the heads on `data` (which must have the model size). A run interrupted by `cancel`
  // (ssn::Error(Aborted)) or saved in a checkpoint continues exactly where it stopped on the next call;
  // a finished run followed by another call starts a new run from the current heads.
  TrainSummary train(const TrainSet& data, const TrainOptions& options, const TrainProgressCallback& progress = nullptr,
                     const std::atomic<bool>* cancel = nullptr);
  // Called whenever the weights change (training): drops anything derived from them.
  void weights_changed();

  // Our .safetensors bundle, written atomically. `with_training_state` adds the "train.*" entries
  // (optimizer moments, RNG states, position) a resume needs; they roughly triple the heads' size.
  void save(const std::string& path, bool with_training_state = false);
  std::string info_json();             // config, parameter counts, device

  // Not while train() runs on another thread (it updates config().training); info_json() is safe then.
  const ModelConfig& config() const { return config_; }
  SuperSimpleNet& network() { return net_; }
  const torch::Device& device() const { return device_; }
  const std::string& device_reason() const { return device_reason_; }  // why 'auto' chose what it did

 private:
  Engine(ModelConfig config, SuperSimpleNet net, torch::Device device, std::string reason);
  // Heads and training state from a bundle's tensors ("train.*" entries and config.training).
  void restore_training(const Json& training, const NamedTensors& tensors, const std::string& source);
  void update_training_json();
  void mark_trained();  // heads_trained, then weights_changed()
  ModelConfig config_;
  SuperSimpleNet net_;
  torch::Device device_;
  std::string device_reason_;
  std::unique_ptr<Trainer> trainer_;  // the current or last training run
  mutable std::mutex config_mutex_;   // train() updates config_.training while info_json() may read it
};

// Versions of everything, as JSON: package, libtorch, CUDA availability and devices, threads.
std::string library_info_json();

}  // namespace ssn
