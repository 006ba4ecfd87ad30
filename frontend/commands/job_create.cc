// batchai job create: a Batch AI job.json, checked, translated to an sbatch
// script and submitted through libslurm. --dry-run prints the script (with
// secrets masked) and touches nothing.
#include <boost/json.hpp>
#include <filesystem>
#include <random>

#include "frontend/cli.h"
#include "frontend/output.h"
#include "io/diag.h"
#include "io/files.h"
#include "io/job_spec.h"
#include "io/site_config.h"
#include "io/spell.h"
#include "slurm/job_plan.h"

#ifndef BATCHAI_SYSCONFDIR
#define BATCHAI_SYSCONFDIR "/etc"
#endif

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    {"resource-group", 'g', "NAME", "resource group: the first level of the job's paths (default: default)"},
    {"workspace", 'w', "NAME", "workspace (default: default)"},
    {"experiment", 'e', "NAME", "experiment the job belongs to (required)"},
    {"name", 'n', "NAME", "job name (required)"},
    {"cluster", 'c', "NAME", "cluster to run on: a cluster of the site configuration, or a partition (required)"},
    {"config-file", 'f', "FILE", "the job.json (required)"},
    {"storage-account-name", 0, "NAME", "replaces <AZURE_BATCHAI_STORAGE_ACCOUNT> (else $AZURE_BATCHAI_STORAGE_ACCOUNT)"},
    {"storage-account-key", 0, "KEY", "replaces <AZURE_BATCHAI_STORAGE_KEY> (else $AZURE_BATCHAI_STORAGE_KEY)"},
    {"strict", 0, "", "treat unknown keys in the job.json as errors"},
    {"dry-run", 0, "", "print the sbatch script, secrets masked; write and submit nothing"},
};

std::string required(const args::Parsed& p, std::string_view flag, std::string_view what, Status& missing) {
  auto v = p.get(flag);
  if (!v && missing) missing = Error{"--" + std::string(flag) + ": required (" + std::string(what) + ")"};
  return v.value_or("");
}

// A random (version 4) UUID: a re-created job name gets new paths, as in
// Batch AI.
std::string new_uuid() {
  std::random_device rd;
  std::uniform_int_distribution<int> hex(0, 15);
  std::string u;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) u += '-';
    int d = hex(rd);
    if (i == 12) d = 4;
    if (i == 16) d = 8 + (d & 3);
    u += "0123456789abcdef"[d];
  }
  return u;
}

struct Inputs {
  std::string file;
  slurm::JobIdentity id;
  std::string cluster;
};

Result<Inputs> read_flags(const args::Parsed& p) {
  Status missing;
  Inputs in;
  in.id.group = p.get("resource-group").value_or("default");
  in.id.workspace = p.get("workspace").value_or("default");
  in.id.experiment = required(p, "experiment", "the experiment the job belongs to", missing);
  in.id.job = required(p, "name", "the job's name", missing);
  in.cluster = required(p, "cluster", "the cluster to run on", missing);
  in.file = required(p, "config-file", "the job.json", missing);
  if (!missing) return missing.error();
  const std::pair<const std::string*, std::string_view> names[] = {
      {&in.id.group, "--resource-group"}, {&in.id.workspace, "--workspace"}, {&in.id.experiment, "--experiment"},
      {&in.id.job, "--name"},             {&in.cluster, "--cluster"}};
  for (const auto& [value, flag] : names) {
    if (auto ok = jobspec::validate_resource_name(*value, flag); !ok) return ok.error();
  }
  in.id.uuid = new_uuid();
  return in;
}

Result<jobspec::JobSpec> read_spec(const Context& ctx, const args::Parsed& p, const std::string& file) {
  auto text = read_text_file(file, "--config-file");
  if (!text) return text.error();
  jobspec::ParseOptions options;
  options.file_name = file;
  options.strict = p.has("strict");
  auto parsed = jobspec::parse_job_spec(*text, options);
  if (!parsed) return parsed.error();
  for (const auto& w : parsed->warnings) diag::warning(w);
  jobspec::StorageAccount account;
  account.name = p.get("storage-account-name");
  if (!account.name) account.name = ctx.getenv("AZURE_BATCHAI_STORAGE_ACCOUNT");
  account.key = p.get("storage-account-key");
  if (!account.key) account.key = ctx.getenv("AZURE_BATCHAI_STORAGE_KEY");
  return jobspec::replace_storage_placeholders(std::move(parsed->spec), account, file);
}

