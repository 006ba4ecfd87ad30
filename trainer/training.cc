#include "trainer/training.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <vector>

#include "base/files.h"
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

// Why a checkpoint cannot be continued by this run, or "". Any resume needs
// the same seed, rank count and --shard; one inside an epoch also the same
// steps, batch and threads, or its remaining steps would not be the steps
// an uninterrupted run takes; a restarted run takes only its own job's.
std::string refusal(const std::string& path, const TrainingState& was, const TrainingState& now, bool own_job_only) {
  auto differ = [&](const std::string& was_text, const std::string& now_text, const std::string& why) {
    return path + ": written by a run with " + was_text + ", and this run has " + now_text + "; " + why;
  };
  const std::string whole = "resuming would not continue it";
  if (was.seed != now.seed) {
    return differ("--seed " + std::to_string(was.seed), "--seed " + std::to_string(now.seed), whole);
  }
  if (was.ranks != now.ranks) {
    return differ(std::to_string(was.ranks) + " ranks", std::to_string(now.ranks), whole);
  }
  if (was.shard != now.shard) {
    return differ(was.shard ? "--shard" : "no --shard", now.shard ? "--shard" : "none", whole);
  }
  if (own_job_only && was.slurm_job_id != now.slurm_job_id) {
    auto job = [](const std::string& id) { return id.empty() ? std::string("no Slurm job") : "Slurm job " + id; };
    return differ(job(was.slurm_job_id), job(now.slurm_job_id),
                  "a restarted run resumes only its own job's checkpoints (--resume takes another's)");
  }
  if (was.step == 0) return "";
  const std::string inside = "it stopped inside epoch " + std::to_string(was.epoch + 1) + " (step " +
                             std::to_string(was.step) + "), and resuming there needs the same setting";
  if (was.batch != now.batch) {
    return differ("--batch-size " + std::to_string(was.batch), std::to_string(now.batch), inside);
  }
  if (was.steps_per_epoch != now.steps_per_epoch) {
    return differ(std::to_string(was.steps_per_epoch) + " steps per epoch", std::to_string(now.steps_per_epoch),
                  inside);
  }
  if (was.threads != now.threads) {
    return differ("--threads " + std::to_string(was.threads), std::to_string(now.threads), inside);
  }
  return "";
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
  const std::size_t n = train_set.count;
  const std::size_t batch = o.batch;
  const std::size_t pass = o.shard ? (n + batch * size - 1) / (batch * size) : (n + batch - 1) / batch;
  const std::size_t steps = o.steps_per_epoch ? std::min(o.steps_per_epoch, pass) : pass;

  Checkpoint state;
  state.state.seed = o.seed;
  state.state.ranks = comm.size();
  state.state.shard = o.shard;
  // Each rank draws its own initial weights, as each Keras process did,
  // and rank 0's reach the others with the broadcast below.
  state.parameters = initial_parameters(model, rng::key(o.seed, static_cast<std::uint64_t>(comm.rank())));
  state.accumulators.assign(model.parameter_count, 0.0f);
  std::vector<EpochMetrics> history;

  // What this run would record: a checkpoint to continue must match it.
  TrainingState now = state.state;
  now.steps_per_epoch = static_cast<std::int64_t>(steps);
  now.batch = static_cast<std::int64_t>(batch);
  now.threads = o.threads;
  now.slurm_job_id = o.slurm_job_id;

  // --resume, or a restart: rank 0 reads the newest checkpoint; its
  // weights and accumulators reach the others with the broadcast below.
  std::int64_t start[2] = {0, 0};  // epochs done, steps into the next
  if (o.resume || o.restarted) {
    std::string error;
    if (leader) {
      const std::string path = newest_checkpoint(o.dir);
      if (!path.empty()) {
        auto loaded = load_checkpoint(path, model);
        if (!loaded) {
          error = loaded.error().message;
        } else if (auto why = refusal(path, loaded->state, now, !o.resume); !why.empty()) {
          error = why;
        } else if (auto metrics = read_metrics_jsonl(o.dir); !metrics) {
          error = metrics.error().message;
        } else {
          state = std::move(*loaded);
          start[0] = state.state.epoch;
          start[1] = state.state.step;
          // The epochs before the resumed one, so that metrics.jsonl and
          // training.svg go on instead of starting again.
          for (const auto& e : *metrics) {
            if (e.epoch <= start[0]) history.push_back(e);
          }
        }
      }
    }
    if (!comm.all_ok(error.empty())) return Error{error.empty() ? "rank 0 could not resume" : error};
    comm.broadcast(std::span<std::int64_t>(start, 2));
  }
  const TrainingState resumed = state.state;  // rank 0's: the figures of the epoch it stopped inside
  state.state = now;
  comm.broadcast(state.parameters);
  comm.broadcast(state.accumulators);
  backend.set_parameters(state.parameters);
  backend.set_accumulators(state.accumulators);

  // Which example gets which shift, flip and dropout: with --shard a
  // function of its place in the epoch, whichever rank it lands on.
  const std::uint64_t run = o.shard ? rng::key(o.seed, 0) : rng::key(o.seed, 1 + comm.rank());
  backend.use_data(train_set, test_set);
  Progress progress(o.out, o.tty);
  const int start_epoch = static_cast<int>(start[0]);
  const std::size_t start_step = static_cast<std::size_t>(start[1]);
  std::int64_t iterations = start[0] * static_cast<std::int64_t>(steps) + start[1];
  TrainResult result;
  result.steps = steps;

  // Rank 0 names its newest checkpoint where the job runtime looks for it.
  auto record = [&](const std::string& path) -> Status {
    if (o.checkpoint_record.empty()) return {};
    std::error_code ec;
    const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
    return write_file_atomic(o.checkpoint_record, (ec ? path : absolute.string()) + "\n", 0644);
  };

  for (int epoch = start_epoch + 1; epoch <= o.epochs; ++epoch) {
    const std::size_t first = epoch == start_epoch + 1 ? start_step : 0;
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
    plan.iterations = iterations - static_cast<std::int64_t>(first);
    plan.first_step = first;
    backend.begin_epoch(plan);
    if (leader) progress.start_epoch(epoch, o.epochs, steps, first ? resumed.seconds : 0.0);
    BatchStats epoch_stats;
    if (first) {
      epoch_stats.loss_sum = resumed.loss_sum;
      epoch_stats.correct = static_cast<std::size_t>(resumed.correct);
      epoch_stats.examples = static_cast<std::size_t>(resumed.examples);
    }
    std::size_t diverged_at = 0;  // the step where rank 0 first saw a loss that is not finite
    auto add = [&](const BatchStats& s) {
      epoch_stats.loss_sum += s.loss_sum;
      epoch_stats.correct += s.correct;
      epoch_stats.examples += s.examples;
    };
    int stop = 0;  // the signal every rank agreed to stop on
    std::size_t done = first;
    while (done < steps) {
      backend.step(comm);
      ++iterations;
      ++done;
      // The running figures cost a wait on a GPU: taken only to be printed.
      if (leader && progress.due(done)) {
        add(backend.take_stats());
        if (!diverged_at && !std::isfinite(epoch_stats.loss_sum)) diverged_at = done;
        const double seen = std::max(static_cast<double>(epoch_stats.examples), 1.0);
        progress.step(done, epoch_stats.loss_sum / seen, static_cast<double>(epoch_stats.correct) / seen);
      }
      // One int over the ranks a step: a signal that reached any rank stops
      // them all here. The last epoch is left to finish, which takes less
      // than writing a checkpoint and resuming from it.
      if (o.stop && epoch < o.epochs) {
        stop = comm.max(static_cast<int>(*o.stop));
        if (stop) break;
      }
    }
    add(backend.take_stats());

    if (stop && done < steps) {
      // Stopped inside the epoch: its weights, accumulators, place and
      // figures so far, written where --resume (or the restart) finds them.
      backend.get_parameters(state.parameters);
      backend.get_accumulators(state.accumulators);
      state.state.epoch = epoch - 1;
      state.state.iterations = iterations;
      state.state.step = static_cast<std::int64_t>(done);
      state.state.loss_sum = epoch_stats.loss_sum;
      state.state.correct = static_cast<std::int64_t>(epoch_stats.correct);
      state.state.examples = static_cast<std::int64_t>(epoch_stats.examples);
      state.state.seconds = leader ? progress.epoch_seconds() : 0.0;
      const std::string path = o.dir + "/" + checkpoint_name(epoch, static_cast<std::int64_t>(done));
      std::string error;
      if (leader) {
        progress.stop();
        if (!std::isfinite(epoch_stats.loss_sum)) {
          error = diverged(epoch, diverged_at ? diverged_at : done, "loss", epoch_stats.loss_sum);
        } else if (auto ok = save_checkpoint(path, model, o.optimizer, state); !ok) {
          error = ok.error().message;
        } else if (auto ok = record(path); !ok) {
          error = ok.error().message;
        }
      }
      if (!comm.all_ok(error.empty())) return Error{error.empty() ? "rank 0 could not write its checkpoint" : error};
      result.stopped_by = stop;
      result.epoch = epoch;
      result.step = done;
      result.checkpoint = path;
      return result;
    }

    const double seen = static_cast<double>(epoch_stats.examples);
    const double loss_sum = epoch_stats.loss_sum, correct = static_cast<double>(epoch_stats.correct);
    const double seconds = leader ? progress.epoch_seconds() : 0.0;
    const Score val = evaluate(backend, comm, test_set);
    ++result.epochs_run;

    backend.get_parameters(state.parameters);
    backend.get_accumulators(state.accumulators);
    state.state.epoch = epoch;
    state.state.iterations = iterations;
    state.state.step = 0;
    state.state.loss_sum = 0;
    state.state.correct = state.state.examples = 0;
    state.state.seconds = 0;
    const std::string path = o.dir + "/" + checkpoint_name(epoch);
    std::string error;
    if (leader) {
      progress.end_epoch(loss_sum / std::max(seen, 1.0), correct / std::max(seen, 1.0), val.loss, val.accuracy);
      // Every rank's images: each saw as many as rank 0, or with --shard
      // the epoch's share of the set.
      const double images = o.shard ? static_cast<double>(std::min(n, steps * batch * size))
                                    : seen * static_cast<double>(size);
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
        } else if (auto ok = record(path); !ok) {
          error = ok.error().message;
        } else {
          // The epoch's file supersedes the checkpoints taken inside it.
          remove_step_checkpoints(o.dir, epoch);
        }
      }
    }
    if (!comm.all_ok(error.empty())) return Error{error.empty() ? "rank 0 could not write its files" : error};
    if (stop) {
      // The signal came with the epoch's last step: its own file is the
      // checkpoint.
      result.stopped_by = stop;
      result.epoch = epoch;
      result.step = steps;
      result.checkpoint = path;
      return result;
    }
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
