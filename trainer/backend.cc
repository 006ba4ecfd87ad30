// The run level driven from the host, for backends that compute on host
// memory: each step's batch is made here (schedule.h) and handed to the
// batch level.
#include "trainer/backend.h"

#include <algorithm>

namespace batchai::trainer {

void Backend::use_data(const Cifar10Set& train, const Cifar10Set& test) {
  host_run_.train = &train;
  host_run_.test = &test;
  host_run_.index.resize(max_batch());
  host_run_.keys.resize(max_batch());
  host_run_.shifts.resize(max_batch());
}

void Backend::begin_epoch(const EpochPlan& plan) {
  host_run_.plan = plan;
  host_run_.next_step = plan.first_step;
}

void Backend::step(Reducer& reducer) {
  HostRun& h = host_run_;
  const EpochPlan& p = h.plan;
  const std::size_t first = step_first(h.next_step, p.batch, p.rank, p.size, p.shard);
  const std::size_t count = step_count(first, p.batch, p.count);
  for (std::size_t e = 0; e < count; ++e) {
    h.index[e] = p.order[first + e];
    h.keys[e] = example_key(p.run, p.epoch, first + e);
    if (p.augment) h.shifts[e] = augmentation_for(h.keys[e], p.height, p.width);
  }
  const Batch b{h.train->images.data(), h.train->labels.data(), h.index.data(),
                p.augment ? h.shifts.data() : nullptr, h.keys.data(), count};
  const BatchStats got = train_batch(b);
  reduce_gradients(reducer);
  apply({learning_rate(p.lr, p.decay, p.iterations + static_cast<std::int64_t>(h.next_step)), p.rho, p.epsilon,
         1.0f / static_cast<float>(p.size)});
  ++h.next_step;
  h.stats.loss_sum += got.loss_sum;
  h.stats.correct += got.correct;
  h.stats.examples += count;
}

BatchStats Backend::take_stats() {
  const BatchStats s = host_run_.stats;
  host_run_.stats = {};
  return s;
}

BatchStats Backend::evaluate_range(std::size_t begin, std::size_t end) {
  HostRun& h = host_run_;
  BatchStats sum;
  for (std::size_t at = begin; at < end; at += max_batch()) {
    const std::size_t n = std::min(max_batch(), end - at);
    for (std::size_t e = 0; e < n; ++e) h.index[e] = static_cast<std::uint32_t>(at + e);
    const BatchStats s = evaluate({h.test->images.data(), h.test->labels.data(), h.index.data(), nullptr, nullptr, n});
    sum.loss_sum += s.loss_sum;
    sum.correct += s.correct;
    sum.examples += n;
  }
  return sum;
}

}  // namespace batchai::trainer
