// CUDA graphs and allocator statistics for the fast inference path. Only in CUDA builds of libtorch with
// SSN_CUDA_GRAPHS on; written against the API common to libtorch 1.13 and 2.x (CUDAGraph capture_begin()/
// capture_end()/replay(), getStreamFromPool, CUDAStreamGuard, CUDACachingAllocator stats).
#include "api/cuda_runtime.h"

#if defined(SSN_WITH_CUDA) && defined(SSN_CUDA_GRAPHS)
#include <map>
#include <utility>

#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

namespace ssn {
namespace {

constexpr int kWarmupRuns = 3;    // on the capture stream, so that cuDNN picks its algorithms before capture
constexpr size_t kMaxGraphs = 8;  // batch sizes kept; others run eagerly

class GraphRunner : public CudaGraphRunner {
 public:
  explicit GraphRunner(const InferencePlan& plan)
      : plan_(plan),
        device_(plan.options().device),
        stream_(c10::cuda::getStreamFromPool(false, plan.options().device.index())) {}

  InferenceOutput run(const torch::Tensor& host_input) override {
    const c10::cuda::CUDAGuard device_guard(device_);
    const c10::cuda::CUDAStreamGuard stream_guard(stream_);
    const int64_t batch = host_input.size(0);
    auto it = entries_.find(batch);
    if (it == entries_.end()) {
      if (entries_.size() >= kMaxGraphs) return run_eagerly(host_input);
      it = entries_.emplace(batch, capture(host_input)).first;
    }
    Entry& e = *it->second;
    e.host_in.copy_(host_input);
    e.device_in.copy_(e.host_in, /*non_blocking=*/true);
    e.graph.replay();
    e.host_map.copy_(e.out.map, /*non_blocking=*/true);
    e.host_score.copy_(e.out.score_logit, /*non_blocking=*/true);
    stream_.synchronize();
    return {e.host_map, e.host_score};
  }

 private:
  struct Entry {
    at::cuda::CUDAGraph graph;
    torch::Tensor host_in, device_in, host_map, host_score;
    InferenceOutput out;  // the graph's static outputs
  };

  std::unique_ptr<Entry> capture(const torch::Tensor& host_input) {
    auto e = std::make_unique<Entry>();
    const auto pinned = torch::TensorOptions().dtype(torch::kFloat).pinned_memory(true);
    e->host_in = torch::empty(host_input.sizes(), pinned);
    e->device_in = torch::empty(host_input.sizes(), torch::TensorOptions().dtype(torch::kFloat).device(device_));
    e->device_in.copy_(host_input);
    for (int i = 0; i < kWarmupRuns; ++i) plan_.run(e->device_in);
    stream_.synchronize();
    e->graph.capture_begin();
    e->out = plan_.run(e->device_in);
    e->graph.capture_end();
    e->host_map = torch::empty(e->out.map.sizes(), pinned);
    e->host_score = torch::empty(e->out.score_logit.sizes(), pinned);
    return e;
  }

  InferenceOutput run_eagerly(const torch::Tensor& host_input) {
    InferenceOutput out = plan_.run(host_input.to(device_, /*non_blocking=*/true));
    return {out.map.to(torch::kCPU), out.score_logit.to(torch::kCPU)};
  }

  const InferencePlan& plan_;
  torch::Device device_;
  c10::cuda::CUDAStream stream_;
  std::map<int64_t, std::unique_ptr<Entry>> entries_;
};

}  // namespace

bool cuda_graphs_compiled() { return true; }

std::unique_ptr<CudaGraphRunner> make_cuda_graph_runner(const InferencePlan& plan) {
  return std::make_unique<GraphRunner>(plan);
}

int64_t cuda_peak_reserved_bytes(const torch::Device& device, const std::function<void()>& fn) {
  const int index = device.has_index() ? device.index() : 0;
  torch::cuda::synchronize(index);
  c10::cuda::CUDACachingAllocator::emptyCache();
  c10::cuda::CUDACachingAllocator::resetPeakStats(index);
  fn();
  torch::cuda::synchronize(index);
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
  return static_cast<int64_t>(stats.reserved_bytes[0].peak);  // index 0 = StatType::AGGREGATE
}

}  // namespace ssn

#else  // no CUDA graphs in this build

namespace ssn {

bool cuda_graphs_compiled() { return false; }

std::unique_ptr<CudaGraphRunner> make_cuda_graph_runner(const InferencePlan&) { return nullptr; }

int64_t cuda_peak_reserved_bytes(const torch::Device&, const std::function<void()>& fn) {
  fn();
  return -1;
}

}  // namespace ssn

#endif
