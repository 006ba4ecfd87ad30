// Caffe2: one process per node, each a shard; stdout-<i>.txt, stderr-<i>.txt.
#include "slurm/toolkits.h"

namespace batchai::slurm {

void launch_caffe2(LaunchBuilder& b, const jobspec::Caffe2Settings& t) {
  b.per_rank(b.node_count(), b.python(t.python_interpreter_path, t.python_script_file_path, t.command_line_args),
             "-");
}

}  // namespace batchai::slurm
