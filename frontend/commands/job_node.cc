// batchai job node list / job node exec: the nodes a running job has, and a
// command on one of them as a step inside the job's allocation (srun
// --overlap), in place of Batch AI's SSH.
#include <boost/json.hpp>

#include "frontend/commands/job_common.h"
#include "frontend/commands/srun.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kListOptions[] = {
    BATCHAI_EXPERIMENT_OPTIONS,
    args::required({"job", 'j', "NAME", "job name"}),
};
constexpr args::Option kExecOptions[] = {
    BATCHAI_EXPERIMENT_OPTIONS,
    args::required({"job", 'j', "NAME", "job name"}),
    {"node-id", 'n', "NODE", "node (default: the job's first)"},
    args::required({"exec", 0, "COMMAND", "command to run, in a login shell"}),
    {"address", 'L', "SPEC", "port forwarding; not available on Slurm"},
};

// The running job's nodes, from Slurm.
Result<slurm::JobInfo> running(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto key = job_key(ctx, p, **store, "job");
  if (!key) return key.error();
  auto job = load_job(ctx, **store, *key);
  if (!job) return job.error();
  if (job->state != state::ExecutionState::running || !job->slurm_job_id) {
    return Error{"--job: job '" + key->job + "' is " + state::to_string(job->state) +
                 "; its nodes are known while it runs"};
  }
  auto client = ctx.slurm();
  if (!client) return client.error();
  auto info = (*client)->job(*job->slurm_job_id);
  if (!info) return info.error();
  if (!*info) return Error{"--job: Slurm no longer knows job '" + key->job + "'"};
  return **info;
}

Result<int> list(Context& ctx, const args::Parsed& p) {
  auto info = running(ctx, p);
  if (!info) return info.error();
  boost::json::array nodes;
  for (const auto& n : info->node_names) nodes.push_back(boost::json::object{{"nodeId", n}});
  static constexpr Column kColumns[] = {{"Node", "nodeId"}};
  if (auto s = emit(ctx, nodes, kColumns); !s) return s.error();
  return 0;
}

Result<int> exec(Context& ctx, const args::Parsed& p) {
  if (p.has("address")) return Error{"-L: port forwarding needs SSH to the node, which batchai does not use"};
  auto command = p.get("exec");  // required
  auto info = running(ctx, p);
  if (!info) return info.error();
  std::string node = p.get("node-id").value_or(info->node_names.empty() ? "" : info->node_names.front());
  if (std::find(info->node_names.begin(), info->node_names.end(), node) == info->node_names.end()) {
    return Error{"--node-id: '" + node + "' is not a node of the job"};
  }
  return run_srun(ctx, {"--jobid=" + std::to_string(info->id), "--overlap", "--nodelist=" + node, "--nodes=1",
                        "--ntasks=1", "--quiet", "bash", "-lc", *command});
}

}  // namespace

extern const Command kJobNodeList = {"job node list", "List the nodes of a running job", kListOptions, {}, list};
extern const Command kJobNodeExec = {"job node exec", "Run a command on a node of a running job", kExecOptions, {},
                                     exec};

}  // namespace batchai::frontend
