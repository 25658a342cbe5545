// Our resize against real OpenCV (fixtures made by test/fixtures/resize/make_fixtures.js with opencv.js).
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "data/resize_linear.h"
#include "test_framework.h"

namespace {

// Deterministic test image; the same formula as pixel() in make_fixtures.js.
uint8_t pixel(uint64_t i) { return static_cast<uint8_t>(((i * 2654435761ull) >> 13) & 255); }

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SSN_CHECK_MSG(in.good(), "cannot open " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void check_case(int64_t h, int64_t w, int64_t c, int64_t H, int64_t W) {
  std::vector<uint8_t> src(h * w * c);
  for (size_t i = 0; i < src.size(); ++i) src[i] = pixel(i);
  const std::string name = std::to_string(h) + "x" + std::to_string(w) + "x" + std::to_string(c) + "-to-" +
                           std::to_string(H) + "x" + std::to_string(W) + ".bin";
  const std::vector<uint8_t> expected = read_file(std::string(SSN_SOURCE_DIR) + "/test/fixtures/resize/" + name);
  const std::vector<uint8_t> got = ssn::resize_linear_u8(src.data(), h, w, c, H, W);
  SSN_CHECK(got.size() == expected.size());
  size_t mismatches = 0;
  for (size_t i = 0; i < got.size(); ++i) mismatches += got[i] != expected[i];
  SSN_CHECK_MSG(mismatches == 0, name + ": " + std::to_string(mismatches) + " bytes differ from OpenCV");
}

}  // namespace

SSN_TEST(resize_matches_opencv_inter_linear) {
  check_case(37, 53, 3, 64, 64);
  check_case(100, 80, 3, 32, 48);
  check_case(23, 31, 3, 96, 80);
  check_case(256, 256, 3, 200, 120);
  check_case(15, 17, 1, 40, 40);
  check_case(480, 640, 3, 256, 256);
  check_case(9, 300, 3, 30, 31);
}

SSN_TEST(resize_exact_half_takes_the_area_path_like_opencv) { check_case(64, 64, 3, 32, 32); }

SSN_TEST(resize_same_size_is_a_copy) {
  std::vector<uint8_t> src(5 * 7 * 3);
  for (size_t i = 0; i < src.size(); ++i) src[i] = pixel(i);
  SSN_CHECK(ssn::resize_linear_u8(src.data(), 5, 7, 3, 5, 7) == src);
}
