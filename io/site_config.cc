// site.json parsing, through the reader job.json uses (io/json_reader.h):
// one pass that records every problem with its JSON path, so an admin fixes
// a file in one round. Unlike job.json, unknown keys are always errors: a
// site file is written once by someone who can fix it, and a misspelt key
// would silently fall back to a default that decides where jobs run and
// what they may mount.
#include "io/site_config.h"

#include <boost/json.hpp>
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <system_error>

#include "base/diag.h"
#include "base/files.h"
#include "io/job_spec.h"
#include "io/json_reader.h"

namespace batchai::site {
namespace {

namespace json = boost::json;

// A value as it appears in a message: strings quoted and escaped, so a
// newline in a value cannot break the one-problem-per-line report.
std::string quote(std::string_view s) { return json::serialize(json::value(json::string(s))); }

// Slurm names (partitions, QOS, gres types) end up in sbatch options, where
// a space or comma would split them into something else.
bool is_slurm_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

std::optional<std::string> slurm_name(JsonReader& r, const json::object& o, const std::string& path,
                                      std::string_view key) {
  auto s = r.str(o, path, key);
  if (s && !is_slurm_name(*s)) {
    r.error(JsonReader::join(path, key), "expected letters, digits, '-', '_' or '.', got " + quote(*s));
    return std::nullopt;
  }
  return s;
}

bool has_control_char(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// Expands a leading "~" and checks that the result is an absolute path
// without ".." (which would let a path leave the tree an admin reviewed) and
// without control characters (paths are written into job scripts line by
// line). Returns the expanded path or the problem.
Result<std::string> expand_path(std::string_view p, std::string_view home) {
  if (p.find('\n') != std::string_view::npos) return Error{"must not contain a newline, got " + quote(p)};
  if (has_control_char(p)) return Error{"must not contain control characters, got " + quote(p)};
  std::string s(p);
  if (s == "~" || s.starts_with("~/")) {
    if (home.empty()) return Error{"cannot expand \"~\": no home directory is known"};
    std::string_view h = home;
    while (h.size() > 1 && h.back() == '/') h.remove_suffix(1);
    s = (h == "/" ? "" : std::string(h)) + s.substr(1);
    if (s.empty()) s = "/";
  }
  if (!s.starts_with('/')) return Error{"expected an absolute path (or one starting with ~/), got " + quote(p)};
  for (std::size_t start = 0; start <= s.size();) {
    std::size_t end = s.find('/', start);
    if (end == std::string::npos) end = s.size();
    if (s.compare(start, end - start, "..") == 0) return Error{"must not contain a '..' segment, got " + quote(p)};
    start = end + 1;
  }
  return s;
}

// A path field: the file's value if given, else `out`'s default; either way
// expanded, so every path in a loaded SiteConfig is absolute.
void path_field(JsonReader& r, const json::object& o, std::string_view key, std::string& out, std::string_view home) {
  const std::string at(key);
  const bool given = r.field(o, "", key, false) != nullptr;
  if (given) {
    auto s = r.str(o, "", key);
    if (!s) return;
    out = *s;
  }
  auto expanded = expand_path(out, home);
  if (!expanded) {
    if (given) {
      r.error(at, expanded.error().message);
    } else {
      r.error(at, "the built-in default " + quote(out) + " needs a home directory, and none is known; give an " +
                      "absolute path");
    }
    return;
  }
  out = std::move(*expanded);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// "clusters" and "vmSizes" share a shape: a partition and what Batch AI
// knew from the VM size. A cluster's partition defaults to its name; a VM
// size's to Slurm's default partition (left empty here). VM size names are
// case-insensitive, as in Azure.
std::vector<Cluster> parse_clusters(JsonReader& r, const json::object& top, const char* key) {
  const bool vm_sizes = std::string_view(key) == "vmSizes";
  std::vector<Cluster> clusters;
  std::map<std::string, std::string> seen;  // name -> where it was first given
  r.objects(top, "", key, [&](const json::object& o, const std::string& at) {
    if (vm_sizes) {
      r.check_keys(o, at, {"name", "partition", "lowPriorityPartition", "gpusPerNode", "gpuType", "maxWallClockTime"});
    } else {
      r.check_keys(o, at, {"name", "partition", "gpusPerNode", "gpuType", "maxWallClockTime"});
    }
    Cluster c;
    if (auto name = r.str(o, at, "name", true)) {
      const std::string name_at = at + ".name";
      // Users pass it as --cluster and it becomes part of Batch AI ids.
      if (auto ok = jobspec::validate_resource_name(*name, name_at); !ok) {
        r.located(ok.error().message);
      } else if (auto [it, inserted] = seen.emplace(vm_sizes ? lower(*name) : *name, name_at); !inserted) {
        r.error(name_at, std::string(vm_sizes ? "duplicate VM size " : "duplicate cluster name ") + quote(*name) +
                             " (also " + it->second + ")");
      }
      c.name = *name;
    }
    c.partition = slurm_name(r, o, at, "partition").value_or("");
    if (c.partition.empty() && !vm_sizes) c.partition = c.name;
    if (vm_sizes) c.low_priority_partition = slurm_name(r, o, at, "lowPriorityPartition").value_or("");
    auto gpus = r.integer(o, at, "gpusPerNode", 0, INT32_MAX, "an integer >= 0");
    if (gpus) c.gpus_per_node = static_cast<int>(*gpus);
    c.gpu_type = slurm_name(r, o, at, "gpuType").value_or("");
    // A GPU type on a CPU cluster is a half-finished entry, not a preference.
    const bool gpus_bad = !gpus && r.field(o, at, "gpusPerNode", false) != nullptr;
    if (!c.gpu_type.empty() && c.gpus_per_node == 0 && !gpus_bad) {
      r.error(at + ".gpuType", "only with gpusPerNode > 0");
    }
    // The same duration forms as job.json's (one grammar for one kind of
    // value), but only as a string: no conversion from other types.
    if (const json::value* v = r.field(o, at, "maxWallClockTime", false)) {
      const std::string t = at + ".maxWallClockTime";
      if (!v->is_string()) {
        r.error(t, "expected a duration string such as \"P2D\" or \"2.00:00:00\", got " + JsonReader::describe(*v));
      } else if (auto secs = jobspec::parse_duration(v->get_string()); !secs) {
        r.error(t, secs.error().message);
      } else {
        c.max_wall_clock_seconds = *secs;
      }
    }
    clusters.push_back(std::move(c));
  });
  return clusters;
}

// A mapping given in the file replaces the built-in one as a whole: with
// "low": {"qos": "scavenger"} low jobs get that QOS and no nice.
void parse_priority(JsonReader& r, const json::object& o, const std::string& path, std::string_view key,
                    PriorityMapping& out) {
  const json::object* m = r.object(o, path, key);
  if (!m) return;
  const std::string at = JsonReader::join(path, key);
  r.check_keys(*m, at, {"qos", "nice"});
  out = PriorityMapping{};
  out.qos = slurm_name(r, *m, at, "qos").value_or("");
  if (auto n = r.integer(*m, at, "nice", -10000, 10000, "an integer from -10000 to 10000")) {
    out.nice = static_cast<std::int32_t>(*n);
  }
}

void parse_containers(JsonReader& r, const json::object& top, SiteConfig& site) {
  const json::object* o = r.object(top, "", "containers");
  if (!o) return;
  const std::string at = "containers";
  r.check_keys(*o, at, {"runtime", "allowHostWithoutContainer"});
  if (auto runtime = r.str(*o, at, "runtime")) {
    if (*runtime == "none") site.container_runtime = ContainerRuntime::none;
    else if (*runtime == "pyxis") site.container_runtime = ContainerRuntime::pyxis;
    else if (*runtime == "apptainer") site.container_runtime = ContainerRuntime::apptainer;
    else r.error(at + ".runtime", "expected \"none\", \"pyxis\" or \"apptainer\", got " + quote(*runtime));
  }
  if (auto allow = r.boolean(*o, at, "allowHostWithoutContainer")) site.allow_host_without_container = *allow;
}

constexpr std::string_view kShareTypes[] = {"azureFileShare", "azureBlobFileSystem", "fileServer",
                                            "unmanagedFileSystem"};

std::vector<Share> parse_shares(JsonReader& r, const json::object& top, std::string_view home) {
  std::vector<Share> shares;
  std::map<std::pair<Share::Kind, std::string>, std::string> seen;
  r.objects(top, "", "shares", [&](const json::object& o, const std::string& at) {
    r.check_keys(o, at, {"type", "name", "path"});
    Share s;
    bool complete = true;
    if (auto type = r.str(o, at, "type", true)) {
      auto it = std::find(std::begin(kShareTypes), std::end(kShareTypes), *type);
      if (it == std::end(kShareTypes)) {
        r.error(at + ".type", "expected \"azureFileShare\", \"azureBlobFileSystem\", \"fileServer\" or "
                              "\"unmanagedFileSystem\", got " + quote(*type));
        complete = false;
      } else {
        s.kind = static_cast<Share::Kind>(it - std::begin(kShareTypes));
      }
    } else {
      complete = false;
    }
    if (auto name = r.str(o, at, "name", true)) {
      if (name->empty()) {
        r.error(at + ".name", "must not be empty");
        complete = false;
      }
      s.name = *name;
    } else {
      complete = false;
    }
    if (auto path = r.str(o, at, "path", true)) {
      if (auto expanded = expand_path(*path, home)) {
        s.path = std::move(*expanded);
      } else {
        r.error(at + ".path", expanded.error().message);
      }
    }
    // Two entries for one share would make the link target depend on order.
    if (complete) {
      auto [it, inserted] = seen.emplace(std::pair{s.kind, s.name}, at);
      if (!inserted) {
        r.error(at, "duplicate share: " + std::string(kShareTypes[static_cast<int>(s.kind)]) + " " + quote(s.name) +
                        " is also " + it->second);
      }
    }
    shares.push_back(std::move(s));
  });
  return shares;
}

SiteConfig parse_top(JsonReader& r, const json::object& top, std::string_view home) {
  r.check_keys(top, "", {"jobsRoot", "mountRoot", "nodeTempRoot", "python", "mpi", "mpiLauncher",
                         "tensorFlowPortBase", "tensorFlowGraceSeconds", "defaultProcessCount", "requeue",
                         "checkpointSignalSeconds", "clusters", "vmSizes", "lowPriority",
                         "schedulingPriority", "containers", "shares", "prologProgram", "jobRuntimeDir", "storageRoot"});
  SiteConfig site;
  path_field(r, top, "jobsRoot", site.jobs_root, home);
  path_field(r, top, "mountRoot", site.mount_root, home);
  path_field(r, top, "nodeTempRoot", site.node_temp_root, home);
  path_field(r, top, "storageRoot", site.storage_root, home);
  if (r.field(top, "", "prologProgram", false)) path_field(r, top, "prologProgram", site.prolog_program, home);
  if (r.field(top, "", "jobRuntimeDir", false)) path_field(r, top, "jobRuntimeDir", site.job_runtime_dir, home);

  if (auto python = r.str(top, "", "python")) {
    if (python->empty()) r.error("python", "must not be empty");
    else if (has_control_char(*python)) r.error("python", "must not contain a newline or control characters");
    else site.python = *python;
  }
  if (auto mpi = r.str(top, "", "mpi")) {
    const bool word = !mpi->empty() && std::all_of(mpi->begin(), mpi->end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
    if (word) site.mpi = *mpi;
    else r.error("mpi", "expected an srun --mpi plugin name (letters, digits, '_'), got " + quote(*mpi));
  }
  if (auto launcher = r.str(top, "", "mpiLauncher")) {
    if (*launcher == "srun") site.mpi_launcher = MpiLauncher::srun;
    else if (*launcher == "mpirun") site.mpi_launcher = MpiLauncher::mpirun;
    else r.error("mpiLauncher", "expected \"srun\" or \"mpirun\", got " + quote(*launcher));
  }
  if (auto port = r.integer(top, "", "tensorFlowPortBase", 1024, 65000, "an integer from 1024 to 65000")) {
    site.tensorflow_port_base = static_cast<int>(*port);
  }
  if (auto grace = r.integer(top, "", "tensorFlowGraceSeconds", 0, 86400, "seconds from 0 to 86400")) {
    site.tensorflow_grace_seconds = static_cast<int>(*grace);
  }
  if (auto requeue = r.boolean(top, "", "requeue")) site.requeue = *requeue;
  // Slurm keeps the warning time in 16 bits.
  if (auto seconds = r.integer(top, "", "checkpointSignalSeconds", 0, 65535, "seconds from 0 to 65535")) {
    site.checkpoint_signal_seconds = static_cast<int>(*seconds);
  }
  if (auto count = r.str(top, "", "defaultProcessCount")) {
    if (*count == "nodeCount") site.default_process_count = DefaultProcessCount::node_count;
    else if (*count == "gpus") site.default_process_count = DefaultProcessCount::gpus;
    else r.error("defaultProcessCount", "expected \"nodeCount\" or \"gpus\", got " + quote(*count));
  }

  site.clusters = parse_clusters(r, top, "clusters");
  site.vm_sizes = parse_clusters(r, top, "vmSizes");

  if (const json::object* p = r.object(top, "", "schedulingPriority")) {
    const std::string at = "schedulingPriority";
    r.check_keys(*p, at, {"low", "normal", "high"});
    parse_priority(r, *p, at, "low", site.low);
    parse_priority(r, *p, at, "normal", site.normal);
    parse_priority(r, *p, at, "high", site.high);
  }
  if (const json::object* low = r.object(top, "", "lowPriority")) {
    r.check_keys(*low, "lowPriority", {"qos"});
    site.low_priority.qos = slurm_name(r, *low, "lowPriority", "qos").value_or("");
  }
  parse_containers(r, top, site);
  site.shares = parse_shares(r, top, home);
  return site;
}

}  // namespace

const Cluster* SiteConfig::find_cluster(std::string_view name) const {
  auto it = std::find_if(clusters.begin(), clusters.end(), [&](const Cluster& c) { return c.name == name; });
  return it == clusters.end() ? nullptr : &*it;
}

const Cluster* SiteConfig::find_vm_size(std::string_view name) const {
  const std::string want = lower(std::string(name));
  auto it = std::find_if(vm_sizes.begin(), vm_sizes.end(), [&](const Cluster& c) { return lower(c.name) == want; });
  return it == vm_sizes.end() ? nullptr : &*it;
}

std::string_view to_string(ContainerRuntime runtime) {
  switch (runtime) {
    case ContainerRuntime::none: return "none";
    case ContainerRuntime::pyxis: return "pyxis";
    case ContainerRuntime::apptainer: return "apptainer";
  }
  return "none";
}

Result<SiteConfig> parse_site_config(std::string_view text, std::string_view file, std::string_view home) {
  auto root = parse_json(text, file, /*relaxed=*/true);  // an admin's file explains itself
  if (!root) return root.error();

  // Strict types: site.json was never sent through az's SDK, so nothing
  // relies on its conversions, and an admin's "gpusPerNode": "4" or
  // "nice": true is a slip to report, not to reinterpret.
  JsonReader r(std::string(file), UnknownKeys::error, Conversions::none);
  SiteConfig site;
  if (!root->is_object()) {
    r.error("(top level)", "expected an object, got " + JsonReader::describe(*root));
  } else {
    site = parse_top(r, root->get_object(), home);
  }
  if (auto ok = r.status(); !ok) return ok.error();
  site.source = std::string(file);
  return site;
}

Result<SiteConfig> load_site_config(const char* batchai_conf, const std::string& default_path, std::string_view home) {
  std::string path;
  std::string what = "site configuration";
  if (batchai_conf != nullptr && *batchai_conf != '\0') {
    path = batchai_conf;
    what = "BATCHAI_CONF";
  } else {
    // Only a file that is not there means "no site file": one we may not
    // read is an error, not a reason to run jobs with the defaults.
    namespace fs = std::filesystem;
    std::error_code ec;
    if (default_path.empty() || fs::status(default_path, ec).type() == fs::file_type::not_found) {
      // The defaults go through the parser too, so their "~" is expanded
      // exactly as a file's would be.
      return parse_site_config("{}", "built-in defaults", home);
    }
    path = default_path;
  }
  auto text = read_text_file(path, what);
  if (!text) return text.error();
  return parse_site_config(*text, path, home);
}

}  // namespace batchai::site
