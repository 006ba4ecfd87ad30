// Batch AI's ContainerStartFailed. The job script runs jobPreparation (or
// nothing) in the job's container on every node, and the step's first act
// in the container marks <job dir>/containers/<node>. When that step fails,
// the script asks batchai-prolog which nodes never got there.
#pragma once

#include <string>
#include <vector>

#include "slurm/prolog/setup.h"

namespace batchai::prolog {

struct ContainerStep {
  std::string job_dir;    // $BATCHAI_JOB_DIR
  std::string stdouterr;  // $AZ_BATCHAI_STDOUTERR_DIR: execution logs, the runtime's stderr
  std::string image;      // as the runtime was given it
  std::vector<std::string> nodes;
  std::string now;  // the log lines' timestamp
};

// Records ContainerStartFailed in errors/<node>.json, and a line in the
// node's execution log, for each node whose container left no mark. Does
// nothing when any node already recorded an error: then jobPreparation
// failed, which explains the step's failure. Returns the nodes it recorded.
std::vector<std::string> record_container_failures(const ContainerStep& step);

}  // namespace batchai::prolog
