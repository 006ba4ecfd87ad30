// libFuzzer target: site.json text through parse_site_config, then a fixed
// job planned and rendered against every cluster the file defines. An admin
// writes this file once, but everything in it ends up in every job's paths
// and script, so its checks are what keep those safe.
//
// Aborts when a promise of io/site_config.h breaks: problems are lines
// "site.json: ..."; in a loaded SiteConfig every path is absolute, free of
// "~", ".." and control characters, and every cluster has a valid name and a
// partition.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "io/job_spec.h"
#include "io/site_config.h"
#include "slurm/job_plan.h"

namespace {

using namespace batchai;

constexpr std::string_view kFile = "site.json";

[[noreturn]] void fail(std::string_view what, std::string_view detail = {}) {
  std::fprintf(stderr, "\nsite_config_fuzz: invariant violated: %.*s\n", static_cast<int>(what.size()), what.data());
  if (!detail.empty()) std::fprintf(stderr, "---\n%.*s\n---\n", static_cast<int>(detail.size()), detail.data());
  std::abort();
}

void check(bool ok, std::string_view what, std::string_view detail = {}) {
  if (!ok) fail(what, detail);
}

void check_path(std::string_view what, const std::string& p) {
  check(p.starts_with("/"), what, p);
  check(std::none_of(p.begin(), p.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }),
        what, p);
  for (std::size_t start = 0; start <= p.size();) {
    std::size_t end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    check(p.compare(start, end - start, "..") != 0, what, p);
    start = end + 1;
  }
}

// A job that touches what a site decides: a container, shares of every kind,
// a high priority, per-process launch with the site's python.
const jobspec::JobSpec& fixed_job() {
  static const jobspec::JobSpec spec = [] {
    auto parsed = jobspec::parse_job_spec(R"({"properties": {
        "nodeCount": 2, "schedulingPriority": "high", "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_MOUNT_ROOT/logs",
        "pyTorchSettings": {"pythonScriptFilePath": "train.py", "processCount": 4},
        "containerSettings": {"imageSourceRegistry": {"image": "pytorch/pytorch"}},
        "mountVolumes": {
          "azureFileShares": [{"azureFileUrl": "https://a.file.core.windows.net/logs", "relativeMountPath": "logs"}],
          "azureBlobFileSystems": [{"accountName": "a", "containerName": "data", "relativeMountPath": "data"}],
          "fileServers": [{"fileServer": {"id": "/x/fileservers/nfs"}, "relativeMountPath": "nfs"}],
          "unmanagedFileSystems": [{"mountCommand": "mount -t glusterfs 10.0.0.4:/gv0", "relativeMountPath": "g"}]},
        "secrets": [{"name": "TOKEN", "value": "s3cr3t-value"}]}})");
    if (!parsed) fail("the fixed job does not parse", parsed.error().message);
    return parsed->spec;
  }();
  return spec;
}

void plan_against(const site::SiteConfig& site, const slurm::ClusterBinding& binding) {
  const slurm::JobIdentity id{"rg", "ws", "exp", "job", "00000000-0000-4000-8000-000000000000"};
  auto plan = slurm::plan_job(fixed_job(), id, binding, site, "job.json");
  if (!plan) {
    for (std::size_t start = 0;;) {
      const std::string& m = plan.error().message;
      check(m.compare(start, 10, "job.json: ") == 0, "plan error line", m);
      start = m.find('\n', start);
      if (start == std::string::npos) break;
      ++start;
    }
    return;
  }
  check(plan->job_dir == site.jobs_root + "/" + id.segment(), "job_dir is not <jobs root>/<segment>", plan->job_dir);
  const std::string script = slurm::render_script(*plan);
  check(script.starts_with("#!/bin/bash\n"), "the script does not start with #!/bin/bash");
  const std::string dry_run = slurm::dry_run_text(*plan, slurm::submission(*plan, script, {"PATH=/bin"}));
  check(dry_run.find("s3cr3t-value") == std::string::npos, "a secret in the --dry-run text");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fixed_job();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // An odd size parses without a home directory, as for a user with none.
  const std::string_view home = size % 2 ? "" : "/home/ada";
  auto site = site::parse_site_config(text, kFile, home);
  if (!site) {
    const std::string& m = site.error().message;
    check(!m.empty(), "empty error message");
    for (std::size_t start = 0;;) {
      check(m.compare(start, kFile.size() + 1, std::string(kFile) + ":") == 0, "error line", m);
      start = m.find('\n', start);
      if (start == std::string::npos) break;
      ++start;
    }
    return 0;
  }
  check(site->source == kFile, "source", site->source);
  check_path("jobsRoot", site->jobs_root);
  check_path("mountRoot", site->mount_root);
  check_path("nodeTempRoot", site->node_temp_root);
  check(!site->python.empty() && !site->mpi.empty(), "empty python or mpi");
  check(site->tensorflow_port_base >= 1024 && site->tensorflow_port_base <= 65000, "tensorFlowPortBase");
  std::set<std::string> names;
  for (const auto& c : site->clusters) {
    check(jobspec::validate_resource_name(c.name, "name").ok(), "cluster name", c.name);
    check(names.insert(c.name).second, "duplicate cluster", c.name);
    check(!c.partition.empty(), "cluster without a partition", c.name);
    check(site->find_cluster(c.name) == &c, "find_cluster", c.name);
    check(c.gpu_type.empty() || c.gpus_per_node > 0, "gpuType without GPUs", c.name);
    if (c.max_wall_clock_seconds) check(*c.max_wall_clock_seconds > 0, "maxWallClockTime", c.name);
  }
  for (const auto& s : site->shares) {
    check(!s.name.empty(), "share without a name");
    check_path("share path", s.path);
  }

  // Every cluster, or the partition-as-cluster binding when there are none.
  if (site->clusters.empty()) {
    slurm::ClusterBinding b;
    b.cluster.name = b.cluster.partition = "batch";
    plan_against(*site, b);
  }
  for (std::size_t i = 0; i < site->clusters.size() && i < 8; ++i) {
    slurm::ClusterBinding b;
    b.cluster = site->clusters[i];
    plan_against(*site, b);
  }
  return 0;
}
