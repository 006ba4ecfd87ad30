// plan_job: what a Batch AI job becomes on Slurm. Every decision about
// counts, placement, paths and environment is made here, as data, so the
// script renderer only spells the plan out.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "io/diag.h"
#include "slurm/job_plan.h"
#include "slurm/node_plan.h"
#include "slurm/shell_quote.h"

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
      : spec_(spec), id_(id), cluster_(cluster.cluster), partition_max_(cluster.partition_max_seconds), site_(site),
        file_(file), any_site_(any_site) {}

  Result<JobPlan> run() {
    plan_.id = id_;
    plan_.tool_type = std::string(spec_.tool_type());
    allocation();
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
    plan_.qos = p.qos;
    plan_.nice = p.nice;
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
    if (escapes(relative)) {
      error(at + ".relativeMountPath", "\"" + relative + "\" escapes $AZ_BATCHAI_JOB_MOUNT_ROOT");
      return;
    }
    if (!mount_paths_.insert(relative).second) {
      error(at + ".relativeMountPath", "\"" + relative + "\" is used by another volume of this job");
    }
    if (!subdir.empty() && escapes(subdir)) {
      error(at + ".sourceDirectory", "\"" + subdir + "\" escapes the file server's export");
      return;
    }
    NodeVolume volume{relative, "", directory_mode, ""};
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
      if (!password) {
        error(at + ".imageSourceRegistry.credentials.passwordSecretReference",
              "Key Vault references cannot be resolved on Slurm; give \"password\"");
      } else if (site_.container_runtime == site::ContainerRuntime::pyxis) {
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

  std::string python(const std::string& interpreter, const std::string& script, const std::string& args) const {
    std::string cmd = interpreter.empty() ? shell_quote(site_.python) : shell_quote_expanding(interpreter);
    cmd += " " + shell_quote_expanding(script);
    if (!args.empty()) cmd += " " + args;
    return cmd;
  }

  // processCount: by default one per node, as in Batch AI, or one per GPU
  // for the toolkits that run a rank per GPU (Horovod, custom MPI, CNTK,
  // Chainer). Not for Caffe, which drives a node's GPUs from one process,
  // nor for PyTorch, whose scripts get --world-size from the user.
  int count(const std::optional<std::int64_t>& given, const std::string& at, bool per_gpu = true) {
    if (given && *given > 1000000) {
      error(at, "expected at most 1000000 processes");
      return 1;
    }
    // Slurm refuses more tasks on a node than MAX_TASKS_PER_NODE (512 in
    // slurm.h); say so here, naming the field, rather than at submission.
    constexpr std::int64_t kMaxTasksPerNode = 512;
    const std::int64_t most = kMaxTasksPerNode * node_count();
    if (given && *given > most) {
      error(at, "expected at most 512 processes per node (" + std::to_string(most) + " on " +
                    std::to_string(node_count()) + " node(s)), got " + std::to_string(*given));
      return 1;
    }
    // One rank per GPU when the cluster has GPUs: Batch AI defaulted to one
    // per node, and its users had to write nodeCount x GPUs themselves for
    // Horovod; on a 1-GPU node the two agree.
    const int gpus = per_gpu ? std::max(1, cluster_.gpus_per_node) : 1;
    if (!given) return static_cast<int>(std::min<std::int64_t>(std::int64_t{node_count()} * gpus, most));
    if (per_gpu && cluster_.gpus_per_node > 0 && *given > std::int64_t{node_count()} * gpus) {
      plan_.warnings.push_back(diag::one_line(
          file_ + ": " + at + ": " + std::to_string(*given) + " processes on " + std::to_string(node_count()) +
          " node(s) of " + std::to_string(gpus) + " GPU(s): ranks will share GPUs"));
    }
    return static_cast<int>(*given);
  }

  // MPI toolkits: ranks spread evenly, whole blocks per node.
  void mpi(int ranks, std::string command) {
    plan_.launch = Launch::mpi;
    plan_.mpi_plugin = site_.mpi;
    plan_.process_count = ranks;
    plan_.mpi_command = std::move(command);
    plan_.mpi_out_name = "stdout.txt";
    plan_.mpi_err_name = "stderr.txt";
    const int nodes = std::min(node_count(), ranks);
    plan_.tasks_per_node = static_cast<std::uint16_t>(std::min((ranks + nodes - 1) / nodes, 65535));
  }

  // Rank r on node r / per_node: consecutive ranks share a node, so
  // LOCAL_RANK can pick a GPU.
  void per_rank(int ranks, const std::string& command, const std::string& file_tag) {
    const int nodes = std::min(node_count(), ranks);
    const int per_node = (ranks + nodes - 1) / nodes;
    for (int r = 0; r < ranks; ++r) {
      Process p;
      p.rank = r;
      p.node = r / per_node;
      p.local_rank = r % per_node;
      p.task_index = r;
      p.out_name = "stdout" + file_tag + (file_tag.empty() ? "" : std::to_string(r)) + ".txt";
      p.err_name = "stderr" + file_tag + (file_tag.empty() ? "" : std::to_string(r)) + ".txt";
      p.command = command;
      plan_.processes.push_back(std::move(p));
    }
  }

  void tensorflow(const TensorFlowSettings& tf) {
    const std::string at = "properties.tensorFlowSettings";
    const bool distributed = node_count() > 1 || tf.worker_count || tf.parameter_server_count;
    const int gpus = std::max(1, cluster_.gpus_per_node);
    int workers = 1, ps = 0;
    if (distributed) {
      workers = static_cast<int>(tf.worker_count.value_or(node_count()));
      ps = static_cast<int>(tf.parameter_server_count.value_or(1));
      if (tf.worker_count && *tf.worker_count > std::int64_t{node_count()} * gpus) {
        error(at + ".workerCount", "expected at most nodeCount x GPUs per node (" +
                                       std::to_string(std::int64_t{node_count()} * gpus) + "), got " +
                                       std::to_string(*tf.worker_count));
        return;
      }
      if (tf.parameter_server_count && *tf.parameter_server_count > node_count()) {
        error(at + ".parameterServerCount",
              "expected at most nodeCount (" + std::to_string(node_count()) + "), got " +
                  std::to_string(*tf.parameter_server_count));
        return;
      }
    }
    // Batch AI's placement: each role round-robin from the first node, PS
    // first; ports count up from 2222 on each node.
    std::vector<int> next_port(static_cast<std::size_t>(node_count()), site_.tensorflow_port_base);
    std::vector<int> next_local(static_cast<std::size_t>(node_count()), 0);
    auto add = [&](const std::string& role, int index, const std::string& args) {
      Process p;
      p.rank = static_cast<int>(plan_.processes.size());
      p.node = index % node_count();
      p.local_rank = next_local[static_cast<std::size_t>(p.node)]++;
      p.role = role;
      p.task_index = index;
      p.port = next_port[static_cast<std::size_t>(p.node)]++;
      const std::string tag = role == "ps" ? "-ps-" : "-wk-";
      p.out_name = "stdout" + tag + std::to_string(index) + ".txt";
      p.err_name = "stderr" + tag + std::to_string(index) + ".txt";
      p.command = python(tf.python_interpreter_path, tf.python_script_file_path, args);
      plan_.processes.push_back(std::move(p));
    };
    for (int i = 0; i < ps; ++i) add("ps", i, tf.parameter_server_command_line_args);
    for (int i = 0; i < workers; ++i) {
      add("worker", i, i == 0 ? tf.master_command_line_args : tf.worker_command_line_args);
    }
  }

  void toolkit() {
    const int n = node_count();
    std::visit(
        [&](const auto& t) {
          using T = std::decay_t<decltype(t)>;
          if constexpr (std::is_same_v<T, CustomToolkitSettings>) {
            plan_.launch = Launch::per_process;
            per_rank(1, t.command_line.empty() ? std::string(":") : t.command_line, "");
          } else if constexpr (std::is_same_v<T, CustomMpiSettings>) {
            mpi(count(t.process_count, "properties.customMpiSettings.processCount"), t.command_line);
          } else if constexpr (std::is_same_v<T, HorovodSettings>) {
            mpi(count(t.process_count, "properties.horovodSettings.processCount"),
                python(t.python_interpreter_path, t.python_script_file_path, t.command_line_args));
          } else if constexpr (std::is_same_v<T, ChainerSettings>) {
            mpi(count(t.process_count, "properties.chainerSettings.processCount"),
                python(t.python_interpreter_path, t.python_script_file_path, t.command_line_args));
          } else if constexpr (std::is_same_v<T, CntkSettings>) {
            std::string cmd;
            if (!t.config_file_path.empty()) {
              // BrainScript: the cntk executable reads its config file.
              cmd = "cntk configFile=" + shell_quote_expanding(t.config_file_path);
              if (!t.command_line_args.empty()) cmd += " " + t.command_line_args;
            } else {
              cmd = python(t.python_interpreter_path, t.python_script_file_path, t.command_line_args);
            }
            mpi(count(t.process_count, "properties.cntkSettings.processCount"), cmd);
          } else if constexpr (std::is_same_v<T, CaffeSettings>) {
            std::string cmd;
            if (!t.config_file_path.empty()) {
              cmd = "caffe train --solver=" + shell_quote_expanding(t.config_file_path);
              if (!t.command_line_args.empty()) cmd += " " + t.command_line_args;
            } else {
              cmd = python(t.python_interpreter_path, t.python_script_file_path, t.command_line_args);
            }
            mpi(count(t.process_count, "properties.caffeSettings.processCount", false), cmd);
          } else if constexpr (std::is_same_v<T, PyTorchSettings>) {
            const int ranks = count(t.process_count, "properties.pyTorchSettings.processCount", false);
            const std::string cmd = python(t.python_interpreter_path, t.python_script_file_path, t.command_line_args);
            if (!t.communication_backend.empty()) env("AZ_BATCHAI_PYTORCH_BACKEND", t.communication_backend);
            // TCP rendezvous on the master: file:// on a shared filesystem,
            // which Batch AI used, depends on its locking.
            env("AZ_BATCHAI_PYTORCH_INIT_METHOD", "tcp://$MASTER_ADDR:$MASTER_PORT", true);
            std::string backend = t.communication_backend;
            std::transform(backend.begin(), backend.end(), backend.begin(), ::tolower);
            if (backend == "mpi") {
              mpi(ranks, cmd);
            } else {
              plan_.launch = Launch::per_process;
              per_rank(ranks, cmd, "-");
            }
          } else if constexpr (std::is_same_v<T, Caffe2Settings>) {
            plan_.launch = Launch::per_process;
            per_rank(n, python(t.python_interpreter_path, t.python_script_file_path, t.command_line_args), "-");
          } else if constexpr (std::is_same_v<T, TensorFlowSettings>) {
            plan_.launch = Launch::per_process;
            tensorflow(t);
          }
        },
        spec_.toolkit);
    if (plan_.launch == Launch::per_process) {
      plan_.process_count = static_cast<int>(plan_.processes.size());
      int most = 1;
      std::vector<int> per_node(static_cast<std::size_t>(n), 0);
      for (const auto& p : plan_.processes) most = std::max(most, ++per_node[static_cast<std::size_t>(p.node)]);
      plan_.tasks_per_node = static_cast<std::uint16_t>(std::min(most, 65535));
    }
    if (spec_.job_preparation_command_line) plan_.job_preparation = spec_.job_preparation_command_line;
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
  // A site with a container runtime and every share the job names, and a
  // cluster of 16-GPU nodes with no time limit: whatever is refused here is
  // refused everywhere.
  site::SiteConfig site;
  site.source = "any site";
  site.jobs_root = "/jobs";
  site.storage_root = "/storage";
  site.container_runtime = site::ContainerRuntime::apptainer;
  ClusterBinding cluster;
  cluster.cluster.name = cluster.cluster.partition = "any";
  cluster.cluster.gpus_per_node = 16;  // the most any node has; the bound on TensorFlow workers per node
  const JobIdentity id{"group", "workspace", "experiment", "job", "00000000-0000-0000-0000-000000000000"};
  auto plan = Planner(spec, id, cluster, site, file, true).run();
  if (!plan) return plan.error();
  return {};
}

}  // namespace batchai::slurm
