#include "train.h"

#include <string>
#include <utility>
#include <vector>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "io/json.h"
#include "promise_worker.h"

namespace ssn_binding {

namespace {

// ---- progress: trainer thread -> JS, never blocking, newest report wins --------------------------

Napi::Object progress_to_js(Napi::Env env, const ssn::TrainProgress& p) {
  Napi::Object o = Napi::Object::New(env);
  auto num = [&](const char* key, double v) { o.Set(key, Napi::Number::New(env, v)); };
  num("epoch", static_cast<double>(p.epoch));
  num("epochs", static_cast<double>(p.epochs));
  num("step", static_cast<double>(p.step));
  num("stepsPerEpoch", static_cast<double>(p.steps_per_epoch));
  num("batch", static_cast<double>(p.batch));
  num("loss", p.losses.loss);
  num("truncatedL1", p.losses.truncated_l1);
  num("focalMap", p.losses.focal_map);
  num("focalScore", p.losses.focal_score);
  num("gradNorm", p.losses.grad_norm);
  num("lrAdaptor", p.lr_adaptor);
  num("lrSeg", p.lr_seg);
  num("lrCls", p.lr_cls);
  num("imagesPerSecond", p.images_per_second);
  num("etaSeconds", p.eta_seconds);
  o.Set("precision", Napi::String::New(env, ssn::precision_name(p.precision)));
  return o;
}

class ProgressChannel : public std::enable_shared_from_this<ProgressChannel> {
 public:
  ProgressChannel(Napi::Env env, Napi::Function callback)
      : callback_(Napi::Persistent(callback)),
        tsfn_(Napi::ThreadSafeFunction::New(env, callback, "supersimplenet:train-progress", 0, 1)) {}

  // Trainer thread: keep the newest report; queue one JS call unless one is already queued.
  void post(const ssn::TrainProgress& p) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      latest_ = p;
      ++posted_;
      if (queued_ || released_) return;
      queued_ = true;
    }
    auto self = shared_from_this();
    const napi_status status = tsfn_.NonBlockingCall([self](Napi::Env env, Napi::Function) { self->deliver(env); });
    if (status != napi_ok) {
      std::lock_guard<std::mutex> lock(mutex_);
      queued_ = false;  // the queue is closing: the last report is delivered by close()
    }
  }

  // JS thread: the report not yet delivered, if any.
  void deliver(Napi::Env env) {
    ssn::TrainProgress p;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queued_ = false;
      if (delivered_ == posted_) return;
      delivered_ = posted_;
      p = latest_;
    }
    try {
      callback_.Value().Call({progress_to_js(env, p)});
    } catch (const Napi::Error&) {
      // The JS side wraps the user's callback and handles its errors; nothing to do here.
    }
  }

  // JS thread, once the job is done: the last report, then no more calls.
  void close(Napi::Env env) {
    deliver(env);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      released_ = true;
    }
    tsfn_.Release();
  }

 private:
  Napi::FunctionReference callback_;
  Napi::ThreadSafeFunction tsfn_;
  std::mutex mutex_;
  ssn::TrainProgress latest_;
  uint64_t posted_ = 0, delivered_ = 0;
  bool queued_ = false, released_ = false;
};

// ---- options ---------------------------------------------------------------------------------------

// NativeTrainOptions of lib/types.ts: {config?: {...TrainConfig keys}, resumePath?, checkpointPath?,
// checkpointEvery?, cacheFeatures?, cacheBudgetBytes?, maxSeconds?, gradAccumulation?, distributed?: {rank,
// worldSize, masterAddr, masterPort, backend, timeoutSeconds}}; any other key is refused.
ssn::DistributedOptions parse_distributed(const ssn::Json& j) {
  if (!j.is_object()) throw ArgumentError("optionsJson.distributed: expected an object");
  ssn::DistributedOptions d;
  for (const auto& [key, v] : j.items()) {
    if (key == "rank") {
      d.rank = v.as_int();
    } else if (key == "worldSize") {
      d.world_size = v.as_int();
    } else if (key == "masterAddr") {
      d.master_addr = v.as_string();
    } else if (key == "masterPort") {
      d.master_port = v.as_int();
    } else if (key == "backend") {
      d.backend = v.as_string();
    } else if (key == "timeoutSeconds") {
      d.timeout_seconds = v.as_number();
    } else {
      throw ArgumentError("optionsJson.distributed: unknown key '" + key + "'");
    }
  }
  return d;
}

