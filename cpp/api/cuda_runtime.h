// The CUDA-only parts of the fast inference path, behind an interface that needs no CUDA header: one
// captured CUDA graph per batch size, replayed between pinned host buffers, and the caching allocator's
// peak statistics. Implemented in api/cuda/cuda_runtime.cpp when libtorch has CUDA and SSN_CUDA_GRAPHS is
// on; otherwise the factories say so (nullptr, -1) and the engine runs the plan eagerly.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>

#include <torch/torch.h>

#include "model/inference_plan.h"

namespace ssn {

class CudaGraphRunner {
 public:
  virtual ~CudaGraphRunner() = default;
  // host_input: [B,3,H,W] float32 on the CPU. Copies it to the device (asynchronously from a pinned
  // staging buffer), replays the graph captured for B (capturing it on first use), copies map and score back
  // into pinned host buffers and waits for the stream. The returned CPU tensors are reused by the next call.
  virtual InferenceOutput run(const torch::Tensor& host_input) = 0;
};

// True when this build has the CUDA graph runner (libtorch with CUDA and SSN_CUDA_GRAPHS on).
bool cuda_graphs_compiled();

// A runner for `plan` (which must outlive it), or nullptr when graphs are not compiled in.
std::unique_ptr<CudaGraphRunner> make_cuda_graph_runner(const InferencePlan& plan);

// Empties the CUDA caching allocator, resets its peak statistics, runs fn, and returns the peak reserved
// bytes (torch.cuda.max_memory_reserved); -1 when the statistics are not compiled in.
int64_t cuda_peak_reserved_bytes(const torch::Device& device, const std::function<void()>& fn);

}  // namespace ssn
