// CNTK: MPI ranks, one per node by default (per GPU where the site says
// so). BrainScript runs the cntk executable on its config file; Python runs
// the script.
#include "slurm/toolkits.h"

namespace batchai::slurm {

void launch_cntk(LaunchBuilder& b, const jobspec::CntkSettings& t) {
  const std::string cmd = t.config_file_path.empty()
                              ? b.python(t.python_interpreter_path, t.python_script_file_path, t.command_line_args)
                              : b.command("cntk configFile=", t.config_file_path, t.command_line_args);
  b.mpi(b.count(t.process_count, "processCount"), cmd);
}

}  // namespace batchai::slurm
