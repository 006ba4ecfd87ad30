// batchai-train as users run it: real MPI ranks (mpirun), real CIFAR-10
// (a small slice of it, for time), real HDF5 files. Each test compares the
// weights in the files runs leave behind. Skips, saying why, without the
// data set (.ci/run makes it from ../shared/data/cifar10).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "io/keras_h5.h"
#include "unit/temp_dir.h"

namespace {

namespace fs = std::filesystem;

constexpr const char* kNoLeakCheck = "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" ";

struct Outcome {
  int status = -1;
  std::string out, err;
};

class TrainerRuns : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(fs::path(BATCHAI_TEST_DATA) / "data_batch_1.bin")) {
      GTEST_SKIP() << "no CIFAR-10 at " << BATCHAI_TEST_DATA << " (make it with ../shared/data/cifar10/make-cifar10-bin)";
    }
    dir = batchai::testing::make_test_dir("batchai-train");
    ASSERT_FALSE(dir.empty()) << "cannot make a directory under " << fs::temp_directory_path();
  }
  void TearDown() override {
    if (!dir.empty() && !HasFailure()) fs::remove_all(dir);
  }

  // `ranks` processes of batchai-train on this host, 1 thread each, on
  // 256 training images unless `args` says otherwise.
  std::string command_line(int ranks, const std::string& out, const std::string& args,
                           const std::string& env = "") {
    const std::string o = (dir / "stdout").string(), e = (dir / "stderr").string();
    // Under ASan, leak checking is off for the ranks: Open MPI keeps what it
    // allocated until exit, from code without symbols that no suppression
    // can name. The trainer's own code runs leak-checked in the unit tests.
    return std::string(kNoLeakCheck) +
           "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader,tcp "
           "OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_rmaps_base_oversubscribe=1 " + env + "mpirun -n " +
           std::to_string(ranks) +
           " " BATCHAI_TRAIN_EXE " --data " BATCHAI_TEST_DATA " --dir " + (dir / out).string() +
           " --threads 1 --test-images 64 " +
           (args.find("--train-images") == std::string::npos ? "--train-images 256 " : "") + args + " >" + o +
           " 2>" + e;
  }

  // `env`: "NAME=value " words (or an env(1) command) before mpirun.
  Outcome train(int ranks, const std::string& out, const std::string& args, const std::string& env = "") {
    const std::string o = (dir / "stdout").string(), e = (dir / "stderr").string();
    const std::string command = command_line(ranks, out, args, env);
    Outcome r;
    const int raw = std::system(command.c_str());
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    r.out = slurp(o);
    r.err = slurp(e);
    return r;
  }

  static std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // Every kernel and bias of a saved model, in order.
  std::vector<float> weights(const fs::path& file) {
    auto f = batchai::keras::read_keras_h5(file.string());
    EXPECT_TRUE(f) << (f ? "" : f.error().message);
    std::vector<float> all;
    if (!f) return all;
    for (const auto& layer : f->layers) {
      for (const auto& t : layer.weights) all.insert(all.end(), t.data.begin(), t.data.end());
    }
    return all;
  }

  std::vector<float> final_weights(const std::string& out) {
    return weights(dir / out / "saved_models/keras_cifar10_trained_model.h5");
  }

  static double max_difference(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size() || a.empty()) return INFINITY;
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
    return worst;
  }

  fs::path dir;
};

TEST_F(TrainerRuns, TwoRanksOfSixteenAreOneRankOfThirtyTwo) {
  // --shard splits each step's 32 images over the ranks, and averaging the
  // two ranks' gradients of 16 gives the gradient of 32. Augmentation and
  // dropout stay on: both follow the image, not the rank. One step: the
  // ranks add floats in another order, and from the second step on, a
  // ReLU or a max that tips the other way at a near-tie changes a
  // gradient by far more than rounding, so the runs drift apart as any
  // two float orders would (measured: 1e-5 to 1e-4 after 4 steps, 1e-2
  // after 16).
  const std::string common = " --shard --epochs 1 --train-images 32 --lr 0.0005 --seed 3";
  ASSERT_EQ(train(1, "one", "--batch-size 32" + common).status, 0);
  const Outcome two = train(2, "two", "--batch-size 16" + common);
  ASSERT_EQ(two.status, 0) << two.err;
  const auto a = final_weights("one"), b = final_weights("two");
  // The step moves a weight by up to lr x sqrt(10) = 1.6e-3 (RMSprop's
  // first step is nearly lr x sign(g) / sqrt(1 - rho)); they agree to
  // about 1% of that (where g is near epsilon, g / (sqrt(a) + eps) turns
  // rounding in g into a few 1e-6).
  EXPECT_LT(max_difference(a, b), 2e-5);
  // And the runs did train: another seed lands far away.
  ASSERT_EQ(train(1, "other", "--batch-size 32 --shard --epochs 1 --train-images 32 --lr 0.0005 --seed 4").status, 0);
  EXPECT_GT(max_difference(a, final_weights("other")), 1e-2);
}

