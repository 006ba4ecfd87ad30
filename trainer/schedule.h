// Where each step's examples come from, how they are shifted and flipped,
// and the learning rate at each step: pure functions of the seed and the
// step's place in the run, written once for the host and the GPU. The CPU
// backend and the host-driven loop call them; the CUDA backend calls the
// same code inside its kernels, so both draw the same batches.
#pragma once

#include <cstddef>
#include <cstdint>

#include "trainer/random.h"

namespace batchai::trainer {

// Keras' ImageDataGenerator for one image: a sub-pixel shift (rows, then
// columns; out[r][c] = in(r + dy, c + dx), bilinear, edges clamped), then
// an optional horizontal flip.
struct Augmentation {
  float dy = 0.0f;
  float dx = 0.0f;
  bool flip = false;
};

// The first position in the epoch's order that `step` takes: with --shard
// the ranks take turns, else every rank walks the whole order.
BATCHAI_HD inline std::size_t step_first(std::size_t step, std::size_t batch, int rank, int size, bool shard) {
  return shard ? (step * static_cast<std::size_t>(size) + static_cast<std::size_t>(rank)) * batch : step * batch;
}

// How many examples a step starting at `first` has (the last one may be
// partial, or empty for a rank past the end with --shard).
BATCHAI_HD inline std::size_t step_count(std::size_t first, std::size_t batch, std::size_t n) {
  return first < n ? (n - first < batch ? n - first : batch) : 0;
}

// The example at `position` of `epoch`: its key fixes its shift, flip and
// dropout masks. With --shard, `run` is the same on every rank, so an
// example gets the same draws whichever rank it lands on.
BATCHAI_HD inline std::uint64_t example_key(std::uint64_t run, int epoch, std::size_t position) {
  return rng::key(run, static_cast<std::uint64_t>(epoch), position);
}

// ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1,
// horizontal_flip=True): continuous shifts of up to a tenth of the side.
BATCHAI_HD inline Augmentation augmentation_for(std::uint64_t example, int height, int width) {
  const std::uint64_t k = rng::key(example, rng::kAugment);
  Augmentation a;
  a.dy = (rng::uniform(rng::key(k, 0)) * 2.0f - 1.0f) * 0.1f * static_cast<float>(height);
  a.dx = (rng::uniform(rng::key(k, 1)) * 2.0f - 1.0f) * 0.1f * static_cast<float>(width);
  a.flip = rng::uniform(rng::key(k, 2)) < 0.5f;
  return a;
}

// Keras 2.2's RMSprop decay: lr / (1 + decay * iterations), iterations
// counted from 0.
BATCHAI_HD inline float learning_rate(float lr, float decay, std::int64_t iterations) {
  return lr / (1.0f + decay * static_cast<float>(iterations));
}

// Dropout for one example in layer `layer`: element j keeps with factor
// 1/(1-rate) (inverted dropout, as TF does) or drops to 0. The base is
// worked out once per example and layer.
BATCHAI_HD inline std::uint64_t dropout_base(std::uint64_t example, std::size_t layer) {
  return rng::key(example, rng::kDropout, layer);
}
BATCHAI_HD inline float dropout_factor(std::uint64_t base, std::size_t j, float rate, float keep_scale) {
  return rng::uniform(rng::mix(base + j)) >= rate ? keep_scale : 0.0f;
}

}  // namespace batchai::trainer
