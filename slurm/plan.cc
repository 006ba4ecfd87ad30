// plan_job: what a Batch AI job becomes on Slurm. Every decision about
// counts, placement, paths and environment is made here, as data, so the
// script renderer only spells the plan out.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "base/diag.h"
#include "io/toolkits.h"
#include "slurm/job_plan.h"
#include "slurm/node_plan.h"
#include "slurm/shell_quote.h"
#include "slurm/toolkits.h"

namespace batchai::slurm {
namespace {

using namespace jobspec;

constexpr std::int64_t kDay = 86400;

std::string format_duration(std::int64_t seconds) {
  const std::int64_t d = seconds / kDay, h = seconds % kDay / 3600, m = seconds % 3600 / 60, s = seconds % 60;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld.%02lld:%02lld:%02lld", static_cast<long long>(d), static_cast<long long>(h),
                static_cast<long long>(m), static_cast<long long>(s));
  return buf;
}

std::string last_segment(std::string_view s) {
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  auto slash = s.rfind('/');
  return std::string(slash == std::string_view::npos ? s : s.substr(slash + 1));
}

// A path below a root must stay below it: relative, no "..", no newline.
bool escapes(std::string_view path) { return !stays_below(path); }

bool reserved_name(std::string_view name) {
  // batchai_: the job script's own variables, which the runtime reads.
  return name.starts_with("AZ_BATCHAI_") || name.starts_with("BATCHAI_") || name.starts_with("batchai_") ||
         name.starts_with("SLURM_") ||
         name == "TF_CONFIG" || name == "RANK" || name == "WORLD_SIZE" || name == "LOCAL_RANK" ||
         name == "MASTER_ADDR" || name == "MASTER_PORT";
}

class Planner {
 public:
  Planner(const JobSpec& spec, const JobIdentity& id, const ClusterBinding& cluster, const site::SiteConfig& site,
          const std::string& file, bool any_site = false)
      : spec_(spec), id_(id), cluster_(cluster.cluster), partition_max_(cluster.partition_max_seconds),
        cluster_qos_(cluster.qos), setup_task_(cluster.setup_task), site_(site), file_(file), any_site_(any_site) {}

  Result<JobPlan> run() {
    plan_.id = id_;
    plan_.tool_type = std::string(spec_.tool_type());
    plan_.tensorflow_grace_seconds = site_.tensorflow_grace_seconds;
    plan_.requeue = site_.requeue;
    plan_.checkpoint_signal_seconds = site_.checkpoint_signal_seconds;
    allocation();
    // The warning comes at most halfway through the job's time: a short
    // job would otherwise be told to stop as it starts.
    if (plan_.time_limit_minutes) {
      plan_.checkpoint_signal_seconds = static_cast<int>(
          std::min<std::int64_t>(plan_.checkpoint_signal_seconds, std::int64_t{plan_.time_limit_minutes} * 30));
    }
    paths_and_environment();
    mounts();
    container();
    toolkit();
    secrets();
    if (!errors_.empty()) {
      std::string all;
      for (const auto& e : errors_) all += (all.empty() ? "" : "\n") + e;
      return Error{all};
    }
    return std::move(plan_);
  }

 private:
  void error(const std::string& path, const std::string& message) {
    errors_.push_back(diag::one_line(file_ + ": " + path + ": " + message));
  }

  // The node count as allocation() clamped it. Everything sized by it
  // (processes, per-node tables) must use this one: a nodeCount over the
  // limit is already an error, but planning on with the file's 2^31 nodes
  // would take minutes and gigabytes before reporting it.
  int node_count() const { return static_cast<int>(plan_.nodes); }

