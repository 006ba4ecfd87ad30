// An epoch begun at step k, with the weights and accumulators the first k
// steps left, continues exactly as the uninterrupted epoch: what a run
// stopped inside an epoch needs to resume to the same bits.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "io/cifar10.h"
#include "trainer/backend.h"
#include "trainer/random.h"
#include "trainer/training.h"
#include "unit/trainer_fixture.h"

namespace batchai::trainer {
namespace {

// One rank: its sum is itself.
struct Alone final : Reducer {
  int size() const override { return 1; }
  void sum(std::span<float>) override {}
};

Cifar10Set random_set(std::size_t count, unsigned seed) {
  Cifar10Set s;
  std::mt19937 gen(seed);
  s.count = count;
  s.images.resize(count * cifar10::kImageBytes);
  for (auto& v : s.images) v = static_cast<std::uint8_t>(gen() % 256);
  for (std::size_t i = 0; i < count; ++i) s.labels.push_back(static_cast<std::uint8_t>(gen() % 10));
  return s;
}

struct State {
  std::vector<float> parameters, accumulators;
  BatchStats stats;
};

using MakeBackend = std::unique_ptr<Backend> (*)(const Model&, std::size_t batch);

std::unique_ptr<Backend> cpu(const Model& m, std::size_t batch) { return make_cpu_backend(m, {batch, 1}); }

std::unique_ptr<Backend> gpu(const Model& m, std::size_t batch) {
  CudaOptions o;
  o.max_batch = batch;
  o.tf32 = false;
  o.host = "test";
  return make_cuda_backend(m, o);
}

// n steps on a fresh backend from `from`, as a resumed run takes them.
State run_steps(MakeBackend make, const Model& model, const Cifar10Set& set, const EpochPlan& plan, const State& from,
                std::size_t n) {
  Alone alone;
  auto backend = make(model, plan.batch);
  backend->use_data(set, set);
  backend->set_parameters(from.parameters);
  backend->set_accumulators(from.accumulators);
  backend->begin_epoch(plan);
  for (std::size_t i = 0; i < n; ++i) backend->step(alone);
  State s{std::vector<float>(model.parameter_count), std::vector<float>(model.parameter_count),
          backend->take_stats()};
  backend->get_parameters(s.parameters);
  backend->get_accumulators(s.accumulators);
  return s;
}

void expect_resumed_epoch_matches(MakeBackend backend) {
  Fixture f = make({conv(4, true), relu(), pool(), drop(0.25f), flatten(), dense(10), softmax()}, {32, 32, 3}, 1,
                   false);
  const Cifar10Set set = random_set(40, 3);
  const auto order = rng::permutation(set.count, 77);
  EpochPlan plan;
  plan.order = order.data();
  plan.count = set.count;
  plan.run = 5;
  plan.epoch = 2;
  plan.batch = 8;
  plan.lr = 1e-3f;
  plan.decay = 1e-2f;  // the lr clock shows if a resumed step counts from 0
  plan.iterations = 5;  // one epoch before this one
  const std::size_t steps = 5, k = 2;
  const State fresh{initial_parameters(f.model, 9), std::vector<float>(f.model.parameter_count, 0.0f), {}};

  const State straight = run_steps(backend, f.model, set, plan, fresh, steps);
  const State before = run_steps(backend, f.model, set, plan, fresh, k);
  EpochPlan rest = plan;
  rest.first_step = k;
  const State after = run_steps(backend, f.model, set, rest, before, steps - k);

  EXPECT_EQ(after.parameters, straight.parameters);
  EXPECT_EQ(after.accumulators, straight.accumulators);
  EXPECT_EQ(before.stats.examples + after.stats.examples, straight.stats.examples);
  EXPECT_EQ(before.stats.correct + after.stats.correct, straight.stats.correct);
  // And the test can tell: starting the rest at step 0 lands elsewhere.
  const State wrong = run_steps(backend, f.model, set, plan, before, steps - k);
  EXPECT_NE(wrong.parameters, straight.parameters);
}

TEST(TrainerBackends, AnEpochStartedAtStepKContinuesAsIfUninterrupted) { expect_resumed_epoch_matches(cpu); }

// The CUDA backend keeps the step and the lr clock in device memory
// (begin_epoch writes them): the same, where there is a GPU.
TEST(TrainerBackends, AnEpochStartedAtStepKContinuesAsIfUninterruptedOnTheGpu) {
  std::string why;
  if (!cuda_backend_available(&why)) GTEST_SKIP() << "no GPU for the CUDA backend: " << why;
  expect_resumed_epoch_matches(gpu);
}

}  // namespace
}  // namespace batchai::trainer
