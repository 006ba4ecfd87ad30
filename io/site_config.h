// The site configuration: what an admin says about a Slurm cluster so that
// Batch AI jobs can run on it. Batch AI knew these things from the VM size
// and the Azure account; on Slurm the site must say them once, in
// etc/batchai/site.json (JSON with // comments; BATCHAI_CONF overrides the
// path). Every field has a default, so a site with no file still works for
// CPU jobs on the host.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace batchai::site {

// A Batch AI "cluster" is a Slurm partition plus what Batch AI knew from the
// VM size: GPUs per node and their type.
struct Cluster {
  std::string name;       // what users pass to --cluster
  std::string partition;  // Slurm partition; default: name
  int gpus_per_node = 0;
  std::string gpu_type;  // gres type ("h100"); empty: any
  // The site's own cap on a job's run time, if tighter than the partition's
  // MaxTime (which the CLI reads from Slurm).
  std::optional<std::int64_t> max_wall_clock_seconds;
  // vmSizes only: the partition of the clusters made of this size with
  // `--vm-priority lowpriority`, one that Slurm lets `partition`'s jobs
  // preempt. Empty: not given, and such clusters use `partition`.
  std::string low_priority_partition;
};

// What makes a job on a low-priority cluster preemptible besides its
// partition (Cluster::low_priority_partition).
struct LowPriority {
  // The QOS every job of a low-priority cluster gets, in place of its
  // schedulingPriority's QOS; one that normal jobs' QOS may preempt
  // (PreemptType=preempt/qos). Empty: none.
  std::string qos;
};

// How one schedulingPriority maps to Slurm. Raising priority needs a QOS:
// only admins may set a negative nice.
struct PriorityMapping {
  std::string qos;                   // empty: none
  std::optional<std::int32_t> nice;  // positive lowers priority
};

enum class ContainerRuntime { none, pyxis, apptainer };
enum class MpiLauncher { srun, mpirun };

// How many ranks an MPI toolkit (Horovod, custom MPI, CNTK, Chainer) starts
// when its job gives no processCount: Batch AI's one per node, or one per
// GPU for sites whose users expect a rank per GPU.
enum class DefaultProcessCount { node_count, gpus };

// Where a Batch AI share lives on this site. Jobs see it as a link at
// $AZ_BATCHAI_JOB_MOUNT_ROOT/<relativeMountPath>, so no root is needed for
// shares the nodes already mount (the common case on HPC sites).
struct Share {
  enum class Kind { azure_file_share, azure_blob_file_system, file_server, unmanaged_file_system };
  Kind kind = Kind::azure_file_share;
  // Matched against the job's volume: the share name (last segment of
  // azureFileUrl), the blob containerName, the file server's name (last
  // segment of its resource id), or the exact mountCommand.
  std::string name;
  std::string path;  // absolute directory, the same on every node
};

struct SiteConfig {
  std::string source;  // the file it came from, or "built-in defaults"

  // Job directories (script, state, hostfile, shared temp): must be the same
  // path on every node, so on a shared filesystem. `~` is the user's home.
  std::string jobs_root = "~/.batchai/jobs";
  // $AZ_BATCHAI_MOUNT_ROOT, cluster-level shares.
  std::string mount_root = "/var/lib/batchai/mounts";
  // Node-local scratch; each job gets <node_temp_root>/batchai-job-<id>.
  std::string node_temp_root = "/tmp";
  // batchai-prolog as the nodes see it; empty: beside batchai, where the
  // CLI finds it (the same installation on a shared filesystem).
  std::string prolog_program;
  // The directory of the job runtime's versions, each at
  // <dir>/<version>/job-runtime.sh, as the nodes see it; empty: beside
  // batchai, as for prolog_program.
  std::string job_runtime_dir;

  std::string python = "python3";  // when pythonInterpreterPath is absent
  std::string mpi = "pmix";        // srun --mpi plugin for MPI toolkits
  // Who starts an MPI toolkit's ranks: Slurm (srun, with Open MPI's
  // OMPI_COMM_WORLD_* set for each rank as mpirun would), or Open MPI's
  // mpirun on the first node, as Batch AI did (for an MPI without PMIx).
  MpiLauncher mpi_launcher = MpiLauncher::srun;
  // After a TensorFlow job's chief ends, how long its other workers may
  // run before they are stopped (docs/job-translation.md).
  int tensorflow_grace_seconds = 30;
  // The first TensorFlow port (Batch AI's 2222); a job's processes take
  // one each from here up.
  int tensorflow_port_base = 2222;
  // Jobs are submitted requeueable: Slurm restarts a job that lost a node
  // or was preempted, and the job resumes (docs/user-guide.md, "When
  // something fails"). False: such a job ends, as in Batch AI.
  bool requeue = true;
  // Seconds before a time limit or a preemption's kill that the job is
  // sent USR1, so that its program can write a checkpoint; 0: no warning.
  int checkpoint_signal_seconds = 120;
  DefaultProcessCount default_process_count = DefaultProcessCount::node_count;

  std::vector<Cluster> clusters;  // empty: any partition is a cluster
  // What `cluster create --vm-size` may name: each a partition (empty: the
  // Slurm default) and its nodes' GPUs. Matched case-insensitively.
  std::vector<Cluster> vm_sizes;
  PriorityMapping low{{}, 100}, normal{}, high{};
  LowPriority low_priority;

  ContainerRuntime container_runtime = ContainerRuntime::none;
  // With no runtime, run containerSettings jobs on the host with a warning
  // instead of refusing them.
  bool allow_host_without_container = false;

  std::vector<Share> shares;
  // Where `batchai storage` keeps the file shares users make themselves
  // (<storage_root>/<share>), in place of the tutorial's Azure storage
  // account. A job's Azure file share that "shares" does not map resolves
  // to the directory of that name here, when it exists. The nodes must see
  // it at the same path, so like jobs_root it belongs on a shared filesystem.
  std::string storage_root = "~/.batchai/storage";

  const Cluster* find_cluster(std::string_view name) const;
  const Cluster* find_vm_size(std::string_view name) const;
};

// Parses site.json text. `file` names it in messages. `home` expands a
// leading "~" in paths. Unknown keys are errors: a typo in a site file
// should not silently change where jobs run. In the result every path is
// absolute and "~"-free, defaults included (jobs_root becomes
// <home>/.batchai/jobs), and every cluster has a partition.
Result<SiteConfig> parse_site_config(std::string_view text, std::string_view file, std::string_view home);

// Loads $BATCHAI_CONF if set (it must exist), else `default_path` if it
// exists, else the built-in defaults.
Result<SiteConfig> load_site_config(const char* batchai_conf, const std::string& default_path, std::string_view home);

std::string_view to_string(ContainerRuntime runtime);

}  // namespace batchai::site
