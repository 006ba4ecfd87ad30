// batchai: the login-node CLI. main() wires the real Slurm connection, the
// terminal and the environment into a Context, runs one command line and
// turns the result into an exit status.
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "frontend/cli.h"
#include "frontend/commands/state_records.h"
#include "base/diag.h"

extern char** environ;

namespace {

// libslurm's set-up, done at most once: on this thread when a command
// first needs it, or begun early on a second one (Context::warm_slurm).
class SlurmConnection {
 public:
  using Made = batchai::Result<std::unique_ptr<batchai::slurm::Client>>;
  SlurmConnection() = default;
  SlurmConnection(const SlurmConnection&) = delete;
  SlurmConnection& operator=(const SlurmConnection&) = delete;
  ~SlurmConnection() { join(); }

  void start() {
    if (started_ || made_) return;
    // On another CPU than this one, where there is one. Left to itself, the
    // kernel of our 2-CPU test machines queued the new thread behind this
    // one instead of waking the idle CPU (measured: the set-up then ran
    // after the command's work, not beside it).
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    const int here = sched_getcpu();
    if (here >= 0 && sched_getaffinity(0, sizeof cpus, &cpus) == 0) {
      CPU_CLR(here, &cpus);
      if (CPU_COUNT(&cpus) > 0) pthread_attr_setaffinity_np(&attr, sizeof cpus, &cpus);
    }
    started_ = pthread_create(&thread_, &attr, &SlurmConnection::connect, this) == 0;
    pthread_attr_destroy(&attr);
  }
  batchai::Result<batchai::slurm::Client*> get() {
    join();
    if (!made_) made_ = batchai::slurm::connect_libslurm();
    if (!*made_) return made_->error();
    return made_->value().get();
  }

 private:
  static void* connect(void* self) {
    static_cast<SlurmConnection*>(self)->made_ = batchai::slurm::connect_libslurm();
    return nullptr;
  }
  void join() {
    if (started_) pthread_join(thread_, nullptr);
    started_ = false;
  }

  pthread_t thread_{};
  bool started_ = false;
  std::optional<Made> made_;
};

batchai::frontend::Context make_context() {
  batchai::frontend::Context ctx;
  ctx.out = &std::cout;
  ctx.out_is_tty = ::isatty(STDOUT_FILENO) != 0;
  ctx.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  for (char** e = environ; *e; ++e) ctx.environment.emplace_back(*e);
  // One connection per process, made when a command first needs it, or
  // begun on a second thread by one that knows it will.
  auto connection = std::make_shared<SlurmConnection>();
  ctx.slurm = [connection] { return connection->get(); };
  ctx.warm_slurm = [connection] { connection->start(); };
  ctx.state_dir = batchai::frontend::state::default_state_dir([](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (!v) return std::nullopt;
    return std::string(v);
  });
  return ctx;
}

}  // namespace

int main(int argc, char** argv) {
  batchai::diag::set_program("batchai");
  std::vector<std::string> args(argv + 1, argv + argc);
  auto ctx = make_context();
  // Opened on first use, with its records kept beside the job directories
  // and rebuilt from them when it is missing.
  ctx.store = batchai::frontend::state_opener(ctx);
  return batchai::frontend::run(args, ctx, std::cout);
}
