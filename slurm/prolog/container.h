// Batch AI's errors for the step that runs on every node after
// batchai-prolog setup: ContainerStartFailed and JobPreparationFailed. The
// step runs jobPreparation (or nothing) in the job's container, if it has
// one. Its first act in the container marks <job dir>/containers/<node>;
// jobPreparation's exit code goes to <job dir>/preparation/<node>. When the
// step fails, the job runtime asks batchai-prolog to record why from these
// marks, on the first node, where batchai-prolog is at hand (it need not be
// in the container).
#pragma once

#include <string>
#include <vector>

#include "slurm/prolog/setup.h"

namespace batchai::prolog {

struct NodeStep {
  std::string job_dir;    // $BATCHAI_JOB_DIR
  std::string stdouterr;  // $AZ_BATCHAI_STDOUTERR_DIR: execution logs, the runtime's stderr
  std::string image;      // as the runtime was given it; empty: no container
  std::vector<std::string> nodes;
  std::string now;  // the log lines' timestamp
};

// Records JobPreparationFailed in errors/<node>.json for each node whose
// jobPreparation exited non-zero, naming the node and its
// stderr-job_prep-<node>.txt. Returns the nodes it recorded.
std::vector<std::string> record_preparation_failures(const NodeStep& step);

// Records ContainerStartFailed in errors/<node>.json, and a line in the
// node's execution log, for each node whose container left no mark. Does
// nothing when any node already recorded an error: then jobPreparation
// failed, which explains the step's failure. Returns the nodes it recorded.
std::vector<std::string> record_container_failures(const NodeStep& step);

}  // namespace batchai::prolog
