#include "tools/benchmark.h"

#include <chrono>

#include "api/cuda_runtime.h"
#include "common/error.h"

namespace ssn {

BenchmarkResult benchmark_inference(Engine& engine, const BenchmarkOptions& options) {
  if (options.batch < 1 || options.warmup < 0 || options.reps < 1 || options.memory_reps < 0)
    throw Error(ErrorCode::Input, "Expected batch >= 1, warmup >= 0, reps >= 1 and memoryReps >= 0 for a benchmark",
                "e.g. batch 1, warmup 10, reps 10");
  torch::InferenceMode guard;
  torch::Tensor host = torch::randn({options.batch, 3, engine.config().image_h, engine.config().image_w});
  if (engine.device().is_cuda()) host = host.pin_memory();
  BenchmarkResult result;
  auto iteration = [&] {
    InferenceOutput out =
        options.reference ? engine.network()->infer(host.to(engine.device(), true)) : engine.run_plan(host);
    // The copies back synchronise with the device, as the official loop's .cpu() does.
    torch::Tensor map = out.map.to(torch::kCPU), score = out.score_logit.to(torch::kCPU);
    return map.numel() + score.numel();
  };
  const InferencePlan& plan = engine.plan();
  if (engine.device().is_cuda() && options.memory_reps > 0) {
    // Spec section 11: batch 1, input already on the device, peak reserved bytes of one forward; measured
    // before any graph is captured, whose private pool would count.
    torch::Tensor one = host.slice(0, 0, 1).to(engine.device());
    double sum = 0;
    int64_t samples = 0;
    for (int64_t i = 0; i < options.memory_reps; ++i) {
      const int64_t peak = cuda_peak_reserved_bytes(engine.device(), [&] {
        if (options.reference)
          engine.network()->infer(one);
        else
          plan.run(one);
      });
      if (peak < 0) break;
      sum += static_cast<double>(peak);
      ++samples;
    }
    if (samples > 0) result.peak_reserved_bytes = static_cast<int64_t>(sum / static_cast<double>(samples));
  }
  for (int64_t i = 0; i < options.warmup; ++i) iteration();
  result.iteration_ms.reserve(options.reps);
  for (int64_t i = 0; i < options.reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    iteration();
    const auto t1 = std::chrono::steady_clock::now();
    result.iteration_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  result.batch = options.batch;
  const InferencePlan::Flops flops = plan.gflops(1);
  result.gflops = flops.total;
  result.gflops_profiler = flops.profiler_equivalent;
  result.precision = options.reference ? "fp32" : precision_name(engine.precision());
  result.path = options.reference ? "reference" : (engine.cuda_graphs_active() ? "plan+cuda-graph" : "plan");
  result.threads = torch::get_num_threads();
  return result;
}

}  // namespace ssn
