#include "trainer/vector_passes.h"

#include <immintrin.h>

#include <cmath>

namespace batchai::trainer {

void rmsprop_scalar(float* p, float* a, const float* g, std::size_t n, const RmspropStep& s) {
  for (std::size_t i = 0; i < n; ++i) {
    const float gi = g[i] * s.scale;
    const float ai = s.rho * a[i] + (1.0f - s.rho) * gi * gi;
    a[i] = ai;
    p[i] -= s.lr * gi / (std::sqrt(ai) + s.epsilon);
  }
}

// fp-contract off: GCC would otherwise fuse the vector multiplies and adds
// into one rounding. The masked square root because GCC 12's plain one
// warns of an uninitialised operand it never reads.
__attribute__((target("avx512f"), optimize("fp-contract=off"))) void rmsprop_avx512(float* p, float* a,
                                                                                  const float* g, std::size_t n,
                                                                                  const RmspropStep& s) {
  const __m512 scale = _mm512_set1_ps(s.scale), rho = _mm512_set1_ps(s.rho), rest = _mm512_set1_ps(1.0f - s.rho);
  const __m512 lr = _mm512_set1_ps(s.lr), eps = _mm512_set1_ps(s.epsilon);
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 gi = _mm512_mul_ps(_mm512_loadu_ps(g + i), scale);
    const __m512 ai =
        _mm512_add_ps(_mm512_mul_ps(rho, _mm512_loadu_ps(a + i)), _mm512_mul_ps(_mm512_mul_ps(rest, gi), gi));
    _mm512_storeu_ps(a + i, ai);
    const __m512 step = _mm512_div_ps(_mm512_mul_ps(lr, gi), _mm512_add_ps(_mm512_maskz_sqrt_ps(0xffff, ai), eps));
    _mm512_storeu_ps(p + i, _mm512_sub_ps(_mm512_loadu_ps(p + i), step));
  }
  rmsprop_scalar(p + i, a + i, g + i, n - i, s);
}

__attribute__((target("avx512f"))) void relu_backward_in_place_avx512(float* grad, const float* y, std::size_t n) {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __mmask16 live = _mm512_cmp_ps_mask(_mm512_loadu_ps(y + i), _mm512_setzero_ps(), _CMP_GT_OQ);
    _mm512_storeu_ps(grad + i, _mm512_maskz_mov_ps(live, _mm512_loadu_ps(grad + i)));
  }
  for (; i < n; ++i) grad[i] = y[i] > 0.0f ? grad[i] : 0.0f;
}

__attribute__((target("avx512f"))) void bias_relu_rows_avx512(float* y, const float* bias, std::size_t rows, int co,
                                                             bool relu) {
  for (std::size_t r = 0; r < rows; ++r) {
    float* row = y + r * static_cast<std::size_t>(co);
    for (int j = 0; j < co; j += 16) {
      __m512 v = _mm512_add_ps(_mm512_loadu_ps(row + j), _mm512_loadu_ps(bias + j));
      if (relu) v = _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ), _mm512_setzero_ps());
      _mm512_storeu_ps(row + j, v);
    }
  }
}

}  // namespace batchai::trainer
