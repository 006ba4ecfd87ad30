// The one interface between batchai and Slurm.
//
// Everything the rest of the project knows about Slurm goes through
// slurm::Client: submit a batch script, read a job's state and exit code,
// cancel, and read node and partition states. The libslurm implementation
// (libslurm_client.cc) is the only file that includes <slurm/slurm.h>, so a
// Slurm upgrade that changes the C API (libslurm's SONAME changes with every
// major release; 26.05 changed the job-id calls) touches one file.
// Tests use a fake behind the same interface.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace batchai::slurm {

using JobId = std::uint32_t;

// What a batch job asks for. Every sbatch option we need is a field here,
// because libslurm does not read #SBATCH lines (only the sbatch client does).
struct SubmitRequest {
  std::string script;  // full text, starting with "#!"
  std::string name;
  std::string partition;  // empty: the cluster's default partition
  std::uint32_t nodes = 1;
  std::optional<std::uint32_t> tasks;           // total tasks
  std::optional<std::uint16_t> tasks_per_node;  // tasks on each node
  std::optional<std::uint32_t> time_limit_minutes;
  bool exclusive = false;     // whole nodes, not shared with other jobs
  std::string work_dir;       // must exist on the nodes
  std::string std_out;        // path; may use %j etc.
  std::string std_err;        // empty: with std_out
  std::vector<std::string> environment;  // "NAME=value"; Slurm requires at least one
  // "NAME=value" for the site's Prolog and Epilog, which see neither the
  // script nor its environment; they get SPANK_NAME=value (spank_job_env).
  std::vector<std::string> prolog_environment;
  std::string qos;
  std::optional<std::int32_t> nice;  // positive lowers priority
  std::string comment;
  std::string gpus_per_node;  // e.g. "4" or "a100:4"; empty for none
  bool hold = false;          // submitted held (sbatch --hold), see Client::release
  std::optional<bool> requeue;  // unset: the cluster's JobRequeue default
  // USR1 to the batch shell this long before a time limit or a
  // preemption's kill (sbatch --signal=B:USR1@N); 0: none.
  std::uint16_t warn_seconds = 0;
};

enum class JobState {
  pending,
  running,
  suspended,
  completing,  // the job's processes ended; Slurm is cleaning up its nodes
  completed,
  cancelled,
  failed,
  timeout,
  node_fail,
  preempted,
  boot_fail,
  deadline,
  out_of_memory,
  // Going back to the queue (a lost node, a preemption, scontrol requeue):
  // not final, whatever its base state says. Accounting keeps an attempt
  // that ended so as REQUEUED.
  requeued,
};

// "PENDING", "COMPLETED", ... as squeue and sacct spell them.
const char* to_string(JobState state);
// True once the job will not run again (completing is not yet final).
bool is_final(JobState state);

struct JobInfo {
  JobId id = 0;
  std::string name;
  std::string user;
  std::string partition;
  JobState state = JobState::pending;
  std::string reason;  // why pending or why it ended, "None" if nothing
  int exit_code = 0;   // of the batch script, when it exited
  int signal = 0;      // that killed it, when it was killed
  std::uint32_t node_count = 0;
  std::string nodes;                    // hostlist expression, "node[1-4]"
  std::vector<std::string> node_names;  // expanded
  std::time_t submit_time = 0;
  std::time_t start_time = 0;  // 0 until it starts
  std::time_t end_time = 0;    // 0 until it ends
  std::uint32_t time_limit_minutes = 0;  // 0: unlimited
  std::string work_dir;
  std::string std_out;
  std::string std_err;
  std::uint32_t restart_count = 0;  // times Slurm has requeued it
  std::time_t preempt_time = 0;     // when it was picked for preemption; 0: never
};

// Base node states, as Slurm has them; flags are separate booleans.
enum class NodeState { idle, allocated, mixed, down, future, error, unknown };

// "IDLE", "ALLOCATED", ... as sinfo and scontrol spell them.
const char* to_string(NodeState state);
// The inverse of to_string; nullopt for any other text.
std::optional<NodeState> parse_node_state(std::string_view text);

struct NodeInfo {
  std::string name;
  NodeState state = NodeState::unknown;
  bool drain = false;
  bool completing = false;
  bool not_responding = false;
  bool powering_up = false;
  bool powered_down = false;
  bool failing = false;
  // Allocated to a job that is still being set up: Slurm's Prolog runs
  // (PrologFlags=Alloc) or the node boots for it. Slurm shows such nodes
  // as allocated; Batch AI counted them as preparing.
  bool preparing_job = false;
  std::string reason;
  std::uint32_t cpus = 0;
  std::uint32_t alloc_cpus = 0;  // CPUs allocated to jobs now
  std::string gres;       // "gpu:a100:4(S:0-1)" or empty
  std::string gres_used;  // in use now: "gpu:a100:2(IDX:0-1)", or empty
  std::vector<std::string> partitions;
};

struct PartitionInfo {
  std::string name;
  bool is_default = false;
  bool up = true;
  std::string nodes;                    // hostlist expression
  std::vector<std::string> node_names;  // expanded
  std::uint32_t total_nodes = 0;
  std::optional<std::uint32_t> max_time_minutes;  // none: unlimited
  std::optional<std::uint32_t> max_nodes;         // per job; none: unlimited
};

class Client {
 public:
  virtual ~Client() = default;
  virtual Result<JobId> submit(const SubmitRequest& request) = 0;
  // std::nullopt when Slurm does not know the job (never existed, or purged
  // after MinJobAge).
  virtual Result<std::optional<JobInfo>> job(JobId id) = 0;
  // What the site's accounting (slurmdbd, as sacct reads it) recorded of a
  // job that has ended: the answer for a job the controller has purged.
  // std::nullopt where the site keeps no accounting or it has no record.
  virtual Result<std::optional<JobInfo>> accounted_job(JobId id) = 0;
  virtual Status cancel(JobId id) = 0;
  virtual Status release(JobId id) = 0;  // lifts a hold
  virtual Result<std::vector<NodeInfo>> nodes() = 0;
  virtual Result<std::vector<PartitionInfo>> partitions() = 0;
};

// Connects to the Slurm named by $SLURM_CONF (else /etc/slurm/slurm.conf).
// Fails with a clear message, instead of letting libslurm end the process,
// when no configuration is readable.
Result<std::unique_ptr<Client>> connect_libslurm();

// "22.05.8": the libslurm this program was built against.
std::string libslurm_version();

}  // namespace batchai::slurm
