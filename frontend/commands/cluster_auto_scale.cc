// batchai cluster auto-scale: let the cluster use between --min and --max
// nodes. Slurm schedules onto whatever is free, so the bound is --max.
#include "frontend/commands/cluster_common.h"
#include "frontend/commands/job_common.h"
#include "frontend/commands/resource_args.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    kResourceGroupOption,
    kWorkspaceOption,
    args::required({"name", 'n', "NAME", "cluster name"}),
    args::required({"min", 0, "N", "fewest nodes"}),
    args::required({"max", 0, "N", "most nodes"}),
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto min = p.get_int("min", 0, 100000);  // both required: given when parsed
  auto max = p.get_int("max", 0, 100000);
  if (!min) return min.error();
  if (!max) return max.error();
  if (**min > **max) return Error{"--min: more than --max"};
  auto c = find_cluster(ctx, p, **store, "name");
  if (!c) return c.error();
  c->auto_scale = true;
  c->min_nodes = **min;
  c->max_nodes = **max;
  if (auto s = (*store)->update_cluster(*c); !s) return s.error();
  if (auto s = release_held_jobs(ctx, **store, *c); !s) return s.error();
  if (auto s = emit_clusters(ctx, {*c}, true); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kClusterAutoScale = {"cluster auto-scale", "Let a cluster use between --min and --max nodes",
                                          kOptions, {}, run};

}  // namespace batchai::frontend
