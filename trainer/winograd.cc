// Winograd F(2,3) and F(4,3) for 3x3 stride-1 convolutions: the portable,
// scalar version (see winograd.h).
//
// Where the matrices come from (Toom-Cook). F(m,3) gives m outputs of a
// correlation y_i = sum_k d_{i+k} g_k from an input tile d of a = m + 2.
// The correlation is the transpose of the linear convolution s = u * g of
// a polynomial u (m coefficients) with g (3): s has a coefficients, so it is
// fixed by its values at a - 1 finite points p and at infinity (its leading
// coefficient). With E_k the a x k matrix whose row for a point p is
// (1, p, ..., p^(k-1)) and whose row for infinity is (0, ..., 0, 1), and V =
// E_a (the Vandermonde matrix with the point at infinity),
//   s = V^-1 ((E_m u) . (E_3 g)),   so   y = E_m^T ((E_3 g) . (V^-T d)),
// that is A = E_m, G = E_3, B^T = V^-T, and y = A^T [(G g) . (B^T d)]; in two
// dimensions Y = A^T [(G g G^T) . (B^T D B)] A. Each row xi may be scaled
// in G and inversely in B^T or A^T; we scale every row of B^T and A^T to
// the smallest integer row (so the data transforms are exact on integers)
// and leave all fractions in G, stored as integers over one common
// denominator L (G = Gi / L). Exact rational arithmetic (Fractions, and
// the identity checked on random integers) gave the tables below; L is 2
// for F(2,3) and 24 for both F(4,3) sets.
//
// The three operations, per tile and channel pair:
//   forward      U = Gi g Gi^T / L^2, V = B^T d B, M = sum_ci V U, Y = A^T M A
//   input grad   dM = A dY A^T, dV = sum_co dM U, dD = B dV B^T (tiles added)
//   kernel grad  dU = sum_tiles V dM, dg = Gi^T dU Gi / L^2
// The division by L^2 comes last in U and dg, and is a division (not a
// product with 1/L^2, which is inexact for L = 24): with integer data and
// kernels that are multiples of 9, every value on the way is an integer or
// a multiple of 1/64, exact in float32 while it stays small enough
// (trainer_winograd_test relies on it, and says how small).
#include "trainer/winograd.h"

#include <cblas.h>

#include <algorithm>
#include <string>

