#include "api/engine.h"

#include <cmath>
#include "api/process_settings.h"

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <set>
#include <sstream>
#include <utility>

#include "api/checkpoint_keys.h"
#include "common/error.h"
#include "common/limits.h"
#include "data/preprocess.h"
#include "io/checkpoint.h"
#include "io/json.h"
#include "model/tensor_assign.h"

namespace ssn {
namespace {

constexpr const char* kConfigKey = "ssn_config";
constexpr const char* kFormatKey = "format";
constexpr const char* kFormatValue = "supersimplenet";
constexpr const char* kTrainPrefix = "train.";

std::string file_name(const std::string& path) {
  const auto slash = path.find_last_of("/\\");
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Every parameter and buffer of the module, detached, contiguous, on CPU.
NamedTensors module_state(torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& p : module.named_parameters(true)) out[p.key()] = p.value().detach().to(torch::kCPU).contiguous();
  for (const auto& b : module.named_buffers(true)) out[b.key()] = b.value().detach().to(torch::kCPU).contiguous();
  return out;
}

// Keys of a model file that no parameter or buffer of the network takes.
std::vector<std::string> unexpected_keys(torch::nn::Module& module, const NamedTensors& state) {
  std::set<std::string> known;
  for (const auto& p : module.named_parameters(true)) known.insert(p.key());
  for (const auto& b : module.named_buffers(true)) known.insert(b.key());
  std::vector<std::string> out;
  for (const auto& kv : state)
    if (!known.count(kv.first)) out.push_back(kv.first);
  return out;
}

// Channels-last activations: on CUDA (cuDNN's NHWC kernels, tensor cores) and for bf16 on the CPU (oneDNN's
// AMX/AVX-512 bf16 kernels: 2x); fp32 on the CPU runs slower with it (bench/README.md).
// SSN_CHANNELS_LAST=0|1 overrides, for measurements.
bool channels_last_for(const torch::Device& device, Precision precision) {
  if (const char* env = std::getenv("SSN_CHANNELS_LAST")) return std::string(env) == "1";
  return device.is_cuda() || precision == Precision::BFloat16;
}

int64_t numel_of(const std::vector<torch::Tensor>& tensors) {
  int64_t n = 0;
  for (const auto& t : tensors) n += t.numel();
  return n;
}

// Before anything is built: the inference precision must suit the device, the thread count its range.
void check_runtime_options(const torch::Device& device, Precision precision, int64_t threads) {
  if (precision == Precision::Float16 && !device.is_cuda())
    throw Error(ErrorCode::Input, "Expected precision 'fp32' or 'bf16' on the CPU but received 'fp16'",
                "fp16 inference needs a CUDA device; use 'fp32' on the CPU");
  if (threads < 0 || threads > kMaxThreads)
    throw Error(ErrorCode::Input, "Expected 0 (libtorch's choice) to " + std::to_string(kMaxThreads) +
                                      " threads but received " + std::to_string(threads));
}

}  // namespace

Engine::Engine(ModelConfig config, SuperSimpleNet net, torch::Device device, std::string reason)
    : config_(std::move(config)), net_(std::move(net)), device_(device), device_reason_(std::move(reason)) {
  net_->to(device_);
  net_->eval();
}

std::unique_ptr<Engine> Engine::create(const CreateOptions& options) {
  auto [device, reason] = choose_device(options.device);
  check_runtime_options(device, options.precision, options.threads);
  ModelConfig config;
  config.arch = options.arch;
  config.variant = options.variant;
  config.image_h = options.image_h;
  config.image_w = options.image_w;
  ModelConfig::from_json(config.to_json());  // validates sizes before building anything

  SuperSimpleNet net{nullptr};
  {
    std::lock_guard<std::mutex> seeded(seeded_construction_mutex());  // see api/process_settings.h
    torch::manual_seed(options.seed);
    net = SuperSimpleNet(config.arch, config.image_h, config.image_w, config.variant);
    if (options.head_weights.empty()) net->init_heads();
  }
  config.preprocessing = net->backbone()->preprocessing();

  if (options.random_backbone) {
    config.backbone_source = "random";
  } else if (options.backbone_weights.empty()) {
    throw Error(ErrorCode::Input,
                std::string("no weights were given for the ") + backbone_arch_name(config.arch) + " backbone",
                "pass the backbone's weight file, or ask for a random backbone explicitly (timing only)");
  } else {
    net->backbone()->load_native_weights(strip_backbone_prefix(read_any_checkpoint(options.backbone_weights)));
    config.backbone_source = file_name(options.backbone_weights);
  }

  if (!options.head_weights.empty()) {
    const NamedTensors raw = read_any_checkpoint(options.head_weights);
    net->load_head_state(official_head_tensors(raw, resolve_head_format(options.head_format, raw)));
    config.heads_trained = true;
  }
  std::unique_ptr<Engine> engine(new Engine(std::move(config), std::move(net), device, std::move(reason)));
  engine->configure(options.precision, options.threads, options.cuda_graphs);
  return engine;
}

std::unique_ptr<Engine> Engine::load(const std::string& path, DevicePreference preference) {
  LoadOptions options;
  options.device = preference;
  return load(path, options);
}

std::unique_ptr<Engine> Engine::load(const std::string& path, const LoadOptions& options) {
  auto [device, reason] = choose_device(options.device);
  check_runtime_options(device, options.precision, options.threads);
  SafetensorsContent content = read_safetensors(path);
  auto format = content.metadata.find(kFormatKey);
  auto config_text = content.metadata.find(kConfigKey);
  if (format == content.metadata.end() || format->second != kFormatValue || config_text == content.metadata.end())
    throw Error(ErrorCode::Checkpoint,
                path + " is a safetensors file, but not a supersimplenet model (no ssn_config metadata)",
                "create one with `ssn import` or SuperSimpleNet.create(...).save(file)");
  ModelConfig config;
  try {
    config = ModelConfig::from_json(Json::parse(config_text->second));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(ErrorCode::Checkpoint, path + ": the model config is not valid JSON: " + e.what());
  }
  // "train.*" entries are the training state of a checkpoint, not network tensors.
  NamedTensors network_tensors;
  bool has_training_state = false;
  for (const auto& kv : content.tensors) {
    if (kv.first.rfind(kTrainPrefix, 0) == 0) {
      has_training_state = true;
    } else {
      network_tensors.insert(kv);
    }
  }
  SuperSimpleNet net(config.arch, config.image_h, config.image_w, config.variant);
  assign_tensors(same_name_assignments(*net), network_tensors, "tensors of " + path,
                 unexpected_keys(*net, network_tensors));
  const Json training = config.training;
  std::unique_ptr<Engine> engine(new Engine(std::move(config), std::move(net), device, std::move(reason)));
  engine->configure(options.precision, options.threads, options.cuda_graphs);
  if (has_training_state) engine->restore_training(training, content.tensors, path);
  return engine;
}

void Engine::configure(Precision precision, int64_t threads, bool cuda_graphs) {
  precision_ = precision;
  set_process_threads(threads);  // process-wide: see api/process_settings.h
  cuda_graphs_ = cuda_graphs;
  configure_cuda_for_model(device_, precision_);
}

void Engine::weights_changed() {
  graphs_.reset();  // holds a reference to the plan
  plan_.reset();
}

void Engine::check_input(const torch::Tensor& batch) const {
  if (batch.dim() != 4 || batch.size(0) < 1 || batch.size(1) != 3 || batch.size(2) != config_.image_h ||
      batch.size(3) != config_.image_w) {
    std::ostringstream os;
    os << "expected a [B,3," << config_.image_h << "," << config_.image_w << "] batch, received " << batch.sizes();
    throw Error(ErrorCode::Shape, os.str(), "resize inputs to the model size, or use predict() which resizes for you");
  }
  if (batch.is_floating_point() && !torch::isfinite(batch).all().item<bool>()) {
    throw Error(ErrorCode::Input, "the input batch holds NaN or infinite values",
                "pass preprocessed images: finite float32 values");
  }
}

void Engine::ensure_plan() {
  if (plan_) return;
  PlanOptions options;
  options.device = device_;
  options.precision = precision_;
  options.channels_last = channels_last_for(device_, precision_);
  plan_ = std::make_unique<InferencePlan>(*net_, options);
  if (device_.is_cuda() && cuda_graphs_) graphs_ = make_cuda_graph_runner(*plan_);
}

const InferencePlan& Engine::plan() {
  ensure_plan();
  return *plan_;
}

InferenceOutput Engine::run_plan(const torch::Tensor& batch) {
  ensure_plan();
  if (graphs_) return graphs_->run(batch.to(torch::kCPU, torch::kFloat).contiguous());
  if (device_.is_cuda() && batch.is_cpu()) return plan_->run(batch.to(torch::kFloat).pin_memory().to(device_, true));
  return plan_->run(batch);
}

PredictResult Engine::to_result(const InferenceOutput& out, int64_t batch) const {
  torch::Tensor maps = out.map.to(torch::kCPU, torch::kFloat).contiguous();
  torch::Tensor logits = out.score_logit.to(torch::kCPU, torch::kFloat).contiguous();
  // Never NaN in silence: inputs are finite by now (check_input), so the weights are to blame.
  if (!torch::isfinite(maps).all().item<bool>() || !torch::isfinite(logits).all().item<bool>()) {
    throw Error(ErrorCode::Checkpoint, "the model's outputs are not finite (NaN or infinite)",
                "its weights are damaged or were trained until they diverged: load or train them again");
  }
  PredictResult result;
  result.batch = batch;
  result.height = config_.image_h;
  result.width = config_.image_w;
  result.maps.assign(maps.data_ptr<float>(), maps.data_ptr<float>() + maps.numel());
  result.logits.assign(logits.data_ptr<float>(), logits.data_ptr<float>() + logits.numel());
  return result;
}

PredictResult Engine::predict(const std::vector<ImageU8>& images) {
  return predict_tensor(preprocess_images(images, config_.image_h, config_.image_w, config_.preprocessing));
}

PredictResult Engine::predict_tensor(const torch::Tensor& batch) {
  check_input(batch);
  torch::InferenceMode guard;
  return to_result(run_plan(batch), batch.size(0));
}

PredictResult Engine::predict_tensor_reference(const torch::Tensor& batch) {
  check_input(batch);
  torch::InferenceMode guard;
  return to_result(net_->infer(batch.to(device_, torch::kFloat32)), batch.size(0));
}

void Engine::save(const std::string& path, bool with_training_state) {
  NamedTensors tensors = module_state(*net_);
  ModelConfig config;
  {
    std::lock_guard<std::mutex> lock(config_mutex_);
    config = config_;
  }
  if (with_training_state && trainer_) {
    for (auto& kv : trainer_->export_state())
      if (kv.first.rfind(kTrainPrefix, 0) == 0) tensors.insert(std::move(kv));
    config.training["state"] = Json(true);
  } else if (config.training.is_object()) {
    config.training["state"] = Json(false);
  }
  std::map<std::string, std::string> metadata{{kFormatKey, kFormatValue}, {kConfigKey, config.to_json().dump()}};
  write_safetensors_atomic(path, tensors, metadata);
}

std::string Engine::info_json() {
  std::lock_guard<std::mutex> lock(config_mutex_);
  const int64_t backbone = numel_of(net_->backbone()->parameters());
  const int64_t heads =
      numel_of(net_->adaptor_parameters()) + numel_of(net_->seg_parameters()) + numel_of(net_->cls_parameters());
  const Preprocessing& prep = config_.preprocessing;
  Json preprocessing = Json::object();
  preprocessing["bgr"] = Json(prep.bgr);
  preprocessing["scale"] = Json(static_cast<double>(prep.scale));
  Json mean = Json::array(), std = Json::array();
  for (int c = 0; c < 3; ++c) {
    mean.push_back(Json(static_cast<double>(prep.mean[c])));
    std.push_back(Json(static_cast<double>(prep.std[c])));
  }
  preprocessing["mean"] = mean;
  preprocessing["std"] = std;
  Json backbone_info = Json::object();
  backbone_info["arch"] = Json(backbone_arch_name(config_.arch));
  backbone_info["source"] = Json(config_.backbone_source);
  backbone_info["preprocessing"] = preprocessing;
  Json size = Json::array();
  size.push_back(Json(config_.image_h));
  size.push_back(Json(config_.image_w));
  Json params = Json::object();
  params["backbone"] = Json(backbone);
  params["heads"] = Json(heads);
  params["trainable"] = Json(heads);  // the backbone is frozen

  Json info = Json::object();
  info["formatVersion"] = Json(config_.format_version);
  info["variant"] = Json(model_variant_name(config_.variant));
  info["backbone"] = backbone_info;
  info["imageSize"] = size;
  info["featureChannels"] = Json(net_->feature_channels());
  info["parameters"] = params;
  info["headsTrained"] = Json(config_.heads_trained);
  info["device"] = Json(device_.str());
  info["training"] = config_.training;
  info["calibration"] = config_.calibration ? config_.calibration->to_json() : Json();
  return info.dump();
}

std::optional<Calibration> Engine::calibration() const {
  std::lock_guard<std::mutex> lock(config_mutex_);
  return config_.calibration;
}

void Engine::set_calibration(std::optional<Calibration> calibration) {
  std::lock_guard<std::mutex> lock(config_mutex_);
  config_.calibration = std::move(calibration);
}

Json Engine::describe_plan(NamedTensors& tensors, bool fold) {
  torch::NoGradGuard no_grad;
  PlanOptions options;  // fp32 on the CPU, NCHW: what an exported graph starts from
  options.fold = fold;
  const InferencePlan plan(*net_, options);
  Json j = plan.describe(tensors);
  j["variant"] = Json(model_variant_name(config_.variant));
  j["arch"] = Json(backbone_arch_name(config_.arch));
  // What preprocess() does, for an exporter that puts it in the graph: float32 throughout,
  // (x - mean * max_pixel) * (1 / (std * max_pixel)) with max_pixel = round(1 / scale), RGB reversed when bgr.
  const Preprocessing& p = config_.preprocessing;
  Json prep = Json::object();
  prep["bgr"] = Json(p.bgr);
  prep["max_pixel"] = Json(std::round(1.0 / static_cast<double>(p.scale)));
  Json mean = Json::array(), stdev = Json::array();
  for (int c = 0; c < 3; ++c)
    mean.push_back(Json(static_cast<double>(p.mean[c]))), stdev.push_back(Json(static_cast<double>(p.std[c])));
  prep["mean"] = mean;
  prep["std"] = stdev;
  j["preprocessing"] = prep;
  return j;
}

}  // namespace ssn
