// The inference benchmark of `ssn benchmark` and ssn-bench: timed forwards of a model, its FLOPs and (CUDA) its
// peak memory, measured the way the paper's timing script does (spec section 11).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "api/engine.h"

namespace ssn {

// Timing of the inference path (spec section 11): per iteration, copy of a random [batch,3,H,W] float32
// input host->device, forward, copy of map and score back (synchronised). CUDA inputs come from pinned memory.
struct BenchmarkOptions {
  int64_t batch = 1;
  int64_t warmup = 10;
  int64_t reps = 10;
  int64_t memory_reps = 10;  // CUDA peak-reserved samples (input already on the device); 0 skips
  bool reference = false;    // time the trainable module's eager forward instead of the inference plan
};

struct BenchmarkResult {
  int64_t batch = 0;
  std::vector<double> iteration_ms;  // each timed iteration
  double gflops = 0;                 // analytic, batch 1, blur counted as the official 25x25 convolution
  double gflops_profiler = 0;        // the same as torch.profiler counts it (the paper's 56.3 G at 256x256)
  int64_t peak_reserved_bytes = -1;  // mean over memory_reps; -1 on the CPU or without allocator stats
  std::string precision;
  std::string path;     // "plan", "plan+cuda-graph" or "reference"
  int64_t threads = 0;  // libtorch intra-op threads during the run
};

BenchmarkResult benchmark_inference(Engine& engine, const BenchmarkOptions& options);

}  // namespace ssn
