#include "benchmark_worker.h"

#include <cstring>
#include <string>
#include <utility>

#include "args.h"
#include "errors.h"
#include "promise_worker.h"
#include "tools/benchmark.h"

namespace ssn_binding {

namespace {

class BenchmarkWorker : public PromiseWorker {
 public:
  BenchmarkWorker(Napi::Env env, std::shared_ptr<EngineSlot> slot, ssn::BenchmarkOptions options)
      : PromiseWorker(env, "supersimplenet:benchmark"), slot_(std::move(slot)), options_(options) {}

 protected:
  void Run() override {
    std::lock_guard<std::mutex> lock(slot_->run_mutex);
    result_ = ssn::benchmark_inference(*slot_->engine, options_);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    out.Set("batch", Napi::Number::New(env, static_cast<double>(result_.batch)));
    Napi::Float64Array ms = Napi::Float64Array::New(env, result_.iteration_ms.size());
    if (!result_.iteration_ms.empty())
      std::memcpy(ms.Data(), result_.iteration_ms.data(), result_.iteration_ms.size() * sizeof(double));
    out.Set("iterationMs", ms);
    out.Set("gflops", Napi::Number::New(env, result_.gflops));
    out.Set("gflopsProfiler", Napi::Number::New(env, result_.gflops_profiler));
    out.Set("peakReservedBytes", Napi::Number::New(env, static_cast<double>(result_.peak_reserved_bytes)));
    out.Set("precision", Napi::String::New(env, result_.precision));
    out.Set("path", Napi::String::New(env, result_.path));
    out.Set("threads", Napi::Number::New(env, static_cast<double>(result_.threads)));
    return out;
  }

 private:
  std::shared_ptr<EngineSlot> slot_;
  ssn::BenchmarkOptions options_;
  ssn::BenchmarkResult result_;
};

int64_t optional_count(const Napi::Object& obj, const char* key, int64_t fallback, double min) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined()) return fallback;
  return static_cast<int64_t>(integer_in_range(v, std::string("options.") + key, min, 1e7));
}

}  // namespace

Napi::Value start_benchmark(Napi::Env env, std::shared_ptr<EngineSlot> slot, const Napi::Value& value) {
  ssn::BenchmarkOptions options;
  if (!value.IsUndefined()) {
    if (!value.IsObject() || value.IsArray())
      throw ArgumentError(
          "Expected an object {batch?, warmup?, reps?, memoryReps?, reference?} for options but received " +
          describe_value(value));
    Napi::Object obj = value.As<Napi::Object>();
    options.batch = optional_count(obj, "batch", options.batch, 1);
    options.warmup = optional_count(obj, "warmup", options.warmup, 0);
    options.reps = optional_count(obj, "reps", options.reps, 1);
    options.memory_reps = optional_count(obj, "memoryReps", options.memory_reps, 0);
    Napi::Value reference = obj.Get("reference");
    if (!reference.IsUndefined()) {
      if (!reference.IsBoolean())
        throw ArgumentError("Expected a boolean for options.reference but received " + describe_value(reference));
      options.reference = reference.As<Napi::Boolean>().Value();
    }
  }
  return (new BenchmarkWorker(env, std::move(slot), options))->Start();
}

}  // namespace ssn_binding
