// Custom toolkit: the command line once, on the first node, writing
// stdout.txt and stderr.txt. A job that starts its own mpirun finds the
// nodes in $AZ_BATCHAI_MPI_HOST_FILE.
#include "slurm/toolkits.h"

namespace batchai::slurm {

void launch_custom_toolkit(LaunchBuilder& b, const jobspec::CustomToolkitSettings& t) {
  b.per_rank(1, t.command_line.empty() ? std::string(":") : t.command_line, "");
}

}  // namespace batchai::slurm
