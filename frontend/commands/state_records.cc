// The records' files: written beside the job directories, read back by a
// rebuild (frontend/commands/state_records.h).
#include "frontend/commands/state_records.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>

#include "base/diag.h"
#include "base/files.h"
#include "frontend/commands/job_common.h"
#include "frontend/commands/job_draft.h"
#include "io/job_spec.h"

namespace batchai::frontend {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// Raised when a record's shape changes; a reader takes every version up to
// its own and refuses newer ones by name.
constexpr std::int64_t kRecordVersion = 1;

std::string workspace_dir(const std::string& root, const state::WorkspaceKey& k) {
  return root + "/" + k.group + "/workspaces/" + k.workspace;
}

Status write_record(const std::string& dir, const std::string& name, const json::object& o, unsigned mode) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error{"cannot create '" + dir + "': " + ec.message()};
  // Not fsynced, as the job directory's other files are not: a record lost
  // with the machine is rewritten by the next change, and older job
  // directories come back without one.
  return write_file_atomic(dir + "/" + name, json::serialize(o) + "\n", mode, false);
}

Status remove_file(const std::string& path) {
  std::error_code ec;
  fs::remove(path, ec);
  if (ec) return Error{"cannot remove '" + path + "': " + ec.message()};
  return {};
}

std::optional<std::string> slurp(const fs::path& p) {
  std::ifstream in(p);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A record's fields, each checked, with the first problem naming the field.
class Fields {
 public:
  Fields(const json::object& o, std::string file) : o_(o), file_(std::move(file)) {}
  std::string text(std::string_view key) {
    const json::value* v = o_.if_contains(key);
    if (v && v->is_string()) return std::string(v->as_string());
    fail(key, "a string");
    return "";
  }
  // A field later records added: absent or null reads as `fallback`.
  std::string text_or(std::string_view key, std::string_view fallback) {
    const json::value* v = o_.if_contains(key);
    if (!v || v->is_null()) return std::string(fallback);
    return text(key);
  }
  std::int64_t number(std::string_view key, std::int64_t fallback = 0) {
    const json::value* v = o_.if_contains(key);
    if (!v || v->is_null()) return fallback;
    if (v->is_int64()) return v->as_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
    fail(key, "an integer");
    return fallback;
  }
  std::optional<std::int64_t> optional_number(std::string_view key) {
    const json::value* v = o_.if_contains(key);
    if (!v || v->is_null()) return std::nullopt;
    return number(key);
  }
  bool flag(std::string_view key) {
    const json::value* v = o_.if_contains(key);
    if (!v || v->is_null()) return false;
    if (v->is_bool()) return v->as_bool();
    fail(key, "true or false");
    return false;
  }
  const json::object& object(std::string_view key) {
    static const json::object kEmpty;
    const json::value* v = o_.if_contains(key);
    if (v && v->is_object()) return v->as_object();
    fail(key, "an object");
    return kEmpty;
  }
  const json::object& all() const { return o_; }
  Status status() const {
    if (problem_.empty()) return {};
    return Error{file_ + ": " + problem_};
  }

 private:
  void fail(std::string_view key, std::string_view want) {
    if (problem_.empty()) problem_ = std::string(key) + ": expected " + std::string(want);
  }
  const json::object& o_;
  std::string file_;
  std::string problem_;
};

Result<json::object> read_object(const fs::path& p) {
  auto text = slurp(p);
  if (!text) return Error{p.string() + ": cannot read"};
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec) return Error{p.string() + ": not JSON (" + ec.message() + ")"};
  if (!v.is_object()) return Error{p.string() + ": expected a JSON object"};
  const json::value* version = v.as_object().if_contains("version");
  if (!version || !version->is_int64() || version->as_int64() < 1) {
    return Error{p.string() + ": version: expected a positive integer"};
  }
  if (version->as_int64() > kRecordVersion) {
    return Error{p.string() + ": version " + std::to_string(version->as_int64()) + " is newer than this batchai's (" +
                 std::to_string(kRecordVersion) + ")"};
  }
  return std::move(v.as_object());
}

bool is_name(const std::string& name) { return jobspec::validate_resource_name(name, "name").ok(); }

std::vector<fs::path> subdirectories(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory(ec) && !e.is_symlink(ec)) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A site may give all its users one jobsRoot; each rebuilds only what is
// theirs, as each job directory belongs to the user whose job it is.
bool mine(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 && st.st_uid == ::geteuid();
}

std::int64_t mtime_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return static_cast<std::int64_t>(st.st_mtime);
}

