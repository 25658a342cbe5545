#include "build_info.h"

#include <string>

#include <ATen/Version.h>
#include <torch/version.h>

namespace ssn_binding {

namespace {

// libtorch has no runtime version function; its build settings (compiled into libtorch_cpu, so they
// describe the library actually loaded) carry "TORCH_VERSION=x.y.z".
std::string runtime_torch_version() {
  const std::string config = at::show_config();
  const std::string key = "TORCH_VERSION=";
  const auto start = config.find(key);
  if (start == std::string::npos) return "";
  const auto begin = start + key.size();
  const auto end = config.find_first_of(", \n", begin);
  return config.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

}  // namespace

Napi::Object build_info(Napi::Env env) {
  Napi::Object info = Napi::Object::New(env);
  info.Set("torch", std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                        std::to_string(TORCH_VERSION_PATCH));
  info.Set("cxx11Abi", Napi::Boolean::New(env, _GLIBCXX_USE_CXX11_ABI != 0));
#ifdef SSN_WITH_CUDA
  info.Set("cuda", Napi::Boolean::New(env, true));
#else
  info.Set("cuda", Napi::Boolean::New(env, false));
#endif
  const std::string runtime = runtime_torch_version();
  info.Set("runtimeTorch", runtime.empty() ? env.Null() : Napi::String::New(env, runtime));
  info.Set("napi", Napi::Number::New(env, NAPI_VERSION));
  return info;
}

}  // namespace ssn_binding
