#include "model_handle.h"

#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "args.h"
#include "benchmark_worker.h"
#include "errors.h"
#include "io/json.h"
#include "promise_worker.h"
#include "train.h"

namespace ssn_binding {

namespace {

ssn::Error disposed_error() {
  return ssn::Error(ssn::ErrorCode::Disposed, "The model was disposed",
                    "Create or load a new model; a disposed model cannot be used again.");
}

Napi::Float32Array copy_to_js(Napi::Env env, const std::vector<float>& values) {
  // V8-owned memory: external buffers are not allowed inside Electron's memory cage.
  Napi::Float32Array array = Napi::Float32Array::New(env, values.size());
  if (!values.empty()) std::memcpy(array.Data(), values.data(), values.size() * sizeof(float));
  return array;
}

class PredictWorker : public PromiseWorker {
 public:
  PredictWorker(Napi::Env env, std::shared_ptr<EngineSlot> slot, std::vector<OwnedImage> images)
      : PromiseWorker(env, "supersimplenet:predict"),
        slot_(std::move(slot)),
        images_(std::move(images)),
        expected_(images_.size()) {}
  // A preprocessed [B,3,H,W] float32 batch (owned copy), for timing without image decoding.
  PredictWorker(Napi::Env env, std::shared_ptr<EngineSlot> slot, torch::Tensor batch)
      : PromiseWorker(env, "supersimplenet:predictTensor"),
        slot_(std::move(slot)),
        batch_(std::move(batch)),
        expected_(static_cast<size_t>(batch_.size(0))) {}

 protected:
  void Run() override {
    {
      std::lock_guard<std::mutex> lock(slot_->run_mutex);
      result_ = batch_.defined() ? slot_->engine->predict_tensor(batch_) : slot_->engine->predict(image_views(images_));
    }
    images_.clear();
    images_.shrink_to_fit();
    batch_ = torch::Tensor();
    // Result() copies by these sizes: check them here rather than trust them there.
    const auto batch = static_cast<size_t>(result_.batch);
    if (result_.batch != static_cast<int64_t>(expected_) || result_.height <= 0 || result_.width <= 0 ||
        result_.logits.size() != batch ||
        result_.maps.size() != batch * static_cast<size_t>(result_.height * result_.width)) {
      throw ssn::Error(ssn::ErrorCode::Internal,
                       "Inconsistent prediction: batch " + std::to_string(result_.batch) + " for " +
                           std::to_string(expected_) + " images, maps " + std::to_string(result_.maps.size()) +
                           " values for " + std::to_string(result_.height) + "x" + std::to_string(result_.width) +
                           ", logits " + std::to_string(result_.logits.size()),
                       "This is a bug in supersimplenet; please report it.");
    }
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    out.Set("batch", Napi::Number::New(env, static_cast<double>(result_.batch)));
    out.Set("height", Napi::Number::New(env, static_cast<double>(result_.height)));
    out.Set("width", Napi::Number::New(env, static_cast<double>(result_.width)));
    out.Set("maps", copy_to_js(env, result_.maps));
    out.Set("logits", copy_to_js(env, result_.logits));
    return out;
  }