// A job directory without batchai.json, as batchai wrote them before it
// kept one: its name and place from its path, the rest from job.json, the
// script's partition and the execution record the job script wrote.
Result<state::Job> job_from_old_directory(const state::JobKey& key, const fs::path& dir, const std::string& root) {
  state::Job j;
  j.key = key;
  j.uuid = dir.filename().string();
  j.job_dir = dir.string();
  j.segment = fs::path(dir).lexically_relative(root).string();
  auto spec_text = slurp(dir / "job.json");
  if (!spec_text) return Error{(dir / "job.json").string() + ": cannot read"};
  j.spec_json = redacted_properties(*spec_text);
  jobspec::ParseOptions options;
  options.file_name = (dir / "job.json").string();
  // What was submitted once was valid; a later batchai may read it with
  // warnings, which only the create that wrote it needed to see.
  if (auto parsed = jobspec::parse_job_spec(*spec_text, options)) {
    j.tool_type = std::string(parsed->spec.tool_type());
    j.node_count = parsed->spec.node_count;
  } else {
    return Error{parsed.error().message.substr(0, parsed.error().message.find('\n'))};
  }
  // The cluster is known only as the partition the script asked for.
  std::string partition;
  if (auto script = slurp(dir / "job.sbatch")) {
    const std::string tag = "#SBATCH --partition=";
    if (auto at = script->find(tag); at != std::string::npos) {
      const auto from = at + tag.size();
      partition = script->substr(from, script->find('\n', from) - from);
    }
  }
  j.cluster = {key.group, key.workspace, partition};
  j.created = j.state_time = mtime_of(dir / "job.json");
  if (auto record = read_execution_record(j.job_dir)) {
    j.slurm_job_id = record->slurm_job_id;
    j.start_time = record->start_time;
    if (record->end_time) {
      j.end_time = record->end_time;
      j.exit_code = record->exit_code;
      j.state = record->exit_code == 0 ? state::ExecutionState::succeeded : state::ExecutionState::failed;
      j.state_time = record->end_time;
    } else if (record->start_time) {
      j.state = state::ExecutionState::running;
      j.state_time = record->start_time;
    }
  } else {
    // Never started, and nothing says whether it was submitted: exported
    // leaves it waiting for its id rather than failing it as unsubmitted.
    j.exported = true;
  }
  return j;
}

Result<state::Job> job_from_record(const state::JobKey& key, const fs::path& dir, const std::string& root,
                                   std::int64_t* order) {
  const fs::path file = dir / "batchai.json";
  auto o = read_object(file);
  if (!o) return o.error();
  Fields f(*o, file.string());
  state::Job j;
  j.key = {f.text("group"), f.text("workspace"), f.text("experiment"), f.text("job")};
  j.uuid = f.text("uuid");
  const json::object& cluster = f.object("cluster");
  Fields c(cluster, file.string() + ": cluster");
  j.cluster = {c.text("group"), c.text("workspace"), c.text("cluster")};
  j.tool_type = f.text("toolType");
  j.node_count = f.number("nodeCount", 1);
  j.created = f.number("created");
  *order = f.number("order");
  j.exported = f.flag("exported");
  if (auto id = f.optional_number("slurmJobId")) j.slurm_job_id = static_cast<std::uint32_t>(*id);
  const std::string state_text = f.text("executionState");
  j.state_time = f.number("stateTime");
  j.start_time = f.number("startTime");
  j.end_time = f.number("endTime");
  if (auto code = f.optional_number("exitCode")) j.exit_code = static_cast<int>(*code);
  if (const json::value* errors = o->if_contains("errors"); errors && errors->is_array()) {
    j.errors_json = json::serialize(*errors);
  }
  if (auto s = f.status(); !s) return s.error();
  if (auto s = c.status(); !s) return s.error();
  auto parsed = state::parse_execution_state(state_text);
  if (!parsed) return Error{file.string() + ": executionState: '" + state_text + "' is not a job state"};
  j.state = *parsed;
  // The path is the truth of where the job is; a record copied elsewhere
  // by hand must not put it somewhere else.
  if (j.key.group != key.group || j.key.workspace != key.workspace || j.key.experiment != key.experiment ||
      j.key.job != key.job || j.uuid != dir.filename().string()) {
    return Error{file.string() + ": names a job other than the one its directory holds"};
  }
  j.job_dir = dir.string();
  j.segment = fs::path(dir).lexically_relative(root).string();
  auto spec_text = slurp(dir / "job.json");
  j.spec_json = spec_text ? redacted_properties(*spec_text) : "{}";
  return j;
}

}  // namespace