// Whether this machine gives batchai-train a GPU, as it says itself.
bool gpu_here() {
  std::FILE* p = ::popen(BATCHAI_TRAIN_EXE " --devices", "r");
  char line[512] = {};
  const bool gpu = p && std::fgets(line, sizeof line, p) && std::string(line).rfind("gpu ", 0) == 0;
  if (p) ::pclose(p);
  return gpu;
}

TEST_F(TrainerRuns, TheBackendIsTheGpuWhereEveryRankHasOneAndTheCpuElse) {
  const bool gpu = gpu_here();
  const Outcome chosen = train(2, "auto", "--epochs 1 --train-images 64");
  ASSERT_EQ(chosen.status, 0) << chosen.err;
  // The log places every rank.
  for (const char* rank : {"  rank 0 ", "  rank 1 "}) {
    EXPECT_NE(chosen.out.find(std::string(rank)), std::string::npos) << chosen.out;
  }
  EXPECT_NE(chosen.out.find(gpu ? ": cuda (gpu " : ": cpu ("), std::string::npos) << chosen.out;
  const Outcome forced = train(1, "cuda", "--backend cuda --epochs 1 --train-images 64");
  if (!gpu) {
    EXPECT_EQ(forced.status, 1);
    EXPECT_NE(forced.err.find("batchai-train: error: --backend cuda: "), std::string::npos) << forced.err;
    EXPECT_FALSE(fs::exists(dir / "cuda/checkpoint-1.h5"));
  } else {
    EXPECT_EQ(forced.status, 0) << forced.err;
  }
}

// The CUDA backend through the binary: 2 ranks sharing one GPU (their sum
// goes through MPI) against the CPU, then a resumed run against an
// uninterrupted one.
TEST_F(TrainerRuns, TheCudaBackendTrainsAsTheCpuDoesAndResumes) {
  if (!gpu_here()) GTEST_SKIP() << "no GPU: batchai-train --devices finds none";
  const std::string common = " --shard --epochs 1 --train-images 64 --batch-size 16 --lr 0.0005 --seed 3";
  ASSERT_EQ(train(2, "cpu", "--backend cpu" + common).status, 0);
  const Outcome gpu = train(2, "gpu", "--backend cuda --precision fp32" + common);
  ASSERT_EQ(gpu.status, 0) << gpu.err;
  EXPECT_NE(gpu.out.find("ranks share this GPU"), std::string::npos) << gpu.out;
  // Two steps of 2 x 16: float order alone tells them apart (see above).
  EXPECT_LT(max_difference(final_weights("cpu"), final_weights("gpu")), 1e-4);

  ASSERT_EQ(train(1, "whole", "--backend cuda --epochs 3 --train-images 128").status, 0);
  ASSERT_EQ(train(1, "parts", "--backend cuda --epochs 2 --train-images 128").status, 0);
  const Outcome resumed = train(1, "parts", "--backend cuda --epochs 3 --train-images 128 --resume");
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_EQ(final_weights("whole"), final_weights("parts"));
}

TEST_F(TrainerRuns, TheSameSeedAndRankCountGiveTheSameWeights) {
  ASSERT_EQ(train(2, "a", "--epochs 1 --seed 9").status, 0);
  ASSERT_EQ(train(2, "b", "--epochs 1 --seed 9").status, 0);
  EXPECT_EQ(final_weights("a"), final_weights("b"));
}

