// The AVX-512 element-wise passes give the bits of the scalar loops they
// stand for, edge values included: a step's result must not depend on
// which of the two a CPU ran.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "trainer/narrow_gemm.h"
#include "trainer/vector_passes.h"

namespace batchai::trainer {
namespace {

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(TrainerVectorPasses, RmspropGivesTheScalarLoopsBits) {
  if (!narrow_gemm_available()) GTEST_SKIP() << "this CPU has no AVX-512: only the scalar loop runs here";
  std::mt19937 gen(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const std::size_t n = 1000;  // not a multiple of 16: the tail goes through the scalar loop
  std::vector<float> p(n), a(n), g(n);
  for (std::size_t i = 0; i < n; ++i) {
    p[i] = u(gen);
    a[i] = std::abs(u(gen)) * 1e-3f;
    g[i] = u(gen) * (i % 5 == 0 ? 1e-6f : 1e-2f);  // some near epsilon, where rounding shows most
  }
  a[7] = 0.0f, g[7] = 0.0f;
  auto p2 = p, a2 = a;
  const RmspropStep s{1e-4f, 0.9f, 1e-7f, 0.25f};
  rmsprop_scalar(p.data(), a.data(), g.data(), n, s);
  rmsprop_avx512(p2.data(), a2.data(), g.data(), n, s);
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_TRUE(same_bits(p[i], p2[i])) << "parameter " << i << ": " << p[i] << " vs " << p2[i];
    ASSERT_TRUE(same_bits(a[i], a2[i])) << "accumulator " << i << ": " << a[i] << " vs " << a2[i];
  }
}

TEST(TrainerVectorPasses, ReluBackwardPassesOnlyWhereTheOutputIsPositive) {
  if (!narrow_gemm_available()) GTEST_SKIP() << "this CPU has no AVX-512";
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> y = {1.0f, 0.0f, -0.0f, -2.0f, nan, 1e-30f, 3.0f, -1e-30f, 2.0f, 0.5f,
                          0.0f, 4.0f, -1.0f, 7.0f, 0.0f, 1.0f, 2.0f, -3.0f, 0.25f};  // 19: a tail of 3
  std::vector<float> grad(y.size());
  for (std::size_t i = 0; i < grad.size(); ++i) grad[i] = static_cast<float>(i) + 0.5f;
  auto expected = grad;
  for (std::size_t i = 0; i < y.size(); ++i) expected[i] = y[i] > 0.0f ? expected[i] : 0.0f;
  relu_backward_in_place_avx512(grad.data(), y.data(), y.size());
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_TRUE(same_bits(grad[i], expected[i])) << i;
  EXPECT_EQ(grad[0], 0.5f);
  EXPECT_EQ(grad[4], 0.0f);  // NaN is not positive
  EXPECT_FALSE(std::signbit(grad[3]));
}

}  // namespace
}  // namespace batchai::trainer
