// The few cuBLAS / cuSPARSE / cuSOLVER names ATen/cuda/CUDAContext.h declares with: the CUDA 13 toolkit here ships
// without those libraries. Only for syntax-checking the NCCL path (scripts/check-cuda-compile.sh).
#pragma once
#include "cusolver_common.h"
typedef struct cusolverDnContext* cusolverDnHandle_t;
