// batchai: the login-node CLI. main() wires the real Slurm connection, the
// terminal and the environment into a Context, runs one command line and
// turns the result into an exit status.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

#include "frontend/cli.h"
#include "frontend/commands/state_records.h"
#include "base/diag.h"

extern char** environ;

namespace {

batchai::frontend::Context make_context() {
  batchai::frontend::Context ctx;
  ctx.out = &std::cout;
  ctx.out_is_tty = ::isatty(STDOUT_FILENO) != 0;
  ctx.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  for (char** e = environ; *e; ++e) ctx.environment.emplace_back(*e);
  // One connection per process, made only when a command first needs it.
  auto client = std::make_shared<std::unique_ptr<batchai::slurm::Client>>();
  ctx.slurm = [client]() -> batchai::Result<batchai::slurm::Client*> {
    if (!*client) {
      auto made = batchai::slurm::connect_libslurm();
      if (!made) return made.error();
      *client = std::move(*made);
    }
    return client->get();
  };
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
