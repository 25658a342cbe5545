// Helpers shared by the model tests.
#pragma once
#include <functional>
#include <string>

#include "common/error.h"
#include "test_framework.h"

namespace ssn_test {

// Runs `f`, expects an ssn::Error with `code`, returns its message.
inline std::string error_message(const std::function<void()>& f, ssn::ErrorCode code) {
  try {
    f();
  } catch (const ssn::Error& e) {
    SSN_CHECK_MSG(e.code() == code, e.what());
    return e.what();
  }
  throw Failure("expected an ssn::Error, nothing was thrown");
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace ssn_test
