// The kernels around the network: making a batch from the resident data
// set, the loss, and the optimizer. Their arithmetic mirrors the CPU
// backend's (cpu_backend.cc, backend.cc); schedule.h is shared outright.
#include <cmath>

#include "trainer/cuda/kernels.h"

namespace batchai::trainer::cuda {
namespace {

constexpr unsigned kThreads = 256;

unsigned blocks_for(std::size_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

__global__ void prepare_train_kernel(const StepControl* ctl, const std::uint32_t* order, const std::uint8_t* labels,
                                     DeviceBatch b, unsigned max_batch) {
  const unsigned e = blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= max_batch) return;
  const StepControl c = *ctl;
  const std::size_t first = step_first(c.step, c.batch, c.rank, c.size, c.shard != 0);
  const std::size_t count = step_count(first, c.batch, c.train_count);
  if (e == 0) {
    *b.count = static_cast<unsigned>(count);
    *b.augmented = c.augment;
  }
  if (e < count) {
    const std::uint32_t image = order[first + e];
    const std::uint64_t key = example_key(c.run, c.epoch, first + e);
    b.index[e] = image;
    b.key[e] = key;
    b.label[e] = labels[image];
    b.shift[e] = c.augment ? augmentation_for(key, c.height, c.width) : Augmentation{};
  } else {
    b.index[e] = 0;
    b.key[e] = 0;
    b.label[e] = 0;
    b.shift[e] = Augmentation{};
  }
}

__global__ void prepare_range_kernel(std::size_t first, unsigned n, const std::uint8_t* labels, DeviceBatch b) {
  const unsigned e = blockIdx.x * blockDim.x + threadIdx.x;
  if (e == 0) {
    *b.count = n;
    *b.augmented = 0;
  }
  if (e >= n) return;
  b.index[e] = static_cast<std::uint32_t>(first + e);
  b.key[e] = 0;
  b.label[e] = labels[first + e];
}

// One output element per thread. The shift's weights are the CPU's
// (cpu_backend.cc, augment()); the explicit roundings keep the compiler
// from fusing the interpolation into FMAs, so the inputs match the CPU's
// bit for bit.
__device__ void sample_weights(int i, float shift, int n, int* i0, int* i1, float* f) {
  const float x = __fadd_rn(static_cast<float>(i), shift);
  const float fl = floorf(x);
  *f = __fsub_rn(x, fl);
  const int lo = static_cast<int>(fl);
  *i0 = min(max(lo, 0), n - 1);
  *i1 = min(max(lo + 1, 0), n - 1);
}

__device__ float lerp_rn(float a, float b, float t) { return __fadd_rn(a, __fmul_rn(__fsub_rn(b, a), t)); }

__global__ void load_kernel(const std::uint8_t* images, DeviceBatch b, unsigned rows, int h, int w, int c,
                            float* out) {
  const std::size_t per_image = static_cast<std::size_t>(h) * w * c;
  const std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= per_image * rows) return;
  const unsigned e = static_cast<unsigned>(i / per_image);
  const std::size_t within = i % per_image;
  const int ch = static_cast<int>(within % c);
  const int col = static_cast<int>(within / c % w);
  const int r = static_cast<int>(within / (static_cast<std::size_t>(c) * w));
  if (e >= *b.count) {
    out[i] = 0.0f;
    return;
  }
  const std::uint8_t* src = images + static_cast<std::size_t>(b.index[e]) * per_image;
  if (!*b.augmented) {
    out[i] = __fmul_rn(static_cast<float>(src[within]), 1.0f / 255.0f);
    return;
  }
  const Augmentation a = b.shift[e];
  const int from = a.flip ? w - 1 - col : col;  // flipped after the shift
  int r0, r1, c0, c1;
  float fr, fc;
  sample_weights(r, a.dy, h, &r0, &r1, &fr);
  sample_weights(from, a.dx, w, &c0, &c1, &fc);
  const float p00 = src[(static_cast<std::size_t>(r0) * w + c0) * c + ch];
  const float p01 = src[(static_cast<std::size_t>(r0) * w + c1) * c + ch];
  const float p10 = src[(static_cast<std::size_t>(r1) * w + c0) * c + ch];
  const float p11 = src[(static_cast<std::size_t>(r1) * w + c1) * c + ch];
  const float upper = lerp_rn(p00, p01, fc);
  const float lower = lerp_rn(p10, p11, fc);
  out[i] = __fmul_rn(lerp_rn(upper, lower, fr), 1.0f / 255.0f);
}

// One block; a thread per example, then a fixed-order tree sum, so the
// figures do not depend on timing.
__global__ void softmax_xent_kernel(const float* logits, DeviceBatch b, unsigned rows, int classes, double* stats,
                                    float* gradient) {
  __shared__ double loss[kThreads], right[kThreads];
  const unsigned count = *b.count;
  double my_loss = 0.0, my_right = 0.0;
  for (unsigned e = threadIdx.x; e < rows; e += blockDim.x) {
    const float* x = logits + static_cast<std::size_t>(e) * classes;
    float* d = gradient ? gradient + static_cast<std::size_t>(e) * classes : nullptr;
    if (e >= count) {
      if (d) {
        for (int j = 0; j < classes; ++j) d[j] = 0.0f;
      }
      continue;
    }
    float top = x[0];
    for (int j = 1; j < classes; ++j) top = fmaxf(top, x[j]);
    float sum = 0.0f;
    for (int j = 0; j < classes; ++j) sum += expf(x[j] - top);
    const int y = b.label[e];
    int best = 0;
    float best_p = -1.0f;
    const float inv = 1.0f / static_cast<float>(count);
    for (int j = 0; j < classes; ++j) {
      const float p = expf(x[j] - top) / sum;
      if (p > best_p) best_p = p, best = j;  // the first maximum wins, as std::max_element
      if (j == y) my_loss -= log(fmin(fmax(static_cast<double>(p), 1e-7), 1.0 - 1e-7));
      if (d) d[j] = (p - (j == y ? 1.0f : 0.0f)) * inv;
    }
    my_right += best == y ? 1.0 : 0.0;
  }
  loss[threadIdx.x] = my_loss;
  right[threadIdx.x] = my_right;
  __syncthreads();
  for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) {
      loss[threadIdx.x] += loss[threadIdx.x + half];
      right[threadIdx.x] += right[threadIdx.x + half];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    stats[0] += loss[0];
    stats[1] += right[0];
    stats[2] += static_cast<double>(count);
  }
}

