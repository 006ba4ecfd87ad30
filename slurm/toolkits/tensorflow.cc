// TensorFlow: one launcher per node starts its parameter servers and
// workers, placed as Batch AI placed them. A single node with no counts
// given runs one worker and no parameter server.
#include <algorithm>
#include <vector>

#include "slurm/toolkits.h"

namespace batchai::slurm {

void launch_tensorflow(LaunchBuilder& b, const jobspec::TensorFlowSettings& tf) {
  const int nodes = b.node_count();
  const bool distributed = nodes > 1 || tf.worker_count || tf.parameter_server_count;
  const int gpus = std::max(1, b.cluster().gpus_per_node);
  int workers = 1, ps = 0;
  if (distributed) {
    workers = static_cast<int>(tf.worker_count.value_or(nodes));
    // The parser bounds parameterServerCount by nodeCount
    // (io/toolkits/tensorflow.cc). node_count() is lower only for a
    // nodeCount over the limit, which is an error already: planning its 2^31
    // servers would only take minutes before saying so.
    ps = static_cast<int>(std::min<std::int64_t>(tf.parameter_server_count.value_or(1), nodes));
    if (tf.worker_count && *tf.worker_count > std::int64_t{nodes} * gpus) {
      b.error("workerCount", "expected at most nodeCount x GPUs per node (" +
                                 std::to_string(std::int64_t{nodes} * gpus) + "), got " +
                                 std::to_string(*tf.worker_count));
      return;
    }
  }
  // Batch AI's placement: each role round-robin from the first node, PS
  // first; ports count up from the site's base (Batch AI's 2222) on each
  // node. Output: stdout-ps-<i>.txt and stdout-wk-<i>.txt (and stderr-).
  std::vector<int> next_port(static_cast<std::size_t>(nodes), b.site().tensorflow_port_base);
  std::vector<int> next_local(static_cast<std::size_t>(nodes), 0);
  auto add = [&](const std::string& role, int index, const std::string& args) {
    Process p;
    p.rank = static_cast<int>(b.processes().size());
    p.node = index % nodes;
    p.local_rank = next_local[static_cast<std::size_t>(p.node)]++;
    p.role = role;
    p.task_index = index;
    p.port = next_port[static_cast<std::size_t>(p.node)]++;
    const std::string tag = role == "ps" ? "-ps-" : "-wk-";
    p.out_name = "stdout" + tag + std::to_string(index) + ".txt";
    p.err_name = "stderr" + tag + std::to_string(index) + ".txt";
    p.command = b.python(tf.python_interpreter_path, tf.python_script_file_path, args);
    b.process(std::move(p));
  };
  for (int i = 0; i < ps; ++i) add("ps", i, tf.parameter_server_command_line_args);
  for (int i = 0; i < workers; ++i) {
    add("worker", i, i == 0 ? tf.master_command_line_args : tf.worker_command_line_args);
  }
}

}  // namespace batchai::slurm
