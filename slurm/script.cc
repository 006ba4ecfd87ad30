// render_script: a JobPlan spelled out as the bash script Slurm runs on the
// job's first node. The script holds only the job's data: its allocation as
// #SBATCH lines, its paths, environment, container, launch table and command
// lines. The steps, in Batch AI's per-job order (job directories and
// volumes, each node's preparation, the toolkit's processes, the recorded
// exit), are the job runtime's (share/batchai/job-runtime.sh), which the
// script sources by the path of the version it was written against. See
// docs/job-translation.md.
//
// Values from job.json only ever appear through shell_quote or
// shell_quote_expanding. Command lines (Batch AI's commandLine, *Args and
// jobPreparation fields) are the only shell text: they are quoted once,
// as values, and the runtime runs each with `bash -c`.
#include <algorithm>
#include <set>
#include <sstream>
#include <string>

#include "base/version.h"
#include "slurm/job_plan.h"
#include "slurm/node_plan.h"
#include "slurm/shell_quote.h"

#ifndef BATCHAI_RUNTIME_VERSION
#error "BATCHAI_RUNTIME_VERSION comes from share/batchai/job-runtime.sh, through CMake"
#endif
#ifndef BATCHAI_RUNTIME_DIR
#define BATCHAI_RUNTIME_DIR "/usr/local/share/batchai/runtime"
#endif

namespace batchai::slurm {
namespace {

std::string env_line(const EnvVar& v) {
  return "export " + v.name + "=" + (v.expand ? shell_quote_expanding(v.value) : shell_quote(v.value)) + "\n";
}

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
  if (r.requeue) line(*r.requeue ? "requeue" : "no-requeue", "");
  if (r.warn_seconds) line("signal", "B:USR1@" + std::to_string(r.warn_seconds));
  return s.str();
}

class Script {
 public:
  explicit Script(const JobPlan& plan) : plan_(plan) {}

  std::string render() {
    header();
    runtime();
    begin();
    environment();
    container();
    node_setup();
    plan_.launch == Launch::mpi ? mpi_step() : per_process_step();
    out_ << "batchai_run\n";
    return out_.str();
  }

 private:
  void header() {
    const auto& id = plan_.id;
    out_ << "#!/bin/bash\n" << sbatch_directives(submission(plan_, "", {}))
         << "# Batch AI job " << id.workspace << "/" << id.experiment << "/" << id.job << " (" << plan_.tool_type
         << "), written by batchai " << build::kVersion << ".\n"
         << "# The job's data; the batchai job runtime runs its steps (docs/job-translation.md).\n"
         << "# Values from job.json are quoted; only its command lines run as shell text.\n"
         << "# shellcheck disable=SC2034  # the runtime reads these variables\n";
  }

  // The runtime by its version's path, so a job submitted before an upgrade
  // still runs what it was written against.
  void runtime() {
    const std::string dir = plan_.runtime_dir.empty() ? BATCHAI_RUNTIME_DIR : plan_.runtime_dir;
    const std::string v = std::to_string(BATCHAI_RUNTIME_VERSION);
    out_ << "batchai_runtime=" << shell_quote(dir + "/" + v + "/job-runtime.sh") << "\n"
         << "[ -r \"$batchai_runtime\" ] || { echo \"batchai job: the job runtime $batchai_runtime is missing\" >&2; "
            "exit 1; }\n"
         << "# shellcheck source=/dev/null\n"
         << ". \"$batchai_runtime\"\n"
         << "[ \"$BATCHAI_RUNTIME_VERSION\" = " << v << " ] || { echo \"batchai job: $batchai_runtime is version "
         << "$BATCHAI_RUNTIME_VERSION; this job needs version " << v << "\" >&2; exit 1; }\n\n";
  }

  // The execution record, then the secrets: a 0600 file written by batchai,
  // sourced and removed; then the nodes and their addresses.
  void begin() {
    out_ << "# Start: the execution record in the job directory, the secrets file, the nodes.\n"
         << "export BATCHAI_JOB_DIR=" << shell_quote(plan_.job_dir) << "\n";
    if (!plan_.secrets_file.empty()) out_ << "batchai_secrets=" << shell_quote(plan_.secrets_file) << "\n";
    out_ << "batchai_begin\n\n";
  }

  void environment() {
    out_ << "# Batch AI's environment, then the job's own variables.\n";
    for (const auto& v : plan_.environment) out_ << env_line(v);
    out_ << "\n";
  }

