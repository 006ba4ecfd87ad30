// Winograd convolution for the trainer's 3x3 stride-1 layers: forward,
// input gradient and kernel gradient, each as a transform, one GEMM per
// transformed point xi (16 for F(2,3), 36 for F(4,3)) and an inverse
// transform.
//
// Layouts are the CPU backend's: activations NHWC with the batch outermost,
// the kernel in Keras' layout [ky][kx][ci][co]. Padding is `same` (1) or
// `valid` (0). An optional crop computes only the first rows x cols outputs
// (conv2d_4's 13x13 output loses its last row and column to the 2x2 pool
// that follows): outputs outside it are left as they are in forward and
// count as zero gradient in backward.
//
// This is the portable version: plain C++ without intrinsics, one thread,
// any channel counts, the GEMMs through OpenBLAS (cblas_sgemm, row-major).
// It is the reference for faster ones. Nothing here allocates: the caller
// provides a workspace of winograd_workspace_floats() floats, sized once;
// calls on different workspaces may run at the same time. Forward and the
// input gradient each transform the kernel afresh (a^2 x ci x co values,
// small next to the tiles').
#pragma once

#include <cstddef>
#include <span>

#include "base/result.h"

namespace batchai::trainer {

// Output tile m x m of F(m,3); the input tile is (m+2) x (m+2).
enum class WinogradTile { f2x3, f4x3 };

// The interpolation points of F(4,3) (F(2,3) always uses 0, 1, -1 and
// infinity). Both sets are exact in binary and give transforms with
// entries of the same size; they differ in how rounding errors grow.
enum class WinogradPoints {
  twos,    // 0, +-1, +-2, infinity
  halves,  // 0, +-1, +-1/2, infinity
};

// The default F(4,3) points. The two sets are mirror images: p -> 1/p maps
// one onto the other (0 onto infinity), and with the 1/3s kept in G the
// halves' transforms are the twos' with rows and columns reversed, up to
// exact powers of two. So on data whose statistics do not change when the
// image and kernel are flipped they round alike, except for the order in
// which each transform adds its terms. Measured on the tutorial's layer
// shapes (trainer_winograd_test, 20 seeds): the twos had the lower rms
// error in 8 of the 9 (shape, operation) pairs (and tied the ninth), the
// worst single elements were mixed (9.6e-7 vs 8.3e-7 at most) and within
// the spread between seeds; hence the twos.
inline constexpr WinogradPoints kWinogradDefaultPoints = WinogradPoints::twos;

struct WinogradConv {
  int n = 0;        // images
  int h = 0, w = 0; // input height and width
  int ci = 0, co = 0;
  int kh = 3, kw = 3;  // anything but 3 x 3 is refused
  int stride = 1;      // anything but 1 is refused
  int pad = 0;         // 1: same, 0: valid
  int rows = 0, cols = 0;  // the crop: the first rows x cols outputs; 0: all
  WinogradTile tile = WinogradTile::f4x3;
  WinogradPoints points = kWinogradDefaultPoints;
  // Images transformed per batch of GEMMs (the GEMMs' rows are their
  // tiles); 0: as many as keep the transformed block within about 512 KiB.
  int images_per_block = 0;

  int out_h() const { return h + 2 * pad - kh + 1; }
  int out_w() const { return w + 2 * pad - kw + 1; }
};

// Whether the convolution is one this module computes, and why not.
Status winograd_check(const WinogradConv& c);

// The workspace every operation on `c` needs, in floats (0 if `c` is
// refused by winograd_check).
std::size_t winograd_workspace_floats(const WinogradConv& c);

// y[n,oy,ox,co] = sum x[n,oy+ky-pad,ox+kx-pad,ci] * w[ky,kx,ci,co] (no bias)
// for oy < rows, ox < cols; y is n x out_h x out_w x co.
Status winograd_forward(const WinogradConv& c, std::span<const float> x, std::span<const float> w,
                        std::span<float> y, std::span<float> workspace);

// dx (n x h x w x ci, overwritten) = the gradient of sum(y * dy) with
// respect to x, dy read only inside the crop.
Status winograd_backward_data(const WinogradConv& c, std::span<const float> w, std::span<const float> dy,
                              std::span<float> dx, std::span<float> workspace);

// dw (3 x 3 x ci x co, overwritten) = the gradient of sum(y * dy) with
// respect to w, summed over the images.
Status winograd_backward_filter(const WinogradConv& c, std::span<const float> x, std::span<const float> dy,
                                std::span<float> dw, std::span<float> workspace);

}  // namespace batchai::trainer
