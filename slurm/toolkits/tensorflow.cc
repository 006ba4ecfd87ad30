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
  int workers = 1, ps = 0;
  if (distributed) {
    // The parser bounds parameterServerCount by nodeCount
    // (io/toolkits/tensorflow.cc). node_count() is lower only for a
    // nodeCount over the limit, which is an error already: planning its 2^31
    // servers would only take minutes before saying so.
    ps = static_cast<int>(std::min<std::int64_t>(tf.parameter_server_count.value_or(1), nodes));
    // Any number of workers per node, as in Batch AI and TensorFlow, up to
    // what Slurm and the port range can hold. Round-robin puts the most on
    // the first node, with its parameter server.
    const std::int64_t want = tf.worker_count.value_or(nodes);
    const std::int64_t busiest = want / nodes + (want % nodes != 0) + (ps > 0);
    if (busiest > kMaxTasksPerNode) {
      b.error("workerCount", "expected at most 512 processes per node, parameter servers included (" +
                                 std::to_string(want) + " workers and " + std::to_string(ps) +
                                 " parameter server(s) on " + std::to_string(nodes) + " node(s) put " +
                                 std::to_string(busiest) + " on the first)");
      return;
    }
    const int base = b.site().tensorflow_port_base;
    if (ps + want - 1 > 65535 - base) {
      b.error("workerCount", "expected at most " + std::to_string(65536 - base - ps) + " with " +
                                 std::to_string(ps) + " parameter server(s): each process takes a port of its own, " +
                                 "from the site's tensorFlowPortBase (" + std::to_string(base) +
                                 ") up to 65535, got " + std::to_string(want));
      return;
    }
    workers = static_cast<int>(want);
  }
  // Batch AI's placement: each role round-robin from the first node, PS
  // first. Ports: one per process, the site's base (Batch AI's 2222) plus
  // its index in the job. Batch AI counted up from the base on each node,
  // which gives two processes one address and port wherever nodes share an
  // address (the local cluster's nodes are all 127.0.0.1); one port each is
  // free of that. Output: stdout-ps-<i>.txt and stdout-wk-<i>.txt (and
  // stderr-).
  std::vector<int> next_local(static_cast<std::size_t>(nodes), 0);
  auto add = [&](const std::string& role, int index, const std::string& args) {
    Process p;
    p.rank = static_cast<int>(b.processes().size());
    p.node = index % nodes;
    p.local_rank = next_local[static_cast<std::size_t>(p.node)]++;
    p.role = role;
    p.task_index = index;
    p.port = b.site().tensorflow_port_base + p.rank;
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
