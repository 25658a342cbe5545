// Philox-4x32-10, the Box-Muller normals and noise_inject (CPU; CUDA equality where a GPU exists).
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/error.h"
#include "ops/noise_inject.h"
#include "ops/philox.h"
#include "test_framework.h"

using ssn::philox::Block;

namespace {

bool same_words(const Block& b, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3) {
  return b.v[0] == a0 && b.v[1] == a1 && b.v[2] == a2 && b.v[3] == a3;
}

float ulp_of(double x) {
  const float f = static_cast<float>(std::fabs(x));
  return std::nextafter(f, INFINITY) - f;
}

bool bitwise_equal(const torch::Tensor& a, const torch::Tensor& b) {
  const torch::Tensor ca = a.contiguous().cpu(), cb = b.contiguous().cpu();
  return ca.sizes() == cb.sizes() && ca.scalar_type() == cb.scalar_type() &&
         std::memcmp(ca.data_ptr(), cb.data_ptr(), static_cast<size_t>(ca.numel()) * ca.element_size()) == 0;
}

torch::Tensor random_features(at::IntArrayRef shape, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randn(shape, gen);
}

}  // namespace

// Random123 known-answer vectors for philox4x32-10 (re-derived independently with a scalar script).
SSN_TEST(trainops_philox_known_answers) {
  SSN_CHECK(
      same_words(ssn::philox::philox4x32_10({{0, 0, 0, 0}}, 0, 0), 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u));
  SSN_CHECK(same_words(
      ssn::philox::philox4x32_10({{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu, 0xffffffffu),
      0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu));
  SSN_CHECK(same_words(
      ssn::philox::philox4x32_10({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u, 0x299f31d0u),
      0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u));
}

SSN_TEST(trainops_philox_stream_layout) {
  const uint64_t b = 0x0000000500000007ULL, seed = 0x1122334455667788ULL, offset = 0x99aabbccddeeff00ULL;
  const Block got = ssn::philox::stream_block(b, seed, offset);
  const Block want = ssn::philox::philox4x32_10({{7u, 5u, 0xddeeff00u, 0x99aabbccu}}, 0x55667788u, 0x11223344u);
  SSN_CHECK(std::memcmp(&got, &want, sizeof(Block)) == 0);
}

// The private log and sin/cos must stay within a few ULP of double-precision libm.
SSN_TEST(trainops_philox_math_accuracy) {
  double worst_log_ulps = 0.0, worst_trig = 0.0;
  for (uint32_t k = 0; k < (1u << 24); k += 997) {
    for (const uint32_t t : {k, (1u << 24) - 1 - k}) {
      const uint32_t x = (t << 8) | 0xabu;  // the low 8 bits must not matter
      const double u = (static_cast<double>(t) + 1.0) / 16777216.0;
      const double exact_log = std::log(u);
      if (t + 1 != (1u << 24)) {
        worst_log_ulps =
            std::max(worst_log_ulps, std::fabs(ssn::philox::log_uniform(x) - exact_log) / ulp_of(exact_log));
      } else {
        SSN_CHECK(ssn::philox::log_uniform(x) == 0.0f);
      }
      float c = 0.0f, s = 0.0f;
      ssn::philox::sincos_turn(x, &c, &s);
      const double theta = 2.0 * 3.14159265358979323846 * static_cast<double>(t) / 16777216.0;
      worst_trig = std::max({worst_trig, std::fabs(c - std::cos(theta)), std::fabs(s - std::sin(theta))});
    }
  }
  SSN_CHECK_MSG(worst_log_ulps <= 4.0, worst_log_ulps);
  SSN_CHECK_MSG(worst_trig <= 2.5e-7, worst_trig);
  // Quarter turns are exact.
  float c = 0.0f, s = 0.0f;
  ssn::philox::sincos_turn(1u << 30, &c, &s);  // t = 2^22: a quarter turn
  SSN_CHECK(c == 0.0f && s == 1.0f);
}

SSN_TEST(trainops_philox_normal_moments) {
  const torch::Tensor z = ssn::philox_normal({1 << 18}, 1.0, 2024, 3);
  const double mean = z.mean().item<double>(), std = z.std().item<double>();
  SSN_CHECK_CLOSE(mean, 0.0, 0.01);
  SSN_CHECK_CLOSE(std, 1.0, 0.01);
  const double within_one = (z.abs() < 1).to(torch::kFloat64).mean().item<double>();
  SSN_CHECK_CLOSE(within_one, 0.682689, 0.005);
  const double beyond_three = (z.abs() > 3).to(torch::kFloat64).mean().item<double>();
  SSN_CHECK_CLOSE(beyond_three, 0.0026998, 0.0006);
  SSN_CHECK(z.abs().max().item<float>() <= 5.78f);
  // Scaling by std is exact, and streams of different offsets or seeds differ.
  SSN_CHECK(bitwise_equal(ssn::philox_normal({1000}, 0.5, 2024, 3), z.narrow(0, 0, 1000) * 0.5f));
  SSN_CHECK(!torch::equal(ssn::philox_normal({64}, 1.0, 2024, 4), z.narrow(0, 0, 64)));
  SSN_CHECK(!torch::equal(ssn::philox_normal({64}, 1.0, 2025, 3), z.narrow(0, 0, 64)));
}

// Element i is lane i % 4 of block i / 4, whatever the shape.
SSN_TEST(trainops_philox_normal_layout) {
  const uint64_t seed = 77, offset = 5;
  const torch::Tensor z = ssn::philox_normal({2, 3, 5}, 0.25, seed, offset);
  SSN_CHECK(z.sizes() == at::IntArrayRef({2, 3, 5}) && z.scalar_type() == torch::kFloat32);
  const torch::Tensor flat = z.reshape({-1});
  for (int64_t i = 0; i < flat.numel(); ++i) {
    float lanes[4];
    ssn::philox::normal4(static_cast<uint64_t>(i / 4), seed, offset, lanes);
    SSN_CHECK(flat[i].item<float>() == ssn::philox::fmul(0.25f, lanes[i % 4]));
  }
  SSN_CHECK(bitwise_equal(ssn::philox_normal({30}, 0.25, seed, offset), flat));
  SSN_CHECK(ssn::philox_normal({0, 4}, 1.0, seed, offset).numel() == 0);
}

SSN_TEST(trainops_noise_inject_matches_formula) {
  const torch::Tensor features = random_features({2, 3, 5, 7}, 1);  // 210 elements: a partial last block
  auto gen = at::make_generator<at::CPUGeneratorImpl>(2);
  const torch::Tensor mask = (torch::rand({2, 1, 5, 7}, gen) > 0.5).to(torch::kFloat32);
  const torch::Tensor out = ssn::noise_inject(features, mask, 0.015, 99, 4);
  const torch::Tensor noise = ssn::philox_normal(features.sizes(), 0.015, 99, 4);
  SSN_CHECK(bitwise_equal(out, features + noise * mask));
  // Masked-out pixels keep their features exactly; elsewhere the noise is present.
  const torch::Tensor off = (mask == 0).expand_as(features);
  SSN_CHECK(torch::equal(out.masked_select(off), features.masked_select(off)));
  SSN_CHECK((out - features).masked_select(off.logical_not()).abs().min().item<float>() > 0.0f);
  // A non-contiguous input gives the result of its contiguous copy.
  const torch::Tensor strided = features.transpose(2, 3).contiguous().transpose(2, 3);
  SSN_CHECK(!strided.is_contiguous());
  SSN_CHECK(bitwise_equal(ssn::noise_inject(strided, mask, 0.015, 99, 4), out));
}

// Rows first_row.. of a batch get the bits the whole batch's call gives them, also where a row does not start
// on a Philox block (3 x 3 x 3 = 27 elements per row).
SSN_TEST(trainops_noise_inject_rows_of_a_larger_batch) {
  const torch::Tensor features = random_features({6, 3, 3, 3}, 5);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(6);
  const torch::Tensor mask = (torch::rand({6, 1, 3, 3}, gen) > 0.3).to(torch::kFloat32);
  const torch::Tensor whole = ssn::noise_inject(features, mask, 0.1, 17, 3);
  for (const int64_t first : {0, 1, 2, 5}) {
    for (const int64_t rows : {int64_t{1}, 6 - first}) {
      const torch::Tensor part =
          ssn::noise_inject(features.narrow(0, first, rows), mask.narrow(0, first, rows), 0.1, 17, 3, first);
      SSN_CHECK_MSG(bitwise_equal(part, whole.narrow(0, first, rows)), "first " << first << " rows " << rows);
    }
  }
  SSN_CHECK_THROWS_CODE(ssn::noise_inject(features, mask, 0.1, 17, 3, -1), ssn::ErrorCode::Input);
}

SSN_TEST(trainops_noise_inject_backward_is_identity) {
  const torch::Tensor features = random_features({2, 4, 3, 3}, 3).requires_grad_(true);
  const torch::Tensor mask = torch::ones({2, 1, 3, 3});
  const torch::Tensor weights = random_features({2, 4, 3, 3}, 4);
  const torch::Tensor out = ssn::noise_inject(features, mask, 0.5, 1, 0);
  SSN_CHECK(out.requires_grad());
  (out * weights).sum().backward();
  SSN_CHECK(features.grad().defined());
  SSN_CHECK(torch::equal(features.grad(), weights));
}

SSN_TEST(trainops_noise_inject_rejects_bad_input) {
  const torch::Tensor f = torch::zeros({2, 3, 4, 4});
  const torch::Tensor m = torch::ones({2, 1, 4, 4});
  SSN_CHECK_THROWS_CODE(ssn::noise_inject(torch::zeros({3, 4, 4}), m, 0.1, 0, 0), ssn::ErrorCode::Shape);
  SSN_CHECK_THROWS_CODE(ssn::noise_inject(f, torch::ones({2, 2, 4, 4}), 0.1, 0, 0), ssn::ErrorCode::Shape);
  SSN_CHECK_THROWS_CODE(ssn::noise_inject(f, torch::ones({1, 1, 4, 4}), 0.1, 0, 0), ssn::ErrorCode::Shape);
  SSN_CHECK_THROWS_CODE(ssn::noise_inject(f, torch::ones({2, 1, 4, 5}), 0.1, 0, 0), ssn::ErrorCode::Shape);
  SSN_CHECK_THROWS_CODE(ssn::noise_inject(f.to(torch::kFloat64), m, 0.1, 0, 0), ssn::ErrorCode::Input);
  SSN_CHECK_THROWS_CODE(ssn::noise_inject(f, m.to(torch::kBool), 0.1, 0, 0), ssn::ErrorCode::Input);
  SSN_CHECK_THROWS_CODE(ssn::noise_inject(f, m, -0.1, 0, 0), ssn::ErrorCode::Input);
  SSN_CHECK_THROWS_CODE(ssn::noise_inject(f, m, NAN, 0, 0), ssn::ErrorCode::Input);
  SSN_CHECK_THROWS_CODE(ssn::noise_inject(torch::Tensor(), m, 0.1, 0, 0), ssn::ErrorCode::Input);
  SSN_CHECK_THROWS_CODE(ssn::philox_normal({-1}, 0.1, 0, 0), ssn::ErrorCode::Shape);
  SSN_CHECK_THROWS_CODE(ssn::philox_normal({4}, INFINITY, 0, 0), ssn::ErrorCode::Input);
  try {
    ssn::noise_inject(f, torch::ones({2, 2, 4, 4}), 0.1, 0, 0);
  } catch (const ssn::Error& e) {
    const std::string message = e.what();
    SSN_CHECK_MSG(
        message.find("[2, 2, 4, 4]") != std::string::npos && message.find("[2, 1, 4, 4]") != std::string::npos,
        message);
  }
}

// On a GPU the CUDA kernel must reproduce the CPU floats bit for bit; without one, CUDA requests fail
// with CudaUnavailable instead of crashing.
SSN_TEST(trainops_noise_inject_cuda_matches_cpu) {
  if (!torch::cuda::is_available()) {
    SSN_CHECK_THROWS_CODE(ssn::philox_normal({8}, 1.0, 0, 0, torch::Device(torch::kCUDA)),
                          ssn::ErrorCode::CudaUnavailable);
    return;
  }
  const torch::Tensor features = random_features({3, 37, 29, 31}, 5);
  const torch::Tensor mask = (random_features({3, 1, 29, 31}, 6) > 0).to(torch::kFloat32);
  const torch::Tensor cpu = ssn::noise_inject(features, mask, 0.015, 123456789, 11);
  const torch::Tensor gpu = ssn::noise_inject(features.cuda(), mask.cuda(), 0.015, 123456789, 11);
  SSN_CHECK(gpu.is_cuda());
  SSN_CHECK(bitwise_equal(gpu, cpu));
  SSN_CHECK(bitwise_equal(ssn::philox_normal({1001}, 2.0, 8, 9, torch::Device(torch::kCUDA)),
                          ssn::philox_normal({1001}, 2.0, 8, 9)));
  const torch::Tensor leaf = features.cuda().requires_grad_(true);
  ssn::noise_inject(leaf, mask.cuda(), 0.015, 1, 2).sum().backward();
  SSN_CHECK(torch::equal(leaf.grad().cpu(), torch::ones_like(features)));
}
