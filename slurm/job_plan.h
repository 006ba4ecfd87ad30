// The translator: a validated Batch AI job, the cluster it is bound to and
// the site configuration in; a JobPlan out; then the plan as an sbatch
// script and a libslurm submission. Pure functions with no I/O, so every
// mapping is pinned by golden files (tests/jobspec/valid/*.sbatch).
//
// The mapping, which docs/job-translation.md describes: nodeCount whole
// nodes, gang allocated; processes per toolkit as Batch AI launched them
// (slurm/toolkits/); the AZ_BATCHAI_* environment; the
// {prefix}/{segment}/stdouterr layout. Beyond Batch AI every process also
// gets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT, and
// TensorFlow gets a TF_CONFIG that names a chief.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/job_spec.h"
#include "base/result.h"
#include "io/site_config.h"
#include "slurm/client.h"
#include "slurm/node_plan.h"

namespace batchai::slurm {

// Where the job sits in the Batch AI resource tree. All names are checked
// resource names (^[-\w_]+$), so they are safe in paths.
struct JobIdentity {
  std::string group;  // the resource group; Batch AI's path has {sub}/{rg}
  std::string workspace;
  std::string experiment;
  std::string job;
  std::string uuid;  // new for every job, so a re-created name gets new paths

  // {group}/workspaces/{ws}/experiments/{exp}/jobs/{job}/{uuid}, Batch AI's
  // jobOutputDirectoryPathSegment.
  std::string segment() const;
};

// An environment variable the job exports. `expand`: the value may name
// other variables ($AZ_BATCHAI_JOB_MOUNT_ROOT/logs), which expand on the
// node as in Batch AI; nothing else in it is shell syntax.
struct EnvVar {
  std::string name;
  std::string value;
  bool expand = false;
};

// A cluster's node setup task (Batch AI's nodeSetup.setupTask). Batch AI
// ran it once per node as the node joined the cluster; on Slurm the nodes
// are shared, so it runs on every node of each of the cluster's jobs,
// after batchai-prolog and before the job's own preparation.
struct SetupTask {
  std::string command_line;  // shell text, run with bash -c
  // <stdOutErrPathPrefix>/<group>/workspaces/<ws>/clusters/<cluster>/<uuid>/stdouterr:
  // $NAME in it expands on the node, as in the job's paths.
  std::string output_dir;
  std::vector<EnvVar> environment;  // literal values
};

// The cluster a job runs on: the site's entry, plus what Slurm says.
struct ClusterBinding {
  site::Cluster cluster;
  std::optional<std::int64_t> partition_max_seconds;  // Slurm MaxTime; none: unlimited
  // The QOS of every job of the cluster, whatever its schedulingPriority
  // asks: a low-priority cluster's (site lowPriority.qos), which keeps its
  // jobs preemptible. Empty: the schedulingPriority's QOS.
  std::string qos;
  std::optional<SetupTask> setup_task;  // none: the cluster has none
};

// One process of the main step, for toolkits that start their processes
// themselves (not through MPI): TensorFlow, PyTorch, Caffe2, custom.
struct Process {
  int rank = 0;        // global, from 0
  int node = 0;        // index into the job's node list
  int local_rank = 0;  // among the processes on its node
  std::string role;    // TensorFlow: "ps" or "worker"; else empty
  int task_index = 0;  // AZ_BATCHAI_TASK_INDEX (per role for TensorFlow)
  int port = 0;        // TensorFlow: its port, no other process of the job's
  std::string out_name, err_name;  // files in the stdouterr directory
  std::string command;             // shell text, as Batch AI ran it
};

enum class Launch {
  mpi,          // srun --mpi=<plugin>: one rank per task
  per_process,  // one launcher per node starts that node's processes
};

// A file the CLI writes, mode 0600, before submitting: secrets and
// registry credentials never appear in the script or its environment.
struct PrivateFile {
  std::string path;
  std::string content;
  std::string shown;  // the content with every secret masked, for --dry-run
};

struct Container {
  site::ContainerRuntime runtime = site::ContainerRuntime::none;
  std::string image;           // in the runtime's own syntax
  std::string shm_size;        // Docker syntax; informative on Slurm
  std::string credentials_dir;  // pyxis: ENROOT_CONFIG_PATH; empty if none
};

struct JobPlan {
  JobIdentity id;
  std::string tool_type;

