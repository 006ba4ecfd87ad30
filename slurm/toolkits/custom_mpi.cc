// Custom MPI: the command line as MPI ranks, one per node by default (per
// GPU where the site says so).
#include "slurm/toolkits.h"

namespace batchai::slurm {

void launch_custom_mpi(LaunchBuilder& b, const jobspec::CustomMpiSettings& t) {
  b.mpi(b.count(t.process_count, "processCount"), t.command_line);
}

}  // namespace batchai::slurm
