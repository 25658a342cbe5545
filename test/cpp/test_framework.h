// A minimal test registry for the C++ core (run by ctest through ssn_core_tests).
// SSN_TEST(name) { ... } registers a test; SSN_CHECK / SSN_CHECK_CLOSE fail it with file:line.
#pragma once
#include <cmath>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace ssn_test {

struct TestCase {
  std::string name;
  std::function<void()> body;
};
std::vector<TestCase>& registry();
struct Registrar {
  Registrar(const char* name, std::function<void()> body) { registry().push_back({name, std::move(body)}); }
};
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Thrown by a test that cannot run here and was told it may skip (reported as "skip", not "ok").
struct Skipped : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Golden fixtures folder: SSN_GOLDEN_DIR, else ../shared/golden relative to the repository root. A missing
// folder fails the calling test (parity is a release gate), or skips it when SSN_SKIP_GOLDEN=1.
std::string golden_dir();
bool file_exists(const std::string& path);

}  // namespace ssn_test

#define SSN_TEST_CAT2(a, b) a##b
#define SSN_TEST_CAT(a, b) SSN_TEST_CAT2(a, b)
#define SSN_TEST(name)                                                                                   \
  static void SSN_TEST_CAT(ssn_test_fn_, name)();                                                        \
  static ssn_test::Registrar SSN_TEST_CAT(ssn_test_reg_, name)(#name, SSN_TEST_CAT(ssn_test_fn_, name)); \
  static void SSN_TEST_CAT(ssn_test_fn_, name)()

#define SSN_CHECK(cond)                                               \
  do {                                                                \
    if (!(cond)) {                                                    \
      std::ostringstream os_;                                         \
      os_ << __FILE__ << ":" << __LINE__ << ": check failed: " #cond; \
      throw ssn_test::Failure(os_.str());                             \
    }                                                                 \
  } while (0)

#define SSN_CHECK_MSG(cond, msg)                                                      \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::ostringstream os_;                                                         \
      os_ << __FILE__ << ":" << __LINE__ << ": check failed: " #cond << " — " << msg; \
      throw ssn_test::Failure(os_.str());                                             \
    }                                                                                 \
  } while (0)

#define SSN_CHECK_CLOSE(a, b, tol)                                                                                    \
  do {                                                                                                                \
    double a_ = (a), b_ = (b);                                                                                        \
    if (!(std::fabs(a_ - b_) <= (tol))) {                                                                             \
      std::ostringstream os_;                                                                                         \
      os_ << __FILE__ << ":" << __LINE__ << ": " #a " = " << a_ << " vs " #b " = " << b_ << " (tol " << (tol) << ")"; \
      throw ssn_test::Failure(os_.str());                                                                             \
    }                                                                                                                 \
  } while (0)

// Expects `stmt` to throw ssn::Error with the given ErrorCode.
#define SSN_CHECK_THROWS_CODE(stmt, error_code)                \
  do {                                                         \
    bool thrown_ = false;                                      \
    try {                                                      \
      stmt;                                                    \
    } catch (const ssn::Error& e_) {                           \
      thrown_ = true;                                          \
      SSN_CHECK_MSG(e_.code() == (error_code), e_.what());     \
    }                                                          \
    SSN_CHECK_MSG(thrown_, "expected ssn::Error from " #stmt); \
  } while (0)