  // The allocation.
  std::string partition;
  std::uint32_t nodes = 1;
  std::uint16_t tasks_per_node = 1;
  std::uint32_t time_limit_minutes = 0;
  std::string qos;
  std::optional<std::int32_t> nice;
  int gpus_per_node = 0;
  std::string gpu_type;

  // Paths known when submitting (absolute, shell-safe is not assumed).
  std::string job_dir;       // <jobs_root>/<segment>: script, state, hostfile
  std::string slurm_output;  // the batch shell's own log

  // The environment, in order: later values may name earlier ones.
  std::vector<EnvVar> environment;
  std::vector<std::string> output_variables;  // AZ_BATCHAI_OUTPUT_<id>: made at start
  // Each appears at $AZ_BATCHAI_JOB_MOUNT_ROOT/<relative_path>, made so
  // on every node by batchai-prolog.
  std::vector<NodeVolume> volumes;

  std::optional<Container> container;
  std::string prolog_program;                  // batchai-prolog, run on every node first
  std::string runtime_dir;  // the job runtime's versions, <dir>/<version>/job-runtime.sh; empty: installed one
  std::optional<SetupTask> setup_task;         // the cluster's, on every node before jobPreparation
  std::optional<std::string> job_preparation;  // shell text, on every node

  Launch launch = Launch::mpi;
  std::string mpi_plugin;
  site::MpiLauncher mpi_launcher = site::MpiLauncher::srun;
  int tensorflow_grace_seconds = 30;  // how long workers may run on after the chief
  bool requeue = true;                // Slurm may restart the job (node failure, preemption)
  int checkpoint_signal_seconds = 0;  // USR1 this long before a kill; 0: none
  int process_count = 1;          // MPI ranks, or processes.size()
  std::string mpi_command;        // shell text each MPI rank runs
  std::string mpi_out_name, mpi_err_name;
  std::vector<Process> processes;  // Launch::per_process

  std::string secrets_file;  // sourced and removed by the job; empty: none
  std::vector<PrivateFile> private_files;
  std::vector<std::string> secret_values;  // masked in --dry-run output

  std::vector<std::string> warnings;
};

// Errors name the JSON path in `file`, like the parser's.
Result<JobPlan> plan_job(const jobspec::JobSpec& spec, const JobIdentity& id, const ClusterBinding& cluster,
                         const site::SiteConfig& site, const std::string& file = "job.json");

// What plan_job would refuse on every site and cluster: paths that escape
// their root, two volumes at one path, reserved variable names, Key Vault
// references, bad modes, more processes than a node can take. The job is
// planned for a stand-in site that has every share it names, a container
// runtime and a cluster without limits. `job validate` reports these.
Status check_job_anywhere(const jobspec::JobSpec& spec, const std::string& file = "job.json");

// The sbatch script. Its #SBATCH lines are the allocation submission()
// gives libslurm, so `sbatch` submits the same job. Every value from the
// job is quoted; only the fields Batch AI defined as command lines run as
// shell text.
std::string render_script(const JobPlan& plan);

// The libslurm submission for the plan. `environment` is the submitter's
// ("NAME=value"), which the job inherits as sbatch's --export=ALL does.
SubmitRequest submission(const JobPlan& plan, std::string script, std::vector<std::string> environment);

// `text` with every secret value of at least `min_length` bytes replaced
// by "********".
std::string mask_secrets(std::string text, const JobPlan& plan, std::size_t min_length = 1);

// What `job create --dry-run` prints: the script, which carries its
// allocation as #SBATCH lines, with the private files noted as comments
// after those lines (so sbatch still takes it), every secret masked.
std::string dry_run_text(const JobPlan& plan, const SubmitRequest& request);

}  // namespace batchai::slurm
