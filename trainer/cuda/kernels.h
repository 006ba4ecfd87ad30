// The CUDA backend's kernels, behind plain launch functions so that the
// backend itself (C++20 host code) never sees device syntax. Every launch
// is asynchronous on the given stream and may be captured in a CUDA graph:
// nothing here allocates or synchronises. Each kernel does what a loop of
// the CPU backend does, with the same arithmetic in the same order where
// that order shows in the result; the GPU tests check them against it.
//
// Values that change from step to step (which step, how many examples,
// the learning rate's clock) live in device memory, in StepControl and the
// batch arrays, never in kernel arguments: a captured step replays with
// the arguments it was captured with.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "trainer/schedule.h"

namespace batchai::trainer::cuda {

// One epoch's constants and the step clock, in device memory. The host
// writes it at the start of each epoch; the step's last kernel advances it.
struct StepControl {
  std::uint64_t run = 0;
  int epoch = 0;
  unsigned train_count = 0;  // images in the training set
  unsigned batch = 32;
  int rank = 0, size = 1;
  int shard = 0, augment = 1;
  int height = 32, width = 32;
  float lr = 1e-4f, decay = 0.0f, rho = 0.9f, epsilon = 1e-7f, scale = 1.0f;
  std::int64_t iteration = 0;  // steps taken in the run: the lr decay's clock
  unsigned step = 0;           // steps taken in this epoch
};

// The current batch, in device memory: filled by a prepare kernel, read by
// the rest of the step.
struct DeviceBatch {
  unsigned* count;             // examples in the batch (1 value)
  std::uint32_t* index;        // max_batch image indices into `images`
  std::uint64_t* key;          // max_batch example keys (dropout)
  Augmentation* shift;         // max_batch shifts and flips
  std::uint8_t* label;         // max_batch labels
  int* augmented;              // 1 value: whether `shift` applies
};

// Training: this step's examples from the epoch's order (schedule.h).
void prepare_train_batch(const StepControl* ctl, const std::uint32_t* order, const std::uint8_t* labels,
                         DeviceBatch b, unsigned max_batch, cudaStream_t s);
// Evaluation: images [first, first + n) of a set, as they are.
void prepare_range_batch(std::size_t first, unsigned n, const std::uint8_t* labels, DeviceBatch b,
                         cudaStream_t s);
// uint8 images to float [0, 1] NHWC, shifted and flipped as ImageDataGenerator
// does when the batch says so; rows past the batch's count are zeros.
void load_images(const std::uint8_t* images, DeviceBatch b, unsigned rows, int h, int w, int c, float* out,
                 cudaStream_t s);

struct ConvGeometry {
  int k, pad, ci, hi, wi, co, ho, wo;
};
void im2col(const ConvGeometry& g, const float* in, unsigned images, float* col, cudaStream_t s);
// The image gradient from the patch gradients: each input pixel gathers
// what every patch that read it sends back (no atomics: deterministic).
void col2im(const ConvGeometry& g, const float* dcol, unsigned images, float* dx, cudaStream_t s);

void add_bias(float* out, const float* bias, std::size_t rows, int cols, cudaStream_t s);
void relu_forward(const float* in, float* out, std::size_t n, cudaStream_t s);
void relu_backward(const float* y, const float* dy, float* dx, std::size_t n, cudaStream_t s);
// 2x2 max-pool, stride 2, floor: the first maximum in row-major order wins.
void pool_forward(const float* in, float* out, std::uint8_t* argmax, unsigned images, int hi, int wi, int c,
                  int ho, int wo, cudaStream_t s);
void pool_backward(const float* dy, const std::uint8_t* argmax, float* dx, unsigned images, int hi, int wi,
                   int c, int ho, int wo, cudaStream_t s);
// Inverted dropout with the counter-based masks of schedule.h; `layer` is
// the layer's index in the model, as the CPU backend keys it.
void dropout_forward(const float* in, float* out, float* mask, DeviceBatch b, unsigned rows, std::size_t per_example,
                     std::size_t layer, float rate, cudaStream_t s);
void multiply(const float* a, const float* b, float* out, std::size_t n, cudaStream_t s);

// Softmax and categorical cross-entropy over `rows` examples of `classes`
// logits, for the batch's first count examples. Adds the loss (Keras'
// clipped log) and the correct count to stats[0], stats[1] and the count
// to stats[2]; with `gradient`, writes d(mean loss)/d(logits) = (p - y) /
// count, zeros for rows past the count.
void softmax_cross_entropy(const float* logits, DeviceBatch b, unsigned rows, int classes, double* stats,
                           float* gradient, cudaStream_t s);

// Keras 2.2's RMSprop over the flat buffers. With `ctl`, the learning rate
// and scale come from it (the captured step); else from the arguments.
void rmsprop(float* p, float* a, const float* g, std::size_t n, const StepControl* ctl, float lr, float rho,
             float epsilon, float scale, cudaStream_t s);
void advance(StepControl* ctl, cudaStream_t s);

}  // namespace batchai::trainer::cuda
