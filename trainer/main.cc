// batchai-train: the native CIFAR-10 trainer (training arrives with its own
// issue; today it reports its build and checks the MPI world).
#include <mpi.h>

#include <cstdio>
#include <string>
#include <vector>

#include "io/args.h"
#include "io/diag.h"
#include "io/version.h"
#include "trainer/device.h"
#include "trainer/world.h"

namespace {

using batchai::args::Option;

constexpr Option kOptions[] = {
    {"world-check", 0, "", "check the MPI world: print each rank's node and GPU, allreduce, exit"},
    {"devices", 0, "", "list the accelerators this process can use and exit"},
    {"version", 0, "", "print version and build features, then exit"},
    {"help", 'h', "", "show this help and exit"},
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

// Runs the world check under MPI; every rank must get here.
int run_world_check() {
  MPI_Init(nullptr, nullptr);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  auto lines = batchai::trainer::world_check();
  int rc = 0;
  if (!lines) {
    batchai::diag::error(lines.error().message);
    rc = 1;
  } else if (rank == 0) {
    for (const auto& l : *lines) std::printf("%s\n", l.c_str());
    std::printf("world check passed: %zu ranks\n", lines->size());
  }
  MPI_Finalize();
  return rc;
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
    std::fputs(batchai::args::help("batchai-train [OPTIONS]", "Native CIFAR-10 trainer for Slurm clusters.",
                                   kOptions, {})
                   .c_str(),
               stdout);
    return 0;
  }
  if (parsed->has("version")) return print_version(), 0;
  if (parsed->has("devices")) return print_devices();
  if (parsed->has("world-check")) return run_world_check();
  batchai::diag::error("training is not implemented in this build yet; try --world-check or --help");
  return 2;
}