ssn::TrainOptions parse_train_options(const std::string& text) {
  ssn::Json j;
  try {
    j = ssn::Json::parse(text);
  } catch (const std::exception& e) {
    throw ArgumentError(std::string("Expected a JSON object for optionsJson but it does not parse: ") + e.what());
  }
  if (!j.is_object()) throw ArgumentError("Expected a JSON object for optionsJson");
  ssn::TrainOptions o;
  for (const auto& [key, v] : j.items()) {
    try {
      if (key == "config") {
        o.config_json = v.dump();
      } else if (key == "resumePath") {
        o.resume_path = v.as_string();
      } else if (key == "checkpointPath") {
        o.checkpoint_path = v.as_string();
      } else if (key == "checkpointEvery") {
        o.checkpoint_every = v.as_int();
      } else if (key == "cacheFeatures") {
        o.cache_features = ssn::parse_feature_cache(v.as_string());
      } else if (key == "cacheBudgetBytes") {
        o.cache_budget_bytes = v.as_int();
      } else if (key == "maxSeconds") {
        o.max_seconds = v.as_number();
      } else if (key == "gradAccumulation") {
        o.grad_accumulation = v.as_int();
      } else if (key == "distributed") {
        o.distributed = parse_distributed(v);
      } else {
        throw ArgumentError("optionsJson: unknown key '" + key + "'");
      }
    } catch (const ArgumentError&) {
      throw;
    } catch (const std::exception& e) {
      throw ArgumentError("optionsJson." + key + ": " + e.what());
    }
  }
  return o;
}

// ---- jobs ------------------------------------------------------------------------------------------

class AddWorker : public PromiseWorker {
 public:
  AddWorker(Napi::Env env, std::shared_ptr<TrainSetSlot> slot, std::vector<OwnedImage> images,
            std::vector<OwnedImage> masks, std::vector<int64_t> labels)
      : PromiseWorker(env, "supersimplenet:trainSet.add"),
        slot_(std::move(slot)),
        images_(std::move(images)),
        masks_(std::move(masks)),
        labels_(std::move(labels)) {}

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lock(slot_->mutex);
    for (size_t i = 0; i < images_.size(); ++i) {
      const ssn::ImageU8 mask = image_view(masks_[i]);
      slot_->set.add(image_view(images_[i]), mask.data ? &mask : nullptr, labels_[i]);
    }
    size_ = slot_->set.size();
    images_.clear();
    masks_.clear();
  }

  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, static_cast<double>(size_)); }

 private:
  std::shared_ptr<TrainSetSlot> slot_;
  std::vector<OwnedImage> images_, masks_;
  std::vector<int64_t> labels_;
  int64_t size_ = 0;
};

class TrainWorker : public PromiseWorker {
 public:
  TrainWorker(Napi::Env env, std::shared_ptr<EngineSlot> slot, std::shared_ptr<TrainSetSlot> set,
              ssn::TrainOptions options, std::shared_ptr<ProgressChannel> progress,
              std::shared_ptr<std::atomic<bool>> cancel)
      : PromiseWorker(env, "supersimplenet:train"),
        slot_(std::move(slot)),
        set_(std::move(set)),
        options_(std::move(options)),
        progress_(std::move(progress)),
        cancel_(std::move(cancel)) {}

 protected:
  void Run() override {
    std::lock_guard<std::mutex> engine_lock(slot_->run_mutex);
    std::lock_guard<std::mutex> set_lock(set_->mutex);
    ssn::TrainProgressCallback report;
    if (progress_) report = [channel = progress_](const ssn::TrainProgress& p) { channel->post(p); };
    summary_ = slot_->engine->train(set_->set, options_, report, cancel_.get());
  }

  void Finish(Napi::Env env) override {
    if (progress_) progress_->close(env);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    auto num = [&](const char* key, double v) { o.Set(key, Napi::Number::New(env, v)); };
    num("epochs", static_cast<double>(summary_.epochs));
    num("steps", static_cast<double>(summary_.steps));
    num("images", static_cast<double>(summary_.images));
    num("seconds", summary_.seconds);
    num("cacheSeconds", summary_.cache_seconds);
    o.Set("cachedFeatures", Napi::Boolean::New(env, summary_.cached_features));
    o.Set("resumed", Napi::Boolean::New(env, summary_.resumed));
    num("loss", summary_.last.loss);
    num("truncatedL1", summary_.last.truncated_l1);
    num("focalMap", summary_.last.focal_map);
    num("focalScore", summary_.last.focal_score);
    num("gradNorm", summary_.last.grad_norm);
    o.Set("config", Napi::String::New(env, summary_.config_json));
    o.Set("precisionReason", Napi::String::New(env, summary_.precision_reason));
    o.Set("settingReason", Napi::String::New(env, summary_.setting_reason));
    num("budgetSeconds", summary_.budget_seconds);
    num("secondsPerStep", summary_.seconds_per_step);
    num("worldSize", static_cast<double>(summary_.world_size));
    num("rank", static_cast<double>(summary_.rank));
    o.Set("backend", Napi::String::New(env, summary_.backend));
    return o;
  }

 private:
  std::shared_ptr<EngineSlot> slot_;
  std::shared_ptr<TrainSetSlot> set_;
  ssn::TrainOptions options_;
  std::shared_ptr<ProgressChannel> progress_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  ssn::TrainSummary summary_;
};