TEST_F(TrainerRuns, AResumedRunEndsWhereAnUninterruptedOneDoes) {
  ASSERT_EQ(train(2, "straight", "--epochs 3 --seed 5").status, 0);
  // Stopped after epoch 2 (its checkpoint is all that survives a kill)...
  ASSERT_EQ(train(2, "resumed", "--epochs 2 --seed 5").status, 0);
  fs::remove_all(dir / "resumed/saved_models");
  // A kill during the next save leaves only a temporary file, which
  // resuming must not take for a checkpoint.
  std::ofstream(dir / "resumed/checkpoint-3.h5.tmp-12345") << "half a file";
  // ...and resumed for the third.
  const Outcome resumed = train(2, "resumed", "--epochs 3 --seed 5 --resume");
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_EQ(resumed.out.find("Epoch 1/3"), std::string::npos) << resumed.out;
  EXPECT_NE(resumed.out.find("Epoch 3/3"), std::string::npos) << resumed.out;
  EXPECT_EQ(final_weights("straight"), final_weights("resumed"));
  EXPECT_EQ(weights(dir / "straight/checkpoint-3.h5"), weights(dir / "resumed/checkpoint-3.h5"));
}

// The acceptance's own words: a run SIGKILLed after epoch 2 (mpirun and
// every rank at once, as a node failure or scancel --signal=KILL does) and
// resumed with --resume ends with the weights of an uninterrupted run.
TEST_F(TrainerRuns, ARunKilledAfterEpochTwoResumesToTheSameWeights) {
  // Epochs long enough for the kill to land inside the third, and short
  // enough for the sanitized build, whose trainer is about 30 times slower.
#if defined(__SANITIZE_ADDRESS__)
  const std::string args = "--epochs 3 --seed 11 --train-images 256";
#else
  const std::string args = "--epochs 3 --seed 11 --train-images 1024";
#endif
  ASSERT_EQ(train(2, "straight", args).status, 0);

  // In its own process group, so one kill reaches mpirun and its ranks.
  const std::string command = command_line(2, "killed", args);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::setpgid(0, 0);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  const fs::path second = dir / "killed/checkpoint-2.h5";
  int status = 0;
  bool exited = false;
  for (int i = 0; i < 60000 && !fs::exists(second); ++i) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    ::usleep(5000);
  }
  ASSERT_FALSE(exited) << "the run ended before it could be killed: " << slurp(dir / "stderr");
  ASSERT_EQ(::kill(-pid, SIGKILL), 0);
  ::waitpid(pid, &status, 0);
  // Killed in epoch 3: its checkpoint and the final model were never written.
  ASSERT_TRUE(fs::exists(second));
  ASSERT_FALSE(fs::exists(dir / "killed/checkpoint-3.h5")) << "the kill came too late to test anything";
  ASSERT_FALSE(fs::exists(dir / "killed/saved_models/keras_cifar10_trained_model.h5"));

  const Outcome resumed = train(2, "killed", args + " --resume");
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_EQ(resumed.out.find("Epoch 2/3"), std::string::npos) << "resumed after epoch 2:\n" << resumed.out;
  EXPECT_NE(resumed.out.find("Epoch 3/3"), std::string::npos) << resumed.out;
  EXPECT_EQ(final_weights("straight"), final_weights("killed"));
}

TEST_F(TrainerRuns, OnlyRankZeroWritesAndPrints) {
  const Outcome r = train(4, "four", "--epochs 2");
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir / "four")) files.push_back(e.path().lexically_relative(dir / "four").string());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"checkpoint-1.h5", "checkpoint-2.h5", "metrics.jsonl", "saved_models",
                                             "saved_models/keras_cifar10_trained_model.h5", "training.svg"}));
  // One stream: one configuration, one header per epoch, one result.
  auto count = [&](const std::string& what) {
    std::size_t n = 0;
    for (auto at = r.out.find(what); at != std::string::npos; at = r.out.find(what, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("batchai-train 0"), 1u) << r.out;
  EXPECT_NE(r.out.find("4 rank(s)"), std::string::npos) << r.out;
  EXPECT_EQ(count("Epoch 1/2\n"), 1u) << r.out;
  EXPECT_EQ(count("val_acc"), 2u) << r.out;
  EXPECT_EQ(count("Test accuracy: "), 1u) << r.out;
  EXPECT_EQ(r.err, "");
  // metrics.jsonl: a JSON record per epoch.
  const std::string metrics = slurp(dir / "four/metrics.jsonl");
  EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 2) << metrics;
  EXPECT_NE(metrics.find("{\"epoch\":2,\"loss\":"), std::string::npos) << metrics;
}

