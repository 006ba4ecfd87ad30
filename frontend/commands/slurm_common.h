// Pieces the `batchai slurm` plumbing commands share.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <string_view>

#include "frontend/cli.h"
#include "frontend/output.h"
#include "slurm/client.h"

namespace batchai::frontend {

// The job as JSON, keys in az's camelCase.
boost::json::value to_json(const slurm::JobInfo& job);

// Columns of `-o table` for jobs.
std::span<const Column> job_columns();

// A job id argument; the error names the argument.
Result<slurm::JobId> parse_job_id(std::string_view text);

// Polls until the job is final and its nodes are released, or `timeout`
// (zero: forever) passes.
Result<slurm::JobInfo> wait_for_job(Context& ctx, slurm::Client& client, slurm::JobId id,
                                    std::chrono::milliseconds interval, std::chrono::seconds timeout);

// The exit status a waiting command reports for a finished job: 0 when it
// completed, its exit code when it failed, 128+signal when killed, else 1.
int exit_status_of(const slurm::JobInfo& job);

}  // namespace batchai::frontend
