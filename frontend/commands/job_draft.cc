#include "frontend/commands/job_draft.h"

#include <sys/random.h>

#include <array>
#include <chrono>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>

#include "frontend/commands/file_server_common.h"
#include "frontend/commands/resource_args.h"
#include "frontend/commands/resource_json.h"
#include "frontend/commands/site.h"
#include "frontend/commands/state_records.h"
#include "frontend/commands/storage_common.h"
#include "base/diag.h"
#include "base/files.h"
#include "frontend/commands/cluster_common.h"
#include "io/job_spec.h"
#include "io/site_config.h"
#include "base/spell.h"

namespace batchai::frontend {

// A random (version 4) UUID: a re-created job name gets new paths, as in
// Batch AI. Sixteen bytes from getrandom(2) in one call: std::random_device
// draws each digit with its own RDSEED, which a virtual machine may trap.
Result<std::string> new_uuid() {
  std::array<unsigned char, 16> b{};
  if (::getrandom(b.data(), b.size(), 0) != static_cast<ssize_t>(b.size())) {
    return Error{std::string("cannot draw a random job uuid: ") + std::strerror(errno)};
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string u;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) u += '-';
    u += "0123456789abcdef"[b[i] >> 4];
    u += "0123456789abcdef"[b[i] & 0x0f];
  }
  return u;
}