TEST_F(TrainerRuns, ALossThatIsNotFiniteEndsEveryRankNamingWhere) {
  // A learning rate of 1e30 overflows the weights within a few steps.
  const Outcome r = train(2, "diverged", "--epochs 2 --lr 1e30");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_EQ(r.err.rfind("batchai-train: error: epoch 1, step ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(": the loss is nan; training diverged (a smaller --lr may help)"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("Epoch 2/2"), std::string::npos) << r.out;
  // Nothing written from weights that are not numbers, not even in part.
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir / "diverged")) files.push_back(e.path().filename().string());
  EXPECT_EQ(files, std::vector<std::string>{}) << r.err;
}

TEST_F(TrainerRuns, CheckpointsAreKerasFilesAsH5pyReadsThem) {
  if (std::system("/usr/bin/python3 -c 'import h5py' 2>/dev/null") != 0) {
    GTEST_SKIP() << "Debian's python3-h5py is not installed";
  }
  ASSERT_EQ(train(2, "run", "--epochs 1").status, 0);
  for (const char* file : {"checkpoint-1.h5", "saved_models/keras_cifar10_trained_model.h5"}) {
    const std::string command = "/usr/bin/python3 " BATCHAI_TRAINER_CHECKS "/check_keras_checkpoint.py " +
                                (dir / "run" / file).string() + " 2 >" + (dir / "py").string() + " 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0) << slurp(dir / "py");
  }
}

TEST_F(TrainerRuns, ADamagedCheckpointIsRefusedByName) {
  ASSERT_EQ(train(1, "run", "--epochs 1").status, 0);
  const fs::path checkpoint = dir / "run/checkpoint-1.h5";
  fs::resize_file(checkpoint, fs::file_size(checkpoint) / 2);
  const Outcome r = train(1, "run", "--epochs 2 --resume");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.rfind("batchai-train: error: " + checkpoint.string(), 0), 0u) << r.err;
  EXPECT_FALSE(fs::exists(dir / "run/checkpoint-2.h5"));
}

TEST_F(TrainerRuns, BadFlagsAndMissingDataSayWhere) {
  Outcome r = train(1, "x", "--epochs zero");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--epochs: expected a whole number of at least 1, got 'zero'"), std::string::npos) << r.err;
  const std::string command = std::string(kNoLeakCheck) +
                              "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 " BATCHAI_TRAIN_EXE
                              " --data " + (dir / "nowhere").string() + " --dir " + (dir / "y").string() + " 2>" +
                              (dir / "err").string();
  const int raw = std::system(command.c_str());
  EXPECT_EQ(WEXITSTATUS(raw), 1);
  const std::string err = slurp(dir / "err");
  EXPECT_NE(err.find((dir / "nowhere/data_batch_1.bin").string()), std::string::npos) << err;
  EXPECT_NE(err.find("hint:"), std::string::npos) << err;
}

// The processes whose parent is `parent`, and each one's command name.
std::vector<std::pair<pid_t, std::string>> children_of(pid_t parent) {
  std::vector<std::pair<pid_t, std::string>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    std::getline(in, stat);
    // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
    const auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) found.emplace_back(std::stoi(name), stat.substr(open + 1, close - open - 1));
  }
  return found;
}

// The mpirun that `sh -c` started (or became, where the shell execs it).
pid_t mpirun_of(pid_t sh) {
  std::ifstream comm("/proc/" + std::to_string(sh) + "/comm");
  std::string name;
  std::getline(comm, name);
  if (name == "mpirun" || name == "orterun" || name == "prterun") return sh;
  for (const auto& [pid, child] : children_of(sh)) {
    if (child == "mpirun" || child == "orterun" || child == "prterun") return pid;
  }
  return -1;
}

// The rank `rank` among mpirun's children, by the rank Open MPI gave it.
pid_t rank_of(pid_t mpirun, int rank) {
  for (const auto& [pid, name] : children_of(mpirun)) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/environ");
    std::stringstream s;
    s << in.rdbuf();
    if (s.str().find(std::string(1, '\0') + "OMPI_COMM_WORLD_RANK=" + std::to_string(rank) + '\0') !=
        std::string::npos) {
      return pid;
    }
  }
  return -1;
}

