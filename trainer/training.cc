#include "trainer/training.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <vector>

#include "trainer/checkpoint.h"
#include "trainer/progress.h"
#include "trainer/random.h"
#include "trainer/report.h"

namespace batchai::trainer {
namespace {

// Sums of an evaluation over every rank's slice of the test set.
struct Score {
  double loss = 0, accuracy = 0;
};

Score evaluate(Backend& backend, Comm& comm, const Cifar10Set& set) {
  // The test set is split over the ranks and the sums added up: the same
  // figures every rank would get alone, in 1/size of the time.
  const std::size_t per_rank = (set.count + comm.size() - 1) / comm.size();
  const std::size_t begin = std::min(set.count, per_rank * comm.rank());
  const std::size_t end = std::min(set.count, begin + per_rank);
  const BatchStats s = backend.evaluate_range(begin, end);
  double sums[2] = {s.loss_sum, static_cast<double>(s.correct)};
  comm.sum(std::span<double>(sums, 2));
  const double count = static_cast<double>(std::max<std::size_t>(set.count, 1));
  return {sums[0] / count, sums[1] / count};
}

// A run that diverged, named by where: "epoch 3, step 120: the loss is
// nan; ...". Rank 0 looks at the loss only where it prints it and at the
// epoch's end (on a GPU each look waits for the queued steps), so `step`
// is where it was first seen, at most that many steps after it went wrong.
std::string diverged(int epoch, std::size_t step, const char* what, double value) {
  return "epoch " + std::to_string(epoch) + ", step " + std::to_string(step) + ": the " + what + " is " +
         (std::isnan(value) ? "nan" : "inf") +
         "; training diverged (a smaller --lr may help), and this epoch's checkpoint was not written";
}

}  // namespace

std::vector<float> initial_parameters(const Model& model, std::uint64_t seed) {
  std::vector<float> p(model.parameter_count, 0.0f);
  for (const Layer& l : model.layers) {
    if (!l.has_weights()) continue;
    // fan_in and fan_out over the receptive field, as Keras counts them.
    std::size_t receptive = 1;
    for (std::size_t d = 0; d + 2 < l.kernel_shape.size(); ++d) receptive *= l.kernel_shape[d];
    const double fan_in = static_cast<double>(receptive * l.kernel_shape[l.kernel_shape.size() - 2]);
    const double fan_out = static_cast<double>(receptive * l.kernel_shape.back());
    const float limit = static_cast<float>(std::sqrt(6.0 / (fan_in + fan_out)));
    const std::uint64_t k = rng::key(seed, rng::kInit, l.kernel_offset);
    for (std::size_t i = 0; i < l.kernel_size; ++i) {
      p[l.kernel_offset + i] = (rng::uniform(rng::key(k, i)) * 2.0f - 1.0f) * limit;
    }
  }
  return p;
}

Result<TrainResult> train(const TrainOptions& o, const Model& model, Backend& backend, Comm& comm,
                          const Cifar10Set& train_set, const Cifar10Set& test_set) {
  const bool leader = comm.rank() == 0;
  const std::size_t size = static_cast<std::size_t>(comm.size());
  Checkpoint state;
  state.state = {0, o.seed, comm.size(), o.shard, 0};
  // Each rank draws its own initial weights, as each Keras process did,
  // and rank 0's reach the others with the broadcast below.
  state.parameters = initial_parameters(model, rng::key(o.seed, static_cast<std::uint64_t>(comm.rank())));
  state.accumulators.assign(model.parameter_count, 0.0f);
  std::vector<EpochMetrics> history;

  // --resume: rank 0 reads the newest checkpoint; its weights and
  // accumulators reach the others with the broadcast below.
  int start[1] = {0};
  if (o.resume) {
    std::string error;
    if (leader) {
      const std::string path = newest_checkpoint(o.dir);
      if (!path.empty()) {
        auto loaded = load_checkpoint(path, model);
        if (!loaded) {
          error = loaded.error().message;
        } else if (loaded->state.seed != o.seed || loaded->state.ranks != comm.size() ||
                   loaded->state.shard != o.shard) {
          error = path + ": written by a run with another --seed, rank count or --shard; resuming would not "
                         "continue it";
        } else {
          state = std::move(*loaded);
          start[0] = state.state.epoch;
        }
      }
    }
    if (!comm.all_ok(error.empty())) return Error{error.empty() ? "rank 0 could not resume" : error};
    float e = static_cast<float>(start[0]);
    comm.broadcast(std::span<float>(&e, 1));
    start[0] = static_cast<int>(e);
    state.state.epoch = start[0];
  }
  comm.broadcast(state.parameters);
  comm.broadcast(state.accumulators);
  backend.set_parameters(state.parameters);
  backend.set_accumulators(state.accumulators);

  const std::size_t n = train_set.count;
  const std::size_t batch = o.batch;
  const std::size_t pass = o.shard ? (n + batch * size - 1) / (batch * size) : (n + batch - 1) / batch;
  const std::size_t steps = o.steps_per_epoch ? std::min(o.steps_per_epoch, pass) : pass;
  // Which example gets which shift, flip and dropout: with --shard a
  // function of its place in the epoch, whichever rank it lands on.
  const std::uint64_t run = o.shard ? rng::key(o.seed, 0) : rng::key(o.seed, 1 + comm.rank());
  backend.use_data(train_set, test_set);
  Progress progress(o.out, o.tty);
  std::int64_t iterations = static_cast<std::int64_t>(start[0]) * static_cast<std::int64_t>(steps);
  TrainResult result;

  for (int epoch = start[0] + 1; epoch <= o.epochs; ++epoch) {
    const auto order = rng::permutation(n, rng::key(run, rng::kShuffle, static_cast<std::uint64_t>(epoch)));
    EpochPlan plan;
    plan.order = order.data();
    plan.count = n;
    plan.run = run;
    plan.epoch = epoch;
    plan.batch = batch;
    plan.rank = comm.rank();
    plan.size = comm.size();
    plan.shard = o.shard;
    plan.augment = o.augmentation;
    plan.height = model.input.h;
    plan.width = model.input.w;
    plan.lr = o.optimizer.lr;
    plan.decay = o.optimizer.decay;
    plan.rho = o.optimizer.rho;
    plan.epsilon = static_cast<float>(o.optimizer.epsilon);
    plan.iterations = iterations;
    backend.begin_epoch(plan);
    if (leader) progress.start_epoch(epoch, o.epochs, steps);
    BatchStats epoch_stats;
    std::size_t diverged_at = 0;  // the step where rank 0 first saw a loss that is not finite
    auto add = [&](const BatchStats& s) {
      epoch_stats.loss_sum += s.loss_sum;
      epoch_stats.correct += s.correct;
      epoch_stats.examples += s.examples;
    };
    for (std::size_t step = 0; step < steps; ++step) {
      backend.step(comm);
      ++iterations;
      // The running figures cost a wait on a GPU: taken only to be printed.
      if (leader && progress.due(step + 1)) {
        add(backend.take_stats());
        if (!diverged_at && !std::isfinite(epoch_stats.loss_sum)) diverged_at = step + 1;
        const double seen = std::max(static_cast<double>(epoch_stats.examples), 1.0);
        progress.step(step + 1, epoch_stats.loss_sum / seen, static_cast<double>(epoch_stats.correct) / seen);
      }
    }
    add(backend.take_stats());
    const double seen = static_cast<double>(epoch_stats.examples);
    const double loss_sum = epoch_stats.loss_sum, correct = static_cast<double>(epoch_stats.correct);
    const double seconds = leader ? progress.epoch_seconds() : 0.0;
    const Score val = evaluate(backend, comm, test_set);
    ++result.epochs_run;

    backend.get_parameters(state.parameters);
    backend.get_accumulators(state.accumulators);
    state.state.epoch = epoch;
    state.state.iterations = iterations;
    std::string error;
    if (leader) {
      progress.end_epoch(loss_sum / std::max(seen, 1.0), correct / std::max(seen, 1.0), val.loss, val.accuracy);
      // Every rank's images: each saw as many as rank 0, or with --shard
      // the epoch's share of the set.
      const double images = o.shard ? static_cast<double>(std::min(n, steps * batch * size))
                                    : seen * static_cast<double>(size);
      const std::string path = o.dir + "/checkpoint-" + std::to_string(epoch) + ".h5";
      // Weights that are not finite are no checkpoint to resume from: the
      // run ends at the last good one.
      if (!std::isfinite(loss_sum)) {
        error = diverged(epoch, diverged_at ? diverged_at : steps, "loss", loss_sum);
      } else if (!std::isfinite(val.loss)) {
        error = diverged(epoch, steps, "validation loss", val.loss);
      } else {
        history.push_back({epoch, loss_sum / std::max(seen, 1.0), correct / std::max(seen, 1.0), val.loss,
                           val.accuracy, seconds, images / std::max(seconds, 1e-9)});
        if (auto ok = save_checkpoint(path, model, o.optimizer, state); !ok) {
          error = ok.error().message;
        } else if (auto report = write_report(o.dir, history); !report) {
          error = report.error().message;
        }
      }
    }
    if (!comm.all_ok(error.empty())) return Error{error.empty() ? "rank 0 could not write its files" : error};
  }

  // The tutorial's last steps: save the model, then score the test set.
  std::string error;
  if (leader) {
    std::error_code ec;
    std::filesystem::create_directories(o.dir + "/saved_models", ec);
    backend.get_parameters(state.parameters);
    backend.get_accumulators(state.accumulators);
    if (auto ok = save_checkpoint(o.dir + "/saved_models/keras_cifar10_trained_model.h5", model, o.optimizer, state);
        !ok) {
      error = ok.error().message;
    }
  }
  if (!comm.all_ok(error.empty())) return Error{error.empty() ? "rank 0 could not save the model" : error};
  const Score test = evaluate(backend, comm, test_set);
  result.test_loss = test.loss;
  result.test_accuracy = test.accuracy;
  return result;
}

}  // namespace batchai::trainer