 private:
  std::shared_ptr<EngineSlot> slot_;
  std::vector<OwnedImage> images_;
  torch::Tensor batch_;
  size_t expected_;
  ssn::PredictResult result_;
};

class SaveWorker : public PromiseWorker {
 public:
  SaveWorker(Napi::Env env, std::shared_ptr<EngineSlot> slot, std::string path, bool with_training_state)
      : PromiseWorker(env, "supersimplenet:save"),
        slot_(std::move(slot)),
        path_(std::move(path)),
        with_training_state_(with_training_state) {}

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lock(slot_->run_mutex);
    slot_->engine->save(path_, with_training_state_);
  }

  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::shared_ptr<EngineSlot> slot_;
  std::string path_;
  bool with_training_state_;
};

// The fp32 inference plan (folded, or with fold false its BatchNorms and adaptor apart) as a graph description
// and its tensors, for the exporters of lib/export.
class DescribePlanWorker : public PromiseWorker {
 public:
  DescribePlanWorker(Napi::Env env, std::shared_ptr<EngineSlot> slot, bool fold)
      : PromiseWorker(env, "supersimplenet:describePlan"), slot_(std::move(slot)), fold_(fold) {}

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lock(slot_->run_mutex);
    spec_ = slot_->engine->describe_plan(tensors_, fold_).dump();
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    out.Set("spec", Napi::String::New(env, spec_));
    Napi::Object tensors = Napi::Object::New(env);
    for (const auto& [name, t] : tensors_) {
      Napi::Object entry = Napi::Object::New(env);
      Napi::Array shape = Napi::Array::New(env);
      for (const int64_t d : t.sizes()) shape.Set(shape.Length(), Napi::Number::New(env, static_cast<double>(d)));
      Napi::Float32Array data = Napi::Float32Array::New(env, static_cast<size_t>(t.numel()));
      std::memcpy(data.Data(), t.data_ptr<float>(), static_cast<size_t>(t.numel()) * sizeof(float));
      entry.Set("shape", shape);
      entry.Set("data", data);
      tensors.Set(name, entry);
    }
    out.Set("tensors", tensors);
    return out;
  }

 private:
  std::shared_ptr<EngineSlot> slot_;
  bool fold_;
  std::string spec_;
  ssn::NamedTensors tensors_;
};

}  // namespace

Napi::Function ModelHandle::DefineClass(Napi::Env env) {
  return Napi::ObjectWrap<ModelHandle>::DefineClass(env, "NativeModel",
                                                    {
                                                        InstanceMethod<&ModelHandle::Predict>("predict"),
                                                        InstanceMethod<&ModelHandle::PredictTensor>("predictTensor"),
                                                        InstanceMethod<&ModelHandle::Benchmark>("benchmark"),
                                                        InstanceMethod<&ModelHandle::Save>("save"),
                                                        InstanceMethod<&ModelHandle::DescribePlan>("describePlan"),
                                                        InstanceMethod<&ModelHandle::Train>("train"),
                                                        InstanceMethod<&ModelHandle::SetCalibration>("setCalibration"),
                                                        InstanceMethod<&ModelHandle::Info>("info"),
                                                        InstanceMethod<&ModelHandle::DeviceReason>("deviceReason"),
                                                        InstanceMethod<&ModelHandle::Dispose>("dispose"),
                                                    });
}

ModelHandle::ModelHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelHandle>(info) {}

ModelHandle::~ModelHandle() {
  try {
    Release();
  } catch (...) {
    // A finalizer must not throw; at environment teardown V8's accounting no longer matters.
  }
}

void ModelHandle::Attach(std::shared_ptr<EngineSlot> slot) {
  slot_ = std::move(slot);
  Napi::MemoryManagement::AdjustExternalMemory(Env(), slot_->native_bytes);
}

void ModelHandle::Release() {
  if (!slot_) return;
  Napi::MemoryManagement::AdjustExternalMemory(Env(), -slot_->native_bytes);
  slot_.reset();  // a job in flight still holds the engine; the last holder frees it
}

const std::shared_ptr<EngineSlot>& ModelHandle::Slot() const {
  if (!slot_) throw disposed_error();
  return slot_;
}

Napi::Value ModelHandle::Predict(const Napi::CallbackInfo& info) {
  try {
    std::shared_ptr<EngineSlot> slot = Slot();
    std::vector<OwnedImage> images = parse_images(info[0]);
    return (new PredictWorker(info.Env(), std::move(slot), std::move(images)))->Start();
  } catch (...) {
    return rejected_promise(info.Env());
  }
}