// metrics.jsonl without its timings, which no two runs share.
std::string without_timings(const std::string& metrics) {
  static const std::regex timings(R"(,"seconds":[^,}]*,"images_per_second":[^,}]*)");
  return std::regex_replace(metrics, timings, "");
}

// Slurm's warning before a time limit or a preemption is SIGUSR1 to the
// batch shell, which reaches mpirun and the ranks, or sometimes only some
// ranks. The run stops at a step inside the epoch, all ranks after the
// same one, with a checkpoint there; resumed, it ends with the weights and
// the metrics of a run never stopped.
TEST_F(TrainerRuns, USR1MidEpochCheckpointsAtAStepAndResumesToTheSameWeights) {
#if defined(__SANITIZE_ADDRESS__)
  const std::string args = "--epochs 3 --seed 13 --train-images 256";
  const std::string steps_per_epoch = "8";  // 256 images, 32 a step
#else
  const std::string args = "--epochs 3 --seed 13 --train-images 1024";
  const std::string steps_per_epoch = "32";
#endif
  ASSERT_EQ(train(2, "straight", args).status, 0);
  for (const char* target : {"mpirun", "rank1"}) {
    SCOPED_TRACE(target);
    const fs::path out = dir / target, record = dir / (std::string(target) + ".record");
    const std::string command = command_line(2, target, args, "BATCHAI_CHECKPOINT_RECORD=" + record.string() + " ");
    const pid_t sh = ::fork();
    ASSERT_GE(sh, 0);
    if (sh == 0) {
      ::setpgid(0, 0);
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::setpgid(sh, sh);
    int status = 0;
    bool exited = false;
    for (int i = 0; i < 60000 && !fs::exists(out / "checkpoint-1.h5"); ++i) {
      if (::waitpid(sh, &status, WNOHANG) == sh) {
        exited = true;
        break;
      }
      ::usleep(5000);
    }
    ASSERT_FALSE(exited) << "the run ended before it could be signalled: " << slurp(dir / "stderr");
    const pid_t mpirun = mpirun_of(sh);
    const pid_t signalled = std::string(target) == "mpirun" ? mpirun : rank_of(mpirun, 1);
    if (signalled <= 0) ::kill(-sh, SIGKILL), ::waitpid(sh, &status, 0);
    ASSERT_GT(signalled, 0) << "no " << target << " under " << sh;
    ASSERT_EQ(::kill(signalled, SIGUSR1), 0);
    ::waitpid(sh, &status, 0);
    const std::string err = slurp(dir / "stderr");
    ASSERT_TRUE(WIFEXITED(status)) << err;
    EXPECT_EQ(WEXITSTATUS(status), 75) << err;  // EX_TEMPFAIL: run it again

    // One checkpoint inside epoch 2, named where the job runtime looks.
    std::vector<fs::path> steps;
    for (const auto& e : fs::directory_iterator(out)) {
      if (e.path().filename().string().rfind("checkpoint-2-step-", 0) == 0) steps.push_back(e.path());
    }
    ASSERT_EQ(steps.size(), 1u) << err;
    EXPECT_FALSE(fs::exists(out / "checkpoint-2.h5")) << "the signal came too late to test anything";
    EXPECT_FALSE(fs::exists(out / "saved_models"));
    EXPECT_EQ(slurp(record), steps[0].string() + "\n");
    const std::string step = steps[0].stem().string().substr(std::string("checkpoint-2-step-").size());
    EXPECT_NE(err.find("batchai-train: stopped by SIGUSR1 at epoch 2, step " + step + " of " + steps_per_epoch + "; checkpoint " +
                       steps[0].string() + "; continue with --resume\n"),
              std::string::npos)
        << err;

    if (std::string(target) == "mpirun") {
      // Inside an epoch, only the same steps, batch, threads and ranks
      // continue it; the refusal names the file and the setting.
      Outcome other = train(2, target, args + " --resume --batch-size 16");
      EXPECT_EQ(other.status, 1);
      EXPECT_EQ(other.err.rfind("batchai-train: error: " + steps[0].string() +
                                    ": written by a run with --batch-size 32, and this run has 16; it stopped inside "
                                    "epoch 2",
                                0),
                0u)
          << other.err;
      other = train(1, target, args + " --resume");
      EXPECT_EQ(other.status, 1);
      EXPECT_NE(other.err.find(steps[0].string() + ": written by a run with 2 ranks, and this run has 1"),
                std::string::npos)
          << other.err;
    }

    const Outcome resumed = train(2, target, args + " --resume");
    ASSERT_EQ(resumed.status, 0) << resumed.err;
    EXPECT_EQ(resumed.out.find("Epoch 1/3"), std::string::npos) << resumed.out;
    EXPECT_NE(resumed.out.find("Epoch 2/3"), std::string::npos) << resumed.out;
    EXPECT_EQ(final_weights("straight"), final_weights(target));
    EXPECT_EQ(weights(dir / "straight/checkpoint-2.h5"), weights(out / "checkpoint-2.h5"));
    EXPECT_FALSE(fs::exists(steps[0])) << "the epoch's checkpoint supersedes it";
    // Epoch 2's loss and accuracy count the steps before the stop too.
    EXPECT_EQ(without_timings(slurp(dir / "straight/metrics.jsonl")),
              without_timings(slurp(out / "metrics.jsonl")));
  }
}

// A job Slurm started again (BATCHAI_JOB_RESTART_COUNT from the job
// runtime, else Slurm's SLURM_RESTART_COUNT) resumes without --resume, but
// only from its own job's checkpoints, as a requeued job's are.
TEST_F(TrainerRuns, ARestartedRunResumesByItselfOnlyFromItsOwnJob) {
  const std::string args = "--epochs 2 --seed 5";
  // Another variable from around the test must not decide which count wins.
  const std::string clean = "env -u BATCHAI_JOB_RESTART_COUNT -u SLURM_RESTART_COUNT ";
  Outcome r = train(2, "straight", args, clean);
  ASSERT_EQ(r.status, 0) << r.err;
  // Job 7's first attempt, lost after its first epoch...
  r = train(2, "job7", "--epochs 1 --seed 5", clean + "SLURM_JOB_ID=7 ");
  ASSERT_EQ(r.status, 0) << r.err;
  fs::remove_all(dir / "job7/saved_models");
  fs::copy(dir / "job7", dir / "job8", fs::copy_options::recursive);
  // ...and its restart.
  const Outcome again = train(2, "job7", args, clean + "SLURM_JOB_ID=7 BATCHAI_JOB_RESTART_COUNT=1 ");
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(again.out.find("Epoch 1/2"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("Epoch 2/2"), std::string::npos) << again.out;
  EXPECT_EQ(final_weights("straight"), final_weights("job7"));

  // Job 8 restarted finds job 7's checkpoint: not its own.
  const Outcome other = train(2, "job8", args, clean + "SLURM_JOB_ID=8 SLURM_RESTART_COUNT=1 ");
  EXPECT_EQ(other.status, 1);
  // One line (mpirun's own banner about the exit status follows it).
  EXPECT_EQ(other.err.rfind("batchai-train: error: " + (dir / "job8/checkpoint-1.h5").string() +
                                ": written by a run with Slurm job 7, and this run has Slurm job 8; a restarted run "
                                "resumes only its own job's checkpoints (--resume takes another's)\n",
                            0),
            0u)
      << other.err;
  EXPECT_FALSE(fs::exists(dir / "job8/checkpoint-2.h5"));
  // --resume says to take it (a job that continues one a time limit ended).
  const Outcome taken = train(2, "job8", args + " --resume", clean + "SLURM_JOB_ID=8 ");
  ASSERT_EQ(taken.status, 0) << taken.err;
  EXPECT_EQ(final_weights("straight"), final_weights("job8"));

  // A restart with nothing to resume from starts at epoch 1.
  const Outcome fresh = train(2, "fresh", "--epochs 1 --seed 5", clean + "SLURM_JOB_ID=9 BATCHAI_JOB_RESTART_COUNT=2 ");
  ASSERT_EQ(fresh.status, 0) << fresh.err;
  EXPECT_NE(fresh.out.find("Epoch 1/1"), std::string::npos) << fresh.out;
}

}  // namespace
