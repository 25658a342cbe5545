// The addon: one instance per Node environment (main thread and each worker), holding that environment's
// ModelHandle constructor. Exports libraryInfo(), buildInfo(), createModel(options), loadModel(path, device)
// imagenetTopK(modelJson, images, k) (imagenet.h) and the classes TrainSet and AbortHandle (train.h).
#pragma once
#include <memory>

#include <napi.h>

#include "engine_slot.h"

namespace ssn_binding {

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports);

  // A new JS model object owning `slot` (JS thread).
  Napi::Object NewModel(std::shared_ptr<EngineSlot> slot);
  const Napi::FunctionReference& train_set_constructor() const { return train_set_constructor_; }
  const Napi::FunctionReference& abort_constructor() const { return abort_constructor_; }

 private:
  Napi::Value LibraryInfo(const Napi::CallbackInfo& info);
  Napi::Value BuildInfo(const Napi::CallbackInfo& info);
  Napi::Value CreateModel(const Napi::CallbackInfo& info);
  Napi::Value LoadModel(const Napi::CallbackInfo& info);
  Napi::Value ImagenetTopK(const Napi::CallbackInfo& info);

  Napi::FunctionReference model_constructor_;
  Napi::FunctionReference train_set_constructor_;  // exported as TrainSet (train.h)
  Napi::FunctionReference abort_constructor_;      // exported as AbortHandle
};

}  // namespace ssn_binding
