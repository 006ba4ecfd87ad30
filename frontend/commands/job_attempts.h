// A job's attempts: each time Slurm started its script. A job that lost a
// node or was preempted is requeued and starts again; the job runtime keeps
// one record per attempt in <job dir>/attempts/<n> (n = Slurm's restart
// count), and `job show` lists them beside Batch AI's executionInfo, which
// keeps the first attempt's start.
#pragma once

#include <boost/json/array.hpp>
#include <string>

namespace batchai::frontend {

// [{attempt, slurmJobId, nodes, startTime, endTime, endReason, exitCode,
// checkpoint?}], in attempt order; an attempt still running has null end
// fields. Empty for a job that has not started, or one whose runtime
// predates attempt records (version 2 and before).
boost::json::array job_attempts(const std::string& job_dir);

}  // namespace batchai::frontend
