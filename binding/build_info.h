// buildInfo(): the libtorch this addon was compiled against (version, C++11 ABI, CUDA) and the version of
// the libtorch it is running with, so that the JS loader can refuse a mismatched pair with a clear message.
#pragma once
#include <napi.h>

namespace ssn_binding {

// { torch: "1.13.0", cxx11Abi: true, cuda: false, runtimeTorch: "1.13.0" | null, napi: 8 }
Napi::Object build_info(Napi::Env env);

}  // namespace ssn_binding
