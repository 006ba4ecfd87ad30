// render_script: a JobPlan spelled out as the bash script Slurm runs on the
// job's first node. The script's order is Batch AI's per-job sequence
// (batchai.md §3): job directories and mounts, each node's preparation,
// the toolkit's processes, then the recorded exit.
//
// Values from job.json only ever appear through shell_quote or
// shell_quote_expanding. Command lines (Batch AI's commandLine, *Args and
// jobPreparation fields) are the only shell text, and they run inside
// `bash -c` with the quoted text as one argument.
#include <algorithm>
#include <set>
#include <sstream>
#include <string>

#include "io/version.h"
#include "slurm/job_plan.h"
#include "slurm/node_plan.h"
#include "slurm/shell_quote.h"

namespace batchai::slurm {
namespace {

constexpr const char* kNow = "$(date -u +%Y-%m-%dT%H:%M:%SZ)";

// The first process to fail records its exit code; noclobber keeps the
// first. The processes Slurm then stops (--kill-on-bad-exit) exit with 143,
// but the job's exit code is the failing process's, as in Batch AI.
constexpr const char* kFirstFailure =
    "[ \"$r\" -eq 0 ] || (set -C; echo \"$r\" >\"$BATCHAI_JOB_DIR/first_failure\") 2>/dev/null\n";

std::string env_line(const EnvVar& v) {
  return "export " + v.name + "=" + (v.expand ? shell_quote_expanding(v.value) : shell_quote(v.value)) + "\n";
}

// A file in the stdouterr directory, as one shell word.
std::string in_stdouterr(const std::string& name) { return "\"$AZ_BATCHAI_STDOUTERR_DIR\"/" + shell_quote(name); }

// A value in an #SBATCH line, as sbatch reads it: double quotes where it
// holds a blank, a quote, a backslash or a '#' (which starts a comment).
// A line break cannot be written at all, so it becomes a backslash-n.
std::string sbatch_value(const std::string& v) {
  if (!v.empty() && v.find_first_of(" \t\n\r\"'\\#") == std::string::npos) return v;
  std::string q = "\"";
  for (char c : v) {
    if (c == '\n' || c == '\r') {
      q += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + "\"";
}

// The allocation libslurm gets, as the #SBATCH lines sbatch reads, so that
// `sbatch job.sbatch` submits the same job as `job create`.
std::string sbatch_directives(const SubmitRequest& r) {
  std::ostringstream s;
  auto line = [&](const std::string& option, const std::string& value) {
    s << "#SBATCH --" << option << (value.empty() ? "" : "=" + sbatch_value(value)) << "\n";
  };
  if (!r.partition.empty()) line("partition", r.partition);
  line("nodes", std::to_string(r.nodes));
  if (r.tasks_per_node) line("ntasks-per-node", std::to_string(*r.tasks_per_node));
  if (r.exclusive) line("exclusive", "");
  if (r.time_limit_minutes) line("time", std::to_string(*r.time_limit_minutes));
  line("job-name", r.name);
  line("output", r.std_out);
  if (!r.std_err.empty()) line("error", r.std_err);
  line("chdir", r.work_dir);
  line("open-mode", "append");
  if (!r.qos.empty()) line("qos", r.qos);
  if (r.nice) line("nice", std::to_string(*r.nice));
  if (!r.gpus_per_node.empty()) line("gpus-per-node", r.gpus_per_node);
  if (!r.comment.empty()) line("comment", r.comment);
  return s.str();
}

int nodes_used(const JobPlan& plan) {
  int most = 0;
  for (const auto& p : plan.processes) most = std::max(most, p.node + 1);
  return std::max(most, 1);
}

class Script {
 public:
  explicit Script(const JobPlan& plan) : plan_(plan) {}

  std::string render() {
    header();
    record_functions();
    secrets();
    nodes();
    environment();
    tensorflow_hosts();
    container();
    node_setup();
    directories();
    main_step();
    return out_.str();
  }

 private:
  void header() {
    const auto& id = plan_.id;
    out_ << "#!/bin/bash\n" << sbatch_directives(submission(plan_, "", {}))
         << "# Batch AI job " << id.workspace << "/" << id.experiment << "/" << id.job << " (" << plan_.tool_type
         << "), written by batchai " << build::kVersion << ".\n"
         << "# Values from job.json are quoted; only its command lines run as shell text.\n"
         << "set -o pipefail\n\n";
  }

  // The job directory records start, end and exit code, so batchai can
  // report them after Slurm has forgotten the job. Each record is written
  // whole and renamed, so a reader never sees half of one.
  void record_functions() {
    out_ << "export BATCHAI_JOB_DIR=" << shell_quote(plan_.job_dir) << "\n"
         << "batchai_log() { printf '%s batchai: %s\\n' \"" << kNow << "\" \"$*\"; }\n"
         << "batchai_started=\"" << kNow << "\"\n"
         << "batchai_record() {\n"
         << "  local tmp=\"$BATCHAI_JOB_DIR/.execution.$$\"\n"
         << "  printf '%s\\n' \"slurm_job_id=$SLURM_JOB_ID\" \"start_time=$batchai_started\" \"$@\" >\"$tmp\" &&\n"
         << "    mv -f \"$tmp\" \"$BATCHAI_JOB_DIR/execution\"\n"
         << "}\n"
         // Node scratch goes when the job ends, as in Batch AI; outputs
         // and logs stay. Set once the nodes are set up, and unset by a
         // cancel, when Slurm runs no more steps.
         << "batchai_cleanup=\n"
         << "batchai_finish() {\n"
         << "  if [ -n \"$batchai_cleanup\" ]; then\n"
         << "    srun --nodes=" << plan_.nodes << " --ntasks=" << plan_.nodes
         << " --ntasks-per-node=1 --time=1 --output=/dev/null \"$batchai_prolog\" cleanup || "
            "batchai_log \"removing node scratch failed\"\n"
         << "  fi\n"
         << "  batchai_record \"end_time=" << kNow << "\" \"exit_code=$1\"\n"
         << "  batchai_log \"job ended with exit code $1\"\n"
         << "  exit \"$1\"\n"
         << "}\n"
         << "batchai_record || { batchai_log \"cannot write to $BATCHAI_JOB_DIR\"; exit 1; }\n"
         << "rm -f \"$BATCHAI_JOB_DIR/first_failure\"\n"
         << "batchai_log \"job $SLURM_JOB_ID started on $SLURM_JOB_NODELIST\"\n\n";
  }

  // Sourced and removed at once: the values live only in this job's
  // environment, never in the script or Slurm's copy of the environment.
  void secrets() {
    if (plan_.secrets_file.empty()) return;
    out_ << "# Secrets: a 0600 file written by batchai, sourced, then removed.\n"
         << "batchai_secrets=" << shell_quote(plan_.secrets_file) << "\n"
         << "if [ -r \"$batchai_secrets\" ]; then\n"
         << "  set -a; . \"$batchai_secrets\"; set +a\n"
         << "  rm -f \"$batchai_secrets\"\n"
         << "else\n"
         << "  batchai_log \"secrets file $batchai_secrets is missing (a rerun of this job? secrets are used once)\"\n"
         << "  batchai_finish 1\n"
         << "fi\n\n";
  }

  // Addresses come from Slurm's NodeAddr, which is what other nodes reach
  // (on a test cluster several node names share one host).
  void nodes() {
    out_ << "# The job's nodes, in Slurm's order, and their addresses.\n"
         << "mapfile -t batchai_nodes < <(scontrol show hostnames \"$SLURM_JOB_NODELIST\")\n"
         << "batchai_addrs=()\n"
         << "for batchai_n in \"${batchai_nodes[@]}\"; do\n"
         << "  batchai_a=$(scontrol show node -o \"$batchai_n\" 2>/dev/null | "
            "sed -n 's/.* NodeAddr=\\([^ ]*\\).*/\\1/p')\n"
         << "  batchai_addrs+=(\"${batchai_a:-$batchai_n}\")\n"
         << "done\n"
         << "export BATCHAI_NODES=\"${batchai_nodes[*]}\"\n"
         << "export MASTER_ADDR=\"${batchai_addrs[0]}\"\n"
         << "export MASTER_PORT=$((29500 + SLURM_JOB_ID % 1000))\n\n";
  }

  void environment() {
    out_ << "# Batch AI's environment (batchai.md section 2), then the job's own variables.\n";
    for (const auto& v : plan_.environment) out_ << env_line(v);
    // An OpenMPI hostfile, for jobs that start their own mpirun.
    const int slots = std::max<int>(plan_.gpus_per_node, plan_.tasks_per_node);
    out_ << "for batchai_a in \"${batchai_addrs[@]}\"; do printf '%s slots=" << slots
         << "\\n' \"$batchai_a\"; done >\"$AZ_BATCHAI_MPI_HOST_FILE.tmp\" &&\n"
         << "  mv -f \"$AZ_BATCHAI_MPI_HOST_FILE.tmp\" \"$AZ_BATCHAI_MPI_HOST_FILE\"\n\n";
  }

  static std::string address(const Process& p) {
    return "${batchai_addrs[" + std::to_string(p.node) + "]}:" + std::to_string(p.port);
  }

  // TensorFlow's cluster: Batch AI's PS/worker host lists, and a TF_CONFIG
  // whose worker 0 is the "chief" that tf.estimator expects (Batch AI's
  // "master" broke it, microsoftarchive/BatchAI#15).
  void tensorflow_hosts() {
    if (plan_.tool_type != "tensorflow") return;
    std::string ps, workers, chief, tf_workers;
    for (const auto& p : plan_.processes) {
      const std::string a = address(p);
      if (p.role == "ps") {
        ps += (ps.empty() ? "" : ",") + a;
      } else {
        workers += (workers.empty() ? "" : ",") + a;
        if (p.task_index == 0) {
          chief = "\\\"" + a + "\\\"";
        } else {
          tf_workers += std::string(tf_workers.empty() ? "" : ",") + "\\\"" + a + "\\\"";
        }
      }
    }
    std::string cluster = "{\\\"chief\\\":[" + chief + "]";
    if (!tf_workers.empty()) cluster += ",\\\"worker\\\":[" + tf_workers + "]";
    if (!ps.empty()) {
      std::string quoted;
      for (const auto& p : plan_.processes) {
        if (p.role == "ps") quoted += std::string(quoted.empty() ? "" : ",") + "\\\"" + address(p) + "\\\"";
      }
      cluster += ",\\\"ps\\\":[" + quoted + "]";
    }
    cluster += "}";
    out_ << "# TensorFlow: tasks and ports as Batch AI placed them.\n"
         << "export AZ_BATCHAI_PS_HOSTS=\"" << ps << "\"\n"
         << "export AZ_BATCHAI_WORKER_HOSTS=\"" << workers << "\"\n"
         << "export BATCHAI_TF_CLUSTER=\"" << cluster << "\"\n\n";
  }

  // The directories as they expanded on the node, for `job file list` and
  // `job file stream` on the login node. batchai-prolog made them.
  void directories() {
    out_ << "# Where the job's files are, for batchai on the login node.\n"
         << "{\n  printf 'stdouterr=%s\\n' \"$AZ_BATCHAI_STDOUTERR_DIR\"\n";
    for (const auto& v : plan_.output_variables) {
      out_ << "  printf '" << v.substr(std::string("AZ_BATCHAI_OUTPUT_").size()) << "=%s\\n' \"$" << v << "\"\n";
    }
    out_ << "} >\"$BATCHAI_JOB_DIR/.directories.$$\" && mv -f \"$BATCHAI_JOB_DIR/.directories.$$\" "
            "\"$BATCHAI_JOB_DIR/directories\"\n\n";
  }

  void container() {
    out_ << "# How each step runs: on the host, or in the job's container.\n"
         << "batchai_container=()\n"
         << "batchai_exec=()\n";
    if (!plan_.container) {
      out_ << "\n";
      return;
    }
    const Container& c = *plan_.container;
    // The container sees the job directory, the mounts and node scratch at
    // the same paths as the host, so every AZ_BATCHAI_* path stays valid.
    std::set<std::string> binds{plan_.job_dir};
    for (const auto& v : plan_.environment) {
      if (v.name == "AZ_BATCHAI_MOUNT_ROOT" || v.name == "AZ_BATCHAI_JOB_TEMP_DIR") binds.insert(v.value);
    }
    for (const auto& v : plan_.volumes) {
      if (!v.source.empty()) binds.insert(v.source);
    }
    std::string list;
    for (const auto& b : binds) {
      list += (list.empty() ? "" : ",") + b;
      if (c.runtime == site::ContainerRuntime::pyxis) list += ":" + b;
    }
    if (c.runtime == site::ContainerRuntime::pyxis) {
      if (!c.credentials_dir.empty()) out_ << "export ENROOT_CONFIG_PATH=" << shell_quote(c.credentials_dir) << "\n";
      // One named container per job: what jobPreparation installs is still
      // there for the main step, as in Batch AI's per-job container.
      out_ << "batchai_container=(--container-image=" << shell_quote(c.image)
           << " --container-name=batchai --container-mounts=" << shell_quote(list) << ")\n";
    } else {
      out_ << "batchai_exec=(apptainer exec" << (plan_.gpus_per_node > 0 ? " --nv" : "") << " --bind "
           << shell_quote(list) << " " << shell_quote(c.image) << ")\n";
    }
    if (!c.shm_size.empty()) {
      out_ << "batchai_log " << shell_quote("shmSize " + c.shm_size + ": containers here share the node's /dev/shm")
           << "\n";
    }
    out_ << "\n";
  }

  // Batch AI's per-node preparation. First batchai-prolog, on the host:
  // the job's directories and its volumes (--volume), logged to each
  // node's execution log, with the Batch AI error in errors/<node>.json if
  // it fails. Then jobPreparation, in the job's container where it has one;
  // either failing fails the job.
  void node_setup() {
    const std::string prolog = plan_.prolog_program.empty() ? "batchai-prolog" : plan_.prolog_program;
    // No --kill-on-bad-exit: each node finishes its own preparation and
    // records how it went, as Batch AI prepared nodes independently; one
    // node's failure must not turn another's into a kill with no record.
    const std::string each_node = "srun --nodes=" + std::to_string(plan_.nodes) +
                                  " --ntasks=" + std::to_string(plan_.nodes) + " --ntasks-per-node=1 ";
    out_ << "# Every node: directories and volumes (batchai-prolog).\n"
         << "batchai_prolog=" << shell_quote(prolog) << "\n"
         << "batchai_cleanup=1\n"
         << each_node << "\"$batchai_prolog\" setup --job-dir \"$BATCHAI_JOB_DIR\"";
    for (const auto& v : plan_.volumes) {
      out_ << " \\\n  " << (v.refused.empty() ? "--volume " + shell_quote(v.relative_path + "=" + v.source)
                                                : "--refused " + shell_quote(v.relative_path + "=" + v.refused));
      if (v.directory_mode) {
        out_ << " --directory-mode " << shell_quote(v.relative_path + "=" + mode_text(*v.directory_mode));
      }
    }
    out_ << "\n"
         << "batchai_rc=$?\n"
         << "if [ \"$batchai_rc\" -ne 0 ]; then\n"
         << "  batchai_log \"setting up the nodes failed; see $BATCHAI_JOB_DIR/errors and the execution logs in "
            "$AZ_BATCHAI_STDOUTERR_DIR\"\n"
         << "  batchai_finish \"$batchai_rc\"\n"
         << "fi\n\n";
    if (!plan_.job_preparation && !plan_.container) return;
    // In a container, the step's first act marks that the container
    // started on this node; a node left unmarked when the step fails is
    // the job's ContainerStartFailed, with the runtime's own words in
    // stderr-container-<node>.txt.
    std::string body =
        "log=\"$AZ_BATCHAI_STDOUTERR_DIR/execution-$SLURMD_NODENAME.log\"\n"
        "say() { printf '%s %s\\n' \"" + std::string(kNow) + "\" \"$*\" >>\"$log\"; }\n";
    if (plan_.container) {
      body += "mkdir -p \"$BATCHAI_JOB_DIR/containers\" && : >\"$BATCHAI_JOB_DIR/containers/$SLURMD_NODENAME\"\n"
              "say \"container started\"\n";
    }
    if (plan_.job_preparation) {
      // The error names the node and the file with the command's output;
      // both are plain words (Slurm node names), so printf makes valid JSON.
      body +=
          "say \"jobPreparation started\"\n"
          "bash -c " + shell_quote(*plan_.job_preparation) +
          " >>\"$AZ_BATCHAI_STDOUTERR_DIR/stdout-job_prep-$SLURMD_NODENAME.txt\""
          " 2>>\"$AZ_BATCHAI_STDOUTERR_DIR/stderr-job_prep-$SLURMD_NODENAME.txt\"\n"
          "rc=$?\n"
          "say \"jobPreparation ended with exit code $rc\"\n"
          "if [ \"$rc\" -ne 0 ]; then\n"
          "  mkdir -p \"$BATCHAI_JOB_DIR/errors\"\n"
          "  printf '{\"code\":\"JobPreparationFailed\",\"message\":\"jobPreparation exited with code %s on %s\","
          "\"details\":[{\"name\":\"node\",\"value\":\"%s\"},{\"name\":\"stderr\",\"value\":"
          "\"stderr-job_prep-%s.txt\"}]}\\n' \"$rc\" \"$SLURMD_NODENAME\" \"$SLURMD_NODENAME\" \"$SLURMD_NODENAME\" "
          ">\"$BATCHAI_JOB_DIR/errors/$SLURMD_NODENAME.json\"\n"
          "fi\n"
          "exit $rc\n";
    }
    const char* what = plan_.job_preparation ? "jobPreparation" : "starting the container";
    out_ << "# Every node: " << (plan_.container ? "the job's container" : "")
         << (plan_.container && plan_.job_preparation ? ", then " : "") << (plan_.job_preparation ? "jobPreparation" : "")
         << ".\n"
         << "batchai_node_setup=" << shell_quote(body) << "\n";
    if (plan_.container) out_ << "rm -rf \"$BATCHAI_JOB_DIR/containers\"\n";
    // The runtime's errors, per node. srun names files by node index (%n):
    // its %N is the host's name, which need not be Slurm's node name.
    out_ << each_node << "--output=/dev/null "
         << (plan_.container ? "--error=\"$AZ_BATCHAI_STDOUTERR_DIR/stderr-container-%n.txt\" " : "")
         << "\"${batchai_container[@]}\" \"${batchai_exec[@]}\" bash -c \"$batchai_node_setup\"\n"
         << "batchai_rc=$?\n";
    if (plan_.container) {
      out_ << "for batchai_i in \"${!batchai_nodes[@]}\"; do\n"
           << "  batchai_f=\"$AZ_BATCHAI_STDOUTERR_DIR/stderr-container-$batchai_i.txt\"\n"
           << "  if [ -s \"$batchai_f\" ]; then\n"
           << "    mv -f \"$batchai_f\" \"$AZ_BATCHAI_STDOUTERR_DIR/stderr-container-${batchai_nodes[$batchai_i]}.txt\"\n"
           << "  else\n"
           << "    rm -f \"$batchai_f\"\n"
           << "  fi\n"
           << "done\n";
    }
    out_ << "if [ \"$batchai_rc\" -ne 0 ]; then\n";
    if (plan_.container) {
      out_ << "  \"$batchai_prolog\" container-failed --job-dir \"$BATCHAI_JOB_DIR\" --image "
           << shell_quote(plan_.container->image) << " \"${batchai_nodes[@]/#/--node=}\"\n";
    }
    out_ << "  batchai_log \"" << what << " failed with exit code $batchai_rc; see $AZ_BATCHAI_STDOUTERR_DIR\"\n"
         << "  batchai_finish \"$batchai_rc\"\n"
         << "fi\n\n";
  }

  std::string mpi_step() {
    const std::string body =
        "export RANK=\"$SLURM_PROCID\" WORLD_SIZE=\"$SLURM_NTASKS\" LOCAL_RANK=\"$SLURM_LOCALID\"\n"
        "bash -c " + shell_quote(plan_.mpi_command) + "\n"
        "r=$?\n" + std::string(kFirstFailure) +
        "exit $r\n";
    const int nodes = std::min<int>(static_cast<int>(plan_.nodes), plan_.process_count);
    std::ostringstream s;
    s << "# " << plan_.process_count << " MPI rank(s), launched by Slurm (PMI: " << plan_.mpi_plugin << ").\n"
      << "batchai_rank=" << shell_quote(body) << "\n"
      << "srun --nodes=" << nodes << " --ntasks=" << plan_.process_count
      << " --ntasks-per-node=" << plan_.tasks_per_node << " --mpi=" << plan_.mpi_plugin
      << " --kill-on-bad-exit=1 --open-mode=append \\\n"
      << "  --output=" << in_stdouterr(plan_.mpi_out_name) << " --error=" << in_stdouterr(plan_.mpi_err_name)
      << " \\\n"
      << "  \"${batchai_container[@]}\" \"${batchai_exec[@]}\" bash -c \"$batchai_rank\" &\n";
    return s.str();
  }

  // One launcher per node starts that node's processes with their ranks and
  // output files; the first failure stops the node's other processes, and
  // --kill-on-bad-exit then stops the other nodes.
  std::string per_process_step() {
    const bool tf = plan_.tool_type == "tensorflow";
    // Each process runs in its own process group (set -m), so stopping it
    // stops everything it started. A process that fails records its exit
    // code and tells the launcher (USR1), which stops the others at once.
    std::string body =
        "set -m\n"
        "launcher=$$\n"
        "batchai_pids=()\n"
        "stop_all() { for p in \"${batchai_pids[@]}\"; do kill -TERM -- \"-$p\" 2>/dev/null; done; }\n"
        "trap stop_all USR1\n"
        "spawn() {\n"
        "  (\n"
        "    export RANK=\"$1\" LOCAL_RANK=\"$2\" AZ_BATCHAI_TASK_INDEX=\"$3\" WORLD_SIZE=" +
        std::to_string(plan_.process_count) + "\n";
    if (tf) {
      // Batch AI's worker 0 is the chief; other workers count from 0 in
      // TF_CONFIG's "worker" list.
      body +=
          "    if [ \"$4\" = ps ]; then type=ps; index=$3\n"
          "    elif [ \"$3\" = 0 ]; then type=chief; index=0\n"
          "    else type=worker; index=$(($3 - 1)); fi\n"
          "    export TF_CONFIG=\"{\\\"cluster\\\":$BATCHAI_TF_CLUSTER,\\\"task\\\":{\\\"type\\\":\\\"$type\\\","
          "\\\"index\\\":$index},\\\"environment\\\":\\\"cloud\\\"}\"\n";
    }
    body +=
        "    bash -c \"$8\" >>\"$AZ_BATCHAI_STDOUTERR_DIR/$6\" 2>>\"$AZ_BATCHAI_STDOUTERR_DIR/$7\"\n"
        "    r=$?\n"
        "    if [ \"$r\" -ne 0 ]; then\n"
        "      " + std::string(kFirstFailure) +
        "      kill -USR1 \"$launcher\" 2>/dev/null\n"
        "    fi\n"
        "    exit \"$r\"\n"
        "  ) &\n"
        "  batchai_pids+=($!)\n"
        "}\n"
        "node=0\n"
        "for n in $BATCHAI_NODES; do [ \"$n\" = \"$SLURMD_NODENAME\" ] && break; node=$((node + 1)); done\n"
        "case \"$node\" in\n";
    int current = -1;
    std::vector<const Process*> sorted;
    for (const auto& p : plan_.processes) sorted.push_back(&p);
    std::stable_sort(sorted.begin(), sorted.end(), [](const Process* a, const Process* b) { return a->node < b->node; });
    for (const Process* p : sorted) {
      if (p->node != current) {
        if (current >= 0) body += "  ;;\n";
        current = p->node;
        body += std::to_string(current) + ")\n";
      }
      body += "  spawn " + std::to_string(p->rank) + " " + std::to_string(p->local_rank) + " " +
              std::to_string(p->task_index) + " " + shell_quote(p->role) + " " + std::to_string(p->port) + " " +
              shell_quote(p->out_name) + " " + shell_quote(p->err_name) + " " + shell_quote(p->command) + "\n";
    }
    body +=
        "  ;;\n"
        "esac\n"
        // USR1 interrupts wait; wait again until each process is gone.
        "rc=0\n"
        "for p in \"${batchai_pids[@]}\"; do\n"
        "  while :; do wait \"$p\"; r=$?; [ \"$r\" -gt 128 ] && kill -0 \"$p\" 2>/dev/null || break; done\n"
        "  [ \"$r\" -eq 0 ] || [ \"$rc\" -ne 0 ] || rc=$r\n"
        "done\n"
        "exit $rc\n";
    const int nodes = nodes_used(plan_);
    std::ostringstream s;
    s << "# " << plan_.process_count << " process(es) on " << nodes << " node(s), one launcher per node.\n"
      << "# A file, not an argument: Linux caps one argument at 128 KiB, which a\n"
      << "# job of a few thousand processes would pass.\n"
      << "batchai_launcher=" << shell_quote(body) << "\n"
      << "printf '%s' \"$batchai_launcher\" >\"$BATCHAI_JOB_DIR/launcher.sh\" || batchai_finish 1\n"
      << "srun --nodes=" << nodes << " --ntasks=" << nodes << " --ntasks-per-node=1 --kill-on-bad-exit=1 "
      << "--nodelist=\"$(IFS=,; echo \"${batchai_nodes[*]:0:" << nodes << "}\")\" \\\n"
      << "  \"${batchai_container[@]}\" \"${batchai_exec[@]}\" bash \"$BATCHAI_JOB_DIR/launcher.sh\" &\n";
    return s.str();
  }

  // The step runs in the background so that the shell can act on scancel's
  // TERM (record the end) while it waits.
  void main_step() {
    out_ << (plan_.launch == Launch::mpi ? mpi_step() : per_process_step())
         << "batchai_step=$!\n"
         << "trap 'batchai_cleanup=; batchai_log \"terminated\"; kill -TERM \"$batchai_step\" 2>/dev/null; wait \"$batchai_step\"; "
            "batchai_finish 143' TERM\n"
         << "wait \"$batchai_step\"\n"
         << "batchai_rc=$?\n"
         << "if [ \"$batchai_rc\" -ne 0 ] && [ -s \"$BATCHAI_JOB_DIR/first_failure\" ]; then\n"
         << "  batchai_rc=$(cat \"$BATCHAI_JOB_DIR/first_failure\")\n"
         << "fi\n"
         << "srun --nodes=" << plan_.nodes << " --ntasks=" << plan_.nodes << " --ntasks-per-node=1 --output=/dev/null "
         << "rm -rf \"$AZ_BATCHAI_JOB_TEMP\" || true\n"
         << "batchai_finish \"$batchai_rc\"\n";
  }

  const JobPlan& plan_;
  std::ostringstream out_;
};

}  // namespace

std::string render_script(const JobPlan& plan) { return Script(plan).render(); }

SubmitRequest submission(const JobPlan& plan, std::string script, std::vector<std::string> environment) {
  SubmitRequest r;
  r.script = std::move(script);
  r.name = plan.id.job;
  r.partition = plan.partition;
  r.nodes = plan.nodes;
  r.tasks_per_node = plan.tasks_per_node;
  r.time_limit_minutes = plan.time_limit_minutes;
  r.exclusive = true;  // Batch AI jobs had their VMs to themselves
  r.work_dir = plan.job_dir;
  r.std_out = plan.slurm_output;
  r.environment = std::move(environment);
  r.qos = plan.qos;
  r.nice = plan.nice;
  r.comment = "batchai " + plan.id.workspace + "/" + plan.id.experiment + "/" + plan.id.job;
  if (plan.gpus_per_node > 0) {
    r.gpus_per_node = (plan.gpu_type.empty() ? "" : plan.gpu_type + ":") + std::to_string(plan.gpus_per_node);
  }
  // For a site whose Prolog and Epilog are batchai-prolog (Prolog mode),
  // which see neither the script nor its arguments.
  r.prolog_environment = {"BATCHAI_JOB_DIR=" + plan.job_dir};
  if (!plan.volumes.empty()) {
    r.prolog_environment.push_back("BATCHAI_VOLUMES=" + node_plan_json(NodePlan{plan.volumes}));
  }
  return r;
}

std::string dry_run_text(const JobPlan& plan, const SubmitRequest& r) {
  // The notes go after the #SBATCH lines, which sbatch reads only up to the
  // first line that is not a comment, so the text stays a script sbatch takes.
  std::string notes = "# batchai job create --dry-run: nothing was written or submitted.\n";
  for (const auto& f : plan.private_files) {
    notes += "# Private file (mode 0600), written before submitting: " + f.path + "\n";
    // The planner's masked rendering: the content itself never gets here.
    std::istringstream lines(f.shown);
    for (std::string line; std::getline(lines, line);) notes += "#   " + line + "\n";
  }
  std::string text = r.script;
  std::size_t at = text.find('\n');
  at = at == std::string::npos ? text.size() : at + 1;
  while (text.compare(at, 8, "#SBATCH ") == 0) {
    const auto end = text.find('\n', at);
    at = end == std::string::npos ? text.size() : end + 1;
  }
  text.insert(at, notes);
  // The script holds no secret by construction; this catches a user who
  // pasted one into a command line. Short secrets are left alone: they
  // would mask ordinary words of the script.
  return mask_secrets(std::move(text), plan, 6);
}

std::string mask_secrets(std::string text, const JobPlan& plan, std::size_t min_length) {
  auto mask = [&](const std::string& secret) {
    if (secret.empty() || secret.size() < min_length) return;
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 8)) {
      text.replace(at, secret.size(), "********");
    }
  };
  // The quoted form first: the secrets file holds values shell-quoted.
  for (const auto& secret : plan.secret_values) mask(shell_quote(secret));
  for (const auto& secret : plan.secret_values) mask(secret);
  return text;
}

}  // namespace batchai::slurm
