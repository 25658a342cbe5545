// Translation of core failures into JavaScript errors with a stable `code` (ERR_SSN_*) and a `hint`.
// Worker threads capture a failure as a plain NativeError; only the JS thread turns it into a Napi::Error.
#pragma once
#include <string>

#include <napi.h>

#include "common/error.h"

namespace ssn_binding {

struct NativeError {
  std::string code;  // ERR_SSN_*
  std::string message;
  std::string hint;         // empty when there is nothing useful to add
  bool type_error = false;  // a JS argument of the wrong type
};

// A JS argument that is missing or of the wrong type: becomes a TypeError with code ERR_SSN_INPUT.
class ArgumentError : public ssn::Error {
 public:
  explicit ArgumentError(const std::string& message, std::string hint = "")
      : ssn::Error(ssn::ErrorCode::Input, message, std::move(hint)) {}
};

// Call inside a catch block: classifies the exception in flight (ssn::Error, c10::Error, std::exception,
// anything else). Never touches N-API, so it is safe in AsyncWorker::Execute.
NativeError current_exception_error() noexcept;

NativeError make_error(ssn::ErrorCode code, const std::string& message, const std::string& hint = "");

// JS thread only.
Napi::Error to_js_error(Napi::Env env, const NativeError& error);

// Call inside a catch block of a synchronous JS method: rethrows a Napi::Error as it is and anything else
// translated, so that the caller gets a JS exception with a code.
[[noreturn]] void rethrow_as_js(Napi::Env env);

}  // namespace ssn_binding
