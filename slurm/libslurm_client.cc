// slurm::Client over libslurm. The only translation unit that includes
// <slurm/slurm.h>; version-specific code sits behind SLURM_VERSION_NUMBER.
#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>
#include <slurm/slurmdb.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <set>

#include "slurm/client.h"

// 26.05 changed slurm_load_job/slurm_kill_job to take slurm_step_id_t and its
// compatibility macros are C-only (_Generic); port this file when a site
// needs it. 21.08 is the first release with slurm_init().
#if SLURM_VERSION_NUMBER < SLURM_VERSION_NUM(21, 8, 0) || SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(26, 5, 0)
#error "libslurm_client.cc supports Slurm 21.08 to 25.11"
#endif

// libslurm exports this (slurm_protocol_defs.c, aliased with the slurm_
// prefix) but 22.05's slurm.h does not declare it; later headers may, and an
// identical redeclaration is harmless.
extern "C" const char* slurm_job_reason_string(enum job_state_reason inx);

namespace batchai::slurm {
namespace {

std::string last_error() {
  int e = slurm_get_errno();
  const char* text = slurm_strerror(e);
  return text ? text : "unknown Slurm error " + std::to_string(e);
}

std::string str(const char* s) { return s ? s : ""; }

// The CPUs of `n` that jobs hold now. Slurm 22.05 keeps them in the select
// plugin's data, read as sinfo reads them; later releases may also carry
// them in node_info_t itself (check slurm.h before relying on it).
std::uint32_t allocated_cpus(const node_info_t& n) {
#if SLURM_VERSION_NUMBER < SLURM_VERSION_NUM(23, 11, 0)
  std::uint16_t alloc = 0;
  if (slurm_get_select_nodeinfo(n.select_nodeinfo, SELECT_NODEDATA_SUBCNT, NODE_STATE_ALLOCATED, &alloc) !=
      SLURM_SUCCESS) {
    return 0;
  }
  return alloc;
#else
  return n.alloc_cpus;
#endif
}

std::vector<std::string> expand_hostlist(const char* expression) {
  std::vector<std::string> names;
  if (!expression || !*expression) return names;
  hostlist_t list = slurm_hostlist_create(expression);
  if (!list) return names;
  while (char* host = slurm_hostlist_shift(list)) {
    names.emplace_back(host);
    std::free(host);
  }
  slurm_hostlist_destroy(list);
  return names;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) parts.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return parts;
}

JobState job_state(uint32_t raw) {
  // A requeue shows as the flag over the attempt's end (NODE_FAIL, PREEMPTED
  // or COMPLETING) until the job is PENDING again: that end is not final.
  if (raw & (JOB_REQUEUE | JOB_REQUEUE_HOLD | JOB_REQUEUE_FED)) return JobState::requeued;
  if (raw & JOB_COMPLETING) return JobState::completing;
  switch (raw & JOB_STATE_BASE) {
    case JOB_PENDING: return JobState::pending;
    case JOB_RUNNING: return JobState::running;
    case JOB_SUSPENDED: return JobState::suspended;
    case JOB_COMPLETE: return JobState::completed;
    case JOB_CANCELLED: return JobState::cancelled;
    case JOB_FAILED: return JobState::failed;
    case JOB_TIMEOUT: return JobState::timeout;
    case JOB_NODE_FAIL: return JobState::node_fail;
    case JOB_PREEMPTED: return JobState::preempted;
    case JOB_BOOT_FAIL: return JobState::boot_fail;
    case JOB_DEADLINE: return JobState::deadline;
    case JOB_OOM: return JobState::out_of_memory;
  }
  return JobState::failed;
}

NodeState node_base_state(uint32_t raw) {
  switch (raw & NODE_STATE_BASE) {
    case NODE_STATE_DOWN: return NodeState::down;
    case NODE_STATE_IDLE: return NodeState::idle;
    case NODE_STATE_ALLOCATED: return NodeState::allocated;
    case NODE_STATE_MIXED: return NodeState::mixed;
    case NODE_STATE_FUTURE: return NodeState::future;
    case NODE_STATE_ERROR: return NodeState::error;
  }
  return NodeState::unknown;
}

// A wait(2) status, as Slurm keeps exit codes, into exit code or signal.
void set_exit(JobInfo& info, std::uint32_t raw) {
  const int status = static_cast<int>(raw);
  if (WIFSIGNALED(status)) {
    info.signal = WTERMSIG(status);
  } else {
    info.exit_code = WEXITSTATUS(status);
  }
}

JobInfo to_job_info(const slurmdb_job_rec_t& j) {
  JobInfo info;
  info.id = j.jobid;
  info.name = str(j.jobname);
  info.user = str(j.user);
  info.partition = str(j.partition);
  info.state = job_state(j.state);
  if (j.exitcode != NO_VAL) set_exit(info, j.exitcode);
  info.node_count = j.alloc_nodes;
  info.nodes = str(j.nodes);
  info.node_names = expand_hostlist(j.nodes);
  info.submit_time = j.submit;
  info.start_time = j.start;
  info.end_time = j.end;
  info.time_limit_minutes = (j.timelimit == INFINITE || j.timelimit == NO_VAL) ? 0 : j.timelimit;
  info.work_dir = str(j.work_dir);
  return info;
}

JobInfo to_job_info(const slurm_job_info_t& j) {
  JobInfo info;
  info.id = j.job_id;
  info.name = str(j.name);
  info.user = str(j.user_name);
  info.partition = str(j.partition);
  info.state = job_state(j.job_state);
  info.reason = str(slurm_job_reason_string(static_cast<job_state_reason>(j.state_reason)));
  if (j.exit_code != NO_VAL) set_exit(info, j.exit_code);
  info.node_count = j.num_nodes;
  info.nodes = str(j.nodes);
  info.node_names = expand_hostlist(j.nodes);
  info.submit_time = j.submit_time;
  // Slurm reports an expected start time for pending jobs; only a job that
  // has run has a real one.
  info.start_time = info.state == JobState::pending ? 0 : j.start_time;
  info.end_time = is_final(info.state) || info.state == JobState::completing ? j.end_time : 0;
  info.time_limit_minutes = (j.time_limit == INFINITE || j.time_limit == NO_VAL) ? 0 : j.time_limit;
  info.work_dir = str(j.work_dir);
  info.std_out = str(j.std_out);
  info.std_err = str(j.std_err);
  info.restart_count = j.restart_cnt;
  info.preempt_time = j.preempt_time;
  return info;
}

class LibslurmClient final : public Client {
 public:
  Result<JobId> submit(const SubmitRequest& r) override {
    if (r.environment.empty()) return Error{"submit: a batch job needs at least one environment variable"};
    if (!r.script.starts_with("#!")) return Error{"submit: the batch script must start with '#!'"};

    // libslurm takes non-const char*; keep writable copies alive for the call.
    std::string script = r.script, name = r.name, partition = r.partition, work_dir = r.work_dir,
                std_out = r.std_out, std_err = r.std_err, qos = r.qos, comment = r.comment;
    std::string gpus = r.gpus_per_node.empty() ? "" : "gres:gpu:" + r.gpus_per_node;
    std::vector<std::string> env_copy = r.environment;
    std::vector<char*> env;
    for (auto& e : env_copy) env.push_back(e.data());
    auto cstr = [](std::string& s) { return s.empty() ? nullptr : s.data(); };

    job_desc_msg_t d;
    slurm_init_job_desc_msg(&d);
    d.script = script.data();
    d.name = cstr(name);
    d.partition = cstr(partition);
    d.work_dir = cstr(work_dir);
    d.std_out = cstr(std_out);
    d.std_err = cstr(std_err);
    d.qos = cstr(qos);
    d.comment = cstr(comment);
    d.tres_per_node = cstr(gpus);
    d.min_nodes = d.max_nodes = r.nodes;
    if (r.tasks) d.num_tasks = *r.tasks;
    if (r.tasks_per_node) d.ntasks_per_node = *r.tasks_per_node;
    if (r.time_limit_minutes) d.time_limit = *r.time_limit_minutes;
    if (r.exclusive) d.shared = JOB_SHARED_NONE;
    if (r.hold) d.priority = 0;  // as sbatch --hold: held until released
    if (r.nice) d.nice = static_cast<uint32_t>(NICE_OFFSET + *r.nice);
    if (r.requeue) d.requeue = *r.requeue ? 1 : 0;
    if (r.warn_seconds) {
      // sbatch --signal=B:USR1@N: to the batch shell only, which passes it
      // on to the job's processes (share/batchai/job-runtime.sh).
      d.warn_signal = SIGUSR1;
      d.warn_time = r.warn_seconds;
      d.warn_flags = KILL_JOB_BATCH;
    }
    d.environment = env.data();
    d.env_size = static_cast<uint32_t>(env.size());
    std::vector<std::string> spank_copy = r.prolog_environment;
    std::vector<char*> spank;
    for (auto& e : spank_copy) spank.push_back(e.data());
    if (!spank.empty()) {
      d.spank_job_env = spank.data();
      d.spank_job_env_size = static_cast<uint32_t>(spank.size());
    }
    d.user_id = getuid();
    d.group_id = getgid();
    // A requeued job restarts its script; append keeps the first attempt's
    // output instead of truncating it (docs/job-translation.md, "The job directory").
    d.open_mode = OPEN_MODE_APPEND;

    submit_response_msg_t* resp = nullptr;
    if (slurm_submit_batch_job(&d, &resp) != SLURM_SUCCESS) {
      return Error{"submit: " + last_error()};
    }
    JobId id = resp->job_id;
    slurm_free_submit_response_response_msg(resp);
    return id;
  }

