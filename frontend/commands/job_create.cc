// batchai job create: a Batch AI job.json, checked, translated to an sbatch
// script, recorded and submitted through libslurm. --dry-run prints the
// script (with secrets masked) and records and submits nothing.
#include <sys/random.h>

#include <array>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>

#include "frontend/cli.h"
#include "frontend/commands/job_common.h"
#include "frontend/commands/resource_args.h"
#include "frontend/commands/site.h"
#include "frontend/commands/storage_common.h"
#include "frontend/output.h"
#include "io/diag.h"
#include "io/files.h"
#include "io/job_spec.h"
#include "io/site_config.h"
#include "io/spell.h"
#include "slurm/job_plan.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    BATCHAI_EXPERIMENT_OPTIONS,
    args::required({"name", 'n', "NAME", "job name"}),
    args::required({"cluster", 'c', "NAME",
                    "cluster to run on: its name or id, a cluster of the site configuration, or a partition"}),
    args::required({"config-file", 'f', "FILE", "the job.json"}),
    {"storage-account-name", 0, "NAME", "replaces <AZURE_BATCHAI_STORAGE_ACCOUNT> (else $AZURE_BATCHAI_STORAGE_ACCOUNT)"},
    {"storage-account-key", 0, "KEY", "replaces <AZURE_BATCHAI_STORAGE_KEY> (else $AZURE_BATCHAI_STORAGE_KEY)"},
    {"strict", 0, "", "treat unknown keys in the job.json as errors"},
    {"dry-run", 0, "", "print the sbatch script, secrets masked; write and submit nothing"},
};

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

struct Inputs {
  std::string file;
  slurm::JobIdentity id;
  std::string cluster;
};

Result<Inputs> read_flags(const Context& ctx, const args::Parsed& p, state::Store& store) {
  auto ws = workspace_key(ctx, p, store);
  if (!ws) return ws.error();
  Inputs in;  // every flag read here is required by kOptions
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
// Slurm, since it submits nothing.
Result<Binding> bind_cluster(Context& ctx, state::Store& store, const site::SiteConfig& site,
                             const slurm::JobIdentity& id, const std::string& given, std::int64_t node_count,
                             bool dry_run) {
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
    if (!dry_run) return client.error();
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

// job.json's properties as `job show` echoes them: secret values and keys
// are removed, as Batch AI's GET nulled them.
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

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto in = read_flags(ctx, p, **store);
  if (!in) return in.error();
  auto spec_text = read_text_file(in->file, "--config-file");
  if (!spec_text) return spec_text.error();
  auto spec = read_spec(ctx, p, in->file, *spec_text);
  if (!spec) return spec.error();
  auto site = read_site_config(ctx);
  if (!site) return site.error();
  storage::add_user_shares(*site);
  const bool dry_run = p.has("dry-run");
  auto cluster = bind_cluster(ctx, **store, *site, in->id, in->cluster, spec->node_count, dry_run);
  if (!cluster) return cluster.error();
  auto plan = slurm::plan_job(*spec, in->id, cluster->slurm, *site, in->file);
  if (!plan) return plan.error();
  for (const auto& w : plan->warnings) diag::warning(w);

  auto request = slurm::submission(*plan, slurm::render_script(*plan), ctx.environment);
  request.hold = cluster->hold;
  if (dry_run) {
    *ctx.out << slurm::dry_run_text(*plan, request);
    return 0;
  }
  // Recorded first: a duplicate name is refused before anything is written
  // or submitted, and two CLIs racing for one name cannot both win.
  state::Job job;
  job.key = {in->id.group, in->id.workspace, in->id.experiment, in->id.job};
  job.uuid = in->id.uuid;
  job.cluster = cluster->key;
  job.tool_type = plan->tool_type;
  job.node_count = plan->nodes;
  job.spec_json = redacted_properties(*spec_text);
  job.job_dir = plan->job_dir;
  job.segment = in->id.segment();
  job.created = job.state_time = std::time(nullptr);
  // The store refuses a job in an experiment that does not exist.
  if (auto s = (*store)->insert_job(job); !s) return s.error();

  // A job that cannot be submitted leaves no record and no directory: its
  // uuid is new, so nothing else is in that directory.
  auto discard = [&](Error e) {
    std::error_code ec;
    std::filesystem::remove_all(plan->job_dir, ec);
    (void)(*store)->delete_job(job.key);
    return e;
  };
  if (auto s = write_job_dir(*plan, *spec_text, request.script); !s) return discard(s.error());
  auto client = ctx.slurm();
  if (!client) return discard(client.error());
  auto id = (*client)->submit(request);
  if (!id) return discard(id.error());
  job.slurm_job_id = *id;
  if (auto s = (*store)->update_job(job); !s) return s.error();
  if (cluster->hold) {
    diag::note("cluster '" + cluster->key.cluster + "' has no nodes (target 0): the job waits until it is resized");
  }
  if (ctx.format == OutputFormat::table) {
    if (auto s = emit(ctx, job_table_row(job), job_table_columns()); !s) return s.error();
  } else {
    if (auto s = emit(ctx, job_to_json(job), job_table_columns()); !s) return s.error();
  }
  return 0;
}

}  // namespace

extern const Command kJobCreate = {"job create", "Submit a Batch AI job.json to Slurm", kOptions, {}, run};

}  // namespace batchai::frontend
