// What the job commands share: the Batch AI job object, and bringing a
// recorded job up to date from Slurm or, once Slurm has forgotten it, from
// the record its script left in the job directory.
#pragma once

#include <boost/json/value.hpp>
#include <ctime>
#include <optional>
#include <span>
#include <string>

#include "frontend/cli.h"
#include "frontend/commands/resource_args.h"
#include "frontend/output.h"
#include "frontend/state.h"
#include "slurm/client.h"

namespace batchai::frontend {

// Batch AI's ARM-style ids, which az printed and scripts parse.
std::string workspace_id(const state::WorkspaceKey& k);
std::string cluster_id(const state::ClusterKey& k);
std::string job_id(const state::JobKey& k);

// The Slurm id, start, end and exit code the job script recorded in its
// directory.
struct ExecutionRecord {
  std::optional<std::uint32_t> slurm_job_id;
  std::time_t start_time = 0;
  std::time_t end_time = 0;
  std::optional<int> exit_code;
};
std::optional<ExecutionRecord> read_execution_record(const std::string& job_dir);

// Updates state, times, exit code and errors from Slurm and the job
// directory. Returns whether anything changed, so callers write only real
// changes; fails when Slurm does not answer.
Result<bool> refresh_job(state::Job& job, slurm::Client& client, std::time_t now);

bool is_final(const state::Job& job);  // succeeded or failed

// A job recorded but never submitted, because the creating CLI was killed
// in between, is failed (JobNotSubmitted) once a minute has passed, rather
// than queued forever; an exported job waits for its site's sbatch. Returns
// whether it changed.
bool expire_unsubmitted(state::Job& job, std::time_t now);

// The job object as az printed it, with the spec's properties echoed
// (secret values removed when the job was recorded).
boost::json::object job_to_json(const state::Job& job);

// `job list -o table`: Name, Cluster, Cluster RG, Cluster Workspace, Tool,
// Nodes, State, Exit code.
boost::json::object job_table_row(const state::Job& job);
std::span<const Column> job_table_columns();

// The job named by `flag` ("name" or "job") in the experiment of -g/-w/-e.
Result<state::JobKey> job_key(const Context& ctx, const args::Parsed& p, state::Store& store,
                              std::string_view flag);

// The job, refreshed from Slurm and saved when it changed. Errors name what
// is missing. An exported job takes its Slurm id from `slurm_job_id` (the
// --slurm-job-id of job show and job wait), else from the record its script
// wrote once it started.
Result<state::Job> load_job(Context& ctx, state::Store& store, const state::JobKey& key,
                            std::optional<std::uint32_t> slurm_job_id = std::nullopt);

// --slurm-job-id, which job show and job wait take to follow a job that
// `job export` wrote and the site submitted with its own sbatch.
inline constexpr args::Option kSlurmJobIdOption = {
    "slurm-job-id", 0, "ID", "the Slurm id of an exported job, as sbatch printed it (batchai job export)"};
Result<std::optional<std::uint32_t>> slurm_job_id_flag(const args::Parsed& p);

// Releases the cluster's held jobs that now fit (nodeCount within its
// size): a cluster resized to 0 holds new jobs.
Status release_held_jobs(Context& ctx, state::Store& store, const state::Cluster& cluster);

// Cancels the job unless it has ended; it shows terminating until Slurm
// has stopped it. With `wait`, returns once it has (job_terminate.cc).
Status terminate_job(Context& ctx, state::Store& store, state::Job& job, bool wait);
// Every unfinished job of the experiment, terminated (experiment_delete.cc).
Status terminate_jobs(Context& ctx, state::Store& store, const state::ExperimentKey& key);
// The workspace and all it holds, its experiments' unfinished jobs
// terminated first (workspace_delete.cc; group delete does it for each).
Status delete_workspace_and_jobs(Context& ctx, state::Store& store, const state::WorkspaceKey& key);

// The options every job command takes to name its experiment.
#define BATCHAI_EXPERIMENT_OPTIONS \
  kResourceGroupOption, kWorkspaceOption, args::required({"experiment", 'e', "NAME", "the job's experiment"})

}  // namespace batchai::frontend
