// batchai cluster create: bind a name to a Slurm partition and a node size.
// Batch AI allocated VMs; here the nodes exist already, so creating is
// checking that the VM size maps to a partition Slurm has, and recording.
// A low-priority cluster (--vm-priority lowpriority) is made preemptible by
// the site: its VM size's lowPriorityPartition, its lowPriority.qos, or both.
#include <boost/json.hpp>
#include <cctype>
#include <ctime>
#include <optional>
#include <string_view>
#include <utility>

#include "frontend/commands/cluster_common.h"
#include "frontend/commands/job_draft.h"
#include "frontend/commands/resource_args.h"
#include "frontend/commands/site.h"
#include "base/diag.h"
#include "base/files.h"
#include "io/cluster_spec.h"
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
    {"vm-size", 's', "SIZE",
     "VM size, one of the site's vmSizes; it names the partition and GPUs (or properties.vmSize in -f)"},
    {"config-file", 'f', "FILE", "Batch AI cluster.json (2018-05-01); the other flags override its values"},
    {"strict", 0, "", "unknown keys in the --config-file are errors, not warnings"},
    {"target", 't', "N", "nodes the cluster may use (manual scale; with --min/--max, the initial count)"},
    {"min", 0, "N", "auto-scale: fewest nodes"},
    {"max", 0, "N", "auto-scale: most nodes"},
    {"vm-priority", 0, "PRIORITY",
     "dedicated (default) or lowpriority: jobs Slurm may preempt (the site's low-priority partition or QOS)"},
    {"setup-task", 0, "COMMAND",
     "the cluster's setup task: runs on every node of each of its jobs, before the job (needs --setup-task-output)"},
    {"setup-task-output", 0, "PATH",
     "the directory on the nodes under which the setup task's output goes, as in Batch AI"},
    {"no-wait", 0, "", "print nothing (creating does not wait on Slurm)"},
    {"image", 'i', "IMAGE", "accepted for compatibility; the nodes run the site's OS image"},
    {"custom-image", 0, "ID", "accepted for compatibility; the nodes run the site's OS image"},
    {"user-name", 'u', "NAME", "accepted for compatibility; jobs run as you"},
    {"ssh-key", 'k', "KEY", "accepted for compatibility"},
    {"password", 'p', "PASSWORD", "accepted for compatibility"},
    {"generate-ssh-keys", 0, "", "accepted for compatibility"},
    {"subnet", 0, "ID", "accepted for compatibility; the nodes are on the site's network"},
    {"use-auto-storage", 0, "", "accepted for compatibility; jobs use the site's storage"},
    {"afs-name", 0, "SHARE", "accepted for compatibility; mount shares per job (job create --afs-name)"},
    {"afs-mount-path", 0, "PATH", "accepted for compatibility"},
    {"bfs-name", 0, "CONTAINER", "accepted for compatibility; mount containers per job (job create --bfs-name)"},
    {"bfs-mount-path", 0, "PATH", "accepted for compatibility"},
    {"nfs", 0, "FILE_SERVER", "accepted for compatibility; mount file servers per job (job create --nfs)"},
    {"nfs-mount-path", 0, "PATH", "accepted for compatibility"},
    {"nfs-resource-group", 0, "GROUP", "accepted for compatibility"},
};

// What each flag of az's that has no meaning on Slurm would have done, in
// one line each; nothing else happens with its value.
constexpr std::pair<std::string_view, std::string_view> kInert[] = {
    {"image", "the nodes run the site's OS image; nothing changes"},
    {"custom-image", "the nodes run the site's OS image; nothing changes"},
    {"user-name", "jobs run as you, with no admin account; nothing changes"},
    {"ssh-key", "the site's accounts and keys reach the nodes; nothing is stored"},
    {"password", "the site's accounts reach the nodes; nothing is stored"},
    {"generate-ssh-keys", "the site's accounts and keys reach the nodes; nothing is made"},
    {"subnet", "the nodes are on the site's network; nothing changes"},
    {"use-auto-storage", "jobs use the site's storage; no account is made or mounted"},
    {"afs-name", "a cluster mounts no share; give it to job create --afs-name"},
    {"afs-mount-path", "a cluster mounts no share; nothing changes"},
    {"bfs-name", "a cluster mounts no container; give it to job create --bfs-name"},
    {"bfs-mount-path", "a cluster mounts no container; nothing changes"},
    {"nfs", "a cluster mounts no file server; give it to job create --nfs"},
    {"nfs-mount-path", "a cluster mounts no file server; nothing changes"},
    {"nfs-resource-group", "a cluster mounts no file server; nothing changes"},
};