Status write_workspace_record(const std::string& jobs_root, const state::Workspace& w, const std::string& owner) {
  return write_record(workspace_dir(jobs_root, w.key), "workspace.json",
                      json::object{{"version", kRecordVersion},
                                   {"stateDir", owner},
                                   {"group", w.key.group},
                                   {"workspace", w.key.workspace},
                                   {"location", w.location},
                                   {"created", w.created}},
                      0644);
}

Status write_experiment_record(const std::string& jobs_root, const state::Experiment& e,
                               const std::string& owner) {
  return write_record(workspace_dir(jobs_root, {e.key.group, e.key.workspace}) + "/experiments/" + e.key.experiment,
                      "experiment.json",
                      json::object{{"version", kRecordVersion},
                                   {"stateDir", owner},
                                   {"group", e.key.group},
                                   {"workspace", e.key.workspace},
                                   {"experiment", e.key.experiment},
                                   {"created", e.created}},
                      0644);
}

Status write_cluster_record(const std::string& jobs_root, const state::Cluster& c, const std::string& owner) {
  return write_record(workspace_dir(jobs_root, {c.key.group, c.key.workspace}) + "/clusters/" + c.key.cluster,
                      "cluster.json",
                      json::object{{"version", kRecordVersion},
                                   {"stateDir", owner},
                                   {"group", c.key.group},
                                   {"workspace", c.key.workspace},
                                   {"cluster", c.key.cluster},
                                   {"vmSize", c.vm_size},
                                   {"partition", c.partition},
                                   {"gpusPerNode", c.gpus_per_node},
                                   {"gpuType", c.gpu_type},
                                   {"autoScale", c.auto_scale},
                                   {"targetNodes", c.target_nodes},
                                   {"minNodes", c.min_nodes},
                                   {"maxNodes", c.max_nodes},
                                   {"created", c.created},
                                   {"maxTimeSeconds", c.max_time_seconds},
                                   {"vmPriority", state::to_string(c.vm_priority)},
                                   {"nodeSetup", c.node_setup_json},
                                   {"setupUuid", c.setup_uuid}},
                      0644);
}

Status write_file_server_record(const std::string& jobs_root, const state::FileServer& f, const std::string& owner) {
  boost::system::error_code ec;
  json::value properties = json::parse(f.properties_json, ec);
  if (ec || !properties.is_object()) properties = json::object{};
  return write_record(
      workspace_dir(jobs_root, {f.key.group, f.key.workspace}) + "/fileServers/" + f.key.file_server, "fileserver.json",
      json::object{{"version", kRecordVersion},
                   {"stateDir", owner},
                   {"group", f.key.group},
                   {"workspace", f.key.workspace},
                   {"fileServer", f.key.file_server},
                   {"vmSize", f.vm_size},
                   {"path", f.path},
                   {"siteMapped", f.site_mapped},
                   {"properties", std::move(properties)},
                   {"created", f.created}},
      0644);
}

Status write_job_record(const state::Job& j, const std::string& owner) {
  std::int64_t order = j.order;
  if (!order) {
    order = j.created * 1'000'000'000;
    if (auto o = read_object(fs::path(j.job_dir) / "batchai.json")) {
      Fields f(*o, "");
      order = f.number("order", order);
    }
  }
  boost::system::error_code ec;
  json::value errors = json::parse(j.errors_json, ec);
  if (ec) errors = json::array{};
  json::object o{{"version", kRecordVersion},
                 {"stateDir", owner},
                 {"group", j.key.group},
                 {"workspace", j.key.workspace},
                 {"experiment", j.key.experiment},
                 {"job", j.key.job},
                 {"uuid", j.uuid},
                 {"cluster", json::object{{"group", j.cluster.group},
                                          {"workspace", j.cluster.workspace},
                                          {"cluster", j.cluster.cluster}}},
                 {"toolType", j.tool_type},
                 {"nodeCount", j.node_count},
                 {"created", j.created},
                 {"order", order},
                 {"exported", j.exported},
                 {"slurmJobId", j.slurm_job_id ? json::value(*j.slurm_job_id) : json::value(nullptr)},
                 {"executionState", state::to_string(j.state)},
                 {"stateTime", j.state_time},
                 {"startTime", j.start_time},
                 {"endTime", j.end_time},
                 {"exitCode", j.exit_code ? json::value(*j.exit_code) : json::value(nullptr)},
                 {"errors", std::move(errors)}};
  return write_record(j.job_dir, "batchai.json", o, 0600);
}

