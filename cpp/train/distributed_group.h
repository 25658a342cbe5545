// Data-parallel training across processes on torch.distributed's c10d: a TCPStore rendezvous at the master's
// address, and a process group (gloo on the CPU, NCCL on CUDA where this libtorch has it) for the few
// collectives a training step needs. One process per device; rank 0 hosts the store.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace ssn {

// The torchrun conventions: RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT (lib/ reads the environment).
struct DistributedOptions {
  int64_t rank = 0;
  int64_t world_size = 1;  // 1: not distributed
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  std::string backend = "auto";  // auto (gloo on the CPU, nccl on CUDA) | gloo | nccl
  // How long a collective or the rendezvous waits for the other ranks before the job fails.
  double timeout_seconds = 300;

  bool enabled() const { return world_size > 1; }
  void validate() const;  // ssn::Error(Config) naming the bad field
};

// Backends this build can use ("gloo", "nccl").
std::vector<std::string> distributed_backends();

class DistributedGroup {
 public:
  // Rendezvous of all ranks (blocks until they arrived or the timeout passed). Throws ssn::Error(Distributed)
  // when the rendezvous fails, ssn::Error(Config) on a backend this build or device lacks.
  DistributedGroup(const DistributedOptions& options, const torch::Device& device);
  ~DistributedGroup();
  DistributedGroup(const DistributedGroup&) = delete;
  DistributedGroup& operator=(const DistributedGroup&) = delete;

  int64_t rank() const { return options_.rank; }
  int64_t world_size() const { return options_.world_size; }
  const std::string& backend() const { return backend_; }

  // Collectives, synchronous, on tensors of any device (moved to the backend's). A rank that died or stopped answering
  // makes them throw ssn::Error(Distributed) on the others, naming the ranks that did not reach this point (`what`:
  // "step 12", for the message).
  void all_reduce_sum(torch::Tensor& tensor, const std::string& what);             // in place, on the group's device
  torch::Tensor all_gather(const torch::Tensor& tensor, const std::string& what);  // [W, ...]
  void all_reduce_max(torch::Tensor& tensor, const std::string& what);
  void all_reduce_min(torch::Tensor& tensor, const std::string& what);

  // Records how far this rank got, so that another rank's timeout can say who is behind.
  void mark(const std::string& what);

  struct Impl;  // the store and the process group's collectives (distributed_group.cpp)

 private:
  void run(const std::string& what, const std::function<void()>& collective);
  void all_reduce(torch::Tensor& tensor, int op, const std::string& what);  // op: a c10d::ReduceOp::RedOpType
  DistributedOptions options_;
  std::string backend_;
  torch::Device device_;  // where the backend's collectives run: the CPU (gloo) or the rank's GPU (nccl)
  std::unique_ptr<Impl> impl_;
};

}  // namespace ssn
