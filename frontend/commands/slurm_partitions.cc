// batchai slurm partitions: partitions with their nodes and limits.
#include <boost/json.hpp>

#include "frontend/commands/slurm_common.h"

namespace batchai::frontend {
namespace {

boost::json::value to_json(const slurm::PartitionInfo& p) {
  boost::json::value max_time = nullptr, max_nodes = nullptr;
  if (p.max_time_minutes) max_time = *p.max_time_minutes;
  if (p.max_nodes) max_nodes = *p.max_nodes;
  return boost::json::object{
      {"name", p.name},
      {"default", p.is_default},
      {"state", p.up ? "UP" : "DOWN"},
      {"nodes", p.nodes},
      {"totalNodes", p.total_nodes},
      {"maxTimeMinutes", max_time},
      {"maxNodes", max_nodes},
  };
}

Result<int> run(Context& ctx, const args::Parsed&) {
  auto client = ctx.slurm();
  if (!client) return client.error();
  auto partitions = (*client)->partitions();
  if (!partitions) return partitions.error();
  boost::json::array out;
  for (const auto& p : *partitions) out.push_back(to_json(p));
  static constexpr Column kColumns[] = {
      {"Name", "name"},       {"Default", "default"},          {"State", "state"},
      {"Nodes", "nodes"}, {"Total nodes", "totalNodes"}, {"Max time (min)", "maxTimeMinutes"},
  };
  if (auto s = emit(ctx, out, kColumns); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kSlurmPartitions = {"slurm partitions", "List Slurm's partitions and their limits (plumbing)",
                                         {}, {}, run};

}  // namespace batchai::frontend
