// The steps `job create` and `job export` share: a job.json read and
// checked, its cluster bound and the job planned (a draft); then the job
// recorded in the state store and its directory written, or neither. One
// set of steps, so an exported job is the job that create would submit.
#pragma once

#include <string>

#include "frontend/cli.h"
#include "frontend/commands/job_common.h"
#include "frontend/state.h"
#include "slurm/job_plan.h"

namespace batchai::frontend {

// A random (version 4) UUID, for a job's or a cluster setup task's paths.
Result<std::string> new_uuid();

// The options both commands take; job create adds --dry-run.
#define BATCHAI_JOB_DRAFT_OPTIONS                                                                                  \
  BATCHAI_EXPERIMENT_OPTIONS, args::required({"name", 'n', "NAME", "job name"}),                                   \
      args::required({"cluster", 'c', "NAME",                                                                      \
                      "cluster to run on: its name or id, a cluster of the site configuration, or a partition"}),  \
      args::required({"config-file", 'f', "FILE", "the job.json"}),                                                \
      {"storage-account-name", 0, "NAME",                                                                          \
       "replaces <AZURE_BATCHAI_STORAGE_ACCOUNT> (else $AZURE_BATCHAI_STORAGE_ACCOUNT)"},                          \
      {"storage-account-key", 0, "KEY", "replaces <AZURE_BATCHAI_STORAGE_KEY> (else $AZURE_BATCHAI_STORAGE_KEY)"}, \
      {"strict", 0, "", "treat unknown keys in the job.json as errors"},                                           \
      {"afs-name", 0, "SHARE", "mount this file share (storage share create) in the job, as az added it"},         \
      {"afs-mount-path", 0, "PATH", "where --afs-name mounts under $AZ_BATCHAI_JOB_MOUNT_ROOT (default: afs)"},     \
      {"bfs-name", 0, "CONTAINER", "mount this blob container (a site share) in the job"},                         \
      {"bfs-mount-path", 0, "PATH", "where --bfs-name mounts under $AZ_BATCHAI_JOB_MOUNT_ROOT (default: bfs)"},     \
      {"nfs", 0, "NAME|ID", "mount this file server (file-server create) in the job"},                             \
      {"nfs-mount-path", 0, "PATH", "where --nfs mounts under $AZ_BATCHAI_JOB_MOUNT_ROOT (default: nfs)"}

// A job read, bound and planned, with nothing written yet.
struct JobDraft {
  std::string spec_text;      // the job.json as given
  state::ClusterKey cluster;  // as the job records it
  bool hold = false;          // the cluster has no nodes now (resized to 0): submit held
  slurm::JobPlan plan;
};

// Reads the flags, the job.json and the site configuration, binds
// --cluster and plans the job, printing the plan's warnings. Slurm is asked
// for the partition's MaxTime; with `slurm_optional` (a dry run) a Slurm out
// of reach is a note, not an error.
Result<JobDraft> draft_job(Context& ctx, const args::Parsed& p, state::Store& store, bool slurm_optional);

// Records the job (queued, no Slurm id yet; refused when the name exists in
// the experiment), then writes its directory: the job.json and the private
// files 0600, `script` as job.sbatch, each file whole or not at all.
// `exported`: the site submits it with its own sbatch (job export), and its
// batchai.json is written now; a job batchai submits gets it with its Slurm
// id, from the store's update_job after the submission, so that a create
// writes it once. When the directory cannot be written, neither it nor the
// record is left.
Result<state::Job> record_job(state::Store& store, const JobDraft& draft, const std::string& script, bool exported);

// job.json's properties as `job show` echoes them: secret values and keys
// removed, as Batch AI's GET nulled them ("{}" for text that is not a job).
std::string redacted_properties(const std::string& text);

// Undoes record_job, for a job that could not be submitted, and returns
// `why`. The job's uuid is new, so nothing else is in its directory.
Error discard_job(state::Store& store, const state::Job& job, Error why);

}  // namespace batchai::frontend
