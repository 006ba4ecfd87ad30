// batchai-train: the tutorial's Keras + Horovod CIFAR-10 training, native.
//
//   srun --mpi=pmix -n 4 batchai-train --dir $AZ_BATCHAI_OUTPUT_MODEL
//
// main reads as the run: parse the flags, start MPI, settle the
// configuration (Horovod's lr and epoch scaling), load the data, build the
// network and its backend, train, report. Every rank runs the same steps;
// only rank 0 prints and writes files.
#include <mpi.h>
#include <sched.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "base/args.h"
#include "io/cifar10.h"
#include "base/diag.h"
#include "base/man.h"
#include "base/version.h"
#include "trainer/backend.h"
#include "trainer/comm.h"
#include "trainer/device.h"
#include "trainer/keras_import.h"
#include "trainer/model.h"
#include "trainer/training.h"
#include "trainer/world.h"

namespace {

using batchai::Error;
using batchai::Result;
using batchai::args::Option;

constexpr Option kOptions[] = {
    {"dir", 0, "DIR", "where checkpoints, saved_models/, metrics.jsonl and training.svg go (default .)"},
    {"data", 0, "DIR", "cifar-10-batches-bin (default $BATCHAI_DATA, else ~/.keras/datasets/cifar-10-batches-bin)"},
    {"epochs", 0, "N", "epochs to train (default ceil(100 / ranks), as the tutorial)"},
    {"batch-size", 0, "N", "images per rank per step (default 32)"},
    {"steps-per-epoch", 0, "N", "steps per epoch, as Keras' steps_per_epoch (default: one pass over the data)"},
    {"lr", 0, "RATE", "RMSprop learning rate (default 1e-4 x ranks, as the tutorial)"},
    {"no-augmentation", 0, "", "train on the images as they are (no shifts or flips)"},
    {"seed", 0, "N", "seed for initial weights, shuffling, augmentation and dropout (default 1)"},
    {"shard", 0, "", "split each epoch over the ranks (default: every rank sees every image, as the tutorial)"},
    {"resume", 0, "", "continue from the newest checkpoint in --dir (an epoch's, or one taken inside an epoch)"},
    {"backend", 0, "auto|cpu|cuda", "where to compute (default auto: a GPU when every rank sees one, else the CPU)"},
    {"precision", 0, "tf32|fp32", "GPU GEMM precision (default tf32, as TensorFlow on Ampere and later; fp32: exact)"},
    {"threads", 0, "N", "CPU threads per rank (default: this rank's share of the node's cores)"},
    {"train-images", 0, "N", "use only the first N training images (quick runs and tests)"},
    {"test-images", 0, "N", "use only the first N test images"},
    {"evaluate", 0, "MODEL.h5", "score a Keras model file of this network on the test set (CPU), print one line, exit"},
    {"world-check", 0, "", "check the MPI world: print each rank's node and GPU, allreduce, exit"},
    {"devices", 0, "", "list the accelerators this process can use and exit"},
    {"version", 0, "", "print version and build features, then exit"},
    {"man", 0, "", "print the manual page (roff) and exit"},
    {"help", 'h', "", "show this help and exit"},
};

std::string manual() {
  return batchai::man::page({
      "batchai-train",
      1,
      "the Batch AI tutorial's Keras + Horovod CIFAR-10 training, native, on MPI",
      "\\fBsrun\\fR \\fB\\-\\-mpi=pmix\\fR ... \\fBbatchai-train\\fR [\\fIoptions\\fR]\n.br\n"
      "\\fBmpirun\\fR \\fB\\-n\\fR \\fIranks\\fR \\fBbatchai-train\\fR [\\fIoptions\\fR]",
      {"batchai-train trains the tutorial's network on CIFAR-10 as its Keras script did with Horovod: rank 0's "
       "initial weights are broadcast, gradients are averaged over the ranks every step, the learning rate is "
       "1e-4 times the number of ranks with Keras 2.2's RMSprop decay, and each rank iterates the whole training "
       "set with its own shuffle (--shard splits it instead), 32 images a step.",
       "Rank 0 alone prints (the configuration, a Keras-style progress line, each epoch's val_loss and val_acc, "
       "then the test loss and accuracy) and writes files in --dir: checkpoint-<epoch>.h5 after each epoch, "
       "saved_models/keras_cifar10_trained_model.h5 at the end (both Keras 2.2.4 model files that "
       "keras.models.load_model opens), metrics.jsonl and training.svg.",
       "The data is the binary CIFAR-10 release (data_batch_1.bin .. data_batch_5.bin, test_batch.bin)."},
      kOptions,
      {},
      {{"BATCHAI_DATA", "The cifar-10-batches-bin directory when --data is not given."},
       {"SLURM_LOCALID", "With OMPI_COMM_WORLD_LOCAL_RANK, which GPU a rank takes: its local rank modulo the GPUs it "
                         "sees."},
       {"SLURM_CPUS_PER_TASK", "When set, each rank uses the CPUs Slurm bound it to."},
       {"OPENBLAS_CORETYPE", "Which OpenBLAS kernels the GEMMs outside the convolutions use."},
       {"BATCHAI_JOB_RESTART_COUNT", "Above 0 (else SLURM_RESTART_COUNT above 0): the job was started again, and the "
                                     "run resumes by itself from a checkpoint in --dir that this job wrote."},
       {"SLURM_JOB_ID", "Recorded in every checkpoint; a restarted run resumes only its own job's."},
       {"BATCHAI_CHECKPOINT_RECORD", "A file where rank 0 writes the newest checkpoint's path after each one."}},
      "0 when training finished; 75 when SIGUSR1 or SIGTERM stopped it at a step, with a checkpoint there to "
      "continue from; 1 with a one-line message from rank 0 on failure; 2 for a command line that cannot be "
      "parsed.",
      ".BR batchai (1),\n.BR srun (1),\n.BR mpirun (1)"});
}

struct Config {
  batchai::trainer::TrainOptions train;
  std::string data;
  std::string backend = "auto";
  std::string precision = "tf32";
  int threads = 0;
  std::size_t train_images = 0, test_images = 0;
};

void print_version() {
  using namespace batchai::build;
  auto report = batchai::trainer::probe_devices();
  std::printf("batchai-train %s (%s)\n", kVersion, kGitRevision);
  std::printf("features: cuda=%s nccl=%s mpi=%s\n", kCuda ? kCudaVersion : "no",
              report.nccl.empty() ? "no" : report.nccl.c_str(), kMpiVersion);
}

int print_devices() {
  auto report = batchai::trainer::probe_devices();
  if (report.gpus.empty()) {
    std::printf("no GPU: %s\n", report.unavailable_reason.c_str());
    return 0;
  }
  for (const auto& g : report.gpus) {
    std::printf("gpu %d: %s, compute %d.%d, %.1f GiB\n", g.ordinal, g.name.c_str(), g.compute_major,
                g.compute_minor, static_cast<double>(g.memory_bytes) / (1 << 30));
  }
  return 0;
}

// SIGUSR1 (Slurm's warning before a time limit or a preemption) and
// SIGTERM stop training at the next step, with a checkpoint there.
volatile std::sig_atomic_t stop_signal = 0;

extern "C" void on_stop_signal(int signal) { stop_signal = signal; }

void catch_stop_signals() {
  struct sigaction action = {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // MPI's and the files' calls go on
  sigaction(SIGUSR1, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

std::string signal_name(int signal) {
  if (signal == SIGUSR1) return "SIGUSR1";
  if (signal == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(signal);
}

// Whether Slurm started this job again (a requeue): the job runtime's
// count, else Slurm's own.
bool restarted() {
  for (const char* name : {"BATCHAI_JOB_RESTART_COUNT", "SLURM_RESTART_COUNT"}) {
    const char* v = std::getenv(name);
    if (v && *v) return std::strtol(v, nullptr, 10) > 0;
  }
  return false;
}

// EX_TEMPFAIL: stopped on request with a checkpoint; running again
// continues.
constexpr int kStoppedWithCheckpoint = 75;

int run_world_check() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  auto lines = batchai::trainer::world_check();
  if (!lines) {
    batchai::diag::error(lines.error().message);
    return 1;
  }
  if (rank == 0) {
    for (const auto& l : *lines) std::printf("%s\n", l.c_str());
    std::printf("world check passed: %zu ranks\n", lines->size());
  }
  return 0;
}

Result<long> number(const batchai::args::Parsed& p, const char* flag, long low) {
  const std::string text = *p.get(flag);
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < low) {
    return Error{std::string("--") + flag + ": expected a whole number of at least " + std::to_string(low) +
                 ", got '" + text + "'"};
  }
  return v;
}

// The flags, with the tutorial's defaults scaled by the number of ranks.
Result<Config> configure(const batchai::args::Parsed& p, int ranks) {
  Config c;
  auto& t = c.train;
  t.dir = p.get("dir").value_or(".");
  if (const char* data = std::getenv("BATCHAI_DATA"); data && *data) c.data = data;
  if (c.data.empty()) c.data = std::string(std::getenv("HOME") ? std::getenv("HOME") : "") +
                               "/.keras/datasets/cifar-10-batches-bin";
  c.data = p.get("data").value_or(c.data);
  t.epochs = static_cast<int>(std::ceil(100.0 / ranks));
  t.optimizer.lr = 1e-4f * static_cast<float>(ranks);
  for (auto [flag, out, low] : {std::tuple{"epochs", &t.epochs, 1L}, std::tuple{"threads", &c.threads, 1L}}) {
    if (!p.has(flag)) continue;
    auto v = number(p, flag, low);
    if (!v) return v.error();
    *out = static_cast<int>(*v);
  }
  for (auto [flag, out] : {std::pair{"batch-size", &t.batch}, std::pair{"steps-per-epoch", &t.steps_per_epoch},
                           std::pair{"train-images", &c.train_images},
                           std::pair{"test-images", &c.test_images}}) {
    if (!p.has(flag)) continue;
    auto v = number(p, flag, 1);
    if (!v) return v.error();
    *out = static_cast<std::size_t>(*v);
  }
  if (p.has("seed")) {
    auto v = number(p, "seed", 0);
    if (!v) return v.error();
    t.seed = static_cast<std::uint64_t>(*v);
  } else {
    t.seed = 1;
  }
  if (p.has("lr")) {
    const std::string text = *p.get("lr");
    char* end = nullptr;
    const float lr = std::strtof(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(lr > 0.0f) || !std::isfinite(lr)) {
      return Error{"--lr: expected a positive number, got '" + text + "'"};
    }
    t.optimizer.lr = lr;
  }
  t.augmentation = !p.has("no-augmentation");
  t.shard = p.has("shard");
  t.resume = p.has("resume");
  t.restarted = restarted();
  if (const char* job = std::getenv("SLURM_JOB_ID")) t.slurm_job_id = job;
  if (const char* record = std::getenv("BATCHAI_CHECKPOINT_RECORD")) t.checkpoint_record = record;
  c.backend = p.get("backend").value_or("auto");
  if (c.backend != "auto" && c.backend != "cpu" && c.backend != "cuda") {
    return Error{"--backend: expected auto, cpu or cuda, got '" + c.backend + "'"};
  }
  c.precision = p.get("precision").value_or("tf32");
  if (c.precision != "tf32" && c.precision != "fp32") {
    return Error{"--precision: expected tf32 or fp32, got '" + c.precision + "'"};
  }
  if (c.backend == "cpu" && c.precision == "tf32" && p.has("precision")) {
    return Error{"--precision tf32: the CPU backend computes in exact fp32 only"};
  }
  return c;
}

// Ranks of this job on this host. MPI's shared-memory split counts the
// ranks of one Slurm node, but several slurmd may share a host (the local
// cluster, or Slurm's multiple-slurmd setups), and their ranks then share
// its cores; so ranks are also counted by host name, and the larger wins.
int ranks_on_this_host() {
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int shared = 1;
  MPI_Comm_size(node, &shared);
  MPI_Comm_free(&node);
  char mine[256] = {};
  ::gethostname(mine, sizeof mine - 1);
  const auto all = batchai::trainer::all_lines(mine);
  const int same = static_cast<int>(std::count(all.begin(), all.end(), std::string(mine)));
  return std::max(shared, same);
}

// This rank's share of the cores it may run on, so that ranks sharing a
// host do not oversubscribe it: more OpenMP threads than cores, spinning at
// every barrier, made a 4-rank job on 2 cores six times slower.
int default_threads() {
  cpu_set_t set;
  // With a cpuset per task (Slurm's task/affinity), the set is already ours.
  if (std::getenv("SLURM_CPUS_PER_TASK") && sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  int cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  if (sched_getaffinity(0, sizeof set, &set) == 0) cpus = CPU_COUNT(&set);
  return std::max(1, cpus / ranks_on_this_host());
}

Result<std::pair<batchai::Cifar10Set, batchai::Cifar10Set>> load_data(const Config& c) {
  auto train = batchai::load_cifar10_train(c.data);
  if (!train) return train.error();
  auto test = batchai::load_cifar10_test(c.data);
  if (!test) return test.error();
  auto keep_first = [](batchai::Cifar10Set& s, std::size_t n) {
    if (n == 0 || n >= s.count) return;
    s.count = n;
    s.images.resize(n * batchai::cifar10::kImageBytes);
    s.labels.resize(n);
  };
  keep_first(*train, c.train_images);
  keep_first(*test, c.test_images);
  return std::pair{std::move(*train), std::move(*test)};
}

// --backend auto takes the GPUs only when every rank has one, so that all
// ranks compute alike; an explicit cuda fails where a rank has none.
Result<std::string> choose_backend(const Config& c, batchai::trainer::Comm& comm) {
  if (c.backend == "cpu") return std::string("cpu");
  std::string why;
  const bool here = batchai::trainer::cuda_backend_available(&why);
  const bool everywhere = comm.all_ok(here);
  if (c.backend == "cuda" && !everywhere) {
    return Error{"--backend cuda: " + (here ? std::string("another rank sees no GPU") : why)};
  }
  return std::string(everywhere ? "cuda" : "cpu");
}

std::unique_ptr<batchai::trainer::Backend> make_backend(const std::string& kind, const Config& c,
                                                        const batchai::trainer::Model& model,
                                                        batchai::trainer::Comm& comm) {
  if (kind == "cpu") return batchai::trainer::make_cpu_backend(model, {c.train.batch, c.train.threads});
  const auto me = batchai::trainer::this_rank();
  batchai::trainer::CudaOptions o;
  o.max_batch = c.train.batch;
  o.tf32 = c.precision == "tf32";
  o.rank = comm.rank();
  o.size = comm.size();
  o.local_rank = me.local_rank;
  o.host = me.host;
  return batchai::trainer::make_cuda_backend(model, o);
}

// "rank 1 node2 local 0: cuda (gpu 0: NVIDIA H100 ...)": which rank
// computes where, for the log.
std::string placement_line(const batchai::trainer::Backend& backend) {
  const auto me = batchai::trainer::this_rank();
  return "rank " + std::to_string(me.rank) + " " + me.host + " local " + std::to_string(me.local_rank) + ": " +
         backend.describe();
}


void print_configuration(const Config& c, int ranks, const std::vector<std::string>& placement) {
  const auto& t = c.train;
  std::printf(
      "batchai-train %s: %d rank(s)\n"
      "  data %s, dir %s\n"
      "  epochs %d, batch %zu per rank, lr %g (rho %g, decay %g, epsilon %g), seed %llu\n"
      "  augmentation %s, %s%s\n",
      batchai::build::kVersion, ranks, c.data.c_str(), t.dir.c_str(), t.epochs, t.batch,
      static_cast<double>(t.optimizer.lr), static_cast<double>(t.optimizer.rho),
      static_cast<double>(t.optimizer.decay), t.optimizer.epsilon, static_cast<unsigned long long>(t.seed),
      t.augmentation ? "on" : "off", t.shard ? "each epoch split over the ranks" : "every rank sees every image",
      t.resume ? ", resuming" : (t.restarted ? ", restarted: resuming this job's checkpoint if there is one" : ""));
  for (const auto& line : placement) std::printf("  %s\n", line.c_str());
  std::fflush(stdout);
}

// --evaluate: another trainer's model (Keras with Horovod, say) scored by
// this one's forward pass on the test images. One process, no MPI.
int evaluate(const batchai::args::Parsed& parsed) {
  const std::string path = *parsed.get("evaluate");
  auto config = configure(parsed, 1);
  if (!config) return batchai::diag::error(config.error().message + " (try --help)"), 1;
  if (config->backend == "cuda") return batchai::diag::error("--evaluate: scores on the CPU only"), 1;
  auto test = batchai::load_cifar10_test(config->data);
  if (!test) return batchai::diag::error(test.error().message), 1;
  if (config->test_images && config->test_images < test->count) {
    test->count = config->test_images;
    test->images.resize(test->count * batchai::cifar10::kImageBytes);
    test->labels.resize(test->count);
  }
  auto model = batchai::trainer::build_model(batchai::trainer::cifar10_cnn(), {32, 32, 3});
  if (!model) return batchai::diag::error(model.error().message), 1;
  auto parameters = batchai::trainer::import_keras_weights(path, *model);
  if (!parameters) return batchai::diag::error(parameters.error().message), 1;
  cpu_set_t set;
  const int cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
  auto backend = batchai::trainer::make_cpu_backend(*model, {config->train.batch, config->threads > 0 ? config->threads : cpus});
  backend->set_parameters(*parameters);
  backend->use_data(*test, *test);
  const auto s = backend->evaluate_range(0, test->count);
  const double n = static_cast<double>(std::max<std::size_t>(test->count, 1));
  std::printf("Test loss: %.6f, test accuracy: %.6f (%zu of %zu images), %s\n", s.loss_sum / n,
              static_cast<double>(s.correct) / n, s.correct, test->count, path.c_str());
  return 0;
}

int train(const batchai::args::Parsed& parsed) {
  catch_stop_signals();
  batchai::trainer::Comm comm;
  const bool leader = comm.rank() == 0;
  // Every rank checks; rank 0 speaks for all, so the log has one message.
  auto fail = [&](const std::string& message) {
    if (leader) batchai::diag::error(message);
    return 1;
  };
  auto config = configure(parsed, comm.size());
  if (!config) return fail(config.error().message + " (try --help)");
  std::error_code ec;
  if (leader) std::filesystem::create_directories(config->train.dir, ec);
  if (!comm.all_ok(!ec)) return fail("--dir: cannot create " + config->train.dir + ": " + ec.message());
  auto data = load_data(*config);
  if (!comm.all_ok(static_cast<bool>(data))) return fail(data ? "another rank could not load the data" : data.error().message);
  auto model = batchai::trainer::build_model(batchai::trainer::cifar10_cnn(), {32, 32, 3});
  if (!model) return fail(model.error().message);
  auto world = batchai::trainer::check_world_size(comm.size());
  if (!comm.all_ok(static_cast<bool>(world))) return fail(world ? "another rank saw a bad MPI world" : world.error().message);
  auto kind = choose_backend(*config, comm);
  if (!kind) return fail(kind.error().message);
  // Recorded in checkpoints: a CPU run continues inside an epoch to the
  // same bits only on as many threads.
  config->train.threads = *kind == "cpu" ? (config->threads > 0 ? config->threads : default_threads()) : 0;
  config->train.stop = &stop_signal;
  try {
    auto backend = make_backend(*kind, *config, *model, comm);
    config->train.tty = leader && ::isatty(STDOUT_FILENO);
    const auto placement = batchai::trainer::gather_lines(placement_line(*backend));
    if (leader) print_configuration(*config, comm.size(), placement);
    auto result = batchai::trainer::train(config->train, *model, *backend, comm, data->first, data->second);
    if (!result) return fail(result.error().message);
    if (result->stopped_by) {
      if (leader) {
        std::fflush(stdout);
        batchai::diag::note("stopped by " + signal_name(result->stopped_by) + " at epoch " +
                            std::to_string(result->epoch) + ", step " + std::to_string(result->step) + " of " +
                            std::to_string(result->steps) + "; checkpoint " + result->checkpoint +
                            "; continue with --resume");
      }
      return kStoppedWithCheckpoint;
    }
    if (leader) {
      std::printf("Test loss: %.6f\nTest accuracy: %.6f\n", result->test_loss, result->test_accuracy);
      std::fflush(stdout);
    }
  } catch (const batchai::trainer::DeviceError& e) {
    // A device fault on one rank: say where, then end every rank, for its
    // peers would wait for it in the next allreduce forever.
    batchai::diag::error(e.what());
    if (comm.size() > 1) MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  batchai::diag::set_program("batchai-train");
  std::vector<std::string> argv_list(argv + 1, argv + argc);
  auto parsed = batchai::args::parse(argv_list, kOptions, {});
  if (!parsed) {
    batchai::diag::error(parsed.error().message + " (try --help)");
    return 2;
  }
  if (parsed->has("help")) {
    std::fputs(batchai::args::help("batchai-train [OPTIONS]",
                                   "The tutorial's Keras + Horovod CIFAR-10 training, native, on MPI.", kOptions, {})
                   .c_str(),
               stdout);
    return 0;
  }
  if (parsed->has("version")) return print_version(), 0;
  if (parsed->has("man")) return std::fputs(manual().c_str(), stdout), 0;
  if (parsed->has("devices")) return print_devices();
  if (parsed->has("evaluate")) return evaluate(*parsed);
  MPI_Init(&argc, &argv);
  const int rc = parsed->has("world-check") ? run_world_check() : train(*parsed);
  MPI_Finalize();
  return rc;
}