__global__ void rmsprop_kernel(float* p, float* a, const float* g, std::size_t n, const StepControl* ctl, float lr,
                               float rho, float epsilon, float scale) {
  const std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  if (ctl) {
    lr = learning_rate(ctl->lr, ctl->decay, ctl->iteration);
    rho = ctl->rho;
    epsilon = ctl->epsilon;
    scale = ctl->scale;
  }
  const float gi = g[i] * scale;
  const float ai = rho * a[i] + (1.0f - rho) * gi * gi;
  a[i] = ai;
  p[i] -= lr * gi / (sqrtf(ai) + epsilon);
}

__global__ void advance_kernel(StepControl* ctl) {
  ++ctl->step;
  ++ctl->iteration;
}

}  // namespace

void prepare_train_batch(const StepControl* ctl, const std::uint32_t* order, const std::uint8_t* labels,
                         DeviceBatch b, unsigned max_batch, cudaStream_t s) {
  prepare_train_kernel<<<blocks_for(max_batch), kThreads, 0, s>>>(ctl, order, labels, b, max_batch);
}

void prepare_range_batch(std::size_t first, unsigned n, const std::uint8_t* labels, DeviceBatch b,
                         cudaStream_t s) {
  prepare_range_kernel<<<blocks_for(n > 0 ? n : 1), kThreads, 0, s>>>(first, n, labels, b);
}

void load_images(const std::uint8_t* images, DeviceBatch b, unsigned rows, int h, int w, int c, float* out,
                 cudaStream_t s) {
  const std::size_t n = static_cast<std::size_t>(rows) * h * w * c;
  load_kernel<<<blocks_for(n), kThreads, 0, s>>>(images, b, rows, h, w, c, out);
}

void softmax_cross_entropy(const float* logits, DeviceBatch b, unsigned rows, int classes, double* stats,
                           float* gradient, cudaStream_t s) {
  softmax_xent_kernel<<<1, kThreads, 0, s>>>(logits, b, rows, classes, stats, gradient);
}

void rmsprop(float* p, float* a, const float* g, std::size_t n, const StepControl* ctl, float lr, float rho,
             float epsilon, float scale, cudaStream_t s) {
  rmsprop_kernel<<<blocks_for(n), kThreads, 0, s>>>(p, a, g, n, ctl, lr, rho, epsilon, scale);
}

void advance(StepControl* ctl, cudaStream_t s) { advance_kernel<<<1, 1, 0, s>>>(ctl); }

}  // namespace batchai::trainer::cuda