  Result<std::optional<JobInfo>> job(JobId id) override {
    job_info_msg_t* msg = nullptr;
    if (slurm_load_job(&msg, id, SHOW_DETAIL) != SLURM_SUCCESS) {
      if (slurm_get_errno() == ESLURM_INVALID_JOB_ID) return std::optional<JobInfo>{};
      return Error{"job " + std::to_string(id) + ": " + last_error()};
    }
    std::optional<JobInfo> info;
    if (msg->record_count > 0) info = to_job_info(msg->job_array[0]);
    slurm_free_job_info_msg(msg);
    return info;
  }

  // The rare path (a purged job whose script left no end), so the cost of
  // asking the controller which accounting it uses is paid only here.
  Result<std::optional<JobInfo>> accounted_job(JobId id) override {
    slurm_conf_t* conf = nullptr;
    if (slurm_load_ctl_conf(0, &conf) != SLURM_SUCCESS) return Error{"accounting: " + last_error()};
    const bool dbd = conf->accounting_storage_type &&
                     std::string_view(conf->accounting_storage_type) == "accounting_storage/slurmdbd";
    const std::string cluster = str(conf->cluster_name);
    slurm_free_ctl_conf(conf);
    if (!dbd) return std::optional<JobInfo>{};

    std::uint16_t flags = 0;
    void* db = slurmdb_connection_get(&flags);
    if (!db) return Error{"accounting: cannot reach slurmdbd: " + last_error()};
    // Lists without destructors: their items live on this stack.
    slurm_selected_step_t step{};
    step.array_task_id = NO_VAL;
    step.het_job_offset = NO_VAL;
    step.step_id.job_id = id;
    step.step_id.step_id = NO_VAL;
    step.step_id.step_het_comp = NO_VAL;
    List steps = slurm_list_create(nullptr);
    slurm_list_append(steps, &step);
    List clusters = slurm_list_create(nullptr);
    slurm_list_append(clusters, const_cast<char*>(cluster.c_str()));
    slurmdb_job_cond_t cond{};
    cond.step_list = steps;
    cond.cluster_list = clusters;
    cond.flags = JOBCOND_FLAG_NO_STEP | JOBCOND_FLAG_NO_TRUNC;
    // NOTSET means "any": zero would match only jobs with no flags.
    cond.db_flags = SLURMDB_JOB_FLAG_NOTSET;
    List jobs = slurmdb_jobs_get(db, &cond);
    const int err = slurm_get_errno();
    slurm_list_destroy(steps);
    slurm_list_destroy(clusters);
    std::optional<JobInfo> found;
    if (jobs) {
      // A requeued job has one record per run; the last is the one that ended.
      ListIterator it = slurm_list_iterator_create(jobs);
      while (auto* rec = static_cast<slurmdb_job_rec_t*>(slurm_list_next(it))) {
        if (rec->jobid == id) found = to_job_info(*rec);
      }
      slurm_list_iterator_destroy(it);
      slurm_list_destroy(jobs);
    }
    slurmdb_connection_close(&db);
    if (!jobs) return Error{"accounting: job " + std::to_string(id) + ": " + slurm_strerror(err)};
    return found;
  }

