// The CUDA backend against the CPU backend, the reference: every kind of
// layer forward (the loss) and backward (every parameter's gradient), then
// whole training steps of the tutorial's network through the run level
// (data on the device, batches made by kernels, the captured graph, the
// NCCL allreduce), and the repeatability of both. Skips, saying why, where
// there is no GPU or the build has no CUDA.
//
// Tolerances. Exact FP32 GEMMs differ from OpenBLAS only in summation
// order: gradients agree to 1e-4 of their largest magnitude. TF32 rounds
// GEMM inputs to 10 mantissa bits (relative error ~5e-4 per product), so
// its bound is 2e-2.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "trainer/backend.h"
#include "trainer/model.h"
#include "trainer/random.h"
#include "trainer/training.h"
#include "unit/trainer_fixture.h"

namespace batchai::trainer {
namespace {

class CudaBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!cuda_backend_available(&why)) GTEST_SKIP() << "no GPU for the CUDA backend: " << why;
  }
};

std::unique_ptr<Backend> gpu(const Model& m, std::size_t batch, bool tf32 = false, bool graphs = true,
                             bool nccl = false) {
  CudaOptions o;
  o.max_batch = batch;
  o.tf32 = tf32;
  o.graphs = graphs;
  o.host = "test";
  o.nccl_always = nccl;
  return make_cuda_backend(m, o);
}

std::vector<float> random_parameters(const Model& m, unsigned seed) {
  std::vector<float> p(m.parameter_count);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-0.2f, 0.2f);
  for (auto& v : p) v = u(gen);
  return p;
}

// Max |a - b| over the largest |b|: 0 when equal.
double relative_gap(const std::vector<float>& a, const std::vector<float>& b) {
  double gap = 0, scale = 1e-12;
  for (std::size_t i = 0; i < a.size(); ++i) {
    gap = std::max(gap, static_cast<double>(std::fabs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(b[i])));
  }
  return gap / scale;
}

struct LayerCase {
  const char* name;
  std::vector<LayerSpec> middle;
  bool augment;
};

class CudaLayers : public CudaBackendTest, public ::testing::WithParamInterface<LayerCase> {};

// conv2d (same) first, so each layer's input gradient shows in that
// kernel's gradient; then the layer; then a dense softmax head.
TEST_P(CudaLayers, ForwardAndBackwardMatchTheCpu) {
  const LayerCase& c = GetParam();
  std::vector<LayerSpec> specs = {conv(16, true), relu()};
  specs.insert(specs.end(), c.middle.begin(), c.middle.end());
  for (const LayerSpec& s : {flatten(), dense(10), softmax()}) specs.push_back(s);
  Fixture f = make(specs, {9, 9, 3}, 5, c.augment);
  const auto params = random_parameters(f.model, 3);
  auto cpu = make_cpu_backend(f.model, {f.batch.n, 1, true});
  auto cuda = gpu(f.model, f.batch.n);
  std::vector<float> g_cpu(f.model.parameter_count), g_gpu(f.model.parameter_count);
  cpu->set_parameters(params);
  cuda->set_parameters(params);
  const BatchStats a = cpu->train_batch(f.batch), b = cuda->train_batch(f.batch);
  cpu->get_gradients(g_cpu);
  cuda->get_gradients(g_gpu);
  EXPECT_NEAR(b.loss_sum, a.loss_sum, 1e-5 * std::max(1.0, a.loss_sum)) << c.name;
  EXPECT_EQ(b.correct, a.correct) << c.name;
  EXPECT_LT(relative_gap(g_gpu, g_cpu), 1e-4) << c.name;
  for (const Layer& l : f.model.layers) {
    if (!l.has_weights()) continue;
    const std::vector<float> cg(g_cpu.begin() + l.kernel_offset, g_cpu.begin() + l.kernel_offset + l.kernel_size);
    const std::vector<float> gg(g_gpu.begin() + l.kernel_offset, g_gpu.begin() + l.kernel_offset + l.kernel_size);
    EXPECT_LT(relative_gap(gg, cg), 1e-4) << c.name << ": " << l.name << " kernel gradient";
  }
  const BatchStats ea = cpu->evaluate(f.batch), eb = cuda->evaluate(f.batch);
  EXPECT_NEAR(eb.loss_sum, ea.loss_sum, 1e-5 * std::max(1.0, ea.loss_sum)) << c.name << " (evaluate)";
}

