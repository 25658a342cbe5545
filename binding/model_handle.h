// The JS model object (NativeModel of lib/types.ts): predict/save/train run on the libuv pool and return
// Promises; setCalibration/info/deviceReason are synchronous; dispose releases the engine.
#pragma once
#include <memory>

#include <napi.h>

#include "engine_slot.h"

namespace ssn_binding {

class ModelHandle : public Napi::ObjectWrap<ModelHandle> {
 public:
  static Napi::Function DefineClass(Napi::Env env);

  explicit ModelHandle(const Napi::CallbackInfo& info);
  ~ModelHandle() override;

  // Called once by the addon right after construction. A ModelHandle built from JS has no engine and
  // behaves as disposed.
  void Attach(std::shared_ptr<EngineSlot> slot);

 private:
  Napi::Value Predict(const Napi::CallbackInfo& info);
  Napi::Value PredictTensor(const Napi::CallbackInfo& info);  // (Float32Array [B,3,H,W], B)
  Napi::Value Benchmark(const Napi::CallbackInfo& info);      // ({batch?, warmup?, reps?, memoryReps?, reference?})
  Napi::Value Save(const Napi::CallbackInfo& info);
  Napi::Value DescribePlan(const Napi::CallbackInfo& info);
  Napi::Value Train(const Napi::CallbackInfo& info);
  Napi::Value SetCalibration(const Napi::CallbackInfo& info);  // (JSON of the stored form | null), synchronous
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value DeviceReason(const Napi::CallbackInfo& info);
  void Dispose(const Napi::CallbackInfo& info);

  // The engine, or an ERR_SSN_DISPOSED ssn::Error.
  const std::shared_ptr<EngineSlot>& Slot() const;
  void Release();

  std::shared_ptr<EngineSlot> slot_;
};

}  // namespace ssn_binding
