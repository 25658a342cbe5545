// What a CUDA build of libtorch generates here; Debian's CPU libtorch-dev ships the c10/cuda headers
// without it. Only for syntax-checking the CUDA-only sources on a machine without a CUDA libtorch
// (scripts/check-cuda-compile.sh).
#pragma once
#define C10_CUDA_BUILD_SHARED_LIBS