namespace {

struct Inputs {
  std::string file;
  slurm::JobIdentity id;
  std::string cluster;
};

Result<Inputs> read_flags(const Context& ctx, const args::Parsed& p, state::Store& store) {
  auto ws = workspace_key(ctx, p, store);
  if (!ws) return ws.error();
  Inputs in;  // every flag read here is required by the option table
  in.id.group = ws->group;
  in.id.workspace = ws->workspace;
  in.id.experiment = p.get("experiment").value_or("");
  in.id.job = p.get("name").value_or("");
  in.cluster = p.get("cluster").value_or("");
  in.file = p.get("config-file").value_or("");
  const std::pair<const std::string*, std::string_view> names[] = {
      {&in.id.experiment, "--experiment"}, {&in.id.job, "--name"}};
  for (const auto& [value, flag] : names) {
    if (auto ok = jobspec::validate_resource_name(*value, flag); !ok) return ok.error();
  }
  auto uuid = new_uuid();
  if (!uuid) return uuid.error();
  in.id.uuid = std::move(*uuid);
  return in;
}

Result<jobspec::JobSpec> read_spec(const Context& ctx, const args::Parsed& p, const std::string& file,
                                   const std::string& text) {
  jobspec::ParseOptions options;
  options.file_name = file;
  options.strict = p.has("strict");
  auto parsed = jobspec::parse_job_spec(text, options);
  if (!parsed) return parsed.error();
  for (const auto& w : parsed->warnings) diag::warning(w);
  jobspec::StorageAccount account;
  account.name = p.get("storage-account-name");
  if (!account.name) account.name = ctx.getenv("AZURE_BATCHAI_STORAGE_ACCOUNT");
  account.key = p.get("storage-account-key");
  if (!account.key) account.key = ctx.getenv("AZURE_BATCHAI_STORAGE_KEY");
  return jobspec::replace_storage_placeholders(std::move(parsed->spec), account, file);
}

// The volumes --afs-name, --bfs-name and --nfs add, merged into the
// job.json's properties.mountVolumes as az sent them, so that validation,
// the stored spec, job.json in the job directory and `job show` all carry
// them. The text is unchanged when none is given.
Result<std::string> add_volume_flags(const Context& ctx, const args::Parsed& p, const slurm::JobIdentity& id,
                                     const std::string& file, std::string text) {
  const auto afs = p.get("afs-name"), bfs = p.get("bfs-name"), nfs = p.get("nfs");
  const std::pair<const char*, const char*> paths[] = {
      {"afs-mount-path", "afs-name"}, {"bfs-mount-path", "bfs-name"}, {"nfs-mount-path", "nfs"}};
  for (const auto& [path, volume] : paths) {
    if (p.has(path) && !p.has(volume)) {
      diag::warning("--" + std::string(path) + " without --" + volume + " does nothing");
    }
  }
  if (!afs && !bfs && !nfs) return text;
  namespace json = boost::json;
  boost::system::error_code ec;
  json::parse_options options;
  options.allow_comments = true;
  json::value v = json::parse(text, ec, {}, options);
  // A job.json that is not one is parse_job_spec's to report, with its place.
  if (ec || !v.is_object()) return text;
  json::value& props = v.as_object()["properties"];
  if (props.is_null()) props = json::object{};
  if (!props.is_object()) return text;
  json::value& volumes = props.as_object()["mountVolumes"];
  if (volumes.is_null()) volumes = json::object{};
  if (!volumes.is_object()) return text;
  auto append = [&](std::string_view key, json::object entry) -> Status {
    json::value& list = volumes.as_object()[key];
    if (list.is_null()) list = json::array{};
    if (!list.is_array()) {
      return Error{file + ": properties.mountVolumes." + std::string(key) + ": expected an array, to add --" +
                   (key == "fileServers" ? "nfs" : key == "azureFileShares" ? "afs-name" : "bfs-name") + " to"};
    }
    list.as_array().push_back(std::move(entry));
    return {};
  };
  std::string account = p.get("storage-account-name")
                            .value_or(ctx.getenv("AZURE_BATCHAI_STORAGE_ACCOUNT").value_or("local"));
  std::optional<std::string> key = p.get("storage-account-key");
  if (!key) key = ctx.getenv("AZURE_BATCHAI_STORAGE_KEY");
  auto credentials = [&]() -> json::value {
    if (!key) return nullptr;
    return json::object{{"accountKey", *key}};
  };
  if (afs) {
    if (auto ok = storage::check_share_name(*afs, "afs-name"); !ok) return ok.error();
    json::object e{{"accountName", account},
                   {"azureFileUrl", "https://" + account + ".file.core.windows.net/" + *afs},
                   {"relativeMountPath", p.get("afs-mount-path").value_or("afs")}};
    if (key) e["credentials"] = credentials();
    if (auto s = append("azureFileShares", std::move(e)); !s) return s.error();
  }
  if (bfs) {
    json::object e{{"accountName", account},
                   {"containerName", *bfs},
                   {"relativeMountPath", p.get("bfs-mount-path").value_or("bfs")}};
    if (key) e["credentials"] = credentials();
    if (auto s = append("azureBlobFileSystems", std::move(e)); !s) return s.error();
  }
  if (nfs) {
    std::string server = *nfs;
    if (!server.starts_with("/")) {
      if (auto ok = jobspec::validate_resource_name(server, "--nfs"); !ok) return ok.error();
      server = arm_id({id.group, id.workspace}) + "/fileServers/" + server;
    }
    json::object e{{"fileServer", json::object{{"id", server}}},
                   {"relativeMountPath", p.get("nfs-mount-path").value_or("nfs")},
                   {"mountOptions", "rw"}};
    if (auto s = append("fileServers", std::move(e)); !s) return s.error();
  }
  return json::serialize(v);
}

struct Binding {
  slurm::ClusterBinding slurm;
  state::ClusterKey key;
  bool hold = false;  // the cluster has no nodes now (resized to 0)
};

// `--cluster` as az took it: a name in the job's workspace or a full id
// ("/subscriptions/.../resourceGroups/G/providers/Microsoft.BatchAI/
// workspaces/W/clusters/C"). A name the store does not know may be a
// cluster of the site configuration or, where the site lists none, a Slurm
// partition. Slurm adds the partition's MaxTime; a dry run goes on without
// Slurm (`slurm_optional`), since it submits nothing.
Result<Binding> bind_cluster(Context& ctx, state::Store& store, const site::SiteConfig& site,
                             const slurm::JobIdentity& id, const std::string& given, std::int64_t node_count,
                             bool slurm_optional) {
  Binding b;
  b.key = {id.group, id.workspace, given};
  if (given.starts_with("/")) {
    const std::string rg = "/resourceGroups/", ws = "/workspaces/", cl = "/clusters/";
    const auto g = given.find(rg), w = given.find(ws), c = given.find(cl);
    if (g == std::string::npos || w == std::string::npos || c == std::string::npos) {
      return Error{"--cluster: expected a name or .../resourceGroups/G/providers/Microsoft.BatchAI/workspaces/W/"
                   "clusters/C, got '" + given + "'"};
    }
    b.key = {given.substr(g + rg.size(), given.find('/', g + rg.size()) - g - rg.size()),
             given.substr(w + ws.size(), given.find('/', w + ws.size()) - w - ws.size()),
             given.substr(c + cl.size())};
  }
  if (auto ok = jobspec::validate_resource_name(b.key.cluster, "--cluster"); !ok) return ok.error();
  auto recorded = store.cluster(b.key);
  if (!recorded) return recorded.error();
  if (*recorded) {
    const state::Cluster& c = **recorded;
    b.slurm.cluster.name = c.key.cluster;
    b.slurm.cluster.partition = c.partition;
    b.slurm.cluster.gpus_per_node = c.gpus_per_node;
    b.slurm.cluster.gpu_type = c.gpu_type;
    if (c.max_time_seconds > 0) b.slurm.partition_max_seconds = c.max_time_seconds;
    // Its partition is already the low-priority one; the QOS is the site's
    // now, as the schedulingPriority QOS is.
    if (c.vm_priority == state::VmPriority::lowpriority) b.slurm.qos = site.low_priority.qos;
    b.slurm.setup_task = setup_task_of(c);
    const std::int64_t size = c.auto_scale ? c.max_nodes : c.target_nodes;
    if (size == 0) {
      b.hold = true;
    } else if (node_count > size) {
      return Error{"--cluster: cluster '" + c.key.cluster + "' has " + std::to_string(size) + " node(s); the job " +
                   "asks for " + std::to_string(node_count) + " (nodeCount); resize it with batchai cluster resize"};
    }
    // The partition was checked, and its MaxTime read, at cluster create.
    return b;
  } else if (given.starts_with("/")) {
    return Error{"--cluster: no cluster '" + b.key.cluster + "' in workspace '" + b.key.workspace +
                 "' (resource group '" + b.key.group + "')"};
  } else if (site.clusters.empty()) {
    b.slurm.cluster.name = b.slurm.cluster.partition = given;
  } else if (const site::Cluster* c = site.find_cluster(given)) {
    b.slurm.cluster = *c;
  } else {
    std::vector<std::string_view> known;
    for (const auto& c2 : site.clusters) known.push_back(c2.name);
    std::string msg = "--cluster: no cluster \"" + given + "\" in workspace '" + id.workspace + "' or in " +
                      site.source;
    if (auto close = closest_match(given, known)) msg += "; did you mean \"" + *close + "\"?";
    return Error{msg};
  }
  auto client = ctx.slurm();
  if (!client) {
    if (!slurm_optional) return client.error();
    diag::note("cannot reach Slurm (" + client.error().message + "); partition limits not checked");
    return b;
  }
  auto partitions = (*client)->partitions();
  if (!partitions) return partitions.error();
  for (const auto& part : *partitions) {
    if (part.name == b.slurm.cluster.partition) {
      if (part.max_time_minutes) b.slurm.partition_max_seconds = std::int64_t{*part.max_time_minutes} * 60;
      return b;
    }
  }
  return Error{"--cluster: cluster \"" + given + "\" is Slurm partition \"" + b.slurm.cluster.partition +
               "\", which Slurm does not have"};
}

}  // namespace

