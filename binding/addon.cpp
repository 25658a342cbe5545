#include "addon.h"

#include <string>
#include <utility>

#include "args.h"
#include "build_info.h"
#include "constants.h"
#include "errors.h"
#include "imagenet.h"
#include "model_handle.h"
#include "pickle_json.h"
#include "promise_worker.h"
#include "resize_image.h"
#include "train.h"

namespace ssn_binding {

namespace {

// Builds an engine on the libuv pool and resolves with a new model object.
class EngineWorker : public PromiseWorker {
 protected:
  using PromiseWorker::PromiseWorker;

  virtual std::unique_ptr<ssn::Engine> Build() = 0;

  void Run() final {
    slot_ = std::make_shared<EngineSlot>();
    slot_->engine = Build();
    slot_->native_bytes = engine_native_bytes(*slot_->engine);
  }

  Napi::Value Result(Napi::Env env) final { return env.GetInstanceData<Addon>()->NewModel(std::move(slot_)); }

 private:
  std::shared_ptr<EngineSlot> slot_;
};

class CreateWorker : public EngineWorker {
 public:
  CreateWorker(Napi::Env env, ssn::CreateOptions options)
      : EngineWorker(env, "supersimplenet:createModel"), options_(std::move(options)) {}

 protected:
  std::unique_ptr<ssn::Engine> Build() override { return ssn::Engine::create(options_); }

 private:
  ssn::CreateOptions options_;
};

class LoadWorker : public EngineWorker {
 public:
  LoadWorker(Napi::Env env, std::string path, ssn::LoadOptions options)
      : EngineWorker(env, "supersimplenet:loadModel"), path_(std::move(path)), options_(std::move(options)) {}

 protected:
  std::unique_ptr<ssn::Engine> Build() override { return ssn::Engine::load(path_, options_); }

 private:
  std::string path_;
  ssn::LoadOptions options_;
};

}  // namespace

Addon::Addon(Napi::Env env, Napi::Object exports) {
  model_constructor_ = Napi::Persistent(ModelHandle::DefineClass(env));
  Napi::Function train_set = TrainSetHandle::DefineClass(env);
  Napi::Function abort = AbortHandle::DefineClass(env);
  train_set_constructor_ = Napi::Persistent(train_set);
  abort_constructor_ = Napi::Persistent(abort);
  const auto attributes = static_cast<napi_property_attributes>(napi_enumerable);
  DefineAddon(exports, {
                           InstanceMethod<&Addon::LibraryInfo>("libraryInfo", attributes),
                           InstanceMethod<&Addon::BuildInfo>("buildInfo", attributes),
                           InstanceMethod<&Addon::CreateModel>("createModel", attributes),
                           InstanceMethod<&Addon::LoadModel>("loadModel", attributes),
                           InstanceMethod<&Addon::ImagenetTopK>("imagenetTopK", attributes),
                           InstanceValue("TrainSet", train_set, attributes),
                           InstanceValue("AbortHandle", abort, attributes),
                           InstanceValue("constants", make_constants(env), attributes),
                       });
  exports.Set("readPickleJson", Napi::Function::New(env, read_pickle_json, "readPickleJson"));
  exports.Set("resizeImage", Napi::Function::New(env, resize_image, "resizeImage"));
}

Napi::Object Addon::NewModel(std::shared_ptr<EngineSlot> slot) {
  Napi::Object model = model_constructor_.New({});
  ModelHandle::Unwrap(model)->Attach(std::move(slot));
  return model;
}

Napi::Value Addon::LibraryInfo(const Napi::CallbackInfo& info) {
  try {
    return Napi::String::New(info.Env(), ssn::library_info_json());
  } catch (...) {
    rethrow_as_js(info.Env());
  }
}

Napi::Value Addon::BuildInfo(const Napi::CallbackInfo& info) {
  try {
    return build_info(info.Env());
  } catch (...) {
    rethrow_as_js(info.Env());
  }
}

Napi::Value Addon::CreateModel(const Napi::CallbackInfo& info) {
  try {
    ssn::CreateOptions options = parse_create_options(info[0]);
    return (new CreateWorker(info.Env(), std::move(options)))->Start();
  } catch (...) {
    return rejected_promise(info.Env());
  }
}

Napi::Value Addon::LoadModel(const Napi::CallbackInfo& info) {
  try {
    std::string path = parse_path(info[0], "path");
    ssn::LoadOptions options = parse_load_options(info[1], info[2]);
    return (new LoadWorker(info.Env(), std::move(path), std::move(options)))->Start();
  } catch (...) {
    return rejected_promise(info.Env());
  }
}

Napi::Value Addon::ImagenetTopK(const Napi::CallbackInfo& info) { return imagenet_top_k(info); }

}  // namespace ssn_binding

// The macro pastes the class name into an identifier, so it needs the unqualified name.
using ssn_binding::Addon;
NODE_API_ADDON(Addon)
