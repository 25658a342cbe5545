// Philox-4x32-10 counter-based generator and a Box-Muller normal sampler that give the SAME float bits on
// the host (C++) and on CUDA devices, so that the CPU and CUDA paths of noise_inject draw identical noise.
//
// Stream layout (seed, offset): the normal of element i of a flattened tensor comes from Philox block
// b = i / 4, lane i % 4:
//   key     = {seed & 0xffffffff, seed >> 32}
//   counter = {b & 0xffffffff, b >> 32, offset & 0xffffffff, offset >> 32}
//   out     = philox4x32_10(counter, key) = {x0, x1, x2, x3}
//   lanes 0,1 = box_muller(x0, x1); lanes 2,3 = box_muller(x2, x3).
// Different offsets (e.g. one per training step) give independent streams for the same seed.
//
// Bit-identity across host and device: libm's logf/sinf/cosf and CUDA's differ by up to 1-2 ULP, so the
// normals use their own log and sin/cos built only from IEEE-754 correctly rounded +, -, *, / and sqrt.
// Each of those is written through a helper that forbids FMA contraction: on the device the explicit
// round-to-nearest intrinsics (__fadd_rn, __fmul_rn, ...: exact IEEE operations, not fast-math
// approximations), on the host an empty asm barrier (GCC/Clang) so that -march=... with FMA cannot fuse
// a*b+c either. MSVC does not contract under /fp:precise. Not supported: -ffast-math / --use_fast_math
// on the host side of these functions, and x87 arithmetic (32-bit x86 without SSE2).
// Accuracy of the private functions: a few ULP (tests compare with double-precision libm).
// The uniforms have 24 bits, so |z| <= sqrt(-2 ln 2^-24) ~= 5.77: tails beyond 5.77 sigma are never drawn.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define SSN_HD __host__ __device__ __forceinline__
#else
#define SSN_HD inline
#endif

#include <cmath>

namespace ssn {
namespace philox {

constexpr uint32_t kM0 = 0xD2511F53u;
constexpr uint32_t kM1 = 0xCD9E8D57u;
constexpr uint32_t kW0 = 0x9E3779B9u;  // golden ratio
constexpr uint32_t kW1 = 0xBB67AE85u;  // sqrt(3) - 1

struct Block {
  uint32_t v[4];
};

// Ten rounds; the key is bumped by (W0, W1) before every round but the first.
SSN_HD Block philox4x32_10(Block ctr, uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += kW0;
      k1 += kW1;
    }
    const uint64_t p0 = static_cast<uint64_t>(kM0) * ctr.v[0];
    const uint64_t p1 = static_cast<uint64_t>(kM1) * ctr.v[2];
    Block next;
    next.v[0] = static_cast<uint32_t>(p1 >> 32) ^ ctr.v[1] ^ k0;
    next.v[1] = static_cast<uint32_t>(p1);
    next.v[2] = static_cast<uint32_t>(p0 >> 32) ^ ctr.v[3] ^ k1;
    next.v[3] = static_cast<uint32_t>(p0);
    ctr = next;
  }
  return ctr;
}

// The block that holds the normals of elements 4b .. 4b+3 (layout above).
SSN_HD Block stream_block(uint64_t b, uint64_t seed, uint64_t offset) {
  Block ctr;
  ctr.v[0] = static_cast<uint32_t>(b);
  ctr.v[1] = static_cast<uint32_t>(b >> 32);
  ctr.v[2] = static_cast<uint32_t>(offset);
  ctr.v[3] = static_cast<uint32_t>(offset >> 32);
  return philox4x32_10(ctr, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// ---- IEEE operations that are never fused (see the header comment) ---------------------------------
#if !defined(__CUDA_ARCH__)
SSN_HD float fp_opaque(float x) {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__SSE2__))
  __asm__("" : "+x"(x));
#elif (defined(__GNUC__) || defined(__clang__)) && defined(__aarch64__)
  __asm__("" : "+w"(x));
#endif
  return x;
}
#endif

SSN_HD float fadd(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return fp_opaque(a + b);
#endif
}
SSN_HD float fsub(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fsub_rn(a, b);
#else
  return fp_opaque(a - b);
#endif
}
SSN_HD float fmul(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return fp_opaque(a * b);
#endif
}
SSN_HD float fdiv(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fdiv_rn(a, b);
#else
  return fp_opaque(a / b);
#endif
}
SSN_HD float fsqrt(float a) {
#if defined(__CUDA_ARCH__)
  return __fsqrt_rn(a);
#else
  return fp_opaque(std::sqrt(a));
#endif
}

// ---- uniforms -------------------------------------------------------------------------------------
constexpr float kTwoPow24Inv = 5.9604644775390625e-8f;  // 2^-24, exact

// The top 24 bits of x as (k + 1) / 2^24 in (0, 1]: never 0, so log is finite.
SSN_HD float uniform_open0(uint32_t x) { return fmul(static_cast<float>((x >> 8) + 1u), kTwoPow24Inv); }

