// PyTorch: one launcher per node starts its ranks (stdout-<rank>.txt,
// stderr-<rank>.txt), one per node by default: its scripts take
// --world-size from the user. With communicationBackend "MPI", srun's MPI
// launch starts them instead.
#include <algorithm>
#include <cctype>

#include "slurm/toolkits.h"

namespace batchai::slurm {

void launch_pytorch(LaunchBuilder& b, const jobspec::PyTorchSettings& t) {
  const int ranks = b.count(t.process_count, "processCount", /*per_gpu=*/false);
  const std::string cmd = b.python(t.python_interpreter_path, t.python_script_file_path, t.command_line_args);
  if (!t.communication_backend.empty()) b.env("AZ_BATCHAI_PYTORCH_BACKEND", t.communication_backend);
  // TCP rendezvous on the master: file:// on a shared filesystem, which
  // Batch AI used, depends on its locking.
  b.env("AZ_BATCHAI_PYTORCH_INIT_METHOD", "tcp://$MASTER_ADDR:$MASTER_PORT", true);
  std::string backend = t.communication_backend;
  std::transform(backend.begin(), backend.end(), backend.begin(), ::tolower);
  if (backend == "mpi") {
    b.mpi(ranks, cmd);
  } else {
    b.per_rank(ranks, cmd, "-");
  }
}

}  // namespace batchai::slurm