  Status cancel(JobId id) override {
    if (slurm_kill_job(id, SIGKILL, 0) != SLURM_SUCCESS) {
      int e = slurm_get_errno();
      // Cancelling a job that already ended is not an error for the caller.
      if (e == ESLURM_ALREADY_DONE) return {};
      return Error{"cancel " + std::to_string(id) + ": " + last_error()};
    }
    return {};
  }

  // As `scontrol release`: an infinite priority asks the controller to
  // recompute it, which lifts a hold.
  Status release(JobId id) override {
    job_desc_msg_t d;
    slurm_init_job_desc_msg(&d);
    d.job_id = id;
    d.priority = INFINITE;
    if (slurm_update_job(&d) != SLURM_SUCCESS) return Error{"release " + std::to_string(id) + ": " + last_error()};
    return {};
  }

  Result<std::vector<NodeInfo>> nodes() override {
    node_info_msg_t* msg = nullptr;
    // SHOW_DETAIL: the GRES in use (gres_used) too, as `scontrol -d` shows it.
    if (slurm_load_node(0, &msg, SHOW_ALL | SHOW_DETAIL) != SLURM_SUCCESS) return Error{"nodes: " + last_error()};
    // A node's "partitions" is empty until filled from the partition table,
    // as scontrol does before showing nodes.
    partition_info_msg_t* parts = nullptr;
    if (slurm_load_partitions(0, &parts, SHOW_ALL) != SLURM_SUCCESS) {
      slurm_free_node_info_msg(msg);
      return Error{"nodes: " + last_error()};
    }
    slurm_populate_node_partitions(msg, parts);
    slurm_free_partition_info_msg(parts);
    // Node states do not say that a job's Prolog runs there; the job does,
    // as its reason (a running job waiting on Prolog) or its CONFIGURING flag.
    job_info_msg_t* jobs = nullptr;
    if (slurm_load_jobs(0, &jobs, SHOW_ALL) != SLURM_SUCCESS) {
      slurm_free_node_info_msg(msg);
      return Error{"nodes: " + last_error()};
    }
    std::set<std::string> preparing;
    for (uint32_t i = 0; i < jobs->record_count; ++i) {
      const slurm_job_info_t& j = jobs->job_array[i];
      const bool running = (j.job_state & JOB_STATE_BASE) == JOB_RUNNING;
      if (running && (j.state_reason == WAIT_PROLOG || (j.job_state & JOB_CONFIGURING))) {
        for (auto& n : expand_hostlist(j.nodes)) preparing.insert(std::move(n));
      }
    }
    slurm_free_job_info_msg(jobs);
    std::vector<NodeInfo> out;
    for (uint32_t i = 0; i < msg->record_count; ++i) {
      const node_info_t& n = msg->node_array[i];
      if (!n.name) continue;  // hidden or future nodes have no record
      NodeInfo info;
      info.name = n.name;
      info.state = node_base_state(n.node_state);
      info.drain = n.node_state & NODE_STATE_DRAIN;
      info.completing = n.node_state & NODE_STATE_COMPLETING;
      info.not_responding = n.node_state & NODE_STATE_NO_RESPOND;
      info.powering_up = n.node_state & NODE_STATE_POWERING_UP;
      info.powered_down = n.node_state & NODE_STATE_POWERED_DOWN;
      info.failing = n.node_state & NODE_STATE_FAIL;
      info.preparing_job = preparing.contains(info.name);
      info.reason = str(n.reason);
      info.cpus = n.cpus;
      info.alloc_cpus = allocated_cpus(n);
      info.gres = str(n.gres);
      info.gres_used = str(n.gres_used);
      info.partitions = split_commas(str(n.partitions));
      out.push_back(std::move(info));
    }
    slurm_free_node_info_msg(msg);
    return out;
  }

