#include <torch/version.h>

#include "api/engine.h"
#include "io/json.h"

#ifndef SSN_VERSION
#define SSN_VERSION "unknown"
#endif

namespace ssn {

std::string library_info_json() {
  Json info = Json::object();
  info["version"] = Json(SSN_VERSION);
  Json torch_info = Json::object();
  torch_info["version"] = Json(TORCH_VERSION);
  torch_info["cxx11Abi"] = Json(static_cast<bool>(_GLIBCXX_USE_CXX11_ABI));
#ifdef SSN_WITH_CUDA
  torch_info["cuda"] = Json(true);
#else
  torch_info["cuda"] = Json(false);
#endif
  torch_info["cudaGraphs"] = Json(cuda_graphs_compiled());
  torch_info["threads"] = Json(static_cast<int64_t>(at::get_num_threads()));
  info["libtorch"] = torch_info;
  Json cuda = Json::object();
  cuda["available"] = Json(torch::cuda::is_available());
  cuda["deviceCount"] = Json(static_cast<int64_t>(torch::cuda::device_count()));
  cuda["cudnn"] = Json(torch::cuda::cudnn_is_available());
  info["cuda"] = cuda;
  return info.dump();
}

}  // namespace ssn
