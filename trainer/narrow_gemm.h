// The GEMMs of a small convolution, with AVX-512 where the CPU has it.
//
// Every convolution GEMM here has one narrow side: 32 or 64 output
// channels forward, the same 32 or 64 as the inner dimension of the input
// gradient, a 27..576 x 32..64 weight gradient. General BLAS kernels tile
// for large square matrices, and the OpenBLAS of Debian 12 runs AVX2
// kernels on AMD's AVX-512 CPUs. One register tile fits all three
// products here: 8 rows x 32 columns of the result (16 zmm accumulators),
// updated by one broadcast of each row's element times two vector loads
// of a row of the other operand.
//
// C (rows x cols) = sum over t of A(r, t) * B(t, c), with
//   A(r, t) = a[r * a_row + t * a_step]   (a_step 1: A row-major; a_row 1: A^T)
//   B(t, c) = b[t * b_row + c]            (rows of B contiguous)
//   C(r, c) = c[r * c_row + c]            (overwritten)
// `cols` must be a multiple of 16. With `bias`, C(r, c) gets bias[c] added
// and with `relu` then negatives become 0 (NaN passes), in the store: only for a product that is
// not sliced over its depth (a_step 1), which each C element stores once.
#pragma once

#include <cstddef>

namespace batchai::trainer {

struct NarrowGemm {
  int rows = 0, cols = 0, depth = 0;
  const float* a = nullptr;
  std::ptrdiff_t a_row = 0, a_step = 0;
  const float* b = nullptr;
  std::ptrdiff_t b_row = 0;
  float* c = nullptr;
  std::ptrdiff_t c_row = 0;
  const float* bias = nullptr;
  bool relu = false;
};

// Whether this CPU runs the AVX-512 kernel (else callers use BLAS).
bool narrow_gemm_available();

// Computes rows [first, last) of C; threads take disjoint ranges.
void narrow_gemm(const NarrowGemm& g, int first, int last);

// A convolution's input gradient without its im2col-shaped intermediate:
// each row of the product (an output pixel's patch gradient, columns ky,
// kx, input channel) is added straight into the image gradient `dx`
// (NHWC, zeroed by the caller) instead of being stored. `g.c` is unused.
// Rows of one image must not be split between threads: they add into the
// same pixels. Needs ci % 16 == 0.
struct PatchGeometry {
  int k, pad, ci, hi, wi, ho, wo;
};
void narrow_gemm_into_image(const NarrowGemm& g, const PatchGeometry& p, float* dx, int first, int last);

}  // namespace batchai::trainer
