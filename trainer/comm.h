// The ranks of a training run, over MPI: what the trainer needs from
// Horovod (a broadcast from rank 0 at the start, sums of gradients and of
// evaluation counts), and nothing else.
#pragma once

#include <cstdint>
#include <span>

#include "trainer/backend.h"

namespace batchai::trainer {

class Comm final : public Reducer {
 public:
  Comm();  // MPI must be initialised
  int rank() const { return rank_; }
  int size() const override { return size_; }
  void sum(std::span<float> values) override;
  void sum(std::span<double> values);
  void broadcast(std::span<float> values);  // from rank 0
  void broadcast(std::span<std::int64_t> values);  // from rank 0
  // The largest of the ranks' values, on every rank: one signalled rank
  // stops them all after the same step.
  int max(int value);
  // Rank 0's status reaches every rank; any rank's failure fails all.
  bool all_ok(bool ok);

 private:
  int rank_ = 0, size_ = 1;
};

}  // namespace batchai::trainer
