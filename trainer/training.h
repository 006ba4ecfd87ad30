// The tutorial's training run with Horovod's semantics, on any backend:
// rank 0's initial weights broadcast to all, each step's gradients averaged
// over the ranks, lr scaled by the rank count and decayed per step as
// Keras 2.2's RMSprop does, checkpoints and the final model from rank 0
// only. Library code: it reports through its result and `out`, never exits.
#pragma once

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <string>

#include "io/cifar10.h"
#include "base/result.h"
#include "trainer/backend.h"
#include "trainer/comm.h"
#include "trainer/model.h"

namespace batchai::trainer {

struct TrainOptions {
  std::string dir;  // checkpoints, saved_models/, metrics.jsonl, training.svg
  int epochs = 0;   // total, counting those a resumed run already did
  std::size_t batch = 32;  // per rank
  RmspropConfig optimizer;  // lr already scaled by the rank count
  bool augmentation = true;
  std::uint64_t seed = 0;
  bool shard = false;  // split each epoch over the ranks instead of each rank seeing all of it
  bool resume = false;
  // A run Slurm started again (a requeue): it resumes by itself, but only
  // from a checkpoint its own job wrote.
  bool restarted = false;
  std::string slurm_job_id;  // recorded in every checkpoint; "" outside Slurm
  int threads = 0;           // the CPU backend's, recorded; 0 on a GPU
  // Set by a signal handler to the signal's number: every rank stops after
  // the same step, and rank 0 writes a checkpoint there.
  const volatile std::sig_atomic_t* stop = nullptr;
  // Where rank 0 writes the newest checkpoint's path after each one ("":
  // nowhere).
  std::string checkpoint_record;
  // Steps per epoch, as Keras' fit_generator(steps_per_epoch=...); 0: one
  // pass over the data (the last batch partial).
  std::size_t steps_per_epoch = 0;
  std::FILE* out = stdout;  // rank 0's progress
  bool tty = false;
};

struct TrainResult {
  int epochs_run = 0;  // by this invocation
  double test_loss = 0, test_accuracy = 0;
  // Stopped by a signal (its number) before the end, after step `step` of
  // `steps` of epoch `epoch`, with its checkpoint at `checkpoint`. 0: the
  // run finished.
  int stopped_by = 0;
  int epoch = 0;
  std::size_t step = 0, steps = 0;
  std::string checkpoint;
};

Result<TrainResult> train(const TrainOptions& options, const Model& model, Backend& backend, Comm& comm,
                          const Cifar10Set& train_set, const Cifar10Set& test_set);

// Keras' glorot_uniform for every kernel, zero biases; a function of the
// seed only.
std::vector<float> initial_parameters(const Model& model, std::uint64_t seed);

}  // namespace batchai::trainer