template <typename T>
T* unwrap_instance(const Napi::Value& value, const Napi::FunctionReference& constructor, const std::string& what,
                   const std::string& name) {
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(constructor.Value())) {
    throw ArgumentError("Expected " + what + " for " + name + " but received " + describe_value(value));
  }
  return Napi::ObjectWrap<T>::Unwrap(value.As<Napi::Object>());
}

}  // namespace

// ---- TrainSet ------------------------------------------------------------------------------------------

Napi::Function TrainSetHandle::DefineClass(Napi::Env env) {
  return Napi::ObjectWrap<TrainSetHandle>::DefineClass(
      env, "TrainSet", {InstanceMethod<&TrainSetHandle::Add>("add"), InstanceMethod<&TrainSetHandle::Size>("size")});
}

TrainSetHandle::TrainSetHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainSetHandle>(info) {
  try {
    const auto h = static_cast<int64_t>(integer_in_range(info[0], "height", ssn::kMinModelSide, ssn::kMaxModelSide));
    const auto w = static_cast<int64_t>(integer_in_range(info[1], "width", ssn::kMinModelSide, ssn::kMaxModelSide));
    slot_ = std::make_shared<TrainSetSlot>(h, w);
  } catch (...) {
    rethrow_as_js(info.Env());
  }
}

Napi::Value TrainSetHandle::Add(const Napi::CallbackInfo& info) {
  try {
    std::vector<OwnedImage> images = parse_images(info[0]);
    if (!info[1].IsArray() || info[1].As<Napi::Array>().Length() != images.size()) {
      throw ArgumentError("Expected an array of " + std::to_string(images.size()) +
                          " masks (an image, or null for none) for masks but received " + describe_value(info[1]));
    }
    if (!info[2].IsArray() || info[2].As<Napi::Array>().Length() != images.size()) {
      throw ArgumentError("Expected an array of " + std::to_string(images.size()) +
                          " labels (0 or 1) for labels but received " + describe_value(info[2]));
    }
    Napi::Array mask_array = info[1].As<Napi::Array>();
    Napi::Array label_array = info[2].As<Napi::Array>();
    std::vector<OwnedImage> masks(images.size());
    std::vector<int64_t> labels(images.size());
    for (uint32_t i = 0; i < images.size(); ++i) {
      Napi::Value m = mask_array.Get(i);
      if (!m.IsNull() && !m.IsUndefined()) masks[i] = parse_image(m, "masks[" + std::to_string(i) + "]");
      labels[i] = static_cast<int64_t>(integer_in_range(label_array.Get(i), "labels[" + std::to_string(i) + "]", 0, 1));
    }
    return (new AddWorker(info.Env(), slot_, std::move(images), std::move(masks), std::move(labels)))->Start();
  } catch (...) {
    return rejected_promise(info.Env());
  }
}

Napi::Value TrainSetHandle::Size(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(slot_->mutex);
  return Napi::Number::New(info.Env(), static_cast<double>(slot_->set.size()));
}

// ---- AbortHandle -----------------------------------------------------------------------------------------

Napi::Function AbortHandle::DefineClass(Napi::Env env) {
  return Napi::ObjectWrap<AbortHandle>::DefineClass(
      env, "AbortHandle",
      {InstanceMethod<&AbortHandle::Abort>("abort"), InstanceMethod<&AbortHandle::Aborted>("aborted")});
}

AbortHandle::AbortHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AbortHandle>(info) {}

void AbortHandle::Abort(const Napi::CallbackInfo&) { flag_->store(true); }

Napi::Value AbortHandle::Aborted(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), flag_->load());
}

// ---- train -------------------------------------------------------------------------------------------------

Napi::Value start_training(const Napi::CallbackInfo& info, std::shared_ptr<EngineSlot> slot) {
  Napi::Env env = info.Env();
  Addon* addon = env.GetInstanceData<Addon>();
  TrainSetHandle* set =
      unwrap_instance<TrainSetHandle>(info[0], addon->train_set_constructor(), "a TrainSet", "trainSet");
  if (!info[1].IsString())
    throw ArgumentError("Expected a JSON string for optionsJson but received " + describe_value(info[1]));
  ssn::TrainOptions options = parse_train_options(info[1].As<Napi::String>().Utf8Value());
  std::shared_ptr<std::atomic<bool>> cancel;
  if (!info[3].IsUndefined() && !info[3].IsNull()) {
    cancel = unwrap_instance<AbortHandle>(info[3], addon->abort_constructor(), "an AbortHandle", "abortHandle")->flag();
  }
  // Last: a thread-safe function keeps the event loop alive until the job releases it.
  std::shared_ptr<ProgressChannel> progress;
  if (info[2].IsFunction()) {
    progress = std::make_shared<ProgressChannel>(env, info[2].As<Napi::Function>());
  } else if (!info[2].IsUndefined() && !info[2].IsNull()) {
    throw ArgumentError("Expected a function or undefined for onProgress but received " + describe_value(info[2]));
  }
  return (new TrainWorker(env, std::move(slot), set->slot(), std::move(options), std::move(progress),
                          std::move(cancel)))
      ->Start();
}

}  // namespace ssn_binding