namespace batchai::trainer {
namespace {

constexpr int kMaxAlpha = 6;

struct Transform {
  int m, a;         // output tile m x m, input tile a x a
  const float* at;  // A^T, m x a
  const float* bt;  // B^T, a x a
  const float* gi;  // Gi = L G, a x 3
  float l2;         // L^2
};

// F(2,3), points 0, 1, -1, infinity.
constexpr float kAt2[] = {1, 1, 1, 0,  //
                          0, 1, -1, 1};
constexpr float kBt2[] = {1, 0, -1, 0,  //
                          0, 1, 1,  0,  //
                          0, -1, 1, 0,  //
                          0, -1, 0, 1};
constexpr float kG2[] = {2, 0, 0,  //
                         1, 1, 1,  //
                         1, -1, 1,  //
                         0, 0, 2};

// F(4,3), points 0, 1, -1, 2, -2, infinity.
constexpr float kAt4Twos[] = {1, 1, 1,  1, 1,  0,  //
                              0, 1, -1, 2, -2, 0,  //
                              0, 1, 1,  4, 4,  0,  //
                              0, 1, -1, 8, -8, 1};
constexpr float kBt4Twos[] = {4, 0,  -5, 0,  1,  0,  //
                              0, 4,  4,  -1, -1, 0,  //
                              0, -4, 4,  1,  -1, 0,  //
                              0, -2, -1, 2,  1,  0,  //
                              0, 2,  -1, -2, 1,  0,  //
                              0, 4,  0,  -5, 0,  1};
constexpr float kG4Twos[] = {6, 0,  0,  //
                             4, 4,  4,  //
                             4, -4, 4,  //
                             1, 2,  4,  //
                             1, -2, 4,  //
                             0, 0,  24};

// F(4,3), points 0, 1, -1, 1/2, -1/2, infinity.
constexpr float kAt4Halves[] = {1, 1, 1,  8, 8,  0,  //
                                0, 1, -1, 4, -4, 0,  //
                                0, 1, 1,  2, 2,  0,  //
                                0, 1, -1, 1, -1, 1};
constexpr float kBt4Halves[] = {1, 0,  -5, 0,  4,  0,  //
                                0, -1, -1, 4,  4,  0,  //
                                0, 1,  -1, -4, 4,  0,  //
                                0, 1,  2,  -1, -2, 0,  //
                                0, -1, 2,  1,  -2, 0,  //
                                0, 1,  0,  -5, 0,  4};
constexpr float kG4Halves[] = {24, 0,  0,  //
                               4,  4,  4,  //
                               4,  -4, 4,  //
                               4,  2,  1,  //
                               4,  -2, 1,  //
                               0,  0,  6};

Transform transform_for(const WinogradConv& c) {
  if (c.tile == WinogradTile::f2x3) return {2, 4, kAt2, kBt2, kG2, 4.0f};
  if (c.points == WinogradPoints::twos) return {4, 6, kAt4Twos, kBt4Twos, kG4Twos, 576.0f};
  return {4, 6, kAt4Halves, kBt4Halves, kG4Halves, 576.0f};
}

// Every transform runs over a run of up to kLanes channels at once: the
// channels are contiguous in NHWC, in the kernel and in the GEMMs' blocks,
// so each step is a loop over contiguous floats that a compiler vectorises.
constexpr int kLanes = 64;
using Block = float[kMaxAlpha * kMaxAlpha * kLanes];

// out[i][j] = sum_k,l op(L)[i][k] in[k][l] op(L)[j][l] for each of the n
// lanes: out = op(L) in op(L)^T, op(L) being p x q and in q x q blocks of
// kLanes floats. L is stored row-major as p x q, or as q x p when
// `transposed`. Zero coefficients are skipped; the terms are added in
// order of k, then of l.
//
// Two builds of it, chosen when the program loads: it is most of a
// Winograd layer's time, and the AVX-512 one (16 lanes and fused
// multiply-adds) took 12% less off the tutorial's layers than the
// baseline's SSE.
//
// The same, with the matrix, its shape and the lanes known when compiled:
// the loops unroll, each coefficient becomes a constant, the zeros drop
// out and the ones stay plain adds, and the lanes need no remainder loop.
// The terms are the same, added in the same order, so the bits are the
// same as the general version's.
template <const float* L, int P, int Q, bool Transposed, int N>
[[gnu::always_inline]] inline void sandwich_fixed(const float* in, float* out) {
  float tmp[P * Q * N];
#pragma GCC unroll 6
  for (int i = 0; i < P; ++i) {
#pragma GCC unroll 6
    for (int j = 0; j < Q; ++j) {
      float* t = tmp + (i * Q + j) * N;
      for (int e = 0; e < N; ++e) t[e] = 0.0f;
#pragma GCC unroll 6
      for (int k = 0; k < Q; ++k) {
        const float c = Transposed ? L[k * P + i] : L[i * Q + k];
        if (c == 0.0f) continue;
        const float* from = in + (k * Q + j) * kLanes;
        for (int e = 0; e < N; ++e) t[e] += c * from[e];
      }
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < P; ++i) {
#pragma GCC unroll 6
    for (int j = 0; j < P; ++j) {
      float* o = out + (i * P + j) * kLanes;
      for (int e = 0; e < N; ++e) o[e] = 0.0f;
#pragma GCC unroll 6
      for (int k = 0; k < Q; ++k) {
        const float c = Transposed ? L[k * P + j] : L[j * Q + k];
        if (c == 0.0f) continue;
        const float* from = tmp + (i * Q + k) * N;
        for (int e = 0; e < N; ++e) o[e] += c * from[e];
      }
    }
  }
}

// The data transforms of F(4,3) with the default points, over 32 or 64
// channels (the tutorial's layers): most of a Winograd layer's time.
template <int N>
[[gnu::always_inline]] inline bool sandwich_known(const float* l, int p, int q, bool transposed, const float* in,
                                                  float* out) {
  if (l == kBt4Twos && p == 6 && q == 6) {
    transposed ? sandwich_fixed<kBt4Twos, 6, 6, true, N>(in, out) : sandwich_fixed<kBt4Twos, 6, 6, false, N>(in, out);
    return true;
  }
  if (l == kAt4Twos && p == 6 && q == 4 && transposed) return sandwich_fixed<kAt4Twos, 6, 4, true, N>(in, out), true;
  if (l == kAt4Twos && p == 4 && q == 6 && !transposed) {
    return sandwich_fixed<kAt4Twos, 4, 6, false, N>(in, out), true;
  }
  return false;
}

__attribute__((target_clones("arch=x86-64-v4", "default"))) void sandwich(const float* l, int p, int q,
                                                                          bool transposed, const float* in,
                                                                          float* out, int n) {
  if (n == 64 && sandwich_known<64>(l, p, q, transposed, in, out)) return;
  if (n == 32 && sandwich_known<32>(l, p, q, transposed, in, out)) return;
  float op[kMaxAlpha * kMaxAlpha];
  for (int i = 0; i < p; ++i) {
    for (int k = 0; k < q; ++k) op[i * q + k] = transposed ? l[k * p + i] : l[i * q + k];
  }
  Block tmp;
  for (int i = 0; i < p; ++i) {
    for (int j = 0; j < q; ++j) {
      float* t = tmp + (i * q + j) * kLanes;
      std::fill(t, t + n, 0.0f);
      for (int k = 0; k < q; ++k) {
        const float c = op[i * q + k];
        if (c == 0.0f) continue;
        const float* from = in + (k * q + j) * kLanes;
        for (int e = 0; e < n; ++e) t[e] += c * from[e];
      }
    }
  }
  for (int i = 0; i < p; ++i) {
    for (int j = 0; j < p; ++j) {
      float* o = out + (i * p + j) * kLanes;
      std::fill(o, o + n, 0.0f);
      for (int k = 0; k < q; ++k) {
        const float c = op[j * q + k];
        if (c == 0.0f) continue;
        const float* from = tmp + (i * q + k) * kLanes;
        for (int e = 0; e < n; ++e) o[e] += c * from[e];
      }
    }
  }
}

// The sizes every operation shares.
struct Plan {
  Transform t;
  int ho, wo, rows, cols;  // the output and its crop
  int tiles_y, tiles_x, tiles;  // per image
  int block;                    // images per GEMM batch
  std::size_t p;                // tiles per block (the GEMMs' row count)
  float* v;                     // [a*a][p][ci]: V, or dV
  float* m;                     // [a*a][p][co]: M, or dM
  float* u;                     // [a*a][ci][co]: U, or dU
};

Plan plan_for(const WinogradConv& c) {
  Plan pl{};
  pl.t = transform_for(c);
  pl.ho = c.out_h();
  pl.wo = c.out_w();
  pl.rows = c.rows > 0 ? c.rows : pl.ho;
  pl.cols = c.cols > 0 ? c.cols : pl.wo;
  pl.tiles_y = (pl.rows + pl.t.m - 1) / pl.t.m;
  pl.tiles_x = (pl.cols + pl.t.m - 1) / pl.t.m;
  pl.tiles = pl.tiles_y * pl.tiles_x;
  if (c.images_per_block > 0) {
    pl.block = std::min(c.images_per_block, std::max(c.n, 1));
  } else {
    // Blocks whose V and M stay within about half of a 1 MiB L2: all in
    // one block they took as long or longer, with a workspace 8x larger
    // (conv2d_2 at batch 32: 19 MB).
    const std::size_t per_image =
        sizeof(float) * pl.t.a * pl.t.a * static_cast<std::size_t>(pl.tiles) * (c.ci + c.co);
    const std::size_t fit = std::max<std::size_t>(1, (std::size_t{512} << 10) / per_image);
    pl.block = static_cast<int>(std::min<std::size_t>(fit, static_cast<std::size_t>(std::max(c.n, 1))));
  }
  pl.p = static_cast<std::size_t>(pl.block) * pl.tiles;
  return pl;
}

std::size_t floats_for(const WinogradConv& c, const Plan& pl) {
  const std::size_t aa = static_cast<std::size_t>(pl.t.a) * pl.t.a;
  return aa * (pl.p * c.ci + pl.p * c.co + static_cast<std::size_t>(c.ci) * c.co);
}

Status need(std::size_t have, std::size_t want, const char* what) {
  if (have >= want) return {};
  return Error{std::string("winograd: ") + what + " holds " + std::to_string(have) + " floats, needs " +
               std::to_string(want)};
}

// Checks `c` and the spans' sizes and lays the workspace out.
Result<Plan> prepare(const WinogradConv& c, std::size_t x_size, std::size_t y_size, std::size_t w_size,
                     std::span<float> workspace) {
  if (auto s = winograd_check(c); !s) return s.error();
  Plan pl = plan_for(c);
  const std::size_t n = static_cast<std::size_t>(c.n);
  if (auto s = need(x_size, n * c.h * c.w * c.ci, "the input (or its gradient)"); !s) return s.error();
  if (auto s = need(y_size, n * pl.ho * pl.wo * c.co, "the output (or its gradient)"); !s) return s.error();
  if (auto s = need(w_size, static_cast<std::size_t>(9) * c.ci * c.co, "the kernel (or its gradient)"); !s) {
    return s.error();
  }
  if (auto s = need(workspace.size(), floats_for(c, pl), "the workspace"); !s) return s.error();
  const std::size_t aa = static_cast<std::size_t>(pl.t.a) * pl.t.a;
  pl.v = workspace.data();
  pl.m = pl.v + aa * pl.p * c.ci;
  pl.u = pl.m + aa * pl.p * c.co;
  return pl;
}

// U[xi][ci][co] = (Gi g Gi^T)[xi] / L^2 for every channel pair.
void transform_kernel(const WinogradConv& c, const Plan& pl, const float* w) {
  const int aa = pl.t.a * pl.t.a;
  Block g, u;
  for (int i = 0; i < c.ci; ++i) {
    for (int o0 = 0; o0 < c.co; o0 += kLanes) {
      const int n = std::min(kLanes, c.co - o0);
      for (int k = 0; k < 9; ++k) {
        std::copy_n(w + (static_cast<std::size_t>(k) * c.ci + i) * c.co + o0, n, g + k * kLanes);
      }
      sandwich(pl.t.gi, pl.t.a, 3, false, g, u, n);
      for (int xi = 0; xi < aa; ++xi) {
        float* to = pl.u + (static_cast<std::size_t>(xi) * c.ci + i) * c.co + o0;
        for (int e = 0; e < n; ++e) to[e] = u[xi * kLanes + e] / pl.t.l2;
      }
    }
  }
}

// V[xi][tile][ci] = (B^T d B)[xi] for the block's input tiles, zeros read
// where a tile hangs over the image.
void transform_input(const WinogradConv& c, const Plan& pl, const float* x, int e0, int e1) {
  const int a = pl.t.a, aa = a * a;
  Block d, v;
  for (int e = e0; e < e1; ++e) {
    const float* image = x + static_cast<std::size_t>(e) * c.h * c.w * c.ci;
    for (int ty = 0; ty < pl.tiles_y; ++ty) {
      for (int tx = 0; tx < pl.tiles_x; ++tx) {
        const std::size_t tile = static_cast<std::size_t>(e - e0) * pl.tiles + ty * pl.tiles_x + tx;
        const int y0 = ty * pl.t.m - c.pad, x0 = tx * pl.t.m - c.pad;
        for (int c0 = 0; c0 < c.ci; c0 += kLanes) {
          const int n = std::min(kLanes, c.ci - c0);
          for (int i = 0; i < a; ++i) {
            const int iy = y0 + i;
            for (int j = 0; j < a; ++j) {
              const int ix = x0 + j;
              float* to = d + (i * a + j) * kLanes;
              if (iy >= 0 && iy < c.h && ix >= 0 && ix < c.w) {
                std::copy_n(image + (static_cast<std::size_t>(iy) * c.w + ix) * c.ci + c0, n, to);
              } else {
                std::fill(to, to + n, 0.0f);
              }
            }
          }
          sandwich(pl.t.bt, a, a, false, d, v, n);
          for (int xi = 0; xi < aa; ++xi) std::copy_n(v + xi * kLanes, n, pl.v + (xi * pl.p + tile) * c.ci + c0);
        }
      }
    }
  }
}

// M[xi][tile][co] = (A dY A^T)[xi] for the block's output tiles, dY taken
// as zero outside the crop (and never read there).
void transform_output_gradient(const WinogradConv& c, const Plan& pl, const float* dy, int e0, int e1) {
  const int m = pl.t.m, a = pl.t.a, aa = a * a;
  Block t, dm;
  for (int e = e0; e < e1; ++e) {
    const float* image = dy + static_cast<std::size_t>(e) * pl.ho * pl.wo * c.co;
    for (int ty = 0; ty < pl.tiles_y; ++ty) {
      for (int tx = 0; tx < pl.tiles_x; ++tx) {
        const std::size_t tile = static_cast<std::size_t>(e - e0) * pl.tiles + ty * pl.tiles_x + tx;
        for (int o0 = 0; o0 < c.co; o0 += kLanes) {
          const int n = std::min(kLanes, c.co - o0);
          for (int i = 0; i < m; ++i) {
            const int oy = ty * m + i;
            for (int j = 0; j < m; ++j) {
              const int ox = tx * m + j;
              float* to = t + (i * m + j) * kLanes;
              if (oy < pl.rows && ox < pl.cols) {
                std::copy_n(image + (static_cast<std::size_t>(oy) * pl.wo + ox) * c.co + o0, n, to);
              } else {
                std::fill(to, to + n, 0.0f);
              }
            }
          }
          sandwich(pl.t.at, a, m, true, t, dm, n);
          for (int xi = 0; xi < aa; ++xi) std::copy_n(dm + xi * kLanes, n, pl.m + (xi * pl.p + tile) * c.co + o0);
        }
      }
    }
  }
}

// Y = A^T M A per output tile, written inside the crop only.
void inverse_output(const WinogradConv& c, const Plan& pl, float* y, int e0, int e1) {
  const int m = pl.t.m, a = pl.t.a, aa = a * a;
  Block mm, t;
  for (int e = e0; e < e1; ++e) {
    float* image = y + static_cast<std::size_t>(e) * pl.ho * pl.wo * c.co;
    for (int ty = 0; ty < pl.tiles_y; ++ty) {
      for (int tx = 0; tx < pl.tiles_x; ++tx) {
        const std::size_t tile = static_cast<std::size_t>(e - e0) * pl.tiles + ty * pl.tiles_x + tx;
        for (int o0 = 0; o0 < c.co; o0 += kLanes) {
          const int n = std::min(kLanes, c.co - o0);
          for (int xi = 0; xi < aa; ++xi) std::copy_n(pl.m + (xi * pl.p + tile) * c.co + o0, n, mm + xi * kLanes);
          sandwich(pl.t.at, m, a, false, mm, t, n);
          for (int i = 0; i < m; ++i) {
            const int oy = ty * m + i;
            if (oy >= pl.rows) break;
            for (int j = 0; j < m; ++j) {
              const int ox = tx * m + j;
              if (ox >= pl.cols) break;
              std::copy_n(t + (i * m + j) * kLanes, n, image + (static_cast<std::size_t>(oy) * pl.wo + ox) * c.co + o0);
            }
          }
        }
      }
    }
  }
}

// dD = B dV B^T per input tile, added into dx where it lies in the image
// (tiles overlap by two pixels each way).
void inverse_input_gradient(const WinogradConv& c, const Plan& pl, float* dx, int e0, int e1) {
  const int a = pl.t.a, aa = a * a;
  Block dv, dd;
  for (int e = e0; e < e1; ++e) {
    float* image = dx + static_cast<std::size_t>(e) * c.h * c.w * c.ci;
    std::fill(image, image + static_cast<std::size_t>(c.h) * c.w * c.ci, 0.0f);
    for (int ty = 0; ty < pl.tiles_y; ++ty) {
      for (int tx = 0; tx < pl.tiles_x; ++tx) {
        const std::size_t tile = static_cast<std::size_t>(e - e0) * pl.tiles + ty * pl.tiles_x + tx;
        const int y0 = ty * pl.t.m - c.pad, x0 = tx * pl.t.m - c.pad;
        for (int c0 = 0; c0 < c.ci; c0 += kLanes) {
          const int n = std::min(kLanes, c.ci - c0);
          for (int xi = 0; xi < aa; ++xi) std::copy_n(pl.v + (xi * pl.p + tile) * c.ci + c0, n, dv + xi * kLanes);
          sandwich(pl.t.bt, a, a, true, dv, dd, n);
          for (int i = 0; i < a; ++i) {
            const int iy = y0 + i;
            if (iy < 0 || iy >= c.h) continue;
            for (int j = 0; j < a; ++j) {
              const int ix = x0 + j;
              if (ix < 0 || ix >= c.w) continue;
              float* to = image + (static_cast<std::size_t>(iy) * c.w + ix) * c.ci + c0;
              const float* from = dd + (i * a + j) * kLanes;
              for (int k = 0; k < n; ++k) to[k] += from[k];
            }
          }
        }
      }
    }
  }
}

// dg = Gi^T dU Gi / L^2 per channel pair, into the Keras layout.
void inverse_kernel_gradient(const WinogradConv& c, const Plan& pl, float* dw) {
  const int aa = pl.t.a * pl.t.a;
  Block du, g;
  for (int i = 0; i < c.ci; ++i) {
    for (int o0 = 0; o0 < c.co; o0 += kLanes) {
      const int n = std::min(kLanes, c.co - o0);
      for (int xi = 0; xi < aa; ++xi) {
        std::copy_n(pl.u + (static_cast<std::size_t>(xi) * c.ci + i) * c.co + o0, n, du + xi * kLanes);
      }
      sandwich(pl.t.gi, 3, pl.t.a, true, du, g, n);
      for (int k = 0; k < 9; ++k) {
        float* to = dw + (static_cast<std::size_t>(k) * c.ci + i) * c.co + o0;
        for (int e = 0; e < n; ++e) to[e] = g[k * kLanes + e] / pl.t.l2;
      }
    }
  }
}

}  // namespace

Status winograd_check(const WinogradConv& c) {
  auto bad = [](const std::string& why) { return Status(Error{"winograd: " + why}); };
  if (c.kh != 3 || c.kw != 3) {
    return bad("the kernel is " + std::to_string(c.kh) + "x" + std::to_string(c.kw) + ", not 3x3");
  }
  if (c.stride != 1) return bad("stride " + std::to_string(c.stride) + ", not 1");
  if (c.pad != 0 && c.pad != 1) return bad("padding " + std::to_string(c.pad) + ", neither 0 (valid) nor 1 (same)");
  if (c.n < 0 || c.ci < 1 || c.co < 1) return bad("needs n >= 0 images and at least one channel in and out");
  if (c.out_h() < 1 || c.out_w() < 1) {
    return bad("a " + std::to_string(c.h) + "x" + std::to_string(c.w) + " input has no output");
  }
  if (c.rows < 0 || c.rows > c.out_h() || c.cols < 0 || c.cols > c.out_w()) {
    return bad("the crop " + std::to_string(c.rows) + "x" + std::to_string(c.cols) + " is not within the " +
               std::to_string(c.out_h()) + "x" + std::to_string(c.out_w()) + " output");
  }
  if (c.images_per_block < 0) return bad("images_per_block is negative");
  return {};
}

std::size_t winograd_workspace_floats(const WinogradConv& c) {
  if (!winograd_check(c)) return 0;
  return floats_for(c, plan_for(c));
}

Status winograd_forward(const WinogradConv& c, std::span<const float> x, std::span<const float> w,
                        std::span<float> y, std::span<float> workspace) {
  auto prepared = prepare(c, x.size(), y.size(), w.size(), workspace);
  if (!prepared) return prepared.error();
  const Plan& pl = *prepared;
  const int aa = pl.t.a * pl.t.a;
  transform_kernel(c, pl, w.data());
  for (int e0 = 0; e0 < c.n; e0 += pl.block) {
    const int e1 = std::min(c.n, e0 + pl.block);
    const int rows = (e1 - e0) * pl.tiles;
    transform_input(c, pl, x.data(), e0, e1);
    for (int xi = 0; xi < aa; ++xi) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, c.co, c.ci, 1.0f, pl.v + xi * pl.p * c.ci, c.ci,
                  pl.u + static_cast<std::size_t>(xi) * c.ci * c.co, c.co, 0.0f, pl.m + xi * pl.p * c.co, c.co);
    }
    inverse_output(c, pl, y.data(), e0, e1);
  }
  return {};
}

