// How each toolkit's processes start on Slurm, one row each, keyed by the
// same alternative of jobspec::Toolkit as io/toolkits.h (which says how
// job.json names and reads it): the launch plan, its counts and its output
// file names, in slurm/toolkits/<name>.cc. The planner (plan.cc) finds a
// toolkit's launch only through this table, and a static_assert makes the
// table cover every toolkit, in order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/job_spec.h"
#include "io/site_config.h"
#include "slurm/job_plan.h"

namespace batchai::slurm {

// What a launch plan is made from: the site, the cluster, the job's node
// count, and the JobPlan it fills in. Fields are named relative to the
// toolkit's settings ("processCount"); messages name the whole JSON path.
class LaunchBuilder {
 public:
  LaunchBuilder(JobPlan& plan, const site::SiteConfig& site, const site::Cluster& cluster, int node_count,
                std::string settings_path, const std::string& file, std::vector<std::string>& errors);

  const site::SiteConfig& site() const { return site_; }
  const site::Cluster& cluster() const { return cluster_; }
  // nodeCount, clamped to what the allocation can take.
  int node_count() const { return node_count_; }
  // "properties.<key>.<field>".
  std::string path(std::string_view field) const;

  void error(std::string_view field, const std::string& message);
  void env(std::string name, std::string value, bool expand = false);

  // `<program><file> <args>`: `program` is shell text ("cntk configFile="),
  // `file` a path that may name variables, `args` the user's command line.
  std::string command(const std::string& program, const std::string& file, const std::string& args) const;
  // `python script args`: the job's interpreter, else the site's.
  std::string python(const std::string& interpreter, const std::string& script, const std::string& args) const;
  // A process count: `given`, or by default one per node or, with
  // `per_gpu` on a site whose defaultProcessCount is "gpus", one per GPU.
  // Reports counts Slurm would refuse; warns where ranks share GPUs or,
  // with `per_gpu`, where the default leaves GPUs idle.
  int count(const std::optional<std::int64_t>& given, std::string_view field, bool per_gpu = true);

  // Launches: srun's MPI launch of `ranks` ranks, all writing stdout.txt and
  // stderr.txt; or per process, one launcher per node starting that node's.
  void mpi(int ranks, std::string command);
  // `ranks` processes running `command`, consecutive ranks on a node. With
  // an empty `file_tag` they write stdout.txt and stderr.txt, else
  // stdout<tag><rank>.txt and stderr<tag><rank>.txt.
  void per_rank(int ranks, const std::string& command, const std::string& file_tag);
  // Adds one process to a per-process launch.
  void process(Process p);
  const std::vector<Process>& processes() const { return plan_.processes; }

 private:
  JobPlan& plan_;
  const site::SiteConfig& site_;
  const site::Cluster& cluster_;
  int node_count_;
  std::string settings_path_;
  const std::string& file_;
  std::vector<std::string>& errors_;
};

// Slurm refuses more tasks on a node than this (MAX_TASKS_PER_NODE in
// slurm.h), and a plan asks for as many as its busiest node has processes.
constexpr std::int64_t kMaxTasksPerNode = 512;

struct ToolkitLaunch {
  std::size_t index;  // the alternative of jobspec::Toolkit it launches
  void (*plan)(LaunchBuilder& b, const jobspec::Toolkit& toolkit);
};

const ToolkitLaunch& toolkit_launch(const jobspec::Toolkit& toolkit);

// Each toolkit's launch plan, one file each in slurm/toolkits/.
void launch_cntk(LaunchBuilder& b, const jobspec::CntkSettings& t);
void launch_caffe(LaunchBuilder& b, const jobspec::CaffeSettings& t);
void launch_caffe2(LaunchBuilder& b, const jobspec::Caffe2Settings& t);
void launch_chainer(LaunchBuilder& b, const jobspec::ChainerSettings& t);
void launch_tensorflow(LaunchBuilder& b, const jobspec::TensorFlowSettings& t);
void launch_pytorch(LaunchBuilder& b, const jobspec::PyTorchSettings& t);
void launch_horovod(LaunchBuilder& b, const jobspec::HorovodSettings& t);
void launch_custom_mpi(LaunchBuilder& b, const jobspec::CustomMpiSettings& t);
void launch_custom_toolkit(LaunchBuilder& b, const jobspec::CustomToolkitSettings& t);

}  // namespace batchai::slurm
