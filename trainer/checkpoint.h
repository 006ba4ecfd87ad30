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
  // Version 2: a checkpoint may be taken inside epoch `epoch + 1`, after
  // `step` of its `steps_per_epoch` steps (0: at the epoch's boundary;
  // version 1 files load so). Continuing inside an epoch to the same bits
  // needs the same steps, batch and CPU threads, so they are recorded.
  std::int64_t step = 0;
  std::int64_t steps_per_epoch = 0;
  std::int64_t batch = 0;
  int threads = 0;  // the CPU backend's; 0 on a GPU
  std::string slurm_job_id;  // the job that wrote it; "" outside Slurm
  // Rank 0's training figures for the epoch's steps done so far, so the
  // epoch's metrics come out as an uninterrupted run's.
  double loss_sum = 0;
  std::int64_t correct = 0, examples = 0;
  double seconds = 0;  // the epoch's training time so far
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

// The file names: checkpoint-<epoch>.h5 at an epoch's end, and
// checkpoint-<epoch>-step-<step>.h5 inside one (epoch 1-based, the one in
// progress).
std::string checkpoint_name(int epoch);
std::string checkpoint_name(int epoch, std::int64_t step);

// The newest checkpoint in `dir`, by (epochs done, step):
// checkpoint-2.h5 < checkpoint-3-step-40.h5 < checkpoint-3.h5; "" when
// there is none.
std::string newest_checkpoint(const std::string& dir);

// Removes checkpoint-<epoch>-step-*.h5 from `dir`, once checkpoint-<epoch>.h5
// makes them stale.
void remove_step_checkpoints(const std::string& dir, int epoch);

}  // namespace batchai::trainer
