// Caffe: MPI ranks, one per node by default, since one process drives all
// of a node's GPUs. A solver config runs `caffe train`; else the script.
#include "slurm/toolkits.h"

namespace batchai::slurm {

void launch_caffe(LaunchBuilder& b, const jobspec::CaffeSettings& t) {
  const std::string cmd = t.config_file_path.empty()
                              ? b.python(t.python_interpreter_path, t.python_script_file_path, t.command_line_args)
                              : b.command("caffe train --solver=", t.config_file_path, t.command_line_args);
  b.mpi(b.count(t.process_count, "processCount", /*per_gpu=*/false), cmd);
}

}  // namespace batchai::slurm
