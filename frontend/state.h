// The CLI's durable state: resource groups, workspaces, experiments,
// cluster bindings and jobs, in one SQLite database per user
// ($BATCHAI_STATE_DIR, default ~/.local/state/batchai/state.db).
//
// Every write is one transaction, so a killed CLI never leaves half a
// record, and several CLIs may run at once (busy timeout and retries). On a
// network filesystem, where SQLite's WAL needs shared memory it cannot have
// (SQLite's own documentation, "WAL mode"), the journal is DELETE instead of WAL. Each job's
// directory on the shared filesystem stays the durable record of the run
// itself (spec, script, Slurm id, recorded exit), so this database is an
// index that can be rebuilt.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace batchai::frontend::state {

// Where a resource lives. Resource groups exist once something is created
// in them, as namespaces (Azure's own groups are out of scope here).
struct WorkspaceKey {
  std::string group, workspace;
};
struct ExperimentKey {
  std::string group, workspace, experiment;
};
struct ClusterKey {
  std::string group, workspace, cluster;
};
struct JobKey {
  std::string group, workspace, experiment, job;
};
struct FileServerKey {
  std::string group, workspace, file_server;
};

struct Workspace {
  WorkspaceKey key;
  std::string location;      // accepted and kept, as az showed it
  std::int64_t created = 0;  // Unix seconds
};

struct Experiment {
  ExperimentKey key;
  std::int64_t created = 0;
};

// Batch AI's vmPriority of a cluster (`cluster create --vm-priority`). A
// low-priority cluster's jobs go to the site's preemptible partition or QOS
// (site.json lowPriorityPartition, lowPriority.qos), so Slurm may requeue
// them for normal ones, as Azure took low-priority VMs back.
enum class VmPriority { dedicated, lowpriority };

// "dedicated" or "lowpriority", as az printed them.
const char* to_string(VmPriority p);
// The inverse of to_string; nullopt for any other text.
std::optional<VmPriority> parse_vm_priority(std::string_view text);

struct Cluster {
  ClusterKey key;
  std::string vm_size;    // as given to --vm-size
  std::string partition;  // Slurm partition, from the site's VM sizes
  int gpus_per_node = 0;
  std::string gpu_type;
  // Scale settings: manual (target) or auto-scale (min..max).
  bool auto_scale = false;
  std::int64_t target_nodes = 0;
  std::int64_t min_nodes = 0, max_nodes = 0;
  std::int64_t created = 0;
  std::int64_t max_time_seconds = 0;  // the partition's MaxTime; 0: unlimited
  VmPriority vm_priority = VmPriority::dedicated;
  // Batch AI's nodeSetup as JSON ({"setupTask": {...}}, secret values left
  // out); empty: none. setup_uuid names the setup task's output directory,
  // as Batch AI's cluster id did.
  std::string node_setup_json;
  std::string setup_uuid;
};

// A Batch AI file server: on a site, a directory on the shared filesystem
// that jobs mount by the server's name (fileServers[].fileServer.id).
struct FileServer {
  FileServerKey key;
  std::string vm_size;  // as given to --vm-size; no VM exists
  std::string path;     // the directory jobs mount
  // The site maps a fileServer share of this name itself: an admin's
  // directory, never removed by batchai.
  bool site_mapped = false;
  // What az showed and the file server does not use (dataDisks, the admin
  // user's name, subnet) and whether batchai made the directory, as JSON.
  std::string properties_json = "{}";
  std::int64_t created = 0;
};

// Batch AI's executionState of a job. The names are az's, printed in every
// job object and stored in the database, whose CHECK lists the same five.
enum class ExecutionState { queued, running, terminating, succeeded, failed };

// "queued", "running", ... as az printed them.
const char* to_string(ExecutionState s);
// The inverse of to_string; nullopt for any other text.
std::optional<ExecutionState> parse_execution_state(std::string_view text);
// Succeeded or failed: the job will not change again.
bool is_final(ExecutionState s);