  void allocation() {
    plan_.partition = cluster_.partition.empty() ? cluster_.name : cluster_.partition;
    if (spec_.node_count > 100000) error("properties.nodeCount", "expected at most 100000 nodes");
    plan_.nodes = static_cast<std::uint32_t>(std::clamp<std::int64_t>(spec_.node_count, 1, 100000));
    plan_.gpus_per_node = cluster_.gpus_per_node;
    plan_.gpu_type = cluster_.gpu_type;

    // The tighter of the site's cap and the partition's MaxTime. A limit the
    // user asked for beyond it would pend forever in Slurm, so it is an
    // error here; Batch AI's one-week default is quietly capped.
    std::optional<std::int64_t> cap = cluster_.max_wall_clock_seconds;
    if (partition_max_ && (!cap || *partition_max_ < *cap)) cap = partition_max_;
    std::int64_t seconds = spec_.max_wall_clock_seconds;
    if (cap && seconds > *cap) {
      if (spec_.max_wall_clock_given) {
        error("properties.constraints.maxWallClockTime",
              format_duration(seconds) + " is over the limit of cluster " + cluster_.name + " (" +
                  format_duration(*cap) + ")");
      }
      seconds = *cap;
    }
    plan_.time_limit_minutes = static_cast<std::uint32_t>(std::min<std::int64_t>((seconds + 59) / 60, 0xfffffffe));

    const site::PriorityMapping& p = spec_.scheduling_priority == Priority::low    ? site_.low
                                     : spec_.scheduling_priority == Priority::high ? site_.high
                                                                                   : site_.normal;
    // A cluster's own QOS wins: a job on a low-priority cluster must stay
    // preemptible, whatever priority it asks for. Its nice still applies.
    plan_.qos = cluster_qos_.empty() ? p.qos : cluster_qos_;
    plan_.nice = p.nice;
    if (!cluster_qos_.empty() && !p.qos.empty() && p.qos != cluster_qos_) {
      plan_.warnings.push_back(diag::one_line(
          file_ + ": properties.schedulingPriority: cluster " + cluster_.name + " is low-priority, so the job gets " +
          "its QOS \"" + cluster_qos_ + "\", not \"" + p.qos + "\""));
    }
    if (spec_.scheduling_priority == Priority::high && p.qos.empty() && !p.nice) {
      plan_.warnings.push_back(diag::one_line(file_ + ": properties.schedulingPriority: \"high\" maps to nothing on "
                                              "this site (no QOS configured in " + site_.source +
                                              "); the job runs at normal priority"));
    }
  }

  void env(std::string name, std::string value, bool expand = false) {
    plan_.environment.push_back(EnvVar{std::move(name), std::move(value), expand});
  }

  void paths_and_environment() {
    plan_.job_dir = site_.jobs_root + "/" + id_.segment();
    plan_.prolog_program = site_.prolog_program;
    plan_.runtime_dir = site_.job_runtime_dir;
    plan_.slurm_output = plan_.job_dir + "/slurm-%j.out";
    plan_.setup_task = setup_task_;

    // Batch AI's layout, rooted in the job directory ($BATCHAI_JOB_DIR, set
    // first by the script) so every node sees it.
    env("AZ_BATCHAI_MOUNT_ROOT", site_.mount_root);
    env("AZ_BATCHAI_JOB_MOUNT_ROOT", "$BATCHAI_JOB_DIR/mounts", true);
    env("AZ_BATCHAI_JOB_TEMP_DIR", site_.node_temp_root);
    env("AZ_BATCHAI_JOB_TEMP", "$AZ_BATCHAI_JOB_TEMP_DIR/batchai-job-$SLURM_JOB_ID", true);
    env("AZ_BATCHAI_SHARED_JOB_TEMP", "$BATCHAI_JOB_DIR/shared", true);
    env("AZ_BATCHAI_MPI_HOST_FILE", "$BATCHAI_JOB_DIR/hostfile", true);
    env("AZ_BATCHAI_NUM_GPUS", std::to_string(cluster_.gpus_per_node));

    // User variables are literal values; they come before the paths below
    // so that those may name them.
    for (std::size_t i = 0; i < spec_.environment_variables.size(); ++i) {
      const auto& v = spec_.environment_variables[i];
      if (reserved_name(v.name)) {
        error("properties.environmentVariables[" + std::to_string(i) + "].name",
              "\"" + v.name + "\" is set by batchai for every job; choose another name");
      }
      env(v.name, v.value);
    }
    for (std::size_t i = 0; i < spec_.secrets.size(); ++i) {
      if (reserved_name(spec_.secrets[i].name)) {
        error("properties.secrets[" + std::to_string(i) + "].name",
              "\"" + spec_.secrets[i].name + "\" is set by batchai for every job; choose another name");
      }
    }

    const std::string& prefix = spec_.std_out_err_path_prefix;
    if (prefix.find('\n') != std::string::npos) {
      error("properties.stdOutErrPathPrefix", "expected a path, got a value with a newline");
    }
    env("AZ_BATCHAI_STDOUTERR_DIR", prefix + "/" + id_.segment() + "/stdouterr", true);
    for (const auto& in : spec_.input_directories) env("AZ_BATCHAI_INPUT_" + in.id, in.path, true);
    for (std::size_t i = 0; i < spec_.output_directories.size(); ++i) {
      const auto& out = spec_.output_directories[i];
      const std::string at = "properties.outputDirectories[" + std::to_string(i) + "]";
      if (!out.path_suffix.empty() && escapes(out.path_suffix)) {
        error(at + ".pathSuffix", "\"" + out.path_suffix + "\" escapes the job's outputs directory");
      }
      std::string path = out.path_prefix + "/" + id_.segment() + "/outputs";
      if (!out.path_suffix.empty()) path += "/" + out.path_suffix;
      env("AZ_BATCHAI_OUTPUT_" + out.id, path, true);
      plan_.output_variables.push_back("AZ_BATCHAI_OUTPUT_" + out.id);
    }
  }

