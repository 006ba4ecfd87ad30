#include "frontend/commands/job_common.h"

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "frontend/commands/resource_args.h"

namespace batchai::frontend {
namespace {

namespace json = boost::json;

constexpr const char* kSubscription = "/subscriptions/local";

std::time_t parse_iso(const std::string& s) {
  std::tm tm{};
  if (!::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm)) return 0;
  return ::timegm(&tm);
}

state::ExecutionState state_of_slurm(slurm::JobState s) {
  using S = slurm::JobState;
  using E = state::ExecutionState;
  switch (s) {
    case S::pending:
    case S::requeued:
      return E::queued;
    case S::running:
    case S::suspended:
    case S::completing:
      return E::running;
    case S::completed:
      return E::succeeded;
    default:
      return E::failed;
  }
}

json::array errors_for(const std::string& code, const std::string& message, std::optional<int> exit_code) {
  json::object e{{"code", code}, {"message", message}};
  json::array details;
  if (exit_code) details.push_back(json::object{{"name", "exitCode"}, {"value", std::to_string(*exit_code)}});
  e["details"] = std::move(details);
  return json::array{std::move(e)};
}

}  // namespace

std::string workspace_id(const state::WorkspaceKey& k) {
  return std::string(kSubscription) + "/resourceGroups/" + k.group + "/providers/Microsoft.BatchAI/workspaces/" +
         k.workspace;
}
std::string cluster_id(const state::ClusterKey& k) {
  return workspace_id({k.group, k.workspace}) + "/clusters/" + k.cluster;
}
std::string job_id(const state::JobKey& k) {
  return workspace_id({k.group, k.workspace}) + "/experiments/" + k.experiment + "/jobs/" + k.job;
}

std::optional<ExecutionRecord> read_execution_record(const std::string& job_dir) {
  std::ifstream in(job_dir + "/execution");
  if (!in) return std::nullopt;
  ExecutionRecord r;
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "slurm_job_id") {
      // Written by the job itself: only a whole, valid id is taken.
      if (auto id = args::parse_int(value, 1, std::numeric_limits<std::uint32_t>::max(), key)) {
        r.slurm_job_id = static_cast<std::uint32_t>(*id);
      }
    }
    if (key == "start_time") r.start_time = parse_iso(value);
    if (key == "end_time") r.end_time = parse_iso(value);
    if (key == "exit_code" && !value.empty()) {
      try {
        r.exit_code = std::stoi(value);
      } catch (...) {
      }
    }
  }
  return r;
}

bool is_final(const state::Job& job) { return state::is_final(job.state); }

bool expire_unsubmitted(state::Job& job, std::time_t now) {
  // A create takes milliseconds, so a minute settles it.
  if (is_final(job) || job.slurm_job_id || job.exported || now - job.created < 60) return false;
  job.state = state::ExecutionState::failed;
  job.state_time = now;
  job.errors_json = json::serialize(errors_for(
      "JobNotSubmitted", "the batchai job create that recorded this job stopped before Slurm accepted it",
      std::nullopt));
  return true;
}

namespace {

// A job as Slurm (the controller, or accounting after it forgot) reports it.
void apply_slurm(state::Job& job, const slurm::JobInfo& info, const std::optional<ExecutionRecord>& record) {
  // A cancelled job shows terminating until Slurm has stopped it.
  if (job.state != state::ExecutionState::terminating || slurm::is_final(info.state)) {
    job.state = state_of_slurm(info.state);
  }
  // The first attempt's start stays the job's (executionInfo.startTime):
  // a requeued job starts again, and Slurm then reports only the new start.
  // The job's own record keeps the first (job runtime 3 and later).
  if (record && record->start_time && (!job.start_time || record->start_time < job.start_time)) {
    job.start_time = record->start_time;
  }
  if (info.start_time && !job.start_time) job.start_time = info.start_time;
  if (!slurm::is_final(info.state)) return;
  if (info.end_time) job.end_time = info.end_time;
  // The script's record has the first failing process's code; Slurm's is
  // the batch shell's, or nothing for a job killed before it ran.
  job.exit_code = record && record->exit_code ? record->exit_code
                  : info.signal               ? std::optional<int>(128 + info.signal)
                                              : std::optional<int>(info.exit_code);
  if (info.state == slurm::JobState::cancelled) {
    job.errors_json = json::serialize(errors_for("JobTerminated", "Job was terminated", job.exit_code));
  } else if (info.state != slurm::JobState::completed) {
    job.errors_json = json::serialize(
        errors_for("JobFailed",
                   std::string("Job failed: ") + slurm::to_string(info.state) +
                       (info.reason.empty() || info.reason == "None" ? "" : " (" + info.reason + ")"),
                   job.exit_code));
  }
}

}  // namespace

