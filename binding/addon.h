// The addon: one instance per Node environment (main thread and each worker), holding that environment's
// ModelHandle constructor. Exports libraryInfo(), buildInfo(), createModel(options), loadModel(path, device)
// and imagenetTopK(modelJson, images, k) (imagenet.h).
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

 private:
  Napi::Value LibraryInfo(const Napi::CallbackInfo& info);
  Napi::Value BuildInfo(const Napi::CallbackInfo& info);
  Napi::Value CreateModel(const Napi::CallbackInfo& info);
  Napi::Value LoadModel(const Napi::CallbackInfo& info);
  Napi::Value ImagenetTopK(const Napi::CallbackInfo& info);

  Napi::FunctionReference model_constructor_;
};

}  // namespace ssn_binding
