// Chainer (ChainerMN): MPI ranks, one per node by default (per GPU where
// the site says so).
#include "slurm/toolkits.h"

namespace batchai::slurm {

void launch_chainer(LaunchBuilder& b, const jobspec::ChainerSettings& t) {
  b.mpi(b.count(t.process_count, "processCount"),
        b.python(t.python_interpreter_path, t.python_script_file_path, t.command_line_args));
}

}  // namespace batchai::slurm