Status winograd_backward_data(const WinogradConv& c, std::span<const float> w, std::span<const float> dy,
                              std::span<float> dx, std::span<float> workspace) {
  auto prepared = prepare(c, dx.size(), dy.size(), w.size(), workspace);
  if (!prepared) return prepared.error();
  const Plan& pl = *prepared;
  const int aa = pl.t.a * pl.t.a;
  transform_kernel(c, pl, w.data());
  for (int e0 = 0; e0 < c.n; e0 += pl.block) {
    const int e1 = std::min(c.n, e0 + pl.block);
    const int rows = (e1 - e0) * pl.tiles;
    transform_output_gradient(c, pl, dy.data(), e0, e1);
    // dV[xi] (tiles x ci) = dM[xi] (tiles x co) U[xi]^T.
    for (int xi = 0; xi < aa; ++xi) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, c.ci, c.co, 1.0f, pl.m + xi * pl.p * c.co, c.co,
                  pl.u + static_cast<std::size_t>(xi) * c.ci * c.co, c.co, 0.0f, pl.v + xi * pl.p * c.ci, c.ci);
    }
    inverse_input_gradient(c, pl, dx.data(), e0, e1);
  }
  return {};
}

Status winograd_backward_filter(const WinogradConv& c, std::span<const float> x, std::span<const float> dy,
                                std::span<float> dw, std::span<float> workspace) {
  auto prepared = prepare(c, x.size(), dy.size(), dw.size(), workspace);
  if (!prepared) return prepared.error();
  const Plan& pl = *prepared;
  const int aa = pl.t.a * pl.t.a;
  std::fill(pl.u, pl.u + static_cast<std::size_t>(aa) * c.ci * c.co, 0.0f);
  for (int e0 = 0; e0 < c.n; e0 += pl.block) {
    const int e1 = std::min(c.n, e0 + pl.block);
    const int rows = (e1 - e0) * pl.tiles;
    transform_input(c, pl, x.data(), e0, e1);
    transform_output_gradient(c, pl, dy.data(), e0, e1);
    // dU[xi] (ci x co) += V[xi]^T (ci x tiles) dM[xi] (tiles x co).
    for (int xi = 0; xi < aa; ++xi) {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c.ci, c.co, rows, 1.0f, pl.v + xi * pl.p * c.ci, c.ci,
                  pl.m + xi * pl.p * c.co, c.co, 1.0f, pl.u + static_cast<std::size_t>(xi) * c.ci * c.co, c.co);
    }
  }
  inverse_kernel_gradient(c, pl, dw.data());
  return {};
}

}  // namespace batchai::trainer