INSTANTIATE_TEST_SUITE_P(
    EveryKind, CudaLayers,
    ::testing::Values(LayerCase{"conv2d_same", {conv(8, true)}, false},
                      LayerCase{"conv2d_valid", {conv(8, false)}, false},
                      LayerCase{"relu", {conv(8, false), relu()}, false},
                      LayerCase{"max_pooling2d_odd", {pool()}, false},
                      LayerCase{"dropout", {drop(0.4f)}, false},
                      LayerCase{"dense_relu", {flatten(), dense(12), relu()}, false},
                      LayerCase{"augmented_input", {}, true}),
    [](const ::testing::TestParamInfo<LayerCase>& i) { return std::string(i.param.name); });

// A synthetic training set: `n` random images with labels.
Cifar10Set synthetic_set(std::size_t n, unsigned seed) {
  Cifar10Set s;
  std::mt19937 gen(seed);
  s.count = n;
  s.images.resize(n * 3072);
  for (auto& v : s.images) v = static_cast<std::uint8_t>(gen() % 256);
  for (std::size_t i = 0; i < n; ++i) s.labels.push_back(static_cast<std::uint8_t>(gen() % 10));
  return s;
}

// Two epochs of the run level on `backend`, with a partial last batch (80
// images, batch 32); returns the parameters and the training sums.
std::pair<std::vector<float>, BatchStats> run_two_epochs(Backend& backend, const Model& m, const Cifar10Set& train,
                                                         const Cifar10Set& test, BatchStats* eval) {
  backend.set_parameters(initial_parameters(m, 5));
  backend.set_accumulators(std::vector<float>(m.parameter_count, 0.0f));
  backend.use_data(train, test);
  struct OneRank final : Reducer {
    int size() const override { return 1; }
    void sum(std::span<float>) override {}
  } reducer;
  BatchStats total;
  std::int64_t iterations = 0;
  for (int epoch = 1; epoch <= 2; ++epoch) {
    const auto order = rng::permutation(train.count, rng::key(9, static_cast<std::uint64_t>(epoch)));
    EpochPlan p;
    p.order = order.data();
    p.count = train.count;
    p.run = 77;
    p.epoch = epoch;
    p.batch = 32;
    p.lr = 1e-3f;
    p.decay = 1e-6f;
    p.iterations = iterations;
    backend.begin_epoch(p);
    for (int s = 0; s < 3; ++s, ++iterations) backend.step(reducer);
    const BatchStats got = backend.take_stats();
    total.loss_sum += got.loss_sum;
    total.correct += got.correct;
    total.examples += got.examples;
  }
  if (eval) *eval = backend.evaluate_range(0, test.count);
  std::vector<float> params(m.parameter_count);
  backend.get_parameters(params);
  return {params, total};
}

