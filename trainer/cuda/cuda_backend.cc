// The CUDA backend: the CPU backend's network on one GPU per rank.
//
// Everything a step touches lives on the device: the parameters, their
// gradients and RMSprop accumulators in three flat buffers (the model's
// flat order, as on the CPU and in the HDF5 file), every activation sized
// for the largest batch when the backend is made, and the whole data set,
// uploaded once as uint8. A training step is a fixed sequence of kernels,
// cuBLAS GEMMs and (with several ranks) NCCL allreduces, with everything
// that varies between steps read from device memory (kernels.h). So the
// first step is captured as one CUDA graph and every later step replays
// it: one launch per step, and nothing crosses PCIe during an epoch except
// the loss and accuracy sums the progress line prints.
//
// Convolutions are im2col + one GEMM per layer with the batch folded into
// the rows, as on the CPU: NHWC activations times the Keras kernel as
// stored give NHWC output. GEMMs use TF32 tensor cores unless exact FP32
// is asked for. With several ranks the gradient is summed by NCCL in two
// buckets on a second stream: the dense layers' (94% of the bytes), started
// as soon as their backward is done, while the convolutions' backward still
// runs, then the convolutions'.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <mpi.h>
#ifdef BATCHAI_HAVE_NCCL
#include <nccl.h>
#endif

#include <algorithm>
#include <string>
#include <vector>

#include "trainer/backend.h"
#include "trainer/cuda/kernels.h"
#include "trainer/device.h"
#include "trainer/world.h"

namespace batchai::trainer {
namespace {

using cuda::ConvGeometry;
using cuda::DeviceBatch;
using cuda::StepControl;

// Evaluation is forward only and its batch does not change its result, so
// it runs in batches this large whatever the training batch.
constexpr unsigned kEvalRows = 256;

// Turns a failed call into a DeviceError that names the rank, host and
// device, and the call.
class Check {
 public:
  void set_place(const std::string& place) { place_ = place; }
  const std::string& place() const { return place_; }
  void operator()(cudaError_t e, const char* call) const {
    if (e != cudaSuccess) fail(call, std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e));
  }
  void operator()(cublasStatus_t e, const char* call) const {
    if (e != CUBLAS_STATUS_SUCCESS) fail(call, std::string(cublasGetStatusName(e)) + ": " + cublasGetStatusString(e));
  }
#ifdef BATCHAI_HAVE_NCCL
  void operator()(ncclResult_t e, const char* call, ncclComm_t comm = nullptr) const {
    if (e == ncclSuccess) return;
    std::string detail = ncclGetErrorString(e);
    if (comm) {
      const char* last = ncclGetLastError(comm);
      if (last && *last) detail += " (" + std::string(last) + ")";
    }
    fail(call, detail);
  }
#endif
  // Kernel launches report bad configurations at once and faults at the
  // next synchronisation; CUDA_LAUNCH_BLOCKING=1 pins a fault to its kernel.
  void launched(const char* kernel) const { (*this)(cudaGetLastError(), kernel); }

 private:
  [[noreturn]] void fail(const char* call, const std::string& detail) const {
    throw DeviceError(place_ + ": " + call + ": " + detail);
  }
  std::string place_ = "cuda";
};

// A device allocation that frees itself.
template <typename T>
class DeviceArray {
 public:
  DeviceArray() = default;
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  DeviceArray(DeviceArray&& other) noexcept : p_(other.p_), n_(other.n_) { other.p_ = nullptr, other.n_ = 0; }
  DeviceArray& operator=(DeviceArray&&) = delete;
  ~DeviceArray() {
    if (p_) cudaFree(p_);
  }
  void allocate(std::size_t n, const Check& check, const char* what) {
    if (p_) cudaFree(p_);
    p_ = nullptr;
    n_ = n;
    if (n == 0) return;
    void* raw = nullptr;
    check(cudaMalloc(&raw, n * sizeof(T)), what);
    p_ = static_cast<T*>(raw);
  }
  T* get() const { return p_; }
  std::size_t size() const { return n_; }