  // Each job volume is matched to a directory the site already has, and
  // appears as a link (or the Prolog's bind mount) under
  // $AZ_BATCHAI_JOB_MOUNT_ROOT.
  void mount(site::Share::Kind kind, const std::string& name, const std::string& relative, std::string subdir,
             const std::string& at, std::string_view what, std::optional<unsigned> directory_mode = {}) {
    const auto normal = normal_relative(relative);
    if (!normal) {
      error(at + ".relativeMountPath", "\"" + relative + "\" " +
                                           (escapes(relative) ? "escapes $AZ_BATCHAI_JOB_MOUNT_ROOT"
                                                              : "names $AZ_BATCHAI_JOB_MOUNT_ROOT itself"));
      return;
    }
    if (!mount_paths_.insert(*normal).second) {
      error(at + ".relativeMountPath", "\"" + relative + "\" is used by another volume of this job");
    }
    if (!subdir.empty() && escapes(subdir)) {
      error(at + ".sourceDirectory", "\"" + subdir + "\" escapes the file server's export");
      return;
    }
    NodeVolume volume{*normal, "", directory_mode, ""};
    auto share = std::find_if(site_.shares.begin(), site_.shares.end(),
                              [&](const site::Share& s) { return s.kind == kind && s.name == name; });
    if (share != site_.shares.end()) {
      volume.source = subdir.empty() ? share->path : share->path + "/" + subdir;
    } else if (any_site_) {
      // Some site has it: what a share resolves to is the site's business.
    } else if (kind == site::Share::Kind::unmanaged_file_system) {
      // A mount command is the site's to allow, node by node, as Batch AI
      // ran it on each node: the job is created and fails there with a
      // MountError and its logs. Warned now so nobody waits for that.
      volume.refused = "the mountCommand \"" + name + "\" is not in this site's allowlist (the " +
                       "unmanagedFileSystem shares in " + site_.source + "); ask an admin to map it";
      plan_.warnings.push_back(diag::one_line(file_ + ": " + at + ": " + volume.refused +
                                              "; the job will fail with MountError"));
    } else {
      // A file share can also be one the user made with `batchai storage`
      // (the caller adds those to the site's shares before planning).
      const std::string own = kind == site::Share::Kind::azure_file_share
                                  ? "create it with `batchai storage share create -n " + name + "`, or "
                                  : "";
      error(at, "no " + std::string(what) + " named \"" + name + "\" on this site; " + own +
                    "an admin maps it to a directory under \"shares\" in " + site_.source);
      return;
    }
    plan_.volumes.push_back(std::move(volume));
  }

  // fileMode and directoryMode were CIFS mount options. Links and bind
  // mounts show the site's directory with its own modes; the directories
  // batchai-prolog makes on the way to a nested mount path take
  // directoryMode. fileMode has nothing to apply to, but a bad one is
  // still the user's mistake to hear about.
  std::optional<unsigned> modes(const AzureFileShare& s, const std::string& at) {
    if (!s.file_mode.empty() && !parse_mode(s.file_mode)) {
      error(at + ".fileMode", "\"" + s.file_mode + "\" is not an octal mode such as \"0644\"");
    }
    if (s.directory_mode.empty()) return std::nullopt;
    auto mode = parse_mode(s.directory_mode);
    if (!mode) error(at + ".directoryMode", "\"" + s.directory_mode + "\" is not an octal mode such as \"0755\"");
    return mode;
  }