TEST_F(CudaBackendTest, TrainingStepsOfTheTutorialNetworkMatchTheCpu) {
  auto m = build_model(cifar10_cnn(), {32, 32, 3});
  ASSERT_TRUE(m);
  const Cifar10Set train = synthetic_set(80, 1), test = synthetic_set(300, 2);
  auto cpu = make_cpu_backend(*m, {32, 2});
  BatchStats eval_cpu, eval_fp32, eval_tf32;
  const auto [p_cpu, s_cpu] = run_two_epochs(*cpu, *m, train, test, &eval_cpu);
  auto fp32 = gpu(*m, 32, false);
  const auto [p_fp32, s_fp32] = run_two_epochs(*fp32, *m, train, test, &eval_fp32);
  EXPECT_EQ(s_fp32.examples, 160u);
  EXPECT_EQ(s_cpu.examples, 160u);
  EXPECT_NEAR(s_fp32.loss_sum, s_cpu.loss_sum, 1e-4 * s_cpu.loss_sum);
  EXPECT_LT(relative_gap(p_fp32, p_cpu), 1e-3);
  EXPECT_EQ(eval_fp32.examples, 300u);
  EXPECT_NEAR(eval_fp32.loss_sum, eval_cpu.loss_sum, 1e-3 * eval_cpu.loss_sum);
  auto tf32 = gpu(*m, 32, true);
  const auto [p_tf32, s_tf32] = run_two_epochs(*tf32, *m, train, test, &eval_tf32);
  EXPECT_NEAR(s_tf32.loss_sum, s_cpu.loss_sum, 2e-2 * s_cpu.loss_sum);
  EXPECT_LT(relative_gap(p_tf32, p_cpu), 2e-2);
}

TEST_F(CudaBackendTest, TheCapturedStepDoesWhatEagerStepsDoAndRepeats) {
  auto m = build_model(cifar10_cnn(), {32, 32, 3});
  ASSERT_TRUE(m);
  const Cifar10Set train = synthetic_set(80, 3), test = synthetic_set(40, 4);
  auto eager = gpu(*m, 32, true, false);
  auto graph = gpu(*m, 32, true, true);
  auto again = gpu(*m, 32, true, true);
  const auto [p_eager, s_eager] = run_two_epochs(*eager, *m, train, test, nullptr);
  const auto [p_graph, s_graph] = run_two_epochs(*graph, *m, train, test, nullptr);
  const auto [p_again, s_again] = run_two_epochs(*again, *m, train, test, nullptr);
  EXPECT_EQ(p_graph, p_eager) << "a replayed graph must run the same kernels on the same data";
  EXPECT_EQ(p_again, p_graph) << "two runs with the same seed must give the same weights";
  EXPECT_EQ(s_graph.loss_sum, s_eager.loss_sum);
}

TEST_F(CudaBackendTest, TheNcclAllreduceInTheCapturedStepKeepsOneRanksGradient) {
  auto m = build_model(cifar10_cnn(), {32, 32, 3});
  ASSERT_TRUE(m);
  const Cifar10Set train = synthetic_set(80, 5), test = synthetic_set(40, 6);
  std::unique_ptr<Backend> nccl;
  try {
    nccl = gpu(*m, 32, true, true, true);
  } catch (const DeviceError& e) {
    GTEST_SKIP() << "no NCCL: " << e.what();
  }
  auto plain = gpu(*m, 32, true, true, false);
  EXPECT_NE(nccl->describe().find("NCCL"), std::string::npos) << nccl->describe();
  const auto [p_nccl, s_nccl] = run_two_epochs(*nccl, *m, train, test, nullptr);
  const auto [p_plain, s_plain] = run_two_epochs(*plain, *m, train, test, nullptr);
  EXPECT_EQ(p_nccl, p_plain) << "a sum over one rank is the identity";
}

TEST_F(CudaBackendTest, DeviceErrorsNameTheRankHostAndGpu) {
  auto m = build_model(cifar10_cnn(), {32, 32, 3});
  ASSERT_TRUE(m);
  // A batch larger than the backend was made for is refused, not overrun.
  auto cuda = gpu(*m, 4);
  Fixture f = make(cifar10_cnn(), {32, 32, 3}, 8, false);
  try {
    cuda->train_batch(f.batch);
    ADD_FAILURE() << "an oversized batch was accepted";
  } catch (const DeviceError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("rank 0 on test, gpu ", 0), 0u) << what;
    EXPECT_NE(what.find("a batch of 8 exceeds the 4"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace batchai::trainer
