#include "slurm/toolkits.h"

#include <algorithm>

#include "base/diag.h"
#include "io/toolkits.h"
#include "slurm/shell_quote.h"

namespace batchai::slurm {
namespace {

using namespace jobspec;

// A row whose plan takes T, erased to Toolkit for the table.
template <class T, void (*Plan)(LaunchBuilder&, const T&)>
constexpr ToolkitLaunch row() {
  return {kToolkitIndex<T>, [](LaunchBuilder& b, const Toolkit& t) { Plan(b, std::get<T>(t)); }};
}

constexpr ToolkitLaunch kLaunches[] = {
    row<CntkSettings, launch_cntk>(),
    row<CaffeSettings, launch_caffe>(),
    row<Caffe2Settings, launch_caffe2>(),
    row<ChainerSettings, launch_chainer>(),
    row<TensorFlowSettings, launch_tensorflow>(),
    row<PyTorchSettings, launch_pytorch>(),
    row<HorovodSettings, launch_horovod>(),
    row<CustomMpiSettings, launch_custom_mpi>(),
    row<CustomToolkitSettings, launch_custom_toolkit>(),
};

static_assert(one_row_per_toolkit(kLaunches), "kLaunches needs one row for each alternative of Toolkit, in order");

}  // namespace

const ToolkitLaunch& toolkit_launch(const Toolkit& toolkit) { return kLaunches[toolkit.index()]; }

LaunchBuilder::LaunchBuilder(JobPlan& plan, const site::SiteConfig& site, const site::Cluster& cluster,
                             int node_count, std::string settings_path, const std::string& file,
                             std::vector<std::string>& errors)
    : plan_(plan), site_(site), cluster_(cluster), node_count_(node_count), settings_path_(std::move(settings_path)),
      file_(file), errors_(errors) {}

std::string LaunchBuilder::path(std::string_view field) const { return settings_path_ + "." + std::string(field); }

void LaunchBuilder::error(std::string_view field, const std::string& message) {
  errors_.push_back(diag::one_line(file_ + ": " + path(field) + ": " + message));
}

void LaunchBuilder::env(std::string name, std::string value, bool expand) {
  plan_.environment.push_back(EnvVar{std::move(name), std::move(value), expand});
}

std::string LaunchBuilder::command(const std::string& program, const std::string& file,
                                   const std::string& args) const {
  std::string cmd = program + shell_quote_expanding(file);
  if (!args.empty()) cmd += " " + args;
  return cmd;
}

std::string LaunchBuilder::python(const std::string& interpreter, const std::string& script,
                                  const std::string& args) const {
  const std::string program = interpreter.empty() ? shell_quote(site_.python) : shell_quote_expanding(interpreter);
  return command(program + " ", script, args);
}

namespace {

std::string counted(std::int64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

// By default one per node, as Batch AI started every toolkit: a job file
// written for it may run one multi-GPU process per node, which one rank per
// GPU would break. The toolkits that can run a rank per GPU (`per_gpu`:
// Horovod, custom MPI, CNTK, Chainer) do so by default where the site says
// (defaultProcessCount "gpus"); elsewhere, when GPUs would sit idle, the
// plan says how to use them. Never for Caffe, which drives a node's GPUs
// from one process, nor PyTorch, whose scripts get --world-size from the
// user.
int LaunchBuilder::count(const std::optional<std::int64_t>& given, std::string_view field, bool per_gpu) {
  if (given && *given > 1000000) {
    error(field, "expected at most 1000000 processes");
    return 1;
  }
  // Slurm refuses more tasks on a node than MAX_TASKS_PER_NODE (512 in
  // slurm.h); say so here, naming the field, rather than at submission.
  const std::int64_t most = kMaxTasksPerNode * node_count_;
  if (given && *given > most) {
    error(field, "expected at most 512 processes per node (" + std::to_string(most) + " on " +
                     std::to_string(node_count_) + " node(s)), got " + std::to_string(*given));
    return 1;
  }
  const int gpus = cluster_.gpus_per_node;
  const std::int64_t one_per_gpu = std::min(std::int64_t{node_count_} * gpus, most);
  if (!given) {
    if (!per_gpu || gpus <= 1) return node_count_;
    if (site_.default_process_count == site::DefaultProcessCount::gpus) return static_cast<int>(one_per_gpu);
    plan_.warnings.push_back(diag::one_line(
        file_ + ": " + path(field) + ": not given, so " + counted(node_count_, "process", "processes") +
        " (one per node) on " + counted(node_count_, "node", "nodes") + " of " + counted(gpus, "GPU", "GPUs") +
        ": set " + std::string(field) + " to " + std::to_string(one_per_gpu) + " for one per GPU"));
    return node_count_;
  }
  if (per_gpu && gpus > 0 && *given > std::int64_t{node_count_} * gpus) {
    plan_.warnings.push_back(diag::one_line(file_ + ": " + path(field) + ": " + std::to_string(*given) +
                                            " processes on " + std::to_string(node_count_) + " node(s) of " +
                                            std::to_string(gpus) + " GPU(s): ranks will share GPUs"));
  }
  return static_cast<int>(*given);
}

// Ranks spread evenly, whole blocks per node.
void LaunchBuilder::mpi(int ranks, std::string command) {
  plan_.launch = Launch::mpi;
  plan_.mpi_plugin = site_.mpi;
  plan_.mpi_launcher = site_.mpi_launcher;
  plan_.process_count = ranks;
  plan_.mpi_command = std::move(command);
  plan_.mpi_out_name = "stdout.txt";
  plan_.mpi_err_name = "stderr.txt";
  const int nodes = std::min(node_count_, ranks);
  plan_.tasks_per_node = static_cast<std::uint16_t>(std::min((ranks + nodes - 1) / nodes, 65535));
}

// Rank r on node r / per_node: consecutive ranks share a node, so
// LOCAL_RANK can pick a GPU.
void LaunchBuilder::per_rank(int ranks, const std::string& command, const std::string& file_tag) {
  const int nodes = std::min(node_count_, ranks);
  const int per_node = (ranks + nodes - 1) / nodes;
  for (int r = 0; r < ranks; ++r) {
    Process p;
    p.rank = r;
    p.node = r / per_node;
    p.local_rank = r % per_node;
    p.task_index = r;
    p.out_name = "stdout" + file_tag + (file_tag.empty() ? "" : std::to_string(r)) + ".txt";
    p.err_name = "stderr" + file_tag + (file_tag.empty() ? "" : std::to_string(r)) + ".txt";
    p.command = command;
    process(std::move(p));
  }
}

void LaunchBuilder::process(Process p) {
  plan_.launch = Launch::per_process;
  plan_.processes.push_back(std::move(p));
}

}  // namespace batchai::slurm