Result<site::SiteConfig> read_site(const Context& ctx) {
  const auto conf = ctx.getenv("BATCHAI_CONF");
  const auto home = ctx.getenv("HOME").value_or("/");
  return site::load_site_config(conf ? conf->c_str() : nullptr, BATCHAI_SYSCONFDIR "/batchai/site.json", home);
}

// The site's cluster of that name; with no clusters configured, any Slurm
// partition is a cluster. Slurm adds the partition's MaxTime. A dry run
// goes on without Slurm, since it submits nothing.
Result<slurm::ClusterBinding> bind_cluster(Context& ctx, const site::SiteConfig& site, const std::string& name,
                                           bool dry_run) {
  slurm::ClusterBinding b;
  if (site.clusters.empty()) {
    b.cluster.name = b.cluster.partition = name;
  } else if (const site::Cluster* c = site.find_cluster(name)) {
    b.cluster = *c;
  } else {
    std::vector<std::string_view> known;
    for (const auto& c2 : site.clusters) known.push_back(c2.name);
    std::string msg = "--cluster: no cluster \"" + name + "\" in " + site.source;
    if (auto close = closest_match(name, known)) msg += "; did you mean \"" + *close + "\"?";
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
    if (part.name == b.cluster.partition) {
      if (part.max_time_minutes) b.partition_max_seconds = std::int64_t{*part.max_time_minutes} * 60;
      return b;
    }
  }
  return Error{"--cluster: cluster \"" + name + "\" is Slurm partition \"" + b.cluster.partition +
               "\", which Slurm does not have"};
}

// The job directory holds what the job needs and what it records: the
// job.json as given (0600: it may hold keys), the script, private files.
Status write_job_dir(const slurm::JobPlan& plan, const std::string& spec_text, const std::string& script) {
  std::error_code ec;
  std::filesystem::create_directories(plan.job_dir, ec);
  if (ec) return Error{"cannot create job directory '" + plan.job_dir + "': " + ec.message()};
  for (const auto& f : plan.private_files) {
    std::filesystem::create_directories(std::filesystem::path(f.path).parent_path(), ec);
    if (ec) return Error{"cannot create '" + f.path + "': " + ec.message()};
    if (auto s = write_file_atomic(f.path, f.content, 0600); !s) return s;
  }
  if (auto s = write_file_atomic(plan.job_dir + "/job.json", spec_text, 0600); !s) return s;
  return write_file_atomic(plan.job_dir + "/job.sbatch", script, 0644);
}

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto in = read_flags(p);
  if (!in) return in.error();
  auto spec = read_spec(ctx, p, in->file);
  if (!spec) return spec.error();
  auto site = read_site(ctx);
  if (!site) return site.error();
  const bool dry_run = p.has("dry-run");
  auto cluster = bind_cluster(ctx, *site, in->cluster, dry_run);
  if (!cluster) return cluster.error();
  auto plan = slurm::plan_job(*spec, in->id, *cluster, *site, in->file);
  if (!plan) return plan.error();
  for (const auto& w : plan->warnings) diag::warning(w);

  auto request = slurm::submission(*plan, slurm::render_script(*plan), ctx.environment);
  if (dry_run) {
    *ctx.out << slurm::dry_run_text(*plan, request);
    return 0;
  }
  auto spec_text = read_text_file(in->file, "--config-file");
  if (!spec_text) return spec_text.error();
  if (auto s = write_job_dir(*plan, *spec_text, request.script); !s) {
    std::error_code ec;
    std::filesystem::remove_all(plan->job_dir, ec);
    return s.error();
  }
  // A job Slurm refused leaves no directory behind: its uuid is new, so
  // nothing else is in it.
  auto discard = [&](Error e) {
    std::error_code ec;
    std::filesystem::remove_all(plan->job_dir, ec);
    return e;
  };
  auto client = ctx.slurm();
  if (!client) return discard(client.error());
  auto id = (*client)->submit(request);
  if (!id) return discard(id.error());
  boost::json::object job{{"name", in->id.job},
                          {"slurmJobId", *id},
                          {"toolType", plan->tool_type},
                          {"nodeCount", plan->nodes},
                          {"jobOutputDirectoryPathSegment", in->id.segment()},
                          {"jobDirectory", plan->job_dir}};
  static constexpr Column kColumns[] = {{"Name", "name"}, {"JobId", "slurmJobId"}, {"Tool", "toolType"},
                                        {"Nodes", "nodeCount"}};
  emit(ctx, job, kColumns);
  return 0;
}

}  // namespace

extern const Command kJobCreate = {"job create", "Submit a Batch AI job.json to Slurm", kOptions, {}, run};

}  // namespace batchai::frontend
