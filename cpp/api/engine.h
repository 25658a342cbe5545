// The one entry point the Node binding (and any other host) uses: build, import, load, save and run a
// SuperSimpleNet model. Plain C++ types in and out; every failure is an ssn::Error.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "api/device.h"
#include "model/config.h"
#include "model/supersimplenet.h"

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

class Engine {
 public:
  static std::unique_ptr<Engine> create(const CreateOptions& options);
  static std::unique_ptr<Engine> load(const std::string& path, DevicePreference device);

  // Resizes each image to the model size like the official pipeline (OpenCV INTER_LINEAR on uint8),
  // converts gray/RGBA to RGB, applies the backbone's preprocessing and runs inference.
  PredictResult predict(const std::vector<ImageU8>& images);
  // Inference on an already preprocessed [B,3,H,W] float tensor of exactly the model size.
  PredictResult predict_tensor(const torch::Tensor& batch);

  void save(const std::string& path);  // our .safetensors bundle, written atomically
  std::string info_json();             // config, parameter counts, device

  const ModelConfig& config() const { return config_; }
  SuperSimpleNet& network() { return net_; }
  const torch::Device& device() const { return device_; }
  const std::string& device_reason() const { return device_reason_; }  // why 'auto' chose what it did

 private:
  Engine(ModelConfig config, SuperSimpleNet net, torch::Device device, std::string reason);
  ModelConfig config_;
  SuperSimpleNet net_;
  torch::Device device_;
  std::string device_reason_;
};

// Versions of everything, as JSON: package, libtorch, CUDA availability and devices, threads.
std::string library_info_json();

}  // namespace ssn
