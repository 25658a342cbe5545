// One engine shared by its JS model object and the jobs in flight on it. dispose() drops the model's
// reference only; a running job keeps its own, so the engine is freed when the last of them ends.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>

#include "api/engine.h"

namespace ssn_binding {

struct EngineSlot {
  ~EngineSlot();  // frees the engine, then hands the freed pages back to the system

  std::unique_ptr<ssn::Engine> engine;
  int64_t native_bytes = 0;  // parameters and buffers, reported to V8 as external memory
  std::mutex run_mutex;      // one job at a time per engine, also for callers that bypass the JS queue
};

// Bytes held by the network's parameters and buffers (worker thread: no N-API).
int64_t engine_native_bytes(ssn::Engine& engine);

}  // namespace ssn_binding