  void mounts() {
    if (!spec_.mount_volumes) return;
    const auto& v = *spec_.mount_volumes;
    const std::string root = "properties.mountVolumes.";
    using K = site::Share::Kind;
    for (std::size_t i = 0; i < v.azure_file_shares.size(); ++i) {
      const auto& s = v.azure_file_shares[i];
      const std::string at = root + "azureFileShares[" + std::to_string(i) + "]";
      mount(K::azure_file_share, last_segment(s.azure_file_url), s.relative_mount_path, "", at, "Azure file share",
            modes(s, at));
    }
    for (std::size_t i = 0; i < v.azure_blob_file_systems.size(); ++i) {
      const auto& b = v.azure_blob_file_systems[i];
      mount(K::azure_blob_file_system, b.container_name, b.relative_mount_path, "",
            root + "azureBlobFileSystems[" + std::to_string(i) + "]", "blob container");
    }
    for (std::size_t i = 0; i < v.file_servers.size(); ++i) {
      const auto& f = v.file_servers[i];
      std::string subdir = f.source_directory;
      while (!subdir.empty() && subdir.front() == '/') subdir.erase(0, 1);
      mount(K::file_server, last_segment(f.file_server_id), f.relative_mount_path, subdir,
            root + "fileServers[" + std::to_string(i) + "]", "file server");
    }
    for (std::size_t i = 0; i < v.unmanaged_file_systems.size(); ++i) {
      const auto& u = v.unmanaged_file_systems[i];
      mount(K::unmanaged_file_system, u.mount_command, u.relative_mount_path, "",
            root + "unmanagedFileSystems[" + std::to_string(i) + "]", "unmanaged file system");
    }
  }

  void container() {
    if (!spec_.container_settings) return;
    const auto& c = *spec_.container_settings;
    const std::string at = "properties.containerSettings";
    // Refused on every site, also one that runs the job without its image:
    // what job validate refuses, no site may take (the fuzzer's invariant).
    const bool vault = c.credentials && !std::holds_alternative<std::string>(c.credentials->password);
    if (vault) {
      error(at + ".imageSourceRegistry.credentials.passwordSecretReference",
            "Key Vault references cannot be resolved on Slurm; give \"password\"");
      return;
    }
    if (site_.container_runtime == site::ContainerRuntime::none) {
      if (site_.allow_host_without_container) {
        plan_.warnings.push_back(diag::one_line(file_ + ": " + at + ": this site has no container runtime; running "
                                                "on the host without image " + c.image));
      } else {
        error(at, "this site has no container runtime (containers.runtime is \"none\" in " + site_.source +
                      "); remove containerSettings to run on the host");
      }
      return;
    }
    Container out;
    out.runtime = site_.container_runtime;
    out.shm_size = c.shm_size;
    // Registry host and image path, whether or not the image repeats the host.
    std::string host = c.server_url;
    while (!host.empty() && host.back() == '/') host.pop_back();
    if (auto scheme = host.find("://"); scheme != std::string::npos) host.erase(0, scheme + 3);
    std::string path = c.image;
    if (!host.empty() && path.starts_with(host + "/")) path.erase(0, host.size() + 1);
    if (site_.container_runtime == site::ContainerRuntime::pyxis) {
      // pyxis splits --container-mounts at ',' and ':'; a share path holding
      // one cannot be passed to it.
      for (const auto& v : plan_.volumes) {
        if (v.source.find_first_of(",:") != std::string::npos) {
          error(at, "pyxis cannot mount the share at \"" + v.source + "\" (it has a ',' or ':')");
        }
      }
      // enroot separates the registry with '#'.
      out.image = host.empty() ? path : host + "#" + path;
    } else {
      out.image = "docker://" + (host.empty() ? path : host + "/" + path);
    }
    if (c.credentials) {
      const auto* password = std::get_if<std::string>(&c.credentials->password);
      if (site_.container_runtime == site::ContainerRuntime::pyxis) {
        // enroot reads registry logins from a netrc-style file in
        // ENROOT_CONFIG_PATH; NGC also needs its token service.
        out.credentials_dir = plan_.job_dir + "/enroot";
        const std::string registry = host.empty() ? "registry-1.docker.io" : host;
        // netrc separates fields with blanks: one inside a field would
        // start a field of its own.
        const auto blank = [](const std::string& v) { return v.find_first_of(" \t\r\n") != std::string::npos; };
        if (blank(c.credentials->username) || blank(*password) || blank(registry)) {
          error(at + ".imageSourceRegistry.credentials",
                "enroot's credentials file cannot hold a username, password or server with blanks");
        }
        std::string content, shown;
        for (const std::string& machine : {registry, std::string(registry == "nvcr.io" ? "authn.nvidia.com" : "")}) {
          if (machine.empty()) continue;
          const std::string login = "machine " + machine + " login " + c.credentials->username + " password ";
          content += login + *password + "\n";
          shown += login + "********\n";
        }
        plan_.private_files.push_back(PrivateFile{out.credentials_dir + "/.credentials", content, shown});
        plan_.secret_values.push_back(*password);
      } else {
        registry_login_ = {c.credentials->username, *password};
      }
    }
    plan_.container = std::move(out);
  }