// ln(u) for u = uniform_open0(x). u = m * 2^e with m in [sqrt(1/2), sqrt(2)) (exact scaling), then
// ln m = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.1716, odd series to s^9 (truncation < 1e-9),
// and e*ln2 with ln2 split in a 16-bit head (e*head is exact) and a tail.
SSN_HD float log_uniform(uint32_t x) {
  const float u = uniform_open0(x);
  int e = 0;
#if defined(__CUDA_ARCH__)
  float m = frexpf(u, &e);  // exact: u = m * 2^e, m in [0.5, 1)
#else
  float m = std::frexp(u, &e);
#endif
  if (m < 0.70710678f) {
    m = fmul(m, 2.0f);  // exact
    e -= 1;
  }
  const float s = fdiv(fsub(m, 1.0f), fadd(m, 1.0f));
  const float s2 = fmul(s, s);
  float p = 0.22222222f;               // 2/9
  p = fadd(fmul(p, s2), 0.28571429f);  // 2/7
  p = fadd(fmul(p, s2), 0.4f);         // 2/5
  p = fadd(fmul(p, s2), 0.66666667f);  // 2/3
  p = fadd(fmul(p, s2), 2.0f);
  const float log_m = fmul(s, p);
  const float fe = static_cast<float>(e);
  constexpr float kLn2Head = 0.693145751953125f;      // 16 significant bits
  constexpr float kLn2Tail = 1.4286068203094172e-6f;  // ln2 - head
  return fadd(fmul(fe, kLn2Head), fadd(fmul(fe, kLn2Tail), log_m));
}

// cos and sin of 2*pi*t/2^24 for the top 24 bits t of x. The quadrant comes from integer arithmetic
// (exact), the remainder angle a is in [-pi/4, pi/4), then Taylor polynomials (errors < 1e-9).
SSN_HD void sincos_turn(uint32_t x, float* c, float* s) {
  const uint32_t t = x >> 8;                                                    // [0, 2^24): the angle in 2^-24 turns
  const uint32_t q = (t + (1u << 21)) >> 22;                                    // nearest quarter turn, 0..4
  const int32_t rem = static_cast<int32_t>(t) - static_cast<int32_t>(q << 22);  // [-2^21, 2^21)
  const float r = fmul(static_cast<float>(rem), 2.384185791015625e-7f);         // rem / 2^22, exact
  const float a = fmul(r, 1.57079633f);                                         // pi/2
  const float a2 = fmul(a, a);
  float ps = 2.75573192e-6f;                 // 1/9!
  ps = fadd(fmul(ps, a2), -1.98412698e-4f);  // -1/5040
  ps = fadd(fmul(ps, a2), 8.33333333e-3f);   // 1/120
  ps = fadd(fmul(ps, a2), -0.166666667f);    // -1/6
  const float sin_a = fadd(a, fmul(fmul(a, a2), ps));
  float pc = -2.75573192e-7f;                // -1/10!
  pc = fadd(fmul(pc, a2), 2.48015873e-5f);   // 1/8!
  pc = fadd(fmul(pc, a2), -1.38888889e-3f);  // -1/6!
  pc = fadd(fmul(pc, a2), 4.16666667e-2f);   // 1/4!
  pc = fadd(fmul(pc, a2), -0.5f);
  const float cos_a = fadd(1.0f, fmul(a2, pc));
  switch (q & 3u) {
    case 0:
      *c = cos_a;
      *s = sin_a;
      break;
    case 1:
      *c = -sin_a;
      *s = cos_a;
      break;
    case 2:
      *c = -cos_a;
      *s = -sin_a;
      break;
    default:
      *c = sin_a;
      *s = -cos_a;
      break;
  }
}

// Box-Muller: two independent standard normals from two 32-bit words.
SSN_HD void box_muller(uint32_t x_radius, uint32_t x_angle, float* z0, float* z1) {
  const float r = fsqrt(fmul(-2.0f, log_uniform(x_radius)));
  float c = 0.0f, s = 0.0f;
  sincos_turn(x_angle, &c, &s);
  *z0 = fmul(r, c);
  *z1 = fmul(r, s);
}

// The standard normals of elements 4b .. 4b+3 of stream (seed, offset).
SSN_HD void normal4(uint64_t b, uint64_t seed, uint64_t offset, float z[4]) {
  const Block x = stream_block(b, seed, offset);
  box_muller(x.v[0], x.v[1], &z[0], &z[1]);
  box_muller(x.v[2], x.v[3], &z[2], &z[3]);
}

// One element of noise_inject: feature + (std * z) * mask, each operation rounded separately, the same
// on every device (philox_normal is std * z, so noise_inject == features + philox_normal * mask bitwise).
SSN_HD float inject(float feature, float mask, float std_dev, float z) {
  return fadd(feature, fmul(fmul(std_dev, z), mask));
}

}  // namespace philox
}  // namespace ssn
