#include "trainer/world.h"

#include <mpi.h>
#include <unistd.h>

#include <cstdlib>

#include "base/args.h"
#include "trainer/device.h"

namespace batchai::trainer {
namespace {

std::string host_name() {
  // Emulated Slurm nodes share one hostname; the node name tells them apart.
  if (const char* node = std::getenv("SLURMD_NODENAME"); node && *node) return node;
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

int local_rank_from_env() {
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID"}) {
    if (const char* v = std::getenv(var); v && *v) return std::atoi(v);
  }
  return 0;
}

std::string gpu_summary(int local_rank) {
  DeviceReport report = probe_devices();
  if (report.gpus.empty()) return "gpu: none (" + report.unavailable_reason + ")";
  // The rule every rank follows (docs/trainer.md, "The CUDA backend"):
  // with per-task binding each task sees one device, so take it modulo the
  // count.
  const GpuInfo& gpu = report.gpus[local_rank % report.gpus.size()];
  return "gpu " + std::to_string(gpu.ordinal) + " of " + std::to_string(report.gpus.size()) + ": " + gpu.name;
}

}  // namespace

RankInfo this_rank() {
  RankInfo info;
  MPI_Comm_rank(MPI_COMM_WORLD, &info.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &info.size);
  info.local_rank = local_rank_from_env();
  info.host = host_name();
  return info;
}

namespace {
// Lines travel as fixed-size records (MPI gathers equal counts).
constexpr int kLineWidth = 256;
std::string padded(const std::string& line) {
  std::string p = line.substr(0, kLineWidth - 1);
  p.resize(kLineWidth, '\0');
  return p;
}
std::vector<std::string> unpack(const std::vector<char>& all, int count) {
  std::vector<std::string> lines;
  for (int r = 0; r < count; ++r) lines.emplace_back(all.data() + static_cast<std::size_t>(r) * kLineWidth);
  return lines;
}
}  // namespace

std::vector<std::string> gather_lines(const std::string& line) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::string mine = padded(line);
  std::vector<char> all(rank == 0 ? static_cast<std::size_t>(kLineWidth) * size : 0);
  MPI_Gather(mine.data(), kLineWidth, MPI_CHAR, all.data(), kLineWidth, MPI_CHAR, 0, MPI_COMM_WORLD);
  return unpack(all, rank == 0 ? size : 0);
}

std::vector<std::string> all_lines(const std::string& line) {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::string mine = padded(line);
  std::vector<char> all(static_cast<std::size_t>(kLineWidth) * size);
  MPI_Allgather(mine.data(), kLineWidth, MPI_CHAR, all.data(), kLineWidth, MPI_CHAR, MPI_COMM_WORLD);
  return unpack(all, size);
}

Status check_world_size(int size) {
  const char* ntasks = std::getenv("SLURM_NTASKS");
  if (ntasks && std::getenv("SLURM_STEP_ID") && !std::getenv("OMPI_MCA_orte_hnp_uri")) {
    // Only when srun started the ranks directly does SLURM_NTASKS count them;
    // under mpirun, srun started one daemon per node (the HNP URI marks it).
    auto n = args::parse_int(ntasks, 1, 1 << 20, "SLURM_NTASKS");
    if (n && *n != size) {
      return Error{"MPI world has " + std::to_string(size) + " ranks but Slurm started " + ntasks +
                   " tasks: the MPI library and srun's --mpi plugin do not match"};
    }
  }
  return {};
}

Result<std::vector<std::string>> world_check() {
  RankInfo me = this_rank();
  const std::string line = "rank " + std::to_string(me.rank) + "/" + std::to_string(me.size) + " " + me.host +
                           " local " + std::to_string(me.local_rank) + " " + gpu_summary(me.local_rank);

  long mine = me.rank, sum = 0;
  MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  const long expected = static_cast<long>(me.size) * (me.size - 1) / 2;
  std::vector<std::string> lines = gather_lines(line);
  if (sum != expected) {
    return Error{"allreduce of ranks gave " + std::to_string(sum) + ", expected " + std::to_string(expected)};
  }
  if (auto ok = check_world_size(me.size); !ok) return ok.error();
  return lines;
}

}  // namespace batchai::trainer
