// GPU checks and timings run by bench/device-check.sh (needs a CUDA device; not a ctest):
//   1. noise injection: CUDA kernel == CPU loop, bit for bit; fused kernel vs the unfused torch ops it replaces
//   2. inference plan on CUDA (fp32, fp16, bf16; eager and CUDA graph) vs the trainable module on the CPU,
//      with non-trivial BatchNorm statistics so that folding is exercised
// Prints one JSON object per line; exit code 0 = every check passed, 1 = a check failed, 2 = no CUDA.
#include <chrono>
#include <cstdio>
#include <string>

#include <torch/torch.h>

#include "../cpp/random_batchnorms.h"
#include "api/cuda_runtime.h"
#include "model/inference_plan.h"
#include "model/supersimplenet.h"
#include "ops/noise_inject.h"

namespace {

int failures = 0;

void report(const std::string& name, bool ok, const std::string& fields) {
  if (!ok) ++failures;
  std::printf("{\"check\":\"%s\",\"ok\":%s,%s}\n", name.c_str(), ok ? "true" : "false", fields.c_str());
  std::fflush(stdout);
}

// An exception message as a JSON string body.
std::string json_text(const std::string& s) {
  std::string out;
  for (char ch : s.substr(0, 300)) out += (ch == '"' || ch == '\\') ? '\'' : (ch == '\n' ? ' ' : ch);
  return out;
}

template <typename F>
double mean_ms(F&& f, int warmup, int reps) {
  for (int i = 0; i < warmup; ++i) f();
  torch::cuda::synchronize();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) f();
  torch::cuda::synchronize();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps;
}

void noise_checks() {
  const torch::Device cuda(torch::kCUDA, 0);
  torch::manual_seed(1);
  // The training batch of the paper's model: 2 x 16 feature maps of 1536 x 32 x 32.
  const torch::Tensor features = torch::randn({32, 1536, 32, 32});
  const torch::Tensor mask = (torch::rand({32, 1, 32, 32}) > 0.5).to(torch::kFloat);
  const torch::Tensor cpu = ssn::noise_inject(features, mask, 0.015, 1234, 0);
  const torch::Tensor f_gpu = features.to(cuda), m_gpu = mask.to(cuda);
  const torch::Tensor gpu = ssn::noise_inject(f_gpu, m_gpu, 0.015, 1234, 0).cpu();
  const int64_t mismatches = gpu.ne(cpu).sum().item<int64_t>();
  report("noise_inject_cpu_equals_cuda", mismatches == 0,
         "\"elements\":" + std::to_string(cpu.numel()) + ",\"mismatches\":" + std::to_string(mismatches));

  torch::NoGradGuard no_grad;
  const double fused = mean_ms([&] { ssn::noise_inject(f_gpu, m_gpu, 0.015, 1234, 0); }, 10, 100);
  // What the official generator does: draw a normal tensor, scale it, mask it, add it.
  const double unfused = mean_ms([&] { (void)(f_gpu + torch::randn_like(f_gpu).mul_(0.015).mul_(m_gpu)); }, 10, 100);
  report("noise_inject_fused_vs_unfused_speed", true,
         "\"shape\":\"32x1536x32x32\",\"fused_ms\":" + std::to_string(fused) +
             ",\"unfused_ms\":" + std::to_string(unfused) + ",\"speedup\":" + std::to_string(unfused / fused));
}

// Error relative to the reference's range (maps are min-max normalised downstream).
double relative_error(const torch::Tensor& got, const torch::Tensor& ref) {
  const double range = std::max(1e-12, (ref.max() - ref.min()).item<double>());
  return (got.to(torch::kCPU, torch::kFloat) - ref).abs().max().item<double>() / range;
}

void plan_checks() {
  const torch::Device cuda(torch::kCUDA, 0);
  torch::manual_seed(2);
  ssn::SuperSimpleNet net(ssn::BackboneArch::ResNet18, 64, 96);
  ssn_test::randomise_batchnorms(*net);
  net->eval();
  torch::InferenceMode guard;
  const torch::Tensor x = torch::randn({4, 3, 64, 96});
  const ssn::InferenceOutput ref = net->infer(x);
  // The score's range over 4 images can be tiny: take its magnitude too.
  const double score_scale = std::max((ref.score_logit.max() - ref.score_logit.min()).item<double>(),
                                      ref.score_logit.abs().max().item<double>());
  const std::pair<ssn::Precision, double> cases[] = {
      {ssn::Precision::Float32, 1e-3}, {ssn::Precision::Float16, 1e-2}, {ssn::Precision::BFloat16, 5e-2}};
  for (const auto& [precision, tolerance] : cases) {
    ssn::PlanOptions options;
    options.device = cuda;
    options.precision = precision;
    options.channels_last = true;
    const ssn::InferencePlan plan(*net, options);
    const ssn::InferenceOutput eager = plan.run(x.to(cuda));
    const double map_err = relative_error(eager.map, ref.map);
    const double score_err =
        (eager.score_logit.to(torch::kCPU) - ref.score_logit).abs().max().item<double>() / std::max(1e-12, score_scale);
    report(std::string("plan_cuda_vs_cpu_reference_") + ssn::precision_name(precision),
           map_err <= tolerance && score_err <= tolerance,
           "\"map_rel_err\":" + std::to_string(map_err) + ",\"score_rel_err\":" + std::to_string(score_err) +
               ",\"tolerance\":" + std::to_string(tolerance));
    auto graphs = ssn::make_cuda_graph_runner(plan);
    if (!graphs) {
      report("cuda_graph_runner_compiled", false, "\"note\":\"built with SSN_CUDA_GRAPHS=OFF\"");
      continue;
    }
    graphs->run(x);  // captures
    const ssn::InferenceOutput replayed = graphs->run(x * 1.0);
    const double graph_map = (replayed.map - eager.map.cpu()).abs().max().item<double>();
    const double graph_score = (replayed.score_logit - eager.score_logit.cpu()).abs().max().item<double>();
    report(std::string("cuda_graph_equals_eager_plan_") + ssn::precision_name(precision),
           graph_map <= 1e-6 * std::max(1.0, ref.map.abs().max().item<double>()) && graph_score <= 1e-5,
           "\"map_abs_diff\":" + std::to_string(graph_map) + ",\"score_abs_diff\":" + std::to_string(graph_score));
  }
}

}  // namespace

int main() {
  if (!torch::cuda::is_available()) {
    std::printf("{\"check\":\"cuda_available\",\"ok\":false}\n");
    return 2;
  }
  try {
    noise_checks();
  } catch (const std::exception& e) {
    report("noise_checks", false, "\"error\":\"" + json_text(e.what()) + "\"");
  }
  try {
    plan_checks();
  } catch (const std::exception& e) {
    report("plan_checks", false, "\"error\":\"" + json_text(e.what()) + "\"");
  }
  return failures == 0 ? 0 : 1;
}
