// batchai slurm nodes: every node with its state, as libslurm reports it.
#include <boost/json.hpp>

#include "frontend/commands/slurm_common.h"

namespace batchai::frontend {
namespace {

boost::json::value to_json(const slurm::NodeInfo& n) {
  boost::json::array partitions;
  for (const auto& p : n.partitions) partitions.emplace_back(p);
  std::string flags;
  auto flag = [&](bool on, const char* name) {
    if (on) flags += (flags.empty() ? "" : "+") + std::string(name);
  };
  flag(n.drain, "DRAIN");
  flag(n.completing, "COMPLETING");
  flag(n.not_responding, "NOT_RESPONDING");
  flag(n.powering_up, "POWERING_UP");
  flag(n.powered_down, "POWERED_DOWN");
  flag(n.failing, "FAIL");
  return boost::json::object{
      {"name", n.name},   {"state", slurm::to_string(n.state)}, {"flags", flags},       {"cpus", n.cpus},
      {"gres", n.gres},   {"reason", n.reason}, {"partitions", partitions},
  };
}

Result<int> run(Context& ctx, const args::Parsed&) {
  auto client = ctx.slurm();
  if (!client) return client.error();
  auto nodes = (*client)->nodes();
  if (!nodes) return nodes.error();
  boost::json::array out;
  for (const auto& n : *nodes) out.push_back(to_json(n));
  static constexpr Column kColumns[] = {
      {"Name", "name"}, {"State", "state"}, {"Flags", "flags"}, {"CPUs", "cpus"}, {"GRES", "gres"}, {"Reason", "reason"},
  };
  if (auto s = emit(ctx, out, kColumns); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kSlurmNodes = {"slurm nodes", "List Slurm's nodes and their states (plumbing)", {}, {}, run};

}  // namespace batchai::frontend
