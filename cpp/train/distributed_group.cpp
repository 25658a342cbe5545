#include "train/distributed_group.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#ifdef SSN_WITH_GLOO
// libtorch's header compiles its contents only for builds that have gloo; CMake found gloo's headers.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if defined(SSN_WITH_CUDA) && defined(USE_C10D_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "common/error.h"

namespace ssn {
namespace {

std::chrono::milliseconds as_duration(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

std::string mark_key(int64_t rank) { return "at/" + std::to_string(rank); }

std::string resolve_backend(const std::string& asked, const torch::Device& device) {
  if (asked == "auto") return device.is_cuda() ? "nccl" : "gloo";
  return asked;
}

}  // namespace

void DistributedOptions::validate() const {
  auto bad = [](const std::string& field, const std::string& why, const std::string& hint) {
    throw Error(ErrorCode::Config, "distributed " + field + " " + why, hint);
  };
  if (world_size < 1) bad("worldSize", "must be >= 1, got " + std::to_string(world_size), "count the processes");
  if (rank < 0 || rank >= world_size) {
    bad("rank", "must be in 0.." + std::to_string(world_size - 1) + ", got " + std::to_string(rank),
        "give every process its own rank below the world size");
  }
  if (master_port < 1 || master_port > 65535) {
    bad("masterPort", "must be a TCP port (1..65535), got " + std::to_string(master_port), "e.g. 29500");
  }
  if (master_addr.empty()) bad("masterAddr", "is empty", "give rank 0's host name or address, e.g. 127.0.0.1");
  if (backend != "auto" && backend != "gloo" && backend != "nccl") {
    bad("backend", "must be \"auto\", \"gloo\" or \"nccl\", got \"" + backend + "\"", "leave it on \"auto\"");
  }
  if (!(timeout_seconds > 0) || timeout_seconds > 86400) {
    bad("timeoutSeconds", "must be in (0, 86400], got " + std::to_string(timeout_seconds),
        "give the seconds a rank may wait for the others, e.g. 300");
  }
}

std::vector<std::string> distributed_backends() {
  std::vector<std::string> out;
#ifdef SSN_WITH_GLOO
  out.push_back("gloo");
#endif
#if defined(SSN_WITH_CUDA) && defined(USE_C10D_NCCL)
  out.push_back("nccl");
#endif
  return out;
}

struct DistributedGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;  // the marks; the process group uses its own prefix
  std::function<void(std::vector<at::Tensor>&, c10d::ReduceOp)> all_reduce;  // in place
  std::function<void(std::vector<std::vector<at::Tensor>>&, std::vector<at::Tensor>&)> all_gather;
};

namespace {

// The collectives of a process group (gloo's and NCCL's classes share no base across libtorch 1.13 and 2.x).
template <typename ProcessGroup>
void bind_collectives(DistributedGroup::Impl& impl, c10::intrusive_ptr<ProcessGroup> pg) {
  impl.all_reduce = [pg](std::vector<at::Tensor>& t, c10d::ReduceOp op) {
    c10d::AllreduceOptions o;
    o.reduceOp = op;
    pg->allreduce(t, o)->wait();
  };
  impl.all_gather = [pg](std::vector<std::vector<at::Tensor>>& out, std::vector<at::Tensor>& in) {
    pg->allgather(out, in)->wait();
  };
}

}  // namespace

DistributedGroup::DistributedGroup(const DistributedOptions& options, const torch::Device& device)
    : options_(options),
      backend_(resolve_backend(options.backend, device)),
      device_(backend_ == "nccl" ? device : torch::Device(torch::kCPU)),
      impl_(std::make_unique<Impl>()) {
  options_.validate();
  const auto timeout = as_duration(options_.timeout_seconds);
  const std::string where = options_.master_addr + ":" + std::to_string(options_.master_port);
  if (backend_ == "nccl" && !device.is_cuda()) {
    throw Error(ErrorCode::Config, "the nccl backend needs CUDA devices, this run trains on " + device.str(),
                "use backend \"gloo\" (or \"auto\") on the CPU");
  }
  const auto available = distributed_backends();
  if (std::find(available.begin(), available.end(), backend_) == available.end()) {
    throw Error(ErrorCode::Config, "this build has no " + backend_ + " backend for distributed training",
                backend_ == "gloo" ? "rebuild with gloo's headers (Debian: apt-get install libgloo-dev)"
                                   : "use a CUDA libtorch built with NCCL, or backend \"gloo\"");
  }
  c10::intrusive_ptr<c10d::Store> store;
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<uint16_t>(options_.master_port);
    store_options.isServer = options_.rank == 0;
    store_options.numWorkers = static_cast<size_t>(options_.world_size);
    store_options.waitWorkers = true;
    store_options.timeout = timeout;
    store = c10::make_intrusive<c10d::TCPStore>(options_.master_addr, store_options);
  } catch (const std::exception& e) {
    throw Error(ErrorCode::Distributed,
                "rank " + std::to_string(options_.rank) + ": the rendezvous at " + where + " failed: " + e.what(),
                options_.rank == 0 ? "is the port free? Pick another masterPort, or let the launcher choose one"
                                   : "start every rank within the timeout, with rank 0's address and port");
  }
  impl_->store = c10::make_intrusive<c10d::PrefixStore>("ssn", store);
  const auto pg_store = c10::make_intrusive<c10d::PrefixStore>("pg", store);
  try {
    if (backend_ == "gloo") {
#ifdef SSN_WITH_GLOO
      auto pg_options = c10d::ProcessGroupGloo::Options::create(timeout);
      const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      if (ifname != nullptr && *ifname != '\0') {
        pg_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      } else if (options_.master_addr == "127.0.0.1" || options_.master_addr == "localhost") {
        pg_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else {
        pg_options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      bind_collectives(*impl_,
                       c10::make_intrusive<c10d::ProcessGroupGloo>(pg_store, static_cast<int>(options_.rank),
                                                                   static_cast<int>(options_.world_size), pg_options));
#endif
    } else {
#if defined(SSN_WITH_CUDA) && defined(USE_C10D_NCCL)
      auto pg_options = c10d::ProcessGroupNCCL::Options::create();
      pg_options->timeout = timeout;
      bind_collectives(*impl_,
                       c10::make_intrusive<c10d::ProcessGroupNCCL>(pg_store, static_cast<int>(options_.rank),
                                                                   static_cast<int>(options_.world_size), pg_options));
#endif
    }
  } catch (const std::exception& e) {
    throw Error(
        ErrorCode::Distributed,
        "rank " + std::to_string(options_.rank) + ": the " + backend_ + " process group did not form: " + e.what(),
        "check that every rank can reach the others (GLOO_SOCKET_IFNAME picks the network interface)");
  }
}

DistributedGroup::~DistributedGroup() = default;

void DistributedGroup::mark(const std::string& what) {
  try {
    impl_->store->set(mark_key(options_.rank), std::vector<uint8_t>(what.begin(), what.end()));
  } catch (const std::exception& e) {
    throw Error(ErrorCode::Distributed,
                "rank " + std::to_string(options_.rank) + ": lost the rendezvous store at rank 0 before " + what +
                    ": " + e.what(),
                "rank 0 died or its host is unreachable; rerun the job to resume from the last checkpoint");
  }
}

void DistributedGroup::run(const std::string& what, const std::function<void()>& collective) {
  try {
    collective();
  } catch (const std::exception& e) {
    // Who is behind: every other rank's last mark, read with a short timeout (the store may be gone too).
    std::string behind;
    try {
      impl_->store->setTimeout(std::chrono::seconds(5));
      for (int64_t r = 0; r < options_.world_size; ++r) {
        if (r == options_.rank) continue;
        const std::string key = mark_key(r);
        std::string at = "nothing";
        if (impl_->store->check({key})) {
          const auto bytes = impl_->store->get(key);
          at = std::string(bytes.begin(), bytes.end());
        }
        if (at != what) behind += (behind.empty() ? "" : ", ") + ("rank " + std::to_string(r) + " (at " + at + ")");
      }
    } catch (const std::exception&) {
      behind = "rank 0 (its rendezvous store is gone)";
    }
    throw Error(ErrorCode::Distributed,
                "rank " + std::to_string(options_.rank) + ": " + what + " failed" +
                    (behind.empty() ? "" : "; not there: " + behind) + " (" + backend_ + ": " + e.what() + ")",
                "a rank died or stopped answering within " + std::to_string(options_.timeout_seconds) +
                    " s; see its own error, then rerun the job to resume from the last checkpoint");
  }
}

void DistributedGroup::all_reduce(torch::Tensor& tensor, int op, const std::string& what) {
  // The backend's device (NCCL reduces CUDA tensors only); the result goes back where the tensor was.
  std::vector<at::Tensor> t{tensor.to(device_).contiguous()};
  run(what, [&] { impl_->all_reduce(t, static_cast<c10d::ReduceOp::RedOpType>(op)); });
  if (t[0].data_ptr() != tensor.data_ptr()) tensor.copy_(t[0]);
}

void DistributedGroup::all_reduce_sum(torch::Tensor& tensor, const std::string& what) {
  all_reduce(tensor, c10d::ReduceOp::SUM, what);
}
void DistributedGroup::all_reduce_max(torch::Tensor& tensor, const std::string& what) {
  all_reduce(tensor, c10d::ReduceOp::MAX, what);
}
void DistributedGroup::all_reduce_min(torch::Tensor& tensor, const std::string& what) {
  all_reduce(tensor, c10d::ReduceOp::MIN, what);
}

torch::Tensor DistributedGroup::all_gather(const torch::Tensor& tensor, const std::string& what) {
  std::vector<at::Tensor> in{tensor.to(device_).contiguous()};
  std::vector<std::vector<at::Tensor>> out(1);
  for (int64_t r = 0; r < options_.world_size; ++r) out[0].push_back(torch::empty_like(in[0]));
  run(what, [&] { impl_->all_gather(out, in); });
  return torch::stack(out[0]).to(tensor.device());
}

}  // namespace ssn
