// Runs every registered core test, or those whose name contains any of the arguments, in registration order.
// Exit code 1 if any failed.
#include <sys/stat.h>

#include <iostream>
#include <string>
#include <vector>

#include "test_framework.h"

namespace ssn_test {
std::vector<TestCase>& registry() {
  static std::vector<TestCase> tests;
  return tests;
}
bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}
std::string golden_dir() {
  const char* env = std::getenv("SSN_GOLDEN_DIR");
  const std::string dir = env && *env ? env : std::string(SSN_SOURCE_DIR) + "/../shared/golden";
  if (file_exists(dir)) return dir;
  const char* skip = std::getenv("SSN_SKIP_GOLDEN");
  if (skip && std::string(skip) == "1") throw Skipped("no golden fixtures at " + dir + " and SSN_SKIP_GOLDEN=1");
  throw Failure("no golden fixtures at " + dir + ": set SSN_GOLDEN_DIR to the folder, or SSN_SKIP_GOLDEN=1 to skip");
}
}  // namespace ssn_test

int main(int argc, char** argv) {
  const std::vector<std::string> filters(argv + 1, argv + argc);
  auto selected = [&](const std::string& name) {
    if (filters.empty()) return true;
    for (const auto& f : filters)
      if (name.find(f) != std::string::npos) return true;
    return false;
  };
  int passed = 0, failed = 0, skipped = 0;
  for (const auto& test : ssn_test::registry()) {
    if (!selected(test.name)) continue;
    try {
      test.body();
      ++passed;
      std::cout << "ok   " << test.name << "\n";
    } catch (const ssn_test::Skipped& e) {
      ++skipped;
      std::cout << "skip " << test.name << ": " << e.what() << "\n";
    } catch (const std::exception& e) {
      ++failed;
      std::cout << "FAIL " << test.name << ": " << e.what() << "\n";
    }
  }
  std::cout << passed << " passed, " << failed << " failed"
            << (skipped > 0 ? ", " + std::to_string(skipped) + " skipped" : "") << "\n";
  return failed == 0 ? 0 : 1;
}
