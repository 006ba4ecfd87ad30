// What a compute backend does for the trainer. The model, the optimizer's
// schedule, the data order, the files and the distributed semantics live
// above this line and are written once; a backend (CPU now, CUDA next)
// only runs the network's arithmetic on its own memory.
//
// State crosses the line in the model's flat order (each layer's kernel,
// then its bias, layer by layer): parameters, RMSprop accumulators and
// gradients. That is also the order the HDF5 file lists them in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "io/result.h"
#include "trainer/model.h"

namespace batchai::trainer {

// Keras' ImageDataGenerator for one image: a sub-pixel shift (rows, then
// columns; out[r][c] = in(r + dy, c + dx), bilinear, edges clamped), then
// an optional horizontal flip.
struct Augmentation {
  float dy = 0.0f;
  float dx = 0.0f;
  bool flip = false;
};

// Up to the backend's batch size of images from a uint8 NHWC set.
struct Batch {
  const std::uint8_t* images = nullptr;    // the whole set, count x H x W x C
  const std::uint8_t* labels = nullptr;    // the whole set
  const std::uint32_t* index = nullptr;    // n indices into the set
  const Augmentation* augment = nullptr;   // n of them, or null: none
  const std::uint64_t* example_key = nullptr;  // n dropout keys, one per example (training only)
  std::size_t n = 0;
};

struct BatchStats {
  double loss_sum = 0.0;  // categorical cross-entropy summed over the batch
  std::size_t correct = 0;
};

// One RMSprop update, Keras 2.2: a = rho*a + (1-rho)*g^2,
// p -= lr_t * g / (sqrt(a) + epsilon), with g = scale * gradient (scale
// folds the 1/size of Horovod's averaging into the update).
struct RmspropStep {
  float lr = 0.0f;  // lr_t, with the decay applied
  float rho = 0.9f;
  float epsilon = 1e-7f;
  float scale = 1.0f;
};

// Sums over the ranks (MPI for host memory; a CUDA backend may use its own
// NCCL communicator instead and ignore this one).
class Reducer {
 public:
  virtual ~Reducer() = default;
  virtual int size() const = 0;
  virtual void sum(std::span<float> values) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // e.g. "cpu (2 threads, OpenBLAS 0.3.21)"
  virtual std::string describe() const = 0;
  virtual std::size_t max_batch() const = 0;

  virtual void set_parameters(std::span<const float> values) = 0;
  virtual void get_parameters(std::span<float> out) const = 0;
  virtual void set_accumulators(std::span<const float> values) = 0;
  virtual void get_accumulators(std::span<float> out) const = 0;

  // Forward and backward with dropout: leaves the gradient of the batch's
  // mean loss in the backend's gradient buffer.
  virtual BatchStats train_batch(const Batch& batch) = 0;
  // Sums the gradient buffer over the ranks, in place.
  virtual void reduce_gradients(Reducer& reducer) = 0;
  virtual void get_gradients(std::span<float> out) const = 0;
  virtual void apply(const RmspropStep& step) = 0;

  // Forward only, no dropout, no augmentation.
  virtual BatchStats evaluate(const Batch& batch) = 0;
};

struct BackendOptions {
  std::size_t max_batch = 32;
  int threads = 0;  // 0: all the cores this process may use
  // BLAS for every GEMM, as on CPUs without AVX-512 (tests run both paths).
  bool blas_only = false;
};

std::unique_ptr<Backend> make_cpu_backend(const Model& model, const BackendOptions& options);

}  // namespace batchai::trainer