Status remove_workspace_records(const std::string& jobs_root, const state::WorkspaceKey& k) {
  const std::string ws = workspace_dir(jobs_root, k);
  // What the workspace held goes with it, so a rebuild does not bring back
  // an experiment or cluster of a workspace that is gone.
  for (const auto& [sub, name] : {std::pair{"/experiments", "experiment.json"}, {"/clusters", "cluster.json"},
                                  {"/fileServers", "fileserver.json"}}) {
    for (const auto& d : subdirectories(ws + sub)) {
      if (auto s = remove_file((d / name).string()); !s) return s;
    }
  }
  return remove_file(ws + "/workspace.json");
}

Status remove_experiment_record(const std::string& jobs_root, const state::ExperimentKey& k) {
  return remove_file(workspace_dir(jobs_root, {k.group, k.workspace}) + "/experiments/" + k.experiment +
                     "/experiment.json");
}

Status remove_cluster_record(const std::string& jobs_root, const state::ClusterKey& k) {
  return remove_file(workspace_dir(jobs_root, {k.group, k.workspace}) + "/clusters/" + k.cluster + "/cluster.json");
}

Status remove_file_server_record(const std::string& jobs_root, const state::FileServerKey& k) {
  return remove_file(workspace_dir(jobs_root, {k.group, k.workspace}) + "/fileServers/" + k.file_server +
                     "/fileserver.json");
}

Status mark_job_deleted(const std::string& job_dir) {
  std::error_code ec;
  if (!fs::is_directory(job_dir, ec)) return {};
  return write_file_atomic(job_dir + "/deleted", "", 0644, false);
}

