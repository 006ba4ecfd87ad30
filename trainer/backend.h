// What a compute backend does for the trainer. The model, the optimizer's
// schedule, the data order, the files and the distributed semantics live
// above this line and are written once; a backend (CPU or CUDA) only runs
// the network's arithmetic on its own memory.
//
// Two levels. The batch level (train_batch, reduce_gradients, apply,
// evaluate) takes host data and is what the tests compare backends with.
// The run level (use_data, begin_epoch, step, take_stats, evaluate_range)
// is what training runs: a step is named by its place in the epoch, so a
// backend that keeps the data set in its own memory (the GPU) makes each
// batch itself and needs nothing from the host during an epoch. The run
// level has a host-driven default built on the batch level; the CPU uses
// it, the CUDA backend replaces it.
//
// State crosses the line in the model's flat order (each layer's kernel,
// then its bias, layer by layer): parameters, RMSprop accumulators and
// gradients. That is also the order the HDF5 file lists them in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <span>
#include <string>
#include <vector>

#include "io/cifar10.h"
#include "base/result.h"
#include "trainer/model.h"
#include "trainer/schedule.h"

namespace batchai::trainer {

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
  std::size_t examples = 0;
};

// One epoch of training on one rank: which examples each step takes (see
// schedule.h) and the optimizer's schedule.
struct EpochPlan {
  const std::uint32_t* order = nullptr;  // the epoch's permutation of the training set (host)
  std::size_t count = 0;                 // its length: the training set's size
  std::uint64_t run = 0;                 // example keys are example_key(run, epoch, position)
  int epoch = 0;
  std::size_t batch = 32;
  int rank = 0, size = 1;
  bool shard = false;
  bool augment = true;
  int height = 32, width = 32;  // the images', for the shifts
  float lr = 1e-4f, decay = 0.0f, rho = 0.9f, epsilon = 1e-7f;  // RMSprop, Keras 2.2
  std::int64_t iterations = 0;  // steps before this epoch: the decay's clock
  // The epoch's first step: 0, or where a run stopped inside it (the steps
  // before it are not taken again; step k's batch and lr are the same
  // whichever step the epoch began at).
  std::size_t first_step = 0;
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

  // The run level. The sets must outlive the backend's use of them.
  virtual void use_data(const Cifar10Set& train, const Cifar10Set& test);
  virtual void begin_epoch(const EpochPlan& plan);
  // The epoch's next step: its batch, forward, backward, the sum over the
  // ranks and the update (scale 1/size: Horovod's average).
  virtual void step(Reducer& reducer);
  // The training steps' sums since the last call. On a GPU this waits for
  // the steps queued so far, so callers ask only when they print.
  virtual BatchStats take_stats();
  // Test images [begin, end), forward only, in batches of the backend's
  // choosing.
  virtual BatchStats evaluate_range(std::size_t begin, std::size_t end);

 protected:
  // The host-driven run level's state.
  struct HostRun {
    const Cifar10Set* train = nullptr;
    const Cifar10Set* test = nullptr;
    EpochPlan plan;
    std::size_t next_step = 0;
    BatchStats stats;
    std::vector<std::uint32_t> index;
    std::vector<std::uint64_t> keys;
    std::vector<Augmentation> shifts;
  };
  HostRun host_run_;
};

struct BackendOptions {
  std::size_t max_batch = 32;
  int threads = 0;  // 0: all the cores this process may use
  // BLAS for every GEMM, as on CPUs without AVX-512 (tests run both paths).
  bool blas_only = false;
};

std::unique_ptr<Backend> make_cpu_backend(const Model& model, const BackendOptions& options);

// What went wrong on a device: the failing call, with the rank, host and
// device, e.g. "rank 1 on node2, gpu 0: cublasSgemm (conv2d_2 forward):
// CUBLAS_STATUS_EXECUTION_FAILED". The CUDA backend throws it from any
// call; a rank that catches it must end the whole job (MPI_Abort), or its
// peers would wait for it in the next allreduce forever.
struct DeviceError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct CudaOptions {
  std::size_t max_batch = 32;
  bool tf32 = true;  // cuBLAS TF32 tensor-op math; false: exact FP32
  bool graphs = true;  // capture a training step as one CUDA graph and replay it
  int rank = 0, size = 1;  // the MPI world: NCCL is set up over it when size > 1
  int local_rank = 0;      // among this host's ranks; picks the GPU
  std::string host;        // for messages
  // NCCL even for one rank (tests: the captured step with its allreduce
  // can then run on a single GPU).
  bool nccl_always = false;
};

// Whether this build has the CUDA backend and this process sees a GPU;
// the reason when not.
bool cuda_backend_available(std::string* why_not);

// The GPU is local_rank modulo the visible devices. Throws DeviceError.
std::unique_ptr<Backend> make_cuda_backend(const Model& model, const CudaOptions& options);

}  // namespace batchai::trainer