  // The toolkit's launch plan (slurm/toolkits/), then what every
  // per-process launch needs: the process count and the most on one node.
  void toolkit() {
    const int n = node_count();
    const std::string settings = "properties." + std::string(jobspec::toolkit_format(spec_.toolkit).key);
    LaunchBuilder builder(plan_, site_, cluster_, n, settings, file_, errors_);
    toolkit_launch(spec_.toolkit).plan(builder, spec_.toolkit);
    if (plan_.launch == Launch::per_process) {
      plan_.process_count = static_cast<int>(plan_.processes.size());
      int most = 1;
      std::vector<int> per_node(static_cast<std::size_t>(n), 0);
      for (const auto& p : plan_.processes) most = std::max(most, ++per_node[static_cast<std::size_t>(p.node)]);
      plan_.tasks_per_node = static_cast<std::uint16_t>(std::min(most, 65535));
    }
    if (spec_.job_preparation_command_line) plan_.job_preparation = spec_.job_preparation_command_line;
    // mpirun starts its daemons on the other nodes through srun, outside
    // any container pyxis would give them; apptainer runs inside mpirun's.
    if (plan_.launch == Launch::mpi && plan_.mpi_launcher == site::MpiLauncher::mpirun && plan_.container &&
        plan_.container->runtime == site::ContainerRuntime::pyxis) {
      error("properties.containerSettings",
            "this site starts MPI ranks with mpirun (mpiLauncher), which cannot start them in a pyxis container");
    }
  }

  // Secrets travel in a 0600 file the job sources and removes, never in the
  // script or the submitted environment (Slurm keeps both readable).
  void secrets() {
    std::string content, shown;
    for (std::size_t i = 0; i < spec_.secrets.size(); ++i) {
      const auto& s = spec_.secrets[i];
      const auto* value = std::get_if<std::string>(&s.value);
      if (!value) {
        error("properties.secrets[" + std::to_string(i) + "].valueSecretReference",
              "Key Vault references cannot be resolved on Slurm; give \"value\"");
        continue;
      }
      content += "export " + s.name + "=" + shell_quote(*value) + "\n";
      shown += "export " + s.name + "=********\n";
      plan_.secret_values.push_back(*value);
    }
    if (registry_login_) {
      content += "export APPTAINER_DOCKER_USERNAME=" + shell_quote(registry_login_->first) + "\n";
      content += "export APPTAINER_DOCKER_PASSWORD=" + shell_quote(registry_login_->second) + "\n";
      shown += "export APPTAINER_DOCKER_USERNAME=" + shell_quote(registry_login_->first) + "\n";
      shown += "export APPTAINER_DOCKER_PASSWORD=********\n";
      plan_.secret_values.push_back(registry_login_->second);
    }
    if (content.empty()) return;
    plan_.secrets_file = plan_.job_dir + "/secrets.env";
    plan_.private_files.push_back(PrivateFile{plan_.secrets_file, std::move(content), std::move(shown)});
  }

  const JobSpec& spec_;
  const JobIdentity& id_;
  const site::Cluster& cluster_;
  std::optional<std::int64_t> partition_max_;
  std::string cluster_qos_;
  std::optional<SetupTask> setup_task_;
  const site::SiteConfig& site_;
  const std::string& file_;
  bool any_site_ = false;  // check_job_anywhere: every share exists
  JobPlan plan_;
  std::vector<std::string> errors_;
  std::set<std::string> mount_paths_;
  std::optional<std::pair<std::string, std::string>> registry_login_;
};

}  // namespace

std::string JobIdentity::segment() const {
  return group + "/workspaces/" + workspace + "/experiments/" + experiment + "/jobs/" + job + "/" + uuid;
}

Result<JobPlan> plan_job(const JobSpec& spec, const JobIdentity& id, const ClusterBinding& cluster,
                         const site::SiteConfig& site, const std::string& file) {
  return Planner(spec, id, cluster, site, file).run();
}

Status check_job_anywhere(const JobSpec& spec, const std::string& file) {
  // A site with a container runtime, every share the job names and the
  // widest TensorFlow port range, and a cluster of 16-GPU nodes with no time
  // limit: whatever is refused here is refused everywhere.
  site::SiteConfig site;
  site.source = "any site";
  site.jobs_root = "/jobs";
  site.storage_root = "/storage";
  site.container_runtime = site::ContainerRuntime::apptainer;
  site.tensorflow_port_base = 1024;  // the lowest a site may set
  ClusterBinding cluster;
  cluster.cluster.name = cluster.cluster.partition = "any";
  cluster.cluster.gpus_per_node = 16;
  const JobIdentity id{"group", "workspace", "experiment", "job", "00000000-0000-0000-0000-000000000000"};
  auto plan = Planner(spec, id, cluster, site, file, true).run();
  if (!plan) return plan.error();
  return {};
}

}  // namespace batchai::slurm
