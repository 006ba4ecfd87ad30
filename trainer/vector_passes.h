// Element-wise passes of a CPU step, 16 floats at a time with AVX-512.
//
// Each does the same operations in the same order as the scalar loop it
// stands for (no fused multiply-add where that loop rounds twice), so both
// give the same bits: the BLAS path's loops stay the reference, and a
// result does not depend on which of the two ran. Callers check
// narrow_gemm_available() first.
#pragma once

#include <cstddef>

#include "trainer/backend.h"

namespace batchai::trainer {

// Keras 2.2's RMSprop update over n parameters, the gradient scaled first:
//   g' = g * scale; a = rho * a + (1 - rho) * g' * g'; p -= lr * g' / (sqrt(a) + epsilon)
void rmsprop_scalar(float* p, float* a, const float* g, std::size_t n, const RmspropStep& s);
void rmsprop_avx512(float* p, float* a, const float* g, std::size_t n, const RmspropStep& s);

// A ReLU's derivative applied in place: grad[i] = y[i] > 0 ? grad[i] : 0,
// y being the ReLU's output.
void relu_backward_in_place_avx512(float* grad, const float* y, std::size_t n);

// Rows of `co` outputs get bias[j] added, then with `relu` `v < 0 ? 0 : v`
// (NaN and -0 pass): what narrow_gemm's store does, for outputs another
// algorithm wrote. co % 16 == 0.
void bias_relu_rows_avx512(float* y, const float* bias, std::size_t rows, int co, bool relu);

}  // namespace batchai::trainer
