#include "errors.h"

#include <exception>

#include <c10/util/Exception.h>

namespace ssn_binding {

namespace {

const char* const kMemoryHint =
    "Use a smaller model size (imageSize), a smaller batchSize, or free other models with dispose().";

std::string first_line(const std::string& text) {
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

}  // namespace

NativeError make_error(ssn::ErrorCode code, const std::string& message, const std::string& hint) {
  return NativeError{ssn::error_code_name(code), message, hint, false};
}

NativeError current_exception_error() noexcept {
  try {
    try {
      throw;
    } catch (const ArgumentError& e) {
      NativeError error = make_error(e.code(), e.what(), e.hint());
      error.type_error = true;
      return error;
    } catch (const ssn::Error& e) {
      return make_error(e.code(), e.what(), e.hint());
    } catch (const c10::Error& e) {
      // c10 messages carry a C++ backtrace after the first line: keep the line that says what failed.
      const std::string line = first_line(e.what_without_backtrace());
      // An allocation that failed (the figure is in libtorch's line) is the machine's limit, not a bug.
      if (line.find("can't allocate memory") != std::string::npos || line.find("out of memory") != std::string::npos)
        return make_error(ssn::ErrorCode::Input, "Out of memory: libtorch: " + line, kMemoryHint);
      return make_error(ssn::ErrorCode::Internal, "libtorch: " + line,
                        "This is a bug in supersimplenet or libtorch; please report it with this message.");
    } catch (const std::bad_alloc&) {
      return make_error(ssn::ErrorCode::Input, "Out of memory", kMemoryHint);
    } catch (const std::exception& e) {
      return make_error(ssn::ErrorCode::Internal, e.what(),
                        "This is a bug in supersimplenet; please report it with this message.");
    } catch (...) {
      return make_error(ssn::ErrorCode::Internal, "Unknown native exception",
                        "This is a bug in supersimplenet; please report it.");
    }
  } catch (...) {
    // Copying a message threw (out of memory): return something that needs no allocation to build.
    return NativeError{};
  }
}

Napi::Error to_js_error(Napi::Env env, const NativeError& error) {
  const std::string code = error.code.empty() ? "ERR_SSN_INTERNAL" : error.code;
  const std::string message = error.message.empty() ? "Native failure" : error.message;
  Napi::Error js = error.type_error ? Napi::TypeError::New(env, message) : Napi::Error::New(env, message);
  js.Set("code", Napi::String::New(env, code));
  if (!error.hint.empty()) js.Set("hint", Napi::String::New(env, error.hint));
  return js;
}

void rethrow_as_js(Napi::Env env) {
  try {
    throw;
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw to_js_error(env, current_exception_error());
  }
}

}  // namespace ssn_binding
