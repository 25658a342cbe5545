// The few cuBLAS / cuSPARSE / cuSOLVER names ATen/cuda/CUDAContext.h declares with: the CUDA 13 toolkit here ships
// without those libraries. Only for syntax-checking the NCCL path (scripts/check-cuda-compile.sh).
#pragma once
typedef enum { CUBLAS_STATUS_SUCCESS = 0 } cublasStatus_t;
typedef struct cublasContext* cublasHandle_t;
