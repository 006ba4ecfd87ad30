#include "trainer/narrow_gemm.h"

#include <immintrin.h>

#include <algorithm>

namespace batchai::trainer {
namespace {

// R rows x V vectors of 16 columns, the whole depth, in registers.
// Where a finished tile goes: into C, or added into an image (below).
struct StoreToC {
  __attribute__((target("avx512f"))) void operator()(const NarrowGemm& g, int row, int col, __m512 v) const {
    if (g.bias) v = _mm512_add_ps(v, _mm512_loadu_ps(g.bias + col));
    // 0 where v < 0, else v (NaN and -0 pass), as the separate pass gives.
    if (g.relu) v = _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ), _mm512_setzero_ps());
    _mm512_storeu_ps(g.c + row * g.c_row + col, v);
  }
};

struct AddToImage {
  const PatchGeometry* p;
  float* dx;
  __attribute__((target("avx512f"))) void operator()(const NarrowGemm&, int row, int col, __m512 v) const {
    const int pixels = p->ho * p->wo;
    const int image = row / pixels, at = row % pixels, oy = at / p->wo, ox = at % p->wo;
    const int position = col / p->ci, channel = col % p->ci;  // column = (ky * k + kx) * ci + channel
    const int iy = oy + position / p->k - p->pad, ix = ox + position % p->k - p->pad;
    if (iy < 0 || iy >= p->hi || ix < 0 || ix >= p->wi) return;  // the padding's gradient goes nowhere
    float* to = dx + ((static_cast<std::ptrdiff_t>(image) * p->hi + iy) * p->wi + ix) * p->ci + channel;
    _mm512_storeu_ps(to, _mm512_add_ps(_mm512_loadu_ps(to), v));
  }
};

// Depth [t0, t1); adds to C when `add`, else overwrites it.
template <int R, int V, typename Store = StoreToC>
__attribute__((target("avx512f"))) void tile(const NarrowGemm& g, int r0, int c0, int t0, int t1, bool add,
                                             const Store& store = {}) {
  // Fully unrolled, so the accumulators live in registers.
  __m512 acc[R][V];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      acc[r][v] = add ? _mm512_loadu_ps(g.c + (r0 + r) * g.c_row + c0 + 16 * v) : _mm512_setzero_ps();
    }
  }
  const std::ptrdiff_t a_row = g.a_row, a_step = g.a_step, b_row = g.b_row;
  const float* a = g.a + r0 * a_row + t0 * a_step;
  const float* b = g.b + c0 + t0 * b_row;
  for (int t = t0; t < t1; ++t, a += a_step, b += b_row) {
    __m512 bv[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) bv[v] = _mm512_loadu_ps(b + 16 * v);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_set1_ps(a[r * a_row]);
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) acc[r][v] = _mm512_fmadd_ps(x, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) store(g, r0 + r, c0 + 16 * v, acc[r][v]);
  }
}

// Rows [first, last) of one column block of width 16 * V, R rows at a
// time, then the remainder one row at a time. When A is stored transposed
// (a weight gradient: depth is the long side, a batch of pixels), the depth
// goes in slices that stay in cache while every row block passes over
// them; else each row block would stream the whole of A again.
template <int R, int V>
void block(const NarrowGemm& g, int first, int last, int c0) {
  const int slice = g.a_row == 1 ? 256 : g.depth;
  for (int t0 = 0; t0 < g.depth; t0 += slice) {
    const int t1 = std::min(g.depth, t0 + slice);
    int r = first;
    for (; r + R <= last; r += R) tile<R, V>(g, r, c0, t0, t1, t0 > 0);
    for (; r < last; ++r) tile<1, V>(g, r, c0, t0, t1, t0 > 0);
  }
}

}  // namespace

void narrow_gemm_into_image(const NarrowGemm& g, const PatchGeometry& p, float* dx, int first, int last) {
  const AddToImage into{&p, dx};
  // The whole depth (the output channels, 32 or 64) at once: one pass.
  int c0 = 0;
  for (; c0 + 64 <= g.cols; c0 += 64) {
    int r = first;
    for (; r + 4 <= last; r += 4) tile<4, 4>(g, r, c0, 0, g.depth, false, into);
    for (; r < last; ++r) tile<1, 4>(g, r, c0, 0, g.depth, false, into);
  }
  for (; c0 + 16 <= g.cols; c0 += 16) {
    int r = first;
    for (; r + 8 <= last; r += 8) tile<8, 1>(g, r, c0, 0, g.depth, false, into);
    for (; r < last; ++r) tile<1, 1>(g, r, c0, 0, g.depth, false, into);
  }
}

bool narrow_gemm_available() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}

void narrow_gemm(const NarrowGemm& g, int first, int last) {
  int c0 = 0;
  // 4 rows x 64 columns where the width allows: each broadcast feeds four
  // FMAs; else 8 rows x 32 columns, and a last 16 if there is one.
  for (; c0 + 64 <= g.cols; c0 += 64) block<4, 4>(g, first, last, c0);
  for (; c0 + 32 <= g.cols; c0 += 32) block<8, 2>(g, first, last, c0);
  for (; c0 + 16 <= g.cols; c0 += 16) block<8, 1>(g, first, last, c0);
}

}  // namespace batchai::trainer