namespace {

// The Batch AI errors the nodes recorded while setting up (batchai-prolog,
// jobPreparation): errors/<node>.json, in node order. They say more than
// the job's exit code, so they replace the generic error.
json::array node_errors(const std::string& job_dir) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(job_dir + "/errors", ec)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  json::array errors;
  for (const auto& f : files) {
    std::ifstream in(f);
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code jec;
    json::value v = json::parse(text.str(), jec);
    // Written by the job, so only well-formed errors are taken.
    if (jec || !v.is_object() || !v.as_object().contains("code") || !v.at("code").is_string() ||
        !v.as_object().contains("message") || !v.at("message").is_string()) {
      continue;
    }
    errors.push_back(std::move(v));
  }
  return errors;
}

}  // namespace

Result<bool> refresh_job(state::Job& job, slurm::Client& client, std::time_t now) {
  if (is_final(job)) return false;
  if (!job.slurm_job_id) return expire_unsubmitted(job, now);
  const state::Job before = job;
  const auto record = read_execution_record(job.job_dir);
  auto answer = client.job(*job.slurm_job_id);
  if (!answer) return answer.error();
  if (*answer) {
    apply_slurm(job, **answer, record);
  } else if (record && record->end_time) {
    // Slurm has forgotten the job, and its script recorded the end: the
    // truth, with the first failing process's exit code.
    if (record->start_time) job.start_time = record->start_time;
    job.end_time = record->end_time;
    job.exit_code = record->exit_code;
    job.state = record->exit_code == 0 ? state::ExecutionState::succeeded : state::ExecutionState::failed;
    if (job.state == state::ExecutionState::failed) {
      job.errors_json = json::serialize(errors_for("JobFailed", "Job failed with non-zero exit code", job.exit_code));
    }
  } else {
    // No recorded end: cancelled before it ran, killed with its node, or
    // its directory unwritable. Accounting, where the site keeps it, knows.
    auto accounted = client.accounted_job(*job.slurm_job_id);
    if (!accounted) return accounted.error();
    if (*accounted && slurm::is_final((*accounted)->state)) {
      apply_slurm(job, **accounted, record);
    } else {
      if (record && record->start_time) job.start_time = record->start_time;
      job.state = state::ExecutionState::failed;
      job.errors_json = json::serialize(errors_for(
          "JobLost",
          record ? "Slurm no longer knows the job and it recorded no end (node failure?)"
                 : "Slurm no longer knows the job and it left no record in its directory",
          std::nullopt));
    }
  }
  if (job.state == state::ExecutionState::failed) {
    if (auto errors = node_errors(job.job_dir); !errors.empty()) job.errors_json = json::serialize(errors);
  }
  if (job.state != before.state) job.state_time = now;
  // The job's secrets stay while Slurm may start it again; the runtime
  // removes them at the job's end, but a job cancelled before it ran, or
  // whose last attempt died with its node, never got there.
  if (is_final(job)) {
    std::error_code ec;
    std::filesystem::remove(job.job_dir + "/secrets.env", ec);
  }
  return job.state != before.state || job.exit_code != before.exit_code || job.start_time != before.start_time ||
         job.end_time != before.end_time || job.errors_json != before.errors_json;
}

