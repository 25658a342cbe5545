// Errors of the core carry a stable code (mirrored as ERR_SSN_* in JavaScript) and a hint that says what to do.
#pragma once
#include <stdexcept>
#include <string>

namespace ssn {

enum class ErrorCode {
  Shape,            // tensor or image shapes that do not fit the model
  Checkpoint,       // unreadable, corrupt or incomplete weight files
  Input,            // bad user input: images, options, paths
  Disposed,         // a call on a model that was disposed
  CudaUnavailable,  // CUDA asked for but not there
  Io,               // file system errors (read, write, rename)
  Config,           // invalid model or training configuration
  Aborted,          // cancelled by the caller
  Distributed,      // a distributed run failed: rendezvous, or a rank died or stopped answering
  Internal,         // a bug: libtorch or the core failed where it should not
};

const char* error_code_name(ErrorCode code);  // "ERR_SSN_SHAPE", ...

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message, std::string hint = "")
      : std::runtime_error(message), code_(code), hint_(std::move(hint)) {}
  ErrorCode code() const noexcept { return code_; }
  const std::string& hint() const noexcept { return hint_; }

 private:
  ErrorCode code_;
  std::string hint_;
};

}  // namespace ssn
