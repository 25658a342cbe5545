// Runs every registered core test, or those whose name contains argv[1]. Exit code 1 if any failed.
#include <sys/stat.h>

#include <iostream>

#include "test_framework.h"

namespace ssn_test {
std::vector<TestCase>& registry() {
  static std::vector<TestCase> tests;
  return tests;
}
std::string golden_dir() {
  if (const char* env = std::getenv("SSN_GOLDEN_DIR"); env && *env) return env;
  return std::string(SSN_SOURCE_DIR) + "/../shared/golden";
}
bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}
}  // namespace ssn_test

int main(int argc, char** argv) {
  const std::string filter = argc > 1 ? argv[1] : "";
  int passed = 0, failed = 0;
  for (const auto& test : ssn_test::registry()) {
    if (!filter.empty() && test.name.find(filter) == std::string::npos) continue;
    try {
      test.body();
      ++passed;
      std::cout << "ok   " << test.name << "\n";
    } catch (const std::exception& e) {
      ++failed;
      std::cout << "FAIL " << test.name << ": " << e.what() << "\n";
    }
  }
  std::cout << passed << " passed, " << failed << " failed\n";
  return failed == 0 ? 0 : 1;
}
