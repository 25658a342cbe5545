// model.benchmark(options): the native timed inference loop (Engine::benchmark) on the libuv pool.
#pragma once
#include <memory>

#include <napi.h>

#include "engine_slot.h"

namespace ssn_binding {

// options: {batch?, warmup?, reps?, memoryReps?, reference?}. Resolves with
// {batch, iterationMs: Float64Array, gflops, gflopsProfiler, peakReservedBytes, precision, path, threads}.
Napi::Value start_benchmark(Napi::Env env, std::shared_ptr<EngineSlot> slot, const Napi::Value& options);

}  // namespace ssn_binding