// A job as created.
struct Job {
  JobKey key;
  std::string uuid;
  ClusterKey cluster;
  std::string tool_type;
  std::int64_t node_count = 1;
  std::string spec_json;  // the job.json's properties, secret values removed
  std::string job_dir;
  std::string segment;                        // jobOutputDirectoryPathSegment
  std::optional<std::uint32_t> slurm_job_id;  // none until submitted
  // Written by `job export` for the site's own sbatch: it has no Slurm id
  // until batchai is told it or finds it in the job's execution record,
  // and waits for one without expiring.
  bool exported = false;
  ExecutionState state = ExecutionState::queued;
  std::optional<int> exit_code;
  std::int64_t start_time = 0, end_time = 0;  // 0: not yet
  std::string errors_json = "[]";             // executionInfo.errors
  std::int64_t created = 0;
  std::int64_t state_time = 0;  // executionStateTransitionTime
  // Not in the database: the creation instant in nanoseconds, which keeps a
  // rebuild's jobs of one second in order (state_records.h). Known to the
  // command that creates the job; 0 elsewhere, where the job's record has it.
  std::int64_t order = 0;
};

// How long a CLI waits for others holding the database: SQLite's busy
// timeout for each statement, and, on top of it, whole transactions retried
// with backoff until `retry_budget` has passed. Tests shorten both.
struct Waiting {
  std::chrono::milliseconds busy_timeout{10'000};
  std::chrono::milliseconds retry_budget{30'000};
};

// --debug: every database opened after this call hands each statement's
// text, as written (bound values, which hold job specs, left out), to
// `trace`; nullptr stops it for databases opened afterwards.
void set_sql_trace(std::function<void(std::string_view sql)> trace);

class Store {
 public:
  // Opens (creating, and migrating to the current schema) the database in
  // `dir`. The directory is made 0700 and the file 0600: job specs are
  // private. The journal is WAL, or DELETE where network_filesystem() says
  // so; BATCHAI_STATE_JOURNAL=wal|delete in the process environment forces
  // one (tests use both on local disk).
  // A database SQLite finds damaged (not a database, or corrupt) gives
  // damaged_database()'s error, which names the rebuild.
  static Result<std::unique_ptr<Store>> open(const std::string& dir, const Waiting& waiting = {});

  // A new, empty database at `path`, replacing any file there, for `batchai
  // state rebuild` to fill and rename into place. Its journal is DELETE, so
  // once it is closed the one file holds everything (a WAL would be left
  // beside the name it was built under).
  static Result<std::unique_ptr<Store>> open_new(const std::string& path, const Waiting& waiting = {});
  virtual ~Store() = default;

  virtual std::string journal_mode() const = 0;  // "wal" or "delete"
  virtual int schema_version() const = 0;
  // Whether this open made the database: the file was missing, or empty (as
  // a full disk or a quota can leave it). Such a database may be rebuilt
  // from the job directories.
  virtual bool created() const = 0;
  // Whose records (state_records.h) this store's writes leave, and a
  // rebuild of it takes: its state directory. Empty: records name none.
  virtual std::string records_owner() const { return {}; }

  // Create fails when the name exists, with a message naming it
  // ("workspace 'ws' already exists in resource group 'rg'"). Get returns
  // nullopt when absent. Delete of a workspace or experiment removes what
  // it holds; it fails when the resource does not exist.
  virtual Status create_workspace(const Workspace& w) = 0;
  virtual Result<std::optional<Workspace>> workspace(const WorkspaceKey& k) = 0;
  virtual Result<std::vector<Workspace>> workspaces(const std::optional<std::string>& group) = 0;
  virtual Status delete_workspace(const WorkspaceKey& k) = 0;

  virtual Status create_experiment(const Experiment& e) = 0;  // the workspace must exist
  virtual Result<std::optional<Experiment>> experiment(const ExperimentKey& k) = 0;
  virtual Result<std::vector<Experiment>> experiments(const WorkspaceKey& k) = 0;
  virtual Status delete_experiment(const ExperimentKey& k) = 0;

  virtual Status create_cluster(const Cluster& c) = 0;  // the workspace must exist
  virtual Result<std::optional<Cluster>> cluster(const ClusterKey& k) = 0;
  virtual Result<std::vector<Cluster>> clusters(const WorkspaceKey& k) = 0;
  virtual Status update_cluster(const Cluster& c) = 0;  // scale settings
  virtual Status delete_cluster(const ClusterKey& k) = 0;

  virtual Status create_file_server(const FileServer& f) = 0;  // the workspace must exist
  virtual Result<std::optional<FileServer>> file_server(const FileServerKey& k) = 0;
  virtual Result<std::vector<FileServer>> file_servers(const WorkspaceKey& k) = 0;
  virtual Status delete_file_server(const FileServerKey& k) = 0;

  // Insert fails on a duplicate name in the experiment, as az refused it;
  // the experiment must exist.
  virtual Status insert_job(const Job& j) = 0;
  virtual Result<std::optional<Job>> job(const JobKey& k) = 0;
  virtual Result<std::vector<Job>> jobs(const ExperimentKey& k) = 0;
  // Updates the mutable part (slurm_job_id, state, exit_code, times,
  // errors_json, state_time) and appends to the state history when the
  // state changed.
  virtual Status update_job(const Job& j) = 0;
  virtual Status delete_job(const JobKey& k) = 0;
  // (state, time) pairs, oldest first.
  virtual Result<std::vector<std::pair<ExecutionState, std::int64_t>>> job_history(const JobKey& k) = 0;

  // `batchai configure --defaults group=rg workspace=ws`; an empty value
  // clears the default, as `az configure --defaults group=''` did.
  virtual Status set_default(const std::string& name, const std::string& value) = 0;
  virtual Result<std::optional<std::string>> get_default(const std::string& name) = 0;
};

// The errors Store gives for a missing resource, for commands that find
// the absence themselves (a get that returned nullopt):
// "experiment 'e' not found in workspace 'ws' (resource group 'rg')".
Error not_found(const WorkspaceKey& k);
Error not_found(const ExperimentKey& k);
Error not_found(const ClusterKey& k);
Error not_found(const JobKey& k);
Error not_found(const FileServerKey& k);

// <dir>/state.db.
std::string database_path(const std::string& dir);

// What `batchai state rebuild` finds in `dir` before replacing anything.
enum class Health { missing, healthy, damaged };
// Opens the database to look (migrating an old one, as any command would);
// an error other than damage (a newer schema, a lock held too long) is
// returned as it is.
Result<Health> health(const std::string& dir, const Waiting& waiting = {});

// "the state database PATH is damaged (WHY); 'batchai state rebuild' makes
// it again from the job directories": never an empty list in its place.
Error damaged_database(const std::string& path, const std::string& why);

// Puts the database that open_new() made at `rebuilt` in place of
// <dir>/state.db. A database already there is kept, with its journal files,
// as state.db.damaged-<UTC time> (with -2, -3, ... when that name is taken);
// returns that name, or "" when there was none.
Result<std::string> install_rebuilt(const std::string& dir, const std::string& rebuilt, std::int64_t now);

// Whether a statfs(2) f_type names a network or cluster filesystem (NFS,
// SMB/CIFS, Lustre, GPFS, CephFS, FUSE, BeeGFS, Panasas), where SQLite's WAL
// cannot work.
bool network_filesystem(std::int64_t f_type);

// $BATCHAI_STATE_DIR, else $XDG_STATE_HOME/batchai, else
// $HOME/.local/state/batchai. `getenv` looks a name up.
std::string default_state_dir(const std::function<std::optional<std::string>(const char*)>& getenv);

}  // namespace batchai::frontend::state