Result<Records> read_records(const std::string& jobs_root, const RecordFilter& filter) {
  Records out;
  auto taken = [&](const json::object& o) {
    auto it = o.find("stateDir");
    const std::string owner = it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
    return owner.empty() ? filter.take_unowned : owner == filter.owner;
  };
  struct Found {
    state::Job job;
    std::int64_t order = 0;
  };
  std::vector<Found> jobs;
  for (const auto& g : subdirectories(jobs_root)) {
    for (const auto& ws : subdirectories(g / "workspaces")) {
      const state::WorkspaceKey wk{g.filename().string(), ws.filename().string()};
      if (!is_name(wk.workspace)) continue;
      std::optional<state::Workspace> workspace;
      if (mine(ws / "workspace.json")) {
        auto o = read_object(ws / "workspace.json");
        if (!o) {
          out.skipped.push_back(o.error().message);
        } else if (taken(*o)) {
          Fields f(*o, (ws / "workspace.json").string());
          state::Workspace w{wk, f.text("location"), f.number("created")};
          if (auto s = f.status(); !s) {
            out.skipped.push_back(s.error().message);
          } else {
            workspace = w;
          }
        }
      }
      std::vector<state::Experiment> experiments;
      std::size_t live_jobs = 0;
      for (const auto& e : subdirectories(ws / "experiments")) {
        const state::ExperimentKey ek{wk.group, wk.workspace, e.filename().string()};
        if (!is_name(ek.experiment)) continue;
        std::optional<state::Experiment> experiment;
        if (mine(e / "experiment.json")) {
          auto o = read_object(e / "experiment.json");
          if (!o) {
            out.skipped.push_back(o.error().message);
          } else if (taken(*o)) {
            Fields f(*o, (e / "experiment.json").string());
            state::Experiment x{ek, f.number("created")};
            if (auto s = f.status(); !s) {
              out.skipped.push_back(s.error().message);
            } else {
              experiment = x;
            }
          }
        }
        // A job name re-created after its directory lost the mark (a
        // delete by a batchai without records) leaves two live uuids: the
        // newer one is the job.
        std::map<std::string, Found> newest;
        for (const auto& name : subdirectories(e / "jobs")) {
          const state::JobKey jk{ek.group, ek.workspace, ek.experiment, name.filename().string()};
          if (!is_name(jk.job)) continue;
          for (const auto& dir : subdirectories(name)) {
            if (!mine(dir) || fs::exists(dir / "deleted")) continue;
            Found f;
            if (fs::exists(dir / "batchai.json")) {
              auto o = read_object(dir / "batchai.json");
              if (o && !taken(*o)) continue;
              auto j = job_from_record(jk, dir, jobs_root, &f.order);
              if (!j) {
                out.skipped.push_back(j.error().message);
                continue;
              }
              f.job = std::move(*j);
            } else if (fs::exists(dir / "job.json") && filter.take_unowned) {
              auto j = job_from_old_directory(jk, dir, jobs_root);
              if (!j) {
                out.skipped.push_back(j.error().message);
                continue;
              }
              f.job = std::move(*j);
              f.order = f.job.created * 1'000'000'000;
            } else {
              continue;  // not a job directory, or one discarded part way
            }
            auto [it, inserted] = newest.try_emplace(jk.job, f);
            if (!inserted) {
              const bool newer = std::pair(f.job.created, f.order) > std::pair(it->second.job.created, it->second.order);
              const Found& older = newer ? it->second : f;
              out.skipped.push_back(older.job.job_dir + ": an older directory of job '" + jk.job + "', left out");
              if (newer) it->second = f;
            }
          }
        }
        for (auto& [_, f] : newest) jobs.push_back(std::move(f));
        live_jobs += newest.size();
        if (!experiment && !newest.empty()) {
          std::int64_t first = 0;
          for (const auto& [_, f] : newest) first = first ? std::min(first, f.job.created) : f.job.created;
          experiment = state::Experiment{ek, first};
        }
        if (experiment) experiments.push_back(*experiment);
      }
      // Older workspaces had no record: one with live jobs comes back.
      if (!workspace && live_jobs > 0) {
        std::int64_t first = 0;
        for (const auto& x : experiments) first = first ? std::min(first, x.created) : x.created;
        workspace = state::Workspace{wk, "", first};
      }
      if (!workspace) {
        // Its experiments' records lost their workspace's: not brought back.
        continue;
      }
      out.workspaces.push_back(*workspace);
      out.experiments.insert(out.experiments.end(), experiments.begin(), experiments.end());
      for (const auto& c : subdirectories(ws / "clusters")) {
        const fs::path file = c / "cluster.json";
        if (!mine(file)) continue;
        auto o = read_object(file);
        if (!o) {
          out.skipped.push_back(o.error().message);
          continue;
        }
        if (!taken(*o)) continue;
        Fields f(*o, file.string());
        state::Cluster x;
        x.key = {wk.group, wk.workspace, c.filename().string()};
        x.vm_size = f.text("vmSize");
        x.partition = f.text("partition");
        x.gpus_per_node = static_cast<int>(f.number("gpusPerNode"));
        x.gpu_type = f.text("gpuType");
        x.auto_scale = f.flag("autoScale");
        x.target_nodes = f.number("targetNodes");
        x.min_nodes = f.number("minNodes");
        x.max_nodes = f.number("maxNodes");
        x.created = f.number("created");
        x.max_time_seconds = f.number("maxTimeSeconds");
        // Records from before vmPriority are of dedicated clusters.
        const std::string priority = f.text_or("vmPriority", "dedicated");
        // And from before the setup task, of clusters without one.
        x.node_setup_json = f.text_or("nodeSetup", "");
        x.setup_uuid = f.text_or("setupUuid", "");
        if (auto s = f.status(); !s) {
          out.skipped.push_back(s.error().message);
          continue;
        }
        if (auto p = state::parse_vm_priority(priority)) {
          x.vm_priority = *p;
        } else {
          out.skipped.push_back(file.string() + ": vmPriority: expected \"dedicated\" or \"lowpriority\", got \"" +
                                diag::one_line(priority) + "\"");
          continue;
        }
        out.clusters.push_back(std::move(x));
      }
      for (const auto& d : subdirectories(ws / "fileServers")) {
        const fs::path file = d / "fileserver.json";
        if (!mine(file)) continue;
        auto o = read_object(file);
        if (!o) {
          out.skipped.push_back(o.error().message);
          continue;
        }
        if (!taken(*o)) continue;
        Fields f(*o, file.string());
        state::FileServer x;
        x.key = {wk.group, wk.workspace, d.filename().string()};
        x.vm_size = f.text("vmSize");
        x.path = f.text("path");
        x.site_mapped = f.flag("siteMapped");
        x.properties_json = json::serialize(f.object("properties"));
        x.created = f.number("created");
        if (auto s = f.status(); !s) {
          out.skipped.push_back(s.error().message);
          continue;
        }
        out.file_servers.push_back(std::move(x));
      }
    }
  }
  std::stable_sort(jobs.begin(), jobs.end(), [](const Found& a, const Found& b) {
    return std::pair(a.job.created, a.order) < std::pair(b.job.created, b.order);
  });
  for (auto& f : jobs) out.jobs.push_back(std::move(f.job));
  return out;
}

}  // namespace batchai::frontend