 private:
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

struct LayerBuffers {
  DeviceArray<float> out;
  DeviceArray<float> col;             // conv2d: the im2col matrix
  DeviceArray<std::uint8_t> argmax;   // max_pooling2d
  DeviceArray<float> mask;            // dropout
  const float* act = nullptr;         // this pass's output: `out`, or the input where the layer passes it on
};

class CudaBackend final : public Backend {
 public:
  CudaBackend(const Model& model, const CudaOptions& o)
      : model_(model), options_(o), rows_(static_cast<unsigned>(std::max<std::size_t>(o.max_batch, kEvalRows))) {
    int count = 0;
    check_.set_place("rank " + std::to_string(o.rank) + " on " + o.host);
    check_(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
    if (count == 0) throw DeviceError("rank " + std::to_string(o.rank) + " on " + o.host + ": no CUDA device visible");
    // Under per-task GPU binding each task sees one device, its own; with
    // all of a node's devices visible, the local rank picks one.
    device_ = o.local_rank % count;
    check_(cudaSetDevice(device_), "cudaSetDevice");
    cudaDeviceProp prop{};
    check_(cudaGetDeviceProperties(&prop, device_), "cudaGetDeviceProperties");
    gpu_name_ = prop.name;
    check_.set_place("rank " + std::to_string(o.rank) + " on " + o.host + ", gpu " + std::to_string(device_) + " (" +
                     gpu_name_ + ")");
    check_(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    check_(cudaStreamCreateWithFlags(&side_, cudaStreamNonBlocking), "cudaStreamCreate");
    check_(cudaEventCreateWithFlags(&dense_ready_, cudaEventDisableTiming), "cudaEventCreate");
    check_(cudaEventCreateWithFlags(&convs_ready_, cudaEventDisableTiming), "cudaEventCreate");
    check_(cudaEventCreateWithFlags(&reduced_, cudaEventDisableTiming), "cudaEventCreate");
    check_(cublasCreate(&blas_), "cublasCreate");
    check_(cublasSetStream(blas_, stream_), "cublasSetStream");
    check_(cublasSetMathMode(blas_, o.tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    // A workspace of its own, so that capturing a GEMM in a graph never
    // makes cuBLAS allocate (32 MiB: NVIDIA's advice for Hopper).
    workspace_.allocate(32u << 20, check_, "cudaMalloc (cuBLAS workspace)");
    check_(cublasSetWorkspace(blas_, workspace_.get(), workspace_.size()), "cublasSetWorkspace");
    allocate();
    split_ = reduction_split();
  }

  ~CudaBackend() override {
    // Errors are moot on the way out; the job is ending either way.
    if (graph_exec_) cudaGraphExecDestroy(graph_exec_);
    if (graph_) cudaGraphDestroy(graph_);
#ifdef BATCHAI_HAVE_NCCL
    if (nccl_) ncclCommDestroy(nccl_);
#endif
    if (blas_) cublasDestroy(blas_);
    for (cudaEvent_t e : {dense_ready_, convs_ready_, reduced_}) {
      if (e) cudaEventDestroy(e);
    }
    if (side_) cudaStreamDestroy(side_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  // NCCL over the MPI world: rank 0's unique id reaches the others by
  // MPI_Bcast (every rank must call this, after each made its backend).
  // NCCL refuses two ranks on one device ("duplicate GPU"), so where ranks
  // share a GPU (more ranks than GPUs, as on a test machine) the sums go
  // through the host with MPI instead.
  void connect() {
    if (options_.size <= 1 && !options_.nccl_always) return;
    if (options_.size > 1 && shares_a_device()) {
      shared_device_ = true;
      return;
    }
#ifdef BATCHAI_HAVE_NCCL
    ncclUniqueId id{};
    if (options_.rank == 0) check_(ncclGetUniqueId(&id), "ncclGetUniqueId");
    if (options_.size > 1) MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD);
    check_(ncclCommInitRank(&nccl_, options_.size, id, options_.rank), "ncclCommInitRank");
#endif
  }

  // Whether another rank on this host computes on the same device.
  bool shares_a_device() const {
    const std::string mine = options_.host + "/" + std::to_string(device_);
    const auto all = all_lines(mine);
    return std::count(all.begin(), all.end(), mine) > 1;
  }

  std::string describe() const override {
    std::string d = "cuda (gpu " + std::to_string(device_) + ": " + gpu_name_ + ", " +
                    (options_.tf32 ? "TF32 tensor-core GEMMs" : "exact FP32 GEMMs");
    if (options_.graphs && graph_capable()) d += ", CUDA graphs";
    if (nccl_active()) d += ", NCCL allreduce";
    if (options_.size > 1 && !nccl_active()) {
      d += shared_device_ ? ", MPI allreduce through the host (ranks share this GPU)" : ", MPI allreduce through the host";
    }
    return d + ")";
  }
  std::size_t max_batch() const override { return options_.max_batch; }

  void set_parameters(std::span<const float> v) override { upload(params_, v, "set_parameters"); }
  void get_parameters(std::span<float> out) const override { download(params_, out, "get_parameters"); }
  void set_accumulators(std::span<const float> v) override { upload(accum_, v, "set_accumulators"); }
  void get_accumulators(std::span<float> out) const override { download(accum_, out, "get_accumulators"); }
  void get_gradients(std::span<float> out) const override { download(grads_, out, "get_gradients"); }

  BatchStats train_batch(const Batch& b) override {
    stage_host_batch(b);
    zero_stats(scratch_stats_);
    forward(static_cast<unsigned>(b.n), true, staged_images_.get());
    loss(static_cast<unsigned>(b.n), scratch_stats_.get(), true);
    backward(static_cast<unsigned>(b.n), false);
    return read_stats(scratch_stats_, "train_batch");
  }

  // The batch level's sum goes through the host: it serves tests and runs
  // without NCCL, not the captured step.
  void reduce_gradients(Reducer& reducer) override {
    if (reducer.size() <= 1) return;
    host_grads_.resize(model_.parameter_count);
    download(grads_, std::span<float>(host_grads_), "reduce_gradients");
    reducer.sum(host_grads_);
    upload(grads_, host_grads_, "reduce_gradients");
  }

  void apply(const RmspropStep& s) override {
    cuda::rmsprop(params_.get(), accum_.get(), grads_.get(), model_.parameter_count, nullptr, s.lr, s.rho, s.epsilon,
                  s.scale, stream_);
    check_.launched("rmsprop");
  }

  BatchStats evaluate(const Batch& b) override {
    Batch plain = b;
    plain.augment = nullptr;
    stage_host_batch(plain);
    zero_stats(scratch_stats_);
    forward(static_cast<unsigned>(b.n), false, staged_images_.get());
    loss(static_cast<unsigned>(b.n), scratch_stats_.get(), false);
    return read_stats(scratch_stats_, "evaluate");
  }

  void use_data(const Cifar10Set& train, const Cifar10Set& test) override {
    // New buffers: a step captured with the old ones must not replay.
    if (graph_exec_) cudaGraphExecDestroy(graph_exec_);
    if (graph_) cudaGraphDestroy(graph_);
    graph_exec_ = nullptr;
    graph_ = nullptr;
    upload_set(train, train_images_, train_labels_, "training set");
    upload_set(test, test_images_, test_labels_, "test set");
    order_.allocate(std::max<std::size_t>(train.count, 1), check_, "cudaMalloc (epoch order)");
    zero_stats(train_stats_);
  }

  void begin_epoch(const EpochPlan& p) override {
    check_(cudaMemcpyAsync(order_.get(), p.order, p.count * sizeof(std::uint32_t), cudaMemcpyHostToDevice, stream_),
           "cudaMemcpyAsync (epoch order)");
    host_ctl_.run = p.run;
    host_ctl_.epoch = p.epoch;
    host_ctl_.train_count = static_cast<unsigned>(p.count);
    host_ctl_.batch = static_cast<unsigned>(p.batch);
    host_ctl_.rank = p.rank;
    host_ctl_.size = p.size;
    host_ctl_.shard = p.shard;
    host_ctl_.augment = p.augment;
    host_ctl_.height = p.height;
    host_ctl_.width = p.width;
    host_ctl_.lr = p.lr;
    host_ctl_.decay = p.decay;
    host_ctl_.rho = p.rho;
    host_ctl_.epsilon = p.epsilon;
    host_ctl_.scale = 1.0f / static_cast<float>(p.size);
    // The clock counts the steps the run took, those of this epoch before
    // first_step included.
    host_ctl_.iteration = p.iterations + static_cast<std::int64_t>(p.first_step);
    host_ctl_.step = static_cast<unsigned>(p.first_step);
    check_(cudaMemcpyAsync(ctl_.get(), &host_ctl_, sizeof host_ctl_, cudaMemcpyHostToDevice, stream_),
           "cudaMemcpyAsync (step control)");
    // The copy reads host_ctl_ before it returns (pageable memory), so the
    // next epoch may overwrite it.
  }

  void step(Reducer& reducer) override {
    if (!graph_capable() || !options_.graphs) {
      enqueue_step(&reducer);
      return;
    }
    if (!graph_exec_) {
      check_(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
      try {
        enqueue_step(nullptr);
      } catch (...) {
        cudaGraph_t broken = nullptr;
        cudaStreamEndCapture(stream_, &broken);
        if (broken) cudaGraphDestroy(broken);
        throw;
      }
      check_(cudaStreamEndCapture(stream_, &graph_), "cudaStreamEndCapture");
      check_(cudaGraphInstantiate(&graph_exec_, graph_, 0), "cudaGraphInstantiate (training step)");
    }
    check_(cudaGraphLaunch(graph_exec_, stream_), "cudaGraphLaunch (training step)");
  }

  BatchStats take_stats() override {
    BatchStats s = read_stats(train_stats_, "take_stats");
    zero_stats(train_stats_);
    return s;
  }

  BatchStats evaluate_range(std::size_t begin, std::size_t end) override {
    zero_stats(scratch_stats_);
    for (std::size_t at = begin; at < end; at += kEvalRows) {
      const unsigned n = static_cast<unsigned>(std::min<std::size_t>(kEvalRows, end - at));
      cuda::prepare_range_batch(at, n, test_labels_.get(), batch_, stream_);
      check_.launched("prepare_range_batch");
      forward(n, false, test_images_.get());
      loss(n, scratch_stats_.get(), false);
    }
    return read_stats(scratch_stats_, "evaluate_range");
  }

 private:
  bool nccl_active() const {
#ifdef BATCHAI_HAVE_NCCL
    return nccl_ != nullptr;
#else
    return false;
#endif
  }
  // A step with an MPI allreduce through the host cannot be captured.
  bool graph_capable() const { return options_.size <= 1 || nccl_active(); }

  void allocate() {
    const std::size_t p = model_.parameter_count;
    params_.allocate(p, check_, "cudaMalloc (parameters)");
    grads_.allocate(p, check_, "cudaMalloc (gradients)");
    accum_.allocate(p, check_, "cudaMalloc (accumulators)");
    input_.allocate(rows_ * model_.input.size(), check_, "cudaMalloc (input)");
    layers_.resize(model_.layers.size());
    std::size_t largest = model_.input.size(), largest_col = 0, largest_pixels = 1;
    for (std::size_t i = 0; i < model_.layers.size(); ++i) {
      const Layer& l = model_.layers[i];
      LayerBuffers& b = layers_[i];
      const std::size_t out = rows_ * l.out.size();
      largest = std::max(largest, l.out.size());
      switch (l.spec.kind) {
        case LayerKind::conv2d: {
          const std::size_t pixels = static_cast<std::size_t>(l.out.h) * l.out.w;
          const std::size_t col = rows_ * pixels * l.kernel_shape[0] * l.kernel_shape[1] * l.in.c;
          b.out.allocate(out, check_, "cudaMalloc (conv2d output)");
          b.col.allocate(col, check_, "cudaMalloc (im2col)");
          largest_col = std::max(largest_col, col);
          largest_pixels = std::max(largest_pixels, pixels);
          break;
        }
        case LayerKind::dense:
        case LayerKind::activation: b.out.allocate(out, check_, "cudaMalloc (layer output)"); break;
        case LayerKind::max_pooling2d:
          b.out.allocate(out, check_, "cudaMalloc (max_pooling2d output)");
          b.argmax.allocate(out, check_, "cudaMalloc (max_pooling2d argmax)");
          break;
        case LayerKind::dropout:
          b.out.allocate(out, check_, "cudaMalloc (dropout output)");
          b.mask.allocate(out, check_, "cudaMalloc (dropout mask)");
          break;
        case LayerKind::flatten: break;  // NHWC flattens in place
      }
    }
    for (auto& d : delta_) d.allocate(rows_ * largest, check_, "cudaMalloc (gradient)");
    dcol_.allocate(largest_col, check_, "cudaMalloc (im2col gradient)");
    // A column of ones: bias gradients are column sums, one GEMV each.
    const std::vector<float> ones(rows_ * largest_pixels, 1.0f);
    ones_.allocate(ones.size(), check_, "cudaMalloc (ones)");
    check_(cudaMemcpy(ones_.get(), ones.data(), ones.size() * sizeof(float), cudaMemcpyHostToDevice), "cudaMemcpy");
    batch_count_.allocate(1, check_, "cudaMalloc (batch)");
    batch_augmented_.allocate(1, check_, "cudaMalloc (batch)");
    batch_index_.allocate(rows_, check_, "cudaMalloc (batch)");
    batch_key_.allocate(rows_, check_, "cudaMalloc (batch)");
    batch_shift_.allocate(rows_, check_, "cudaMalloc (batch)");
    batch_label_.allocate(rows_, check_, "cudaMalloc (batch)");
    batch_ = {batch_count_.get(), batch_index_.get(), batch_key_.get(), batch_shift_.get(), batch_label_.get(),
              batch_augmented_.get()};
    staged_images_.allocate(options_.max_batch * model_.input.size(), check_, "cudaMalloc (staged images)");
    ctl_.allocate(1, check_, "cudaMalloc (step control)");
    train_stats_.allocate(3, check_, "cudaMalloc (stats)");
    scratch_stats_.allocate(3, check_, "cudaMalloc (stats)");
    check_(cudaMemset(grads_.get(), 0, p * sizeof(float)), "cudaMemset");
    check_(cudaMemset(accum_.get(), 0, p * sizeof(float)), "cudaMemset");
  }

  // Where the gradient splits into its two allreduce buckets: the first
  // dense layer's kernel. Layers from there on are done first in backward.
  std::size_t reduction_split() const {
    for (const Layer& l : model_.layers) {
      if (l.spec.kind == LayerKind::dense) return l.kernel_offset;
    }
    return 0;
  }

  template <typename T>
  void upload(DeviceArray<T>& to, std::span<const T> from, const char* what) {
    check_(cudaStreamSynchronize(stream_), what);
    check_(cudaMemcpy(to.get(), from.data(), from.size() * sizeof(T), cudaMemcpyHostToDevice), what);
  }
  void upload(DeviceArray<float>& to, const std::vector<float>& from, const char* what) {
    upload(to, std::span<const float>(from), what);
  }
  template <typename T>
  void download(const DeviceArray<T>& from, std::span<T> to, const char* what) const {
    check_(cudaStreamSynchronize(stream_), what);
    check_(cudaMemcpy(to.data(), from.get(), to.size() * sizeof(T), cudaMemcpyDeviceToHost), what);
  }

  void upload_set(const Cifar10Set& set, DeviceArray<std::uint8_t>& images, DeviceArray<std::uint8_t>& labels,
                  const char* what) {
    images.allocate(std::max<std::size_t>(set.images.size(), 1), check_, what);
    labels.allocate(std::max<std::size_t>(set.labels.size(), 1), check_, what);
    check_(cudaMemcpy(images.get(), set.images.data(), set.images.size(), cudaMemcpyHostToDevice), what);
    check_(cudaMemcpy(labels.get(), set.labels.data(), set.labels.size(), cudaMemcpyHostToDevice), what);
  }

  // A host batch (the batch level) gathered, uploaded and described as
  // images 0..n-1 of the staging buffer.
  void stage_host_batch(const Batch& b) {
    if (b.n > options_.max_batch) {
      throw DeviceError(check_.place() + ": a batch of " + std::to_string(b.n) + " exceeds the " +
                        std::to_string(options_.max_batch) + " this backend was made for");
    }
    const std::size_t size = model_.input.size();
    staging_.images.resize(b.n * size);
    staging_.index.resize(b.n);
    staging_.key.assign(b.n, 0);
    staging_.shift.assign(b.n, Augmentation{});
    staging_.label.resize(b.n);
    for (std::size_t e = 0; e < b.n; ++e) {
      std::copy_n(b.images + static_cast<std::size_t>(b.index[e]) * size, size, staging_.images.data() + e * size);
      staging_.index[e] = static_cast<std::uint32_t>(e);
      staging_.label[e] = b.labels[b.index[e]];
      if (b.example_key) staging_.key[e] = b.example_key[e];
      if (b.augment) staging_.shift[e] = b.augment[e];
    }
    const unsigned count = static_cast<unsigned>(b.n);
    const int augmented = b.augment ? 1 : 0;
    check_(cudaStreamSynchronize(stream_), "stage batch");
    auto put = [&](void* to, const void* from, std::size_t bytes) {
      if (bytes) check_(cudaMemcpy(to, from, bytes, cudaMemcpyHostToDevice), "cudaMemcpy (staged batch)");
    };
    put(staged_images_.get(), staging_.images.data(), staging_.images.size());
    put(batch_index_.get(), staging_.index.data(), b.n * sizeof(std::uint32_t));
    put(batch_key_.get(), staging_.key.data(), b.n * sizeof(std::uint64_t));
    put(batch_shift_.get(), staging_.shift.data(), b.n * sizeof(Augmentation));
    put(batch_label_.get(), staging_.label.data(), b.n);
    put(batch_count_.get(), &count, sizeof count);
    put(batch_augmented_.get(), &augmented, sizeof augmented);
  }

  void zero_stats(DeviceArray<double>& stats) {
    check_(cudaMemsetAsync(stats.get(), 0, 3 * sizeof(double), stream_), "cudaMemsetAsync (stats)");
  }
  BatchStats read_stats(const DeviceArray<double>& stats, const char* what) const {
    double s[3] = {0, 0, 0};
    check_(cudaStreamSynchronize(stream_), what);
    check_(cudaMemcpy(s, stats.get(), sizeof s, cudaMemcpyDeviceToHost), what);
    return {s[0], static_cast<std::size_t>(s[1]), static_cast<std::size_t>(s[2])};
  }

  // Row-major products through column-major cuBLAS: a row-major M x N
  // matrix is a column-major N x M one, so C = A B is computed as
  // C^T = B^T A^T with the operands swapped.
  // C (m x n) = A (m x k) B (k x n)
  void gemm_nn(int m, int n, int k, const float* a, const float* b, float* c, const char* what) {
    const float one = 1.0f, zero = 0.0f;
    check_(cublasSgemm(blas_, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, b, n, a, k, &zero, c, n), what);
  }
  // C (k x n) = A^T B, A being m x k and B m x n.
  void gemm_tn(int k, int n, int m, const float* a, const float* b, float* c, const char* what) {
    const float one = 1.0f, zero = 0.0f;
    check_(cublasSgemm(blas_, CUBLAS_OP_N, CUBLAS_OP_T, n, k, m, &one, b, n, a, k, &zero, c, n), what);
  }
  // C (m x k) = A B^T, A being m x n and B k x n.
  void gemm_nt(int m, int k, int n, const float* a, const float* b, float* c, const char* what) {
    const float one = 1.0f, zero = 0.0f;
    check_(cublasSgemm(blas_, CUBLAS_OP_T, CUBLAS_OP_N, k, m, n, &one, b, n, a, n, &zero, c, k), what);
  }
  // db (cols) = the column sums of dy (rows x cols).
  void column_sums(const float* dy, int rows, int cols, float* db, const char* what) {
    const float one = 1.0f, zero = 0.0f;
    check_(cublasSgemv(blas_, CUBLAS_OP_N, cols, rows, &one, dy, cols, ones_.get(), 1, &zero, db, 1), what);
  }

  static ConvGeometry geometry(const Layer& l) {
    const int k = static_cast<int>(l.kernel_shape[0]);
    return {k, l.spec.same ? k / 2 : 0, l.in.c, l.in.h, l.in.w, l.out.c, l.out.h, l.out.w};
  }

  void forward(unsigned rows, bool training, const std::uint8_t* images) {
    const Shape s = model_.input;
    cuda::load_images(images, batch_, rows, s.h, s.w, s.c, input_.get(), stream_);
    check_.launched("load_images");
    const float* in = input_.get();
    for (std::size_t i = 0; i < model_.layers.size(); ++i) {
      const Layer& l = model_.layers[i];
      LayerBuffers& b = layers_[i];
      float* out = b.out.get();
      const std::size_t total = static_cast<std::size_t>(rows) * l.out.size();
      b.act = out;
      switch (l.spec.kind) {
        case LayerKind::conv2d: {
          const ConvGeometry g = geometry(l);
          cuda::im2col(g, in, rows, b.col.get(), stream_);
          check_.launched("im2col");
          const int m = static_cast<int>(rows) * g.ho * g.wo, kk = g.k * g.k * g.ci;
          gemm_nn(m, g.co, kk, b.col.get(), params_.get() + l.kernel_offset, out, "cublasSgemm (conv2d forward)");
          cuda::add_bias(out, params_.get() + l.bias_offset, static_cast<std::size_t>(m), g.co, stream_);
          check_.launched("add_bias");
          break;
        }
        case LayerKind::dense: {
          const int k = static_cast<int>(l.in.size()), m = static_cast<int>(l.out.size());
          gemm_nn(static_cast<int>(rows), m, k, in, params_.get() + l.kernel_offset, out, "cublasSgemm (dense forward)");
          cuda::add_bias(out, params_.get() + l.bias_offset, rows, m, stream_);
          check_.launched("add_bias");
          break;
        }
        case LayerKind::activation:
          if (l.spec.activation == Activation::relu) {
            cuda::relu_forward(in, out, total, stream_);
            check_.launched("relu_forward");
          } else {
            b.act = in;  // the softmax is the loss kernel's, on these logits
          }
          break;
        case LayerKind::max_pooling2d:
          cuda::pool_forward(in, out, b.argmax.get(), rows, l.in.h, l.in.w, l.in.c, l.out.h, l.out.w, stream_);
          check_.launched("pool_forward");
          break;
        case LayerKind::dropout:
          if (training && l.spec.rate > 0.0f) {
            cuda::dropout_forward(in, out, b.mask.get(), batch_, rows, l.out.size(), i, l.spec.rate, stream_);
            check_.launched("dropout_forward");
          } else {
            b.act = in;
          }
          break;
        case LayerKind::flatten: b.act = in; break;
      }
      in = b.act;
    }
  }

  void loss(unsigned rows, double* stats, bool gradient) {
    cuda::softmax_cross_entropy(layers_.back().act, batch_, rows, model_.classes, stats,
                                gradient ? delta_[0].get() : nullptr, stream_);
    check_.launched("softmax_cross_entropy");
  }

  // From the logits' gradient to the first layer's weights. With `reduce`
  // (the run level, several ranks, NCCL), the dense bucket's allreduce
  // starts on the side stream as soon as the dense layers are done.
  void backward(unsigned rows, bool reduce) {
    int cur = 0;
    const float* d = delta_[0].get();
    const std::size_t last = model_.layers.size() - 1;  // the softmax, folded into the loss
    for (std::size_t i = last; i-- > 0;) {
      const Layer& l = model_.layers[i];
      LayerBuffers& b = layers_[i];
      float* dx = delta_[1 - cur].get();
      const float* in = i == 0 ? input_.get() : layers_[i - 1].act;
      const bool need_dx = i > 0;
      bool wrote = true;
      switch (l.spec.kind) {
        case LayerKind::conv2d: {
          const ConvGeometry g = geometry(l);
          const int m = static_cast<int>(rows) * g.ho * g.wo, kk = g.k * g.k * g.ci;
          gemm_tn(kk, g.co, m, b.col.get(), d, grads_.get() + l.kernel_offset, "cublasSgemm (conv2d weight gradient)");
          column_sums(d, m, g.co, grads_.get() + l.bias_offset, "cublasSgemv (conv2d bias gradient)");
          if (need_dx) {
            gemm_nt(m, kk, g.co, d, params_.get() + l.kernel_offset, dcol_.get(),
                    "cublasSgemm (conv2d input gradient)");
            cuda::col2im(g, dcol_.get(), rows, dx, stream_);
            check_.launched("col2im");
          }
          break;
        }
        case LayerKind::dense: {
          const int k = static_cast<int>(l.in.size()), m = static_cast<int>(l.out.size()), r = static_cast<int>(rows);
          gemm_tn(k, m, r, in, d, grads_.get() + l.kernel_offset, "cublasSgemm (dense weight gradient)");
          column_sums(d, r, m, grads_.get() + l.bias_offset, "cublasSgemv (dense bias gradient)");
          if (need_dx) gemm_nt(r, k, m, d, params_.get() + l.kernel_offset, dx, "cublasSgemm (dense input gradient)");
          break;
        }
        case LayerKind::activation:
          cuda::relu_backward(b.act, d, dx, static_cast<std::size_t>(rows) * l.out.size(), stream_);
          check_.launched("relu_backward");
          break;
        case LayerKind::max_pooling2d:
          cuda::pool_backward(d, b.argmax.get(), dx, rows, l.in.h, l.in.w, l.in.c, l.out.h, l.out.w, stream_);
          check_.launched("pool_backward");
          break;
        case LayerKind::dropout:
          if (l.spec.rate > 0.0f) {
            cuda::multiply(d, b.mask.get(), dx, static_cast<std::size_t>(rows) * l.out.size(), stream_);
            check_.launched("multiply");
          } else {
            wrote = false;
          }
          break;
        case LayerKind::flatten: wrote = false; break;
      }
      if (wrote && need_dx) {
        d = dx;
        cur = 1 - cur;
      }
      if (reduce && l.has_weights() && l.kernel_offset == split_) start_reduction(split_, model_.parameter_count);
    }
    if (reduce) finish_reduction();
  }

  // The allreduce of gradient elements [from, to) on the side stream, once
  // the main stream has produced them.
  void start_reduction(std::size_t from, std::size_t to) {
#ifdef BATCHAI_HAVE_NCCL
    if (to <= from) return;
    check_(cudaEventRecord(dense_ready_, stream_), "cudaEventRecord");
    check_(cudaStreamWaitEvent(side_, dense_ready_, 0), "cudaStreamWaitEvent");
    check_(ncclAllReduce(grads_.get() + from, grads_.get() + from, to - from, ncclFloat, ncclSum, nccl_, side_),
           "ncclAllReduce (dense gradients)", nccl_);
    dense_started_ = true;
#else
    (void)from;
    (void)to;
#endif
  }

  // The rest of the gradient, then the main stream waits for both sums.
  void finish_reduction() {
#ifdef BATCHAI_HAVE_NCCL
    const std::size_t from = 0, to = dense_started_ ? split_ : model_.parameter_count;
    check_(cudaEventRecord(convs_ready_, stream_), "cudaEventRecord");
    check_(cudaStreamWaitEvent(side_, convs_ready_, 0), "cudaStreamWaitEvent");
    if (to > from) {
      check_(ncclAllReduce(grads_.get() + from, grads_.get() + from, to - from, ncclFloat, ncclSum, nccl_, side_),
             "ncclAllReduce (convolution gradients)", nccl_);
    }
    check_(cudaEventRecord(reduced_, side_), "cudaEventRecord");
    check_(cudaStreamWaitEvent(stream_, reduced_, 0), "cudaStreamWaitEvent");
    dense_started_ = false;
#endif
  }

  // One training step of the run level, on the stream. With `reducer`
  // (not captured), a sum through the host stands in for NCCL.
  void enqueue_step(Reducer* reducer) {
    cuda::prepare_train_batch(ctl_.get(), order_.get(), train_labels_.get(), batch_,
                              static_cast<unsigned>(options_.max_batch), stream_);
    check_.launched("prepare_train_batch");
    const unsigned rows = static_cast<unsigned>(options_.max_batch);
    forward(rows, true, train_images_.get());
    loss(rows, train_stats_.get(), true);
    backward(rows, nccl_active());
    if (!nccl_active() && reducer) reduce_gradients(*reducer);
    cuda::rmsprop(params_.get(), accum_.get(), grads_.get(), model_.parameter_count, ctl_.get(), 0, 0, 0, 0,
                  stream_);
    check_.launched("rmsprop");
    cuda::advance(ctl_.get(), stream_);
    check_.launched("advance");
  }

  const Model model_;
  const CudaOptions options_;
  const unsigned rows_;  // activation rows: the larger of the training and evaluation batch
  Check check_;
  int device_ = 0;
  std::string gpu_name_;
  cudaStream_t stream_ = nullptr, side_ = nullptr;
  cudaEvent_t dense_ready_ = nullptr, convs_ready_ = nullptr, reduced_ = nullptr;
  cublasHandle_t blas_ = nullptr;
#ifdef BATCHAI_HAVE_NCCL
  ncclComm_t nccl_ = nullptr;
#else
  void* nccl_ = nullptr;
#endif
  bool dense_started_ = false;
  bool shared_device_ = false;
  std::size_t split_ = 0;
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t graph_exec_ = nullptr;

  DeviceArray<std::uint8_t> workspace_;
  DeviceArray<float> params_, grads_, accum_, input_, dcol_, ones_;
  DeviceArray<float> delta_[2];
  std::vector<LayerBuffers> layers_;
  DeviceArray<unsigned> batch_count_;
  DeviceArray<int> batch_augmented_;
  DeviceArray<std::uint32_t> batch_index_;
  DeviceArray<std::uint64_t> batch_key_;
  DeviceArray<Augmentation> batch_shift_;
  DeviceArray<std::uint8_t> batch_label_;
  DeviceBatch batch_{};
  DeviceArray<std::uint8_t> staged_images_;
  DeviceArray<StepControl> ctl_;
  StepControl host_ctl_;
  DeviceArray<double> train_stats_, scratch_stats_;
  DeviceArray<std::uint8_t> train_images_, train_labels_, test_images_, test_labels_;
  DeviceArray<std::uint32_t> order_;
  std::vector<float> host_grads_;
  struct {
    std::vector<std::uint8_t> images, label;
    std::vector<std::uint32_t> index;
    std::vector<std::uint64_t> key;
    std::vector<Augmentation> shift;
  } staging_;
};

}  // namespace

bool cuda_backend_available(std::string* why_not) {
  const DeviceReport report = probe_devices();
  if (!report.gpus.empty()) return true;
  if (why_not) *why_not = report.unavailable_reason;
  return false;
}

std::unique_ptr<Backend> make_cuda_backend(const Model& model, const CudaOptions& options) {
  // Every rank makes its backend, then all learn whether all succeeded
  // before NCCL's bootstrap: one rank that failed alone would otherwise
  // leave the rest waiting in MPI_Bcast.
  std::unique_ptr<CudaBackend> backend;
  std::string error;
  try {
    backend = std::make_unique<CudaBackend>(model, options);
  } catch (const DeviceError& e) {
    error = e.what();
  }
  if (options.size > 1) {
    int mine = error.empty() ? 1 : 0, all = 0;
    MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (all == 0 && error.empty()) error = "rank " + std::to_string(options.rank) + ": another rank could not set up its GPU";
  }
  if (!error.empty()) throw DeviceError(error);
  backend->connect();
  return backend;
}

}  // namespace batchai::trainer
