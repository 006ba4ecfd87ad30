// The network's layers between the GEMMs: patches for the convolutions and
// back, bias, ReLU, max-pool and dropout, NHWC throughout as on the CPU.
// Every backward kernel gathers (each output element sums what reaches it)
// rather than scattering with atomics, so a step's result does not depend
// on thread timing.
#include "trainer/cuda/kernels.h"

namespace batchai::trainer::cuda {
namespace {

constexpr unsigned kThreads = 256;

unsigned blocks_for(std::size_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

__device__ std::size_t thread_index() { return static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; }

// One element of the im2col matrix per thread: row (image, oy, ox),
// column (ky, kx, input channel), zeros where the patch hangs over the edge.
__global__ void im2col_kernel(ConvGeometry g, const float* in, unsigned images, float* col) {
  const std::size_t kk = static_cast<std::size_t>(g.k) * g.k * g.ci;
  const std::size_t i = thread_index();
  if (i >= kk * g.ho * g.wo * images) return;
  const std::size_t row = i / kk, t = i % kk;
  const int c = static_cast<int>(t % g.ci);
  const int kx = static_cast<int>(t / g.ci % g.k);
  const int ky = static_cast<int>(t / (static_cast<std::size_t>(g.ci) * g.k));
  const int ox = static_cast<int>(row % g.wo);
  const int oy = static_cast<int>(row / g.wo % g.ho);
  const std::size_t e = row / (static_cast<std::size_t>(g.wo) * g.ho);
  const int iy = oy + ky - g.pad, ix = ox + kx - g.pad;
  col[i] = (iy < 0 || iy >= g.hi || ix < 0 || ix >= g.wi)
               ? 0.0f
               : in[((e * g.hi + iy) * g.wi + ix) * g.ci + c];
}

// One input element per thread: the sum over the patches that read it,
// in the order the CPU's col2im adds them (output pixels in row-major
// order, so ky and kx descending).
__global__ void col2im_kernel(ConvGeometry g, const float* dcol, unsigned images, float* dx) {
  const std::size_t kk = static_cast<std::size_t>(g.k) * g.k * g.ci;
  const std::size_t i = thread_index();
  if (i >= static_cast<std::size_t>(images) * g.hi * g.wi * g.ci) return;
  const int c = static_cast<int>(i % g.ci);
  const int ix = static_cast<int>(i / g.ci % g.wi);
  const int iy = static_cast<int>(i / (static_cast<std::size_t>(g.ci) * g.wi) % g.hi);
  const std::size_t e = i / (static_cast<std::size_t>(g.ci) * g.wi * g.hi);
  float sum = 0.0f;
  for (int ky = g.k - 1; ky >= 0; --ky) {
    const int oy = iy - ky + g.pad;
    if (oy < 0 || oy >= g.ho) continue;
    for (int kx = g.k - 1; kx >= 0; --kx) {
      const int ox = ix - kx + g.pad;
      if (ox < 0 || ox >= g.wo) continue;
      sum += dcol[((e * g.ho + oy) * g.wo + ox) * kk + (static_cast<std::size_t>(ky) * g.k + kx) * g.ci + c];
    }
  }
  dx[i] = sum;
}

__global__ void add_bias_kernel(float* out, const float* bias, std::size_t rows, int cols) {
  const std::size_t i = thread_index();
  if (i < rows * cols) out[i] += bias[i % cols];
}

__global__ void relu_forward_kernel(const float* in, float* out, std::size_t n) {
  const std::size_t i = thread_index();
  if (i < n) out[i] = in[i] < 0.0f ? 0.0f : in[i];  // NaN passes, as on the CPU
}

__global__ void relu_backward_kernel(const float* y, const float* dy, float* dx, std::size_t n) {
  const std::size_t i = thread_index();
  if (i < n) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

__global__ void pool_forward_kernel(const float* in, float* out, std::uint8_t* argmax, unsigned images, int hi,
                                    int wi, int c, int ho, int wo) {
  const std::size_t i = thread_index();
  if (i >= static_cast<std::size_t>(images) * ho * wo * c) return;
  const int ch = static_cast<int>(i % c);
  const int ox = static_cast<int>(i / c % wo);
  const int oy = static_cast<int>(i / (static_cast<std::size_t>(c) * wo) % ho);
  const std::size_t e = i / (static_cast<std::size_t>(c) * wo * ho);
  const float* p00 = in + ((e * hi + 2 * oy) * wi + 2 * ox) * c + ch;
  const float v[4] = {p00[0], p00[c], p00[static_cast<std::size_t>(wi) * c],
                      p00[static_cast<std::size_t>(wi) * c + c]};
  std::uint8_t best = 0;
  float top = v[0];
  for (std::uint8_t q = 1; q < 4; ++q) {
    if (v[q] > top) top = v[q], best = q;
  }
  out[i] = top;
  argmax[i] = best;
}

// One input element per thread: the output gradient if this element won
// its window, else 0 (also for the floored last row and column).
__global__ void pool_backward_kernel(const float* dy, const std::uint8_t* argmax, float* dx, unsigned images,
                                     int hi, int wi, int c, int ho, int wo) {
  const std::size_t i = thread_index();
  if (i >= static_cast<std::size_t>(images) * hi * wi * c) return;
  const int ch = static_cast<int>(i % c);
  const int x = static_cast<int>(i / c % wi);
  const int y = static_cast<int>(i / (static_cast<std::size_t>(c) * wi) % hi);
  const std::size_t e = i / (static_cast<std::size_t>(c) * wi * hi);
  const int oy = y / 2, ox = x / 2;
  float g = 0.0f;
  if (oy < ho && ox < wo) {
    const std::size_t o = ((e * ho + oy) * wo + ox) * c + ch;
    if (argmax[o] == static_cast<std::uint8_t>(((y & 1) << 1) | (x & 1))) g = dy[o];
  }
  dx[i] = g;
}

__global__ void dropout_forward_kernel(const float* in, float* out, float* mask, DeviceBatch b, unsigned rows,
                                       std::size_t per_example, std::size_t layer, float rate) {
  const std::size_t i = thread_index();
  if (i >= per_example * rows) return;
  const std::size_t e = i / per_example, j = i % per_example;
  const float keep_scale = 1.0f / (1.0f - rate);
  const float m = dropout_factor(dropout_base(b.key[e], layer), j, rate, keep_scale);
  mask[i] = m;
  out[i] = in[i] * m;
}

__global__ void multiply_kernel(const float* a, const float* b, float* out, std::size_t n) {
  const std::size_t i = thread_index();
  if (i < n) out[i] = a[i] * b[i];
}

}  // namespace

void im2col(const ConvGeometry& g, const float* in, unsigned images, float* col, cudaStream_t s) {
  const std::size_t n = static_cast<std::size_t>(g.k) * g.k * g.ci * g.ho * g.wo * images;
  im2col_kernel<<<blocks_for(n), kThreads, 0, s>>>(g, in, images, col);
}

void col2im(const ConvGeometry& g, const float* dcol, unsigned images, float* dx, cudaStream_t s) {
  const std::size_t n = static_cast<std::size_t>(images) * g.hi * g.wi * g.ci;
  col2im_kernel<<<blocks_for(n), kThreads, 0, s>>>(g, dcol, images, dx);
}

void add_bias(float* out, const float* bias, std::size_t rows, int cols, cudaStream_t s) {
  add_bias_kernel<<<blocks_for(rows * cols), kThreads, 0, s>>>(out, bias, rows, cols);
}

void relu_forward(const float* in, float* out, std::size_t n, cudaStream_t s) {
  relu_forward_kernel<<<blocks_for(n), kThreads, 0, s>>>(in, out, n);
}

void relu_backward(const float* y, const float* dy, float* dx, std::size_t n, cudaStream_t s) {
  relu_backward_kernel<<<blocks_for(n), kThreads, 0, s>>>(y, dy, dx, n);
}

void pool_forward(const float* in, float* out, std::uint8_t* argmax, unsigned images, int hi, int wi, int c,
                  int ho, int wo, cudaStream_t s) {
  const std::size_t n = static_cast<std::size_t>(images) * ho * wo * c;
  pool_forward_kernel<<<blocks_for(n), kThreads, 0, s>>>(in, out, argmax, images, hi, wi, c, ho, wo);
}

void pool_backward(const float* dy, const std::uint8_t* argmax, float* dx, unsigned images, int hi, int wi,
                   int c, int ho, int wo, cudaStream_t s) {
  const std::size_t n = static_cast<std::size_t>(images) * hi * wi * c;
  pool_backward_kernel<<<blocks_for(n), kThreads, 0, s>>>(dy, argmax, dx, images, hi, wi, c, ho, wo);
}

void dropout_forward(const float* in, float* out, float* mask, DeviceBatch b, unsigned rows, std::size_t per_example,
                     std::size_t layer, float rate, cudaStream_t s) {
  dropout_forward_kernel<<<blocks_for(per_example * rows), kThreads, 0, s>>>(in, out, mask, b, rows, per_example,
                                                                             layer, rate);
}

void multiply(const float* a, const float* b, float* out, std::size_t n, cudaStream_t s) {
  multiply_kernel<<<blocks_for(n), kThreads, 0, s>>>(a, b, out, n);
}

}  // namespace batchai::trainer::cuda