std::string redacted_properties(const std::string& text) {
  boost::system::error_code ec;
  boost::json::parse_options options;
  options.allow_comments = true;
  boost::json::value v = boost::json::parse(text, ec, {}, options);
  if (ec || !v.is_object() || !v.as_object().contains("properties") || !v.at("properties").is_object()) return "{}";
  boost::json::value props = v.at("properties");
  std::function<void(boost::json::value&)> scrub = [&](boost::json::value& x) {
    if (x.is_object()) {
      for (auto& [k, child] : x.as_object()) {
        if (k == "accountKey" || k == "password") {
          child = nullptr;
        } else {
          scrub(child);
        }
      }
    } else if (x.is_array()) {
      for (auto& child : x.as_array()) scrub(child);
    }
  };
  scrub(props);
  if (auto* secrets = props.as_object().if_contains("secrets"); secrets && secrets->is_array()) {
    for (auto& s : secrets->as_array()) {
      if (s.is_object() && s.as_object().contains("value")) s.as_object()["value"] = nullptr;
    }
  }
  return boost::json::serialize(props);
}

namespace {

// The job directory holds what the job needs and what it records: the
// job.json as given (0600: it may hold keys), the script, private files.
// Not fsynced: Slurm keeps its own copy of the script, the job reads the
// files within seconds, and on NFS close() already flushes to the server;
// the fsyncs were a third of job create's time.
Status write_job_dir(const slurm::JobPlan& plan, const std::string& spec_text, const std::string& script) {
  std::error_code ec;
  std::filesystem::create_directories(plan.job_dir, ec);
  if (ec) return Error{"cannot create job directory '" + plan.job_dir + "': " + ec.message()};
  for (const auto& f : plan.private_files) {
    std::filesystem::create_directories(std::filesystem::path(f.path).parent_path(), ec);
    if (ec) return Error{"cannot create '" + f.path + "': " + ec.message()};
    if (auto s = write_file_atomic(f.path, f.content, 0600, false); !s) return s;
  }
  if (auto s = write_file_atomic(plan.job_dir + "/job.json", spec_text, 0600, false); !s) return s;

  return write_file_atomic(plan.job_dir + "/job.sbatch", script, 0644, false);
}

}  // namespace