json::object job_to_json(const state::Job& job) {
  json::object o;
  boost::system::error_code ec;
  json::value spec = json::parse(job.spec_json, ec);
  if (!ec && spec.is_object()) o = spec.get_object();
  o["id"] = job_id(job.key);
  o["name"] = job.key.job;
  o["type"] = "Microsoft.BatchAI/workspaces/experiments/jobs";
  o["resourceGroup"] = job.key.group;
  o["workspace"] = job.key.workspace;
  o["experiment"] = job.key.experiment;
  o["cluster"] = json::object{{"id", cluster_id(job.cluster)}, {"resourceGroup", job.cluster.group}};
  o["nodeCount"] = job.node_count;
  o["toolType"] = job.tool_type;
  o["jobOutputDirectoryPathSegment"] = job.segment;
  o["creationTime"] = iso_time(job.created);
  o["provisioningState"] = "succeeded";
  o["provisioningStateTransitionTime"] = iso_time(job.created);
  o["executionState"] = state::to_string(job.state);
  o["executionStateTransitionTime"] = iso_time(job.state_time ? job.state_time : job.created);
  json::value errors = json::parse(job.errors_json, ec);
  if (ec) errors = json::array{};
  if (job.start_time || is_final(job)) {
    o["executionInfo"] = json::object{{"startTime", iso_time(job.start_time)},
                                      {"endTime", iso_time(job.end_time)},
                                      {"exitCode", job.exit_code ? json::value(*job.exit_code) : json::value(nullptr)},
                                      {"errors", errors}};
  } else {
    o["executionInfo"] = nullptr;
  }
  o["slurmJobId"] = job.slurm_job_id ? json::value(*job.slurm_job_id) : json::value(nullptr);
  o["jobDirectory"] = job.job_dir;
  return o;
}

json::object job_table_row(const state::Job& job) {
  return json::object{{"name", job.key.job},
                      {"cluster", job.cluster.cluster},
                      {"clusterResourceGroup", job.cluster.group},
                      {"clusterWorkspace", job.cluster.workspace},
                      {"tool", job.tool_type},
                      {"nodes", job.node_count},
                      {"state", state::to_string(job.state)},
                      {"exitCode", job.exit_code ? json::value(*job.exit_code) : json::value(nullptr)}};
}

std::span<const Column> job_table_columns() {
  static constexpr Column kColumns[] = {
      {"Name", "name"},  {"Cluster", "cluster"}, {"Cluster RG", "clusterResourceGroup"},
      {"Cluster Workspace", "clusterWorkspace"}, {"Tool", "tool"},
      {"Nodes", "nodes"}, {"State", "state"},    {"Exit code", "exitCode"}};
  return kColumns;
}

Result<state::JobKey> job_key(const Context& ctx, const args::Parsed& p, state::Store& store,
                              std::string_view flag) {
  auto ws = workspace_key(ctx, p, store);
  if (!ws) return ws.error();
  // Every table that names them marks --experiment and `flag` required.
  return state::JobKey{ws->group, ws->workspace, p.get("experiment").value_or(""), p.get(flag).value_or("")};
}

Status release_held_jobs(Context& ctx, state::Store& store, const state::Cluster& cluster) {
  const std::int64_t size = cluster.auto_scale ? cluster.max_nodes : cluster.target_nodes;
  if (size == 0) return {};
  auto workspaces = store.workspaces(cluster.key.group);
  if (!workspaces) return workspaces.error();
  slurm::Client* client = nullptr;
  for (const auto& w : *workspaces) {
    auto experiments = store.experiments(w.key);
    if (!experiments) return experiments.error();
    for (const auto& e : *experiments) {
      auto jobs = store.jobs(e.key);
      if (!jobs) return jobs.error();
      for (const auto& j : *jobs) {
        const bool mine = j.cluster.group == cluster.key.group && j.cluster.workspace == cluster.key.workspace &&
                          j.cluster.cluster == cluster.key.cluster;
        if (!mine || j.state != state::ExecutionState::queued || !j.slurm_job_id || j.node_count > size) continue;
        if (!client) {
          auto c = ctx.slurm();
          if (!c) return c.error();
          client = *c;
        }
        // Releasing a job that was never held changes nothing.
        if (auto s = client->release(*j.slurm_job_id); !s) return s;
      }
    }
  }
  return {};
}

