// Custom MPI: the command line as MPI ranks, one per GPU by default.
#include "slurm/toolkits.h"

namespace batchai::slurm {

void launch_custom_mpi(LaunchBuilder& b, const jobspec::CustomMpiSettings& t) {
  b.mpi(b.count(t.process_count, "processCount"), t.command_line);
}

}  // namespace batchai::slurm