Result<JobDraft> draft_job(Context& ctx, const args::Parsed& p, state::Store& store, bool slurm_optional) {
  auto in = read_flags(ctx, p, store);
  if (!in) return in.error();
  JobDraft draft;
  auto spec_text = read_text_file(in->file, "--config-file");
  if (!spec_text) return spec_text.error();
  auto merged = add_volume_flags(ctx, p, in->id, in->file, std::move(*spec_text));
  if (!merged) return merged.error();
  draft.spec_text = std::move(*merged);
  auto spec = read_spec(ctx, p, in->file, draft.spec_text);
  if (!spec) return spec.error();
  auto site = read_site_config(ctx);
  if (!site) return site.error();
  storage::add_user_shares(*site);
  // Only a job that mounts a file server asks the store for them: job
  // create's time is mostly fixed costs, and this is one query more.
  if (spec->mount_volumes && !spec->mount_volumes->file_servers.empty()) {
    if (auto s = file_servers::add_to_site(*site, store, {in->id.group, in->id.workspace}); !s) return s.error();
  }
  auto cluster = bind_cluster(ctx, store, *site, in->id, in->cluster, spec->node_count, slurm_optional);
  if (!cluster) return cluster.error();
  draft.cluster = cluster->key;
  draft.hold = cluster->hold;
  auto plan = slurm::plan_job(*spec, in->id, cluster->slurm, *site, in->file);
  if (!plan) return plan.error();
  for (const auto& w : plan->warnings) diag::warning(w);
  draft.plan = std::move(*plan);
  return draft;
}

Result<state::Job> record_job(state::Store& store, const JobDraft& draft, const std::string& script, bool exported) {
  const slurm::JobPlan& plan = draft.plan;
  // Recorded first: a duplicate name is refused before anything is written
  // or submitted, and two CLIs racing for one name cannot both win.
  state::Job job;
  job.key = {plan.id.group, plan.id.workspace, plan.id.experiment, plan.id.job};
  job.uuid = plan.id.uuid;
  job.cluster = draft.cluster;
  job.tool_type = plan.tool_type;
  job.node_count = plan.nodes;
  job.spec_json = redacted_properties(draft.spec_text);
  job.job_dir = plan.job_dir;
  job.segment = plan.id.segment();
  job.exported = exported;
  job.order = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch()).count();
  job.created = job.state_time = job.order / 1'000'000'000;
  // The store refuses a job in an experiment that does not exist.
  if (auto s = store.insert_job(job); !s) return s.error();
  if (auto s = write_job_dir(plan, draft.spec_text, script); !s) return discard_job(store, job, s.error());
  // The record the state database can be rebuilt from (state_records.h).
  if (exported) {
    if (auto s = write_job_record(job, store.records_owner()); !s) return discard_job(store, job, s.error());
  }
  return job;
}

Error discard_job(state::Store& store, const state::Job& job, Error why) {
  std::error_code ec;
  std::filesystem::remove_all(job.job_dir, ec);
  // And the job name's directory, when no earlier job of that name left
  // its own there (remove() takes only an empty one).
  std::filesystem::remove(std::filesystem::path(job.job_dir).parent_path(), ec);
  (void)store.delete_job(job.key);
  return why;
}

}  // namespace batchai::frontend