Result<std::optional<std::uint32_t>> slurm_job_id_flag(const args::Parsed& p) {
  auto id = p.get_int("slurm-job-id", 1, std::numeric_limits<std::uint32_t>::max());
  if (!id) return id.error();
  if (!*id) return std::optional<std::uint32_t>{};
  return std::optional<std::uint32_t>{static_cast<std::uint32_t>(**id)};
}

namespace {

// Gives an exported job the Slurm id it was told. The id must be the job's:
// Slurm runs it in the job's directory (the script's --chdir), or, once
// Slurm has forgotten it, the job's own record names it.
Status adopt_slurm_job_id(Context& ctx, state::Job& job, std::uint32_t id) {
  const std::string flag = "--slurm-job-id: ";
  if (job.slurm_job_id == id) return {};
  if (job.slurm_job_id) {
    return Error{flag + "job '" + job.key.job + "' is Slurm job " + std::to_string(*job.slurm_job_id) + ", not " +
                 std::to_string(id)};
  }
  if (!job.exported) {
    return Error{flag + "job '" + job.key.job + "' was not written by batchai job export; only an exported job " +
                 "takes the id of its own sbatch"};
  }
  auto client = ctx.slurm();
  if (!client) return client.error();
  auto info = (*client)->job(id);
  if (!info) return info.error();
  if (*info) {
    const std::string dir = std::filesystem::path((*info)->work_dir).lexically_normal().string();
    if (dir != std::filesystem::path(job.job_dir).lexically_normal().string()) {
      return Error{flag + "Slurm job " + std::to_string(id) + " runs in '" + (*info)->work_dir +
                   "', not in the directory of job '" + job.key.job + "' (" + job.job_dir + ")"};
    }
  } else if (auto record = read_execution_record(job.job_dir); !record || record->slurm_job_id != id) {
    return Error{flag + "Slurm has no job " + std::to_string(id) + " and job '" + job.key.job +
                 "' recorded no such id in its directory"};
  }
  job.slurm_job_id = id;
  return {};
}

}  // namespace

Result<state::Job> load_job(Context& ctx, state::Store& store, const state::JobKey& key,
                            std::optional<std::uint32_t> slurm_job_id) {
  auto found = store.job(key);
  if (!found) return found.error();
  if (!*found) {
    return Error{"job '" + key.job + "' not found in experiment '" + key.experiment + "' (workspace '" +
                 key.workspace + "', resource group '" + key.group + "')"};
  }
  state::Job job = **found;
  if (slurm_job_id && job.slurm_job_id != slurm_job_id) {
    if (auto s = adopt_slurm_job_id(ctx, job, *slurm_job_id); !s) return s.error();
    if (auto s = store.update_job(job); !s) return s.error();
  } else if (job.exported && !job.slurm_job_id) {
    // Submitted by the site's sbatch without telling batchai: the script
    // wrote its id into this job's directory when it started, which is
    // proof enough that it is this job.
    if (auto record = read_execution_record(job.job_dir); record && record->slurm_job_id) {
      job.slurm_job_id = record->slurm_job_id;
      if (auto s = store.update_job(job); !s) return s.error();
    }
  }
  if (!job.slurm_job_id) {
    if (expire_unsubmitted(job, std::time(nullptr))) {
      if (auto s = store.update_job(job); !s) return s.error();
    }
  } else if (!is_final(job)) {
    auto client = ctx.slurm();
    if (!client) return client.error();
    auto changed = refresh_job(job, **client, std::time(nullptr));
    if (!changed) return changed.error();
    if (*changed) {
      if (auto s = store.update_job(job); !s) return s.error();
    }
  }
  return job;
}

}  // namespace batchai::frontend
