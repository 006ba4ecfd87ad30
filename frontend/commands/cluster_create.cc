// batchai cluster create: bind a name to a Slurm partition and a node size.
// Batch AI allocated VMs; here the nodes exist already, so creating is
// checking that the VM size maps to a partition Slurm has, and recording.
// A low-priority cluster (--vm-priority lowpriority) is made preemptible by
// the site: its VM size's lowPriorityPartition, its lowPriority.qos, or both.
#include <boost/json.hpp>
#include <cctype>
#include <ctime>

#include "frontend/commands/cluster_common.h"
#include "frontend/commands/resource_args.h"
#include "frontend/commands/site.h"
#include "base/diag.h"
#include "io/job_spec.h"
#include "io/site_config.h"

namespace batchai::frontend {

namespace {

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

constexpr args::Option kOptions[] = {
    kResourceGroupOption,
    kWorkspaceOption,
    args::required({"name", 'n', "NAME", "cluster name"}),
    args::required({"vm-size", 's', "SIZE", "VM size, one of the site's vmSizes; it names the partition and GPUs"}),
    {"target", 't', "N", "nodes the cluster may use (manual scale; with --min/--max, the initial count)"},
    {"min", 0, "N", "auto-scale: fewest nodes"},
    {"max", 0, "N", "auto-scale: most nodes"},
    {"vm-priority", 0, "PRIORITY",
     "dedicated (default) or lowpriority: jobs Slurm may preempt (the site's low-priority partition or QOS)"},
    {"image", 'i', "IMAGE", "accepted for compatibility; the nodes run the site's OS image"},
    {"user-name", 'u', "NAME", "accepted for compatibility; jobs run as you"},
    {"ssh-key", 'k', "KEY", "accepted for compatibility"},
    {"password", 'p', "PASSWORD", "accepted for compatibility"},
    {"generate-ssh-keys", 0, "", "accepted for compatibility"},
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto ws = workspace_key(ctx, p, **store);
  if (!ws) return ws.error();
  auto name = p.get("name");  // required, as --vm-size is
  if (auto ok = jobspec::validate_resource_name(*name, "--name"); !ok) return ok.error();
  auto size = p.get("vm-size");
  // az matched its enum values case-insensitively.
  const std::string priority_text = lower(p.get("vm-priority").value_or("dedicated"));
  const auto priority = state::parse_vm_priority(priority_text);
  if (!priority) {
    return Error{"--vm-priority: expected dedicated or lowpriority, got '" + *p.get("vm-priority") + "'"};
  }
  for (const char* ignored : {"image", "user-name", "ssh-key", "password", "generate-ssh-keys"}) {
    if (p.has(ignored)) diag::note(std::string("--") + ignored + " is ignored on Slurm");
  }

  auto site = read_site_config(ctx);
  if (!site) return site.error();
  const site::Cluster* vm = site->find_vm_size(*size);
  if (!vm) {
    std::string known;
    for (const auto& v : site->vm_sizes) known += (known.empty() ? "" : ", ") + v.name;
    return Error{"--vm-size: unknown VM size '" + *size + "'; this site has " +
                 (known.empty() ? std::string("none (add vmSizes to ") + site->source + ")" : known)};
  }

  // A low-priority cluster is a binding to the size's low-priority
  // partition, or to its own partition with the site's low-priority QOS
  // (which job create adds): one of the two must make its jobs preemptible.
  std::string partition = vm->partition;
  const bool low = *priority == state::VmPriority::lowpriority;
  if (low) {
    if (vm->low_priority_partition.empty() && site->low_priority.qos.empty()) {
      return Error{"--vm-priority: lowpriority needs a partition or QOS that Slurm may preempt, and " + site->source +
                   " gives VM size " + vm->name + " neither (vmSizes[].lowPriorityPartition, lowPriority.qos)"};
    }
    if (!vm->low_priority_partition.empty()) partition = vm->low_priority_partition;
  }

  state::Cluster c;
  c.key = {ws->group, ws->workspace, *name};
  c.vm_size = vm->name;
  c.vm_priority = *priority;
  c.gpus_per_node = vm->gpus_per_node;
  c.gpu_type = vm->gpu_type;
  c.created = std::time(nullptr);

  // Batch AI's rule: --min/--max together mean auto-scale, unless they are
  // equal (and the target agrees), which is a manual size.
  auto target = p.get_int("target", 0, 100000);
  auto min = p.get_int("min", 0, 100000);
  auto max = p.get_int("max", 0, 100000);
  for (const auto* r : {&target, &min, &max}) {
    if (!*r) return r->error();
  }
  if (min->has_value() != max->has_value()) return Error{"--min and --max: give both, or neither"};
  if (min->has_value()) {
    if (**min > **max) return Error{"--min: more than --max"};
    if (**min == **max && (!target->has_value() || **target == **min)) {
      c.target_nodes = **min;
    } else {
      c.auto_scale = true;
      c.min_nodes = **min;
      c.max_nodes = **max;
    }
  } else {
    if (!target->has_value()) return Error{"--target: required (nodes the cluster may use), or --min and --max"};
    c.target_nodes = **target;
  }

  // The partition must exist: a typo in a site file should fail here, not
  // leave jobs pending forever.
  auto client = ctx.slurm();
  if (!client) return client.error();
  auto partitions = (*client)->partitions();
  if (!partitions) return partitions.error();
  const slurm::PartitionInfo* part = nullptr;
  for (const auto& q : *partitions) {
    if (partition.empty() ? q.is_default : q.name == partition) part = &q;
  }
  if (!part) {
    if (low && !vm->low_priority_partition.empty()) {
      return Error{"--vm-priority: " + vm->name + "'s lowPriorityPartition is '" + partition + "' in " +
                   site->source + ", which Slurm does not have"};
    }
    return Error{"--vm-size: " + vm->name + " is partition '" + partition + "' in " + site->source +
                 ", which Slurm does not have"};
  }
  c.partition = part->name;
  c.max_time_seconds = part->max_time_minutes ? std::int64_t{*part->max_time_minutes} * 60 : 0;
  const std::int64_t wanted = c.auto_scale ? c.max_nodes : c.target_nodes;
  if (wanted > part->total_nodes) {
    diag::warning("partition '" + part->name + "' has " + std::to_string(part->total_nodes) + " nodes; the cluster " +
                  "asks for " + std::to_string(wanted));
  }
  if (auto s = (*store)->create_cluster(c); !s) return s.error();
  if (auto s = emit_clusters(ctx, {c}, true); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kClusterCreate = {"cluster create", "Create a cluster: a partition of the site, with a node size",
                                       kOptions, {}, run};

}  // namespace batchai::frontend
