// Training from JS: TrainSet (8-bit samples kept at the model size, filled chunk by chunk on the libuv
// pool), AbortHandle (a native cancel flag that an AbortSignal sets) and the train job, whose progress
// reaches JS through a thread-safe function that never blocks the trainer and coalesces reports when JS is
// busy (the newest one wins).
#pragma once
#include <atomic>
#include <memory>
#include <mutex>

#include <napi.h>

#include "api/train_set.h"
#include "engine_slot.h"

namespace ssn_binding {

struct TrainSetSlot {
  TrainSetSlot(int64_t height, int64_t width) : set(height, width) {}
  std::mutex mutex;  // add() jobs and a train job never overlap on one set
  ssn::TrainSet set;
};

// new TrainSet(height, width); add(images, masks, labels): Promise<number> (the new size); size().
class TrainSetHandle : public Napi::ObjectWrap<TrainSetHandle> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  explicit TrainSetHandle(const Napi::CallbackInfo& info);
  const std::shared_ptr<TrainSetSlot>& slot() const { return slot_; }

 private:
  Napi::Value Add(const Napi::CallbackInfo& info);
  Napi::Value Size(const Napi::CallbackInfo& info);
  std::shared_ptr<TrainSetSlot> slot_;
};

// new AbortHandle(); abort(); aborted(): the flag a train job reads before every step.
class AbortHandle : public Napi::ObjectWrap<AbortHandle> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  explicit AbortHandle(const Napi::CallbackInfo& info);
  const std::shared_ptr<std::atomic<bool>>& flag() const { return flag_; }

 private:
  void Abort(const Napi::CallbackInfo& info);
  Napi::Value Aborted(const Napi::CallbackInfo& info);
  std::shared_ptr<std::atomic<bool>> flag_ = std::make_shared<std::atomic<bool>>(false);
};

// model.train(trainSet, optionsJson, onProgress?, abortHandle?): Promise<summary>. Arguments are checked
// on the JS thread; `trainSet` and `abortHandle` must be instances of the classes above.
Napi::Value start_training(const Napi::CallbackInfo& info, std::shared_ptr<EngineSlot> slot);

}  // namespace ssn_binding
