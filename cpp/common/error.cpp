#include "common/error.h"

namespace ssn {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::Shape:
      return "ERR_SSN_SHAPE";
    case ErrorCode::Checkpoint:
      return "ERR_SSN_CHECKPOINT";
    case ErrorCode::Input:
      return "ERR_SSN_INPUT";
    case ErrorCode::Disposed:
      return "ERR_SSN_DISPOSED";
    case ErrorCode::CudaUnavailable:
      return "ERR_SSN_CUDA_UNAVAILABLE";
    case ErrorCode::Io:
      return "ERR_SSN_IO";
    case ErrorCode::Config:
      return "ERR_SSN_CONFIG";
    case ErrorCode::Aborted:
      return "ERR_SSN_ABORTED";
    case ErrorCode::Distributed:
      return "ERR_SSN_DISTRIBUTED";
    case ErrorCode::Internal:
      return "ERR_SSN_INTERNAL";
  }
  return "ERR_SSN_INTERNAL";
}

}  // namespace ssn