  void container() {
    if (!plan_.container) {
      out_ << "# Every step runs on the host.\n"
           << "batchai_container=()\nbatchai_exec=()\n\n";
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
    out_ << "# Every step runs in the job's container.\n";
    if (c.runtime == site::ContainerRuntime::pyxis) {
      if (!c.credentials_dir.empty()) out_ << "export ENROOT_CONFIG_PATH=" << shell_quote(c.credentials_dir) << "\n";
      // One named container per job: what jobPreparation installs is still
      // there for the main step, as in Batch AI's per-job container.
      out_ << "batchai_container=(--container-image=" << shell_quote(c.image)
           << " --container-name=batchai --container-mounts=" << shell_quote(list) << ")\n"
           << "batchai_exec=()\n";
    } else {
      out_ << "batchai_container=()\n"
           << "batchai_exec=(apptainer exec" << (plan_.gpus_per_node > 0 ? " --nv" : "") << " --bind "
           << shell_quote(list) << " " << shell_quote(c.image) << ")\n";
    }
    out_ << "batchai_image=" << shell_quote(c.image) << "\n";
    if (!c.shm_size.empty()) out_ << "batchai_shm_size=" << shell_quote(c.shm_size) << "\n";
    out_ << "\n";
  }

  // What batchai-prolog sets up on every node (the job's directories and
  // its volumes), then jobPreparation, and the output directories that the
  // login node's `job file` commands list.
  void node_setup() {
    const std::string prolog = plan_.prolog_program.empty() ? "batchai-prolog" : plan_.prolog_program;
    const int slots = std::max<int>(plan_.gpus_per_node, plan_.tasks_per_node);
    out_ << "# Every node: batchai-prolog sets up the directories and volumes"
         << (plan_.job_preparation ? ", then jobPreparation runs" : "") << ".\n"
         << "batchai_node_count=" << plan_.nodes << "\n"
         << "batchai_slots=" << slots << "  # per node, in the MPI hostfile\n"
         << "batchai_prolog=" << shell_quote(prolog) << "\n"
         << "batchai_prolog_args=(";
    for (const auto& v : plan_.volumes) {
      out_ << "\n  " << (v.refused.empty() ? "--volume " + shell_quote(v.relative_path + "=" + v.source)
                                            : "--refused " + shell_quote(v.relative_path + "=" + v.refused));
      if (v.directory_mode) {
        out_ << " --directory-mode " << shell_quote(v.relative_path + "=" + mode_text(*v.directory_mode));
      }
    }
    out_ << (plan_.volumes.empty() ? ")\n" : "\n)\n");
    if (plan_.setup_task) setup_task(*plan_.setup_task);
    if (plan_.job_preparation) out_ << "batchai_job_preparation=" << shell_quote(*plan_.job_preparation) << "\n";
    out_ << "batchai_output_ids=(";
    const std::string prefix = "AZ_BATCHAI_OUTPUT_";
    for (std::size_t i = 0; i < plan_.output_variables.size(); ++i) {
      out_ << (i ? " " : "") << shell_quote(plan_.output_variables[i].substr(prefix.size()));
    }
    out_ << ")\n\n";
  }

  // The cluster's setup task: only a job on a cluster with one gets these
  // lines. Its output directory expands here, after the environment.
  void setup_task(const SetupTask& t) {
    out_ << "batchai_setup_task=" << shell_quote(t.command_line) << "  # the cluster's, before jobPreparation\n"
         << "batchai_setup_output=" << shell_quote_expanding(t.output_dir) << "\n"
         << "batchai_setup_env=(";
    for (std::size_t i = 0; i < t.environment.size(); ++i) {
      out_ << (i ? " " : "") << shell_quote(t.environment[i].name + "=" + t.environment[i].value);
    }
    out_ << ")\n";
  }

  void mpi_step() {
    const int nodes = std::min<int>(static_cast<int>(plan_.nodes), plan_.process_count);
    out_ << "# The main step: " << plan_.process_count << " MPI rank(s), launched by Slurm (PMI: "
         << plan_.mpi_plugin << "); each runs the command line.\n"
         << "batchai_mpi_step=(--nodes=" << nodes << " --ntasks=" << plan_.process_count
         << " --ntasks-per-node=" << plan_.tasks_per_node << " --mpi=" << shell_quote(plan_.mpi_plugin) << ")\n"
         << "batchai_mpi_out=" << shell_quote(plan_.mpi_out_name) << "\n"
         << "batchai_mpi_err=" << shell_quote(plan_.mpi_err_name) << "\n"
         << "batchai_mpi_command=" << shell_quote(plan_.mpi_command) << "\n";
    if (plan_.mpi_launcher == site::MpiLauncher::mpirun) {
      out_ << "batchai_mpi_launcher=mpirun  # the site's: Open MPI's launcher, on the first node\n"
           << "batchai_mpi_ranks=" << plan_.process_count << "\n";
    }
  }

  // The launch table: one row per process, which the launcher on each node
  // reads for its own rows. Command lines are listed once and named by
  // number, as most processes of a job share one.
  void per_process_step() {
    std::vector<std::string> commands;
    std::ostringstream rows;
    for (const auto& p : plan_.processes) {
      auto at = std::find(commands.begin(), commands.end(), p.command);
      if (at == commands.end()) at = commands.insert(at, p.command);
      rows << "\n  " << shell_quote(std::to_string(p.rank) + " " + std::to_string(p.node) + " " +
                                    std::to_string(p.local_rank) + " " + std::to_string(p.task_index) + " " +
                                    (p.role.empty() ? "-" : p.role) + " " + std::to_string(p.port) + " " +
                                    p.out_name + " " + p.err_name + " " +
                                    std::to_string(at - commands.begin()));
    }
    out_ << "# The main step: " << plan_.processes.size() << " process(es), started by a launcher on each node.\n"
         << "# rank node local-rank task-index role port stdout stderr command\n"
         << "batchai_processes=(" << rows.str() << "\n)\n"
         << "batchai_commands=(";
    for (std::size_t i = 0; i < commands.size(); ++i) {
      out_ << "\n  " << shell_quote(commands[i]) << "  # " << i;
    }
    out_ << "\n)\n";
    if (plan_.tool_type == "tensorflow") {
      out_ << "batchai_tensorflow=1  # the host lists, TF_CONFIG and the completion rule\n"
           << "batchai_tf_grace=" << plan_.tensorflow_grace_seconds << "  # seconds workers may run on after the chief\n";
    }
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
  r.requeue = plan.requeue;
  r.warn_seconds = static_cast<std::uint16_t>(plan.checkpoint_signal_seconds);
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
