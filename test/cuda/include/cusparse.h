// The few cuBLAS / cuSPARSE / cuSOLVER names ATen/cuda/CUDAContext.h declares with: the CUDA 13 toolkit here ships
// without those libraries. Only for syntax-checking the NCCL path (scripts/check-cuda-compile.sh).
#pragma once
typedef enum { CUSPARSE_STATUS_SUCCESS = 0 } cusparseStatus_t;
typedef struct cusparseContext* cusparseHandle_t;