Napi::Value ModelHandle::PredictTensor(const Napi::CallbackInfo& info) {
  try {
    std::shared_ptr<EngineSlot> slot = Slot();
    const ssn::ModelConfig& config = slot->engine->config();
    Napi::Value data = info[0];
    if (!data.IsTypedArray() || data.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw ArgumentError("Expected a Float32Array for data but received " + describe_value(data));
    const int64_t batch = static_cast<int64_t>(integer_in_range(info[1], "batch", 1, 1 << 20));
    Napi::Float32Array array = data.As<Napi::Float32Array>();
    const int64_t per_image = 3 * config.image_h * config.image_w;
    if (static_cast<int64_t>(array.ElementLength()) != batch * per_image)
      throw ArgumentError("Expected " + std::to_string(batch * per_image) + " floats ([" + std::to_string(batch) +
                              ",3," + std::to_string(config.image_h) + "," + std::to_string(config.image_w) +
                              "]) for data but received " + std::to_string(array.ElementLength()),
                          "pass preprocessed channel-first images of the model size");
    // Copied on the JS thread: the buffer may be detached while the job runs.
    torch::Tensor tensor = torch::empty({batch, 3, config.image_h, config.image_w});
    std::memcpy(tensor.data_ptr<float>(), array.Data(), static_cast<size_t>(batch * per_image) * sizeof(float));
    return (new PredictWorker(info.Env(), std::move(slot), std::move(tensor)))->Start();
  } catch (...) {
    return rejected_promise(info.Env());
  }
}

Napi::Value ModelHandle::Benchmark(const Napi::CallbackInfo& info) {
  try {
    return start_benchmark(info.Env(), Slot(), info[0]);
  } catch (...) {
    return rejected_promise(info.Env());
  }
}

Napi::Value ModelHandle::Save(const Napi::CallbackInfo& info) {
  try {
    std::shared_ptr<EngineSlot> slot = Slot();
    std::string path = parse_path(info[0], "path");
    if (!info[1].IsUndefined() && !info[1].IsBoolean()) {
      throw ArgumentError("Expected a boolean for withTrainingState but received " + describe_value(info[1]));
    }
    const bool with_training_state = info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
    return (new SaveWorker(info.Env(), std::move(slot), std::move(path), with_training_state))->Start();
  } catch (...) {
    return rejected_promise(info.Env());
  }
}

Napi::Value ModelHandle::DescribePlan(const Napi::CallbackInfo& info) {
  try {
    if (!info[0].IsUndefined() && !info[0].IsBoolean())
      throw ArgumentError("Expected a boolean for fold but received " + describe_value(info[0]));
    const bool fold = !info[0].IsBoolean() || info[0].As<Napi::Boolean>().Value();
    return (new DescribePlanWorker(info.Env(), Slot(), fold))->Start();
  } catch (...) {
    return rejected_promise(info.Env());
  }
}

Napi::Value ModelHandle::Train(const Napi::CallbackInfo& info) {
  try {
    return start_training(info, Slot());
  } catch (...) {
    return rejected_promise(info.Env());
  }
}

// A config swap under the engine's config lock: no run mutex, so that it never blocks the JS thread behind a
// running job. lib/model.ts queues it after the model's earlier calls (a train() among them clears it).
Napi::Value ModelHandle::SetCalibration(const Napi::CallbackInfo& info) {
  try {
    std::shared_ptr<EngineSlot> slot = Slot();
    if (info[0].IsNull()) {
      slot->engine->set_calibration(std::nullopt);
      return info.Env().Undefined();
    }
    if (!info[0].IsString())
      throw ArgumentError("Expected a JSON string or null for calibration but received " + describe_value(info[0]));
    ssn::Json json;
    try {
      json = ssn::Json::parse(info[0].As<Napi::String>().Utf8Value());
    } catch (const std::exception& e) {
      throw ArgumentError(std::string("Expected JSON for calibration but it does not parse: ") + e.what());
    }
    slot->engine->set_calibration(ssn::Calibration::from_json(json));
    return info.Env().Undefined();
  } catch (...) {
    rethrow_as_js(info.Env());
  }
}

// info() and deviceReason() do not wait for the run mutex: a training job updates only the training and
// calibration parts of info(), under the engine's own lock.
Napi::Value ModelHandle::Info(const Napi::CallbackInfo& info) {
  try {
    return Napi::String::New(info.Env(), Slot()->engine->info_json());
  } catch (...) {
    rethrow_as_js(info.Env());
  }
}

Napi::Value ModelHandle::DeviceReason(const Napi::CallbackInfo& info) {
  try {
    return Napi::String::New(info.Env(), Slot()->engine->device_reason());
  } catch (...) {
    rethrow_as_js(info.Env());
  }
}

void ModelHandle::Dispose(const Napi::CallbackInfo&) { Release(); }

}  // namespace ssn_binding