  Result<std::vector<PartitionInfo>> partitions() override {
    partition_info_msg_t* msg = nullptr;
    if (slurm_load_partitions(0, &msg, SHOW_ALL) != SLURM_SUCCESS) return Error{"partitions: " + last_error()};
    std::vector<PartitionInfo> out;
    for (uint32_t i = 0; i < msg->record_count; ++i) {
      const partition_info_t& p = msg->partition_array[i];
      PartitionInfo info;
      info.name = str(p.name);
      info.is_default = p.flags & PART_FLAG_DEFAULT;
      info.up = p.state_up == PARTITION_UP;
      info.nodes = str(p.nodes);
      info.node_names = expand_hostlist(p.nodes);
      info.total_nodes = p.total_nodes;
      if (p.max_time != INFINITE && p.max_time != NO_VAL) info.max_time_minutes = p.max_time;
      if (p.max_nodes != INFINITE && p.max_nodes != NO_VAL) info.max_nodes = p.max_nodes;
      out.push_back(std::move(info));
    }
    slurm_free_partition_info_msg(msg);
    return out;
  }
};

}  // namespace

Result<std::unique_ptr<Client>> connect_libslurm() {
  // libslurm calls fatal() (and so exit) when it cannot read its config;
  // check first so the caller gets an error it can report.
  const char* env = std::getenv("SLURM_CONF");
  std::string conf = env && *env ? env : "/etc/slurm/slurm.conf";
  if (access(conf.c_str(), R_OK) != 0) {
    return Error{"cannot read the Slurm configuration " + conf + ": " + std::strerror(errno) +
                 (env ? "" : " (set SLURM_CONF, or start a local cluster: localcluster up)")};
  }
  static bool initialised = false;
  if (!initialised) {
    slurm_init(nullptr);
    initialised = true;
  }
  return std::unique_ptr<Client>(new LibslurmClient());
}

std::string libslurm_version() {
  return std::to_string(SLURM_VERSION_MAJOR(SLURM_VERSION_NUMBER)) + "." +
         (SLURM_VERSION_MINOR(SLURM_VERSION_NUMBER) < 10 ? "0" : "") +
         std::to_string(SLURM_VERSION_MINOR(SLURM_VERSION_NUMBER)) + "." +
         std::to_string(SLURM_VERSION_MICRO(SLURM_VERSION_NUMBER));
}

}  // namespace batchai::slurm
