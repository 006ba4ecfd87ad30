// The trainer's state as a Keras 2.2.4 model file: model.save()'s layout,
// so keras.models.load_model opens every checkpoint, plus what --resume
// needs to continue exactly (the epoch and the run's settings; the
// randomness is counter-based, so there is no generator state).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "trainer/model.h"

namespace batchai::trainer {

struct TrainingState {
  int epoch = 0;  // epochs completed
  std::uint64_t seed = 0;
  int ranks = 1;
  bool shard = false;
  std::int64_t iterations = 0;  // optimizer steps taken, for the lr decay
};

struct Checkpoint {
  std::vector<float> parameters;    // the model's flat order
  std::vector<float> accumulators;  // RMSprop's, same order
  TrainingState state;
};

// Writes atomically (a temporary file, then rename).
Status save_checkpoint(const std::string& path, const Model& model, const RmspropConfig& optimizer,
                       const Checkpoint& checkpoint);

// Refuses a file whose model_config is not this model's, or whose tensors
// do not have its shapes, naming the file and what differs.
Result<Checkpoint> load_checkpoint(const std::string& path, const Model& model);

// The newest checkpoint-<epoch>.h5 in `dir`, or "" when there is none.
std::string newest_checkpoint(const std::string& dir);

}  // namespace batchai::trainer
