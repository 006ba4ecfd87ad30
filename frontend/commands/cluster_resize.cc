// batchai cluster resize: how many nodes the cluster may use. At 0 new jobs
// are held (as a Batch AI cluster with no VMs queued them); growing it
// releases the held jobs that now fit.
#include "frontend/commands/cluster_common.h"
#include "frontend/commands/job_common.h"
#include "frontend/commands/resource_args.h"
#include "base/diag.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    kResourceGroupOption,
    kWorkspaceOption,
    args::required({"name", 'n', "NAME", "cluster name"}),
    args::required({"target", 't', "N", "nodes the cluster may use; 0 holds new jobs"}),
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto target = p.get_int("target", 0, 100000);  // required: given when parsed
  if (!target) return target.error();
  auto c = find_cluster(ctx, p, **store, "name");
  if (!c) return c.error();
  c->auto_scale = false;
  c->target_nodes = **target;
  c->min_nodes = c->max_nodes = 0;
  if (auto s = (*store)->update_cluster(*c); !s) return s.error();
  if (auto s = release_held_jobs(ctx, **store, *c); !s) return s.error();
  if (auto s = emit_clusters(ctx, {*c}, true); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kClusterResize = {"cluster resize", "Set how many nodes a cluster may use", kOptions, {}, run};

}  // namespace batchai::frontend