// The setup task as Batch AI's nodeSetup; null for none. The output path
// is the nodes', so the only variable it may name is $AZ_BATCHAI_MOUNT_ROOT,
// which this machine can expand the same way for `cluster file list`.
// `command_where` and `output_where` name the flag or JSON path in errors.
Result<boost::json::value> node_setup_json(const clusterspec::SetupTask& task, const std::string& command_where,
                                           const std::string& output_where) {
  if (task.command_line.empty()) return Error{command_where + ": expected a command line, got ''"};
  std::string prefix = task.std_out_err_path_prefix;
  while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  std::string rest = prefix;
  for (std::string_view root : {"${AZ_BATCHAI_MOUNT_ROOT}", "$AZ_BATCHAI_MOUNT_ROOT"}) {
    if (rest.starts_with(root)) {
      rest = "/" + rest.substr(root.size());
      break;
    }
  }
  if (rest.empty() || rest.front() != '/' || rest.find_first_of("$`\n") != std::string::npos) {
    return Error{output_where + ": expected an absolute path, or one under $AZ_BATCHAI_MOUNT_ROOT, got '" +
                 diag::one_line(task.std_out_err_path_prefix) + "'"};
  }
  boost::json::array env;
  for (const auto& [name, value] : task.environment) {
    env.push_back(boost::json::object{{"name", name}, {"value", value}});
  }
  return boost::json::value(boost::json::object{
      {"setupTask", boost::json::object{{"commandLine", task.command_line},
                                        {"environmentVariables", std::move(env)},
                                        {"secrets", nullptr},
                                        {"stdOutErrPathPrefix", prefix}}},
      {"mountVolumes", nullptr},
      {"performanceCountersSettings", nullptr}});
}

// The setup task of the flags, else of the file; null for none.
Result<boost::json::value> setup_task_json(const args::Parsed& p, const std::optional<clusterspec::ClusterSpec>& file,
                                           const std::string& file_name) {
  auto command = p.get("setup-task");
  auto output = p.get("setup-task-output");
  if (!command) {
    if (output) return Error{"--setup-task-output: only with --setup-task"};
    if (file && file->setup_task) {
      const std::string at = file_name + ": properties.nodeSetup.setupTask";
      return node_setup_json(*file->setup_task, at + ".commandLine", at + ".stdOutErrPathPrefix");
    }
    return boost::json::value(nullptr);
  }
  if (!output || output->empty()) {
    return Error{"--setup-task-output: required with --setup-task (where its output goes)"};
  }
  return node_setup_json({*command, {}, *output}, "--setup-task", "--setup-task-output");
}

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto ws = workspace_key(ctx, p, **store);
  if (!ws) return ws.error();
  auto name = p.get("name");  // required, as --vm-size is
  if (auto ok = jobspec::validate_resource_name(*name, "--name"); !ok) return ok.error();
  // cluster.json first; each flag given overrides its value.
  std::optional<clusterspec::ClusterSpec> file;
  const std::string file_name = p.get("config-file").value_or("");
  if (!file_name.empty()) {
    auto text = read_text_file(file_name, "--config-file");
    if (!text) return text.error();
    clusterspec::ParseOptions options;
    options.file_name = file_name;
    options.strict = p.has("strict");
    auto parsed = clusterspec::parse_cluster_spec(*text, options);
    if (!parsed) return parsed.error();
    for (const auto& w : parsed->warnings) diag::warning(w);
    for (const auto& at : parsed->spec.inert) {
      diag::note(file_name + ": " + at + " is accepted; on Slurm the site provides it, and nothing changes");
    }
    file = std::move(parsed->spec);
  }
  auto size = p.get("vm-size");
  if (!size && file) size = file->vm_size;
  if (!size || size->empty()) return Error{"--vm-size: required (or properties.vmSize in the --config-file)"};
  // az matched its enum values case-insensitively.
  std::optional<std::string> given_priority = p.get("vm-priority");
  if (!given_priority && file) given_priority = file->vm_priority;
  const std::string priority_text = lower(given_priority.value_or("dedicated"));
  const auto priority = state::parse_vm_priority(priority_text);
  if (!priority) {
    return Error{"--vm-priority: expected dedicated or lowpriority, got '" + *given_priority + "'"};
  }
  for (const auto& [flag, why] : kInert) {
    if (p.has(flag)) diag::note("--" + std::string(flag) + " is accepted; on Slurm " + std::string(why));
  }
  auto node_setup = setup_task_json(p, file, file_name);
  if (!node_setup) return node_setup.error();

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
  if (!node_setup->is_null()) {
    auto uuid = new_uuid();
    if (!uuid) return uuid.error();
    c.node_setup_json = boost::json::serialize(*node_setup);
    c.setup_uuid = std::move(*uuid);
  }

  // Batch AI's rule: --min/--max together mean auto-scale, unless they are
  // equal (and the target agrees), which is a manual size.
  auto target = p.get_int("target", 0, 100000);
  auto min = p.get_int("min", 0, 100000);
  auto max = p.get_int("max", 0, 100000);
  for (const auto* r : {&target, &min, &max}) {
    if (!*r) return r->error();
  }
  // The file's scale settings, unless a flag gives the scale.
  if (file && !target->has_value() && !min->has_value() && !max->has_value()) {
    if (file->min_nodes) {
      *min = file->min_nodes;
      *max = file->max_nodes;
    } else {
      *target = file->target_nodes;
    }
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
  if (p.has("no-wait")) return 0;  // az printed nothing
  if (auto s = emit_clusters(ctx, {c}, true); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kClusterCreate = {"cluster create", "Create a cluster: a partition of the site, with a node size",
                                       kOptions, {}, run};

}  // namespace batchai::frontend
