// The durable records beside the job directories, from which the state
// database can be made again (`batchai state rebuild`): the database is an
// index, and these files are what it indexes.
//
// Under the site's jobsRoot, in the layout of Batch AI's
// jobOutputDirectoryPathSegment:
//   <g>/workspaces/<ws>/workspace.json
//   <g>/workspaces/<ws>/experiments/<e>/experiment.json
//   <g>/workspaces/<ws>/clusters/<c>/cluster.json
//   <g>/workspaces/<ws>/fileServers/<f>/fileserver.json
//   <g>/workspaces/<ws>/experiments/<e>/jobs/<j>/<uuid>/batchai.json
// A deleted job's directory stays (it holds the user's outputs) and gets a
// file `deleted`; a deleted workspace, experiment or cluster loses its
// record. Job directories written before batchai.json existed come back
// from their path, job.json, job.sbatch and the execution record.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frontend/cli.h"
#include "frontend/state.h"

namespace batchai::frontend {

// Each written whole (temporary file and rename). batchai.json is 0600, as
// job.json beside it; the others 0644, as the directories they describe.
// Each names its owner, the state directory of the store that wrote it
// (state::Store::records_owner): users and test runs that share a jobsRoot
// with other state directories rebuild only their own.
Status write_workspace_record(const std::string& jobs_root, const state::Workspace& w, const std::string& owner);
Status write_experiment_record(const std::string& jobs_root, const state::Experiment& e, const std::string& owner);
Status write_cluster_record(const std::string& jobs_root, const state::Cluster& c, const std::string& owner);
Status write_file_server_record(const std::string& jobs_root, const state::FileServer& f, const std::string& owner);
// <job_dir>/batchai.json: the job's identity, its cluster and its last
// known state, with its creation instant (state::Job::order), which keeps
// the jobs of one second in the order they were created; where the job
// does not carry it (0), the order the record already has.
Status write_job_record(const state::Job& j, const std::string& owner);

// Removing a record that is not there is not an error.
Status remove_workspace_records(const std::string& jobs_root, const state::WorkspaceKey& k);
Status remove_experiment_record(const std::string& jobs_root, const state::ExperimentKey& k);
Status remove_cluster_record(const std::string& jobs_root, const state::ClusterKey& k);
Status remove_file_server_record(const std::string& jobs_root, const state::FileServerKey& k);
// Writes <job_dir>/deleted; a directory that is gone needs no mark.
Status mark_job_deleted(const std::string& job_dir);

// Everything the records under `jobs_root` describe, ready for the store.
struct Records {
  std::vector<state::Workspace> workspaces;
  std::vector<state::Experiment> experiments;
  std::vector<state::Cluster> clusters;
  std::vector<state::FileServer> file_servers;
  std::vector<state::Job> jobs;  // in the order they were created
  // One line per record that could not be read, naming its file.
  std::vector<std::string> skipped;
};
// Which records a rebuild takes: those of `owner`, and, with
// `take_unowned`, those that name no owner (written before records did,
// and job directories from before batchai.json). A record of another
// owner is never taken.
struct RecordFilter {
  std::string owner;
  bool take_unowned = false;
};
// A missing jobs_root holds no records.
Result<Records> read_records(const std::string& jobs_root, const RecordFilter& filter);

// The store, with every write also written to the records (and deletes
// marked there). `jobs_root` is asked for on the first workspace,
// experiment or cluster write; job records go to the job's own directory.
std::unique_ptr<state::Store> recording_store(std::unique_ptr<state::Store> inner,
                                              std::function<Result<std::string>()> jobs_root, std::string owner);

// What a rebuild did.
struct Rebuilt {
  std::size_t workspaces = 0, experiments = 0, clusters = 0, file_servers = 0, jobs = 0;
  bool slurm_answered = false;  // the jobs' states were brought up to date
  std::string slurm_error;      // why not, when there were jobs to ask about
  std::vector<std::string> skipped;
};
// Puts the records under `jobs_root` into `store` (what it already holds is
// kept), then brings the unfinished jobs up to date from Slurm when it
// answers; when it does not, they keep the states recorded.
// `take_unowned`: also the records and job directories that name no owner
// (RecordFilter); the automatic rebuild of a missing database leaves them.
Result<Rebuilt> rebuild_state(Context& ctx, state::Store& store, const std::string& jobs_root, bool take_unowned);
// The owner this context's records name: its state directory, canonical.
std::string records_owner(const Context& ctx);

// The site's jobsRoot, from the site configuration.
Result<std::string> jobs_root(const Context& ctx);

// ctx.store as `batchai` wires it: the database in ctx.state_dir opened on
// first use and wrapped by recording_store(); a database just created, when
// records exist, is rebuilt from them, with one line on stderr saying so.
// `ctx` must outlive the function.
std::function<Result<state::Store*>()> state_opener(Context& ctx);

}  // namespace batchai::frontend
