// tensorFlowSettings: one script with separate arguments for the master
// (worker 0), the other workers and the parameter servers.
#include "io/toolkits.h"

namespace batchai::jobspec {

TensorFlowSettings parse_tensorflow(JsonReader& r, const boost::json::object& o, const std::string& p) {
  r.check_keys(o, p, {"pythonScriptFilePath", "pythonInterpreterPath", "masterCommandLineArgs",
                      "workerCommandLineArgs", "parameterServerCommandLineArgs", "workerCount",
                      "parameterServerCount"});
  return TensorFlowSettings{r.text(o, p, "pythonScriptFilePath", true), r.text(o, p, "pythonInterpreterPath"),
                            r.text(o, p, "masterCommandLineArgs"),       r.text(o, p, "workerCommandLineArgs"),
                            r.text(o, p, "parameterServerCommandLineArgs"), r.count(o, p, "workerCount"),
                            r.count(o, p, "parameterServerCount")};
}

// Batch AI's bound on parameter servers: at most one per node. Workers have
// none but Slurm's tasks per node and the port range, which the translator
// checks (slurm/toolkits/tensorflow.cc).
void validate_tensorflow(JsonReader& r, const TensorFlowSettings& tf, const JobSpec& job, const std::string& p) {
  if (tf.parameter_server_count && *tf.parameter_server_count > job.node_count) {
    r.error(p + ".parameterServerCount", "at most nodeCount (" + std::to_string(job.node_count) + "), got " +
                                             std::to_string(*tf.parameter_server_count));
  }
}

}  // namespace batchai::jobspec
