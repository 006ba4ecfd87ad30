// batchai state rebuild: the state database made again from the records
// beside the job directories (state_records.h), for a database lost or
// damaged. It is built under a new name and renamed into place, so a
// rebuild stopped part way leaves the old file as it was; the old file is
// kept as state.db.damaged-<time>. The same rebuild runs by itself when a
// command finds the database missing and records exist.
#include <boost/json.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <system_error>

#include "base/diag.h"
#include "frontend/commands/job_common.h"
#include "frontend/commands/site.h"
#include "frontend/commands/state_records.h"
#include "frontend/output.h"

namespace batchai::frontend {

Result<std::string> jobs_root(const Context& ctx) {
  auto site = read_site_config(ctx);
  if (!site) return site.error();
  return site->jobs_root;
}

namespace {

// Adds what `get` does not find. Another batchai that found the same
// missing database may add it first; that is not an error.
template <class Get, class Add>
Result<bool> add_missing(Get&& get, Add&& add) {
  auto found = get();
  if (!found) return found.error();
  if (*found) return false;
  if (auto s = add(); !s) {
    auto again = get();
    if (again && *again) return false;
    return s.error();
  }
  return true;
}

}  // namespace

Result<Rebuilt> rebuild_state(Context& ctx, state::Store& store, const std::string& root, bool take_unowned) {
  auto records = read_records(root, {store.records_owner(), take_unowned});
  if (!records) return records.error();
  Rebuilt r;
  r.skipped = records->skipped;
  // What the store holds already (another CLI's work, in the automatic
  // case) is kept.
  for (const auto& w : records->workspaces) {
    auto added = add_missing([&] { return store.workspace(w.key); }, [&] { return store.create_workspace(w); });
    if (!added) return added.error();
    r.workspaces += *added;
  }
  for (const auto& e : records->experiments) {
    auto added = add_missing([&] { return store.experiment(e.key); }, [&] { return store.create_experiment(e); });
    if (!added) return added.error();
    r.experiments += *added;
  }
  for (const auto& c : records->clusters) {
    auto added = add_missing([&] { return store.cluster(c.key); }, [&] { return store.create_cluster(c); });
    if (!added) return added.error();
    r.clusters += *added;
  }
  for (const auto& f : records->file_servers) {
    auto added =
        add_missing([&] { return store.file_server(f.key); }, [&] { return store.create_file_server(f); });
    if (!added) return added.error();
    r.file_servers += *added;
  }
  std::vector<state::Job> unfinished;
  for (const auto& j : records->jobs) {
    auto added = add_missing([&] { return store.job(j.key); }, [&] { return store.insert_job(j); });
    if (!added) return added.error();
    if (!*added) continue;
    ++r.jobs;
    if (!is_final(j)) unfinished.push_back(j);
  }
  if (unfinished.empty()) {
    r.slurm_answered = true;
    return r;
  }
  // The records hold each job's state when it was last seen; Slurm, where
  // it answers, knows what happened since.
  auto client = ctx.slurm();
  if (!client) {
    r.slurm_error = client.error().message;
    return r;
  }
  const std::time_t now = std::time(nullptr);
  for (auto& j : unfinished) {
    // An exported job whose script has started recorded its own id.
    if (j.exported && !j.slurm_job_id) {
      if (auto record = read_execution_record(j.job_dir); record && record->slurm_job_id) {
        j.slurm_job_id = record->slurm_job_id;
        if (auto s = store.update_job(j); !s) return s.error();
      }
    }
    auto changed = refresh_job(j, **client, now);
    if (!changed) {
      r.slurm_error = changed.error().message;
      return r;
    }
    if (*changed) {
      if (auto s = store.update_job(j); !s) return s.error();
    }
  }
  r.slurm_answered = true;
  return r;
}

namespace {

std::string counts(const Rebuilt& r) {
  auto n = [](std::size_t k, const char* one) {
    return std::to_string(k) + " " + one + (k == 1 ? "" : "s");
  };
  return n(r.workspaces, "workspace") + ", " + n(r.experiments, "experiment") + ", " + n(r.clusters, "cluster") +
         ", " + n(r.jobs, "job");
}

void report_skipped(const Rebuilt& r) {
  for (const auto& s : r.skipped) diag::warning("left out of the rebuild: " + s);
  if (!r.slurm_error.empty()) {
    diag::warning("Slurm did not answer (" + r.slurm_error +
                  "); the rebuilt jobs keep the states their directories recorded until it does");
  }
}

}  // namespace

std::string records_owner(const Context& ctx) {
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(ctx.state_dir, ec);
  return ec ? ctx.state_dir : canonical.string();
}

std::function<Result<state::Store*>()> state_opener(Context& ctx) {
  auto held = std::make_shared<std::unique_ptr<state::Store>>();
  return [&ctx, held]() -> Result<state::Store*> {
    if (*held) return held->get();
    if (ctx.state_dir.empty()) return Error{"no state directory in this context"};
    auto opened = state::Store::open(ctx.state_dir);
    if (!opened) return opened.error();
    const bool created = (*opened)->created();
    auto store = recording_store(std::move(*opened), [&ctx] { return jobs_root(ctx); }, records_owner(ctx));
    if (created) {
      // A rebuild that fails leaves no database: the next command, finding
      // it missing again, tries again, rather than finding it empty.
      auto discard = [&](const Error& e) -> Error {
        store.reset();
        std::error_code ec;
        for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
          std::filesystem::remove(state::database_path(ctx.state_dir) + suffix, ec);
        }
        return e;
      };
      auto root = jobs_root(ctx);
      if (!root) return discard(root.error());
      // Only this state directory's own records: a new state directory
      // beside others on a shared jobsRoot starts empty, as it should.
      auto rebuilt = rebuild_state(ctx, *store, *root, false);
      if (!rebuilt) {
        return discard(Error{rebuilt.error().message + " (rebuilding the missing state database " +
                             state::database_path(ctx.state_dir) + " from the job directories)"});
      }
      if (rebuilt->workspaces + rebuilt->experiments + rebuilt->clusters + rebuilt->jobs > 0) {
        diag::note("the state database " + state::database_path(ctx.state_dir) +
                   " was missing; rebuilt it from the job directories under " + *root + ": " + counts(*rebuilt));
        report_skipped(*rebuilt);
      }
    }
    *held = std::move(store);
    return held->get();
  };
}

namespace {

constexpr args::Option kOptions[] = {
    {"force", 0, "", "replace a database that opens without damage too (it is kept as state.db.damaged-TIME)"},
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  if (ctx.state_dir.empty()) return Error{"no state directory in this context"};
  const std::string path = state::database_path(ctx.state_dir);
  auto health = state::health(ctx.state_dir);
  if (!health && !p.has("force")) return health.error();
  if (health && *health == state::Health::healthy && !p.has("force")) {
    return Error{"the state database " + path +
                 " is not damaged; 'batchai state rebuild --force' replaces it with one made from the job "
                 "directories"};
  }
  auto root = jobs_root(ctx);
  if (!root) return root.error();
  const std::string building = path + ".rebuild";
  Rebuilt rebuilt;
  {
    auto fresh = state::Store::open_new(building);
    if (!fresh) return fresh.error();
    auto store = recording_store(std::move(*fresh), [r = *root]() -> Result<std::string> { return r; },
                                 records_owner(ctx));
    // Asked for: job directories from before records named an owner too.
    auto made = rebuild_state(ctx, *store, *root, true);
    if (!made) return made.error();
    rebuilt = std::move(*made);
  }  // closed: the file is whole before it is renamed
  auto kept = state::install_rebuilt(ctx.state_dir, building, static_cast<std::int64_t>(std::time(nullptr)));
  if (!kept) return kept.error();
  report_skipped(rebuilt);
  boost::json::array skipped;
  for (const auto& s : rebuilt.skipped) skipped.push_back(boost::json::value(s));
  boost::json::object out{{"database", path},
                          {"previousDatabase", kept->empty() ? boost::json::value(nullptr) : boost::json::value(*kept)},
                          {"jobsRoot", *root},
                          {"workspaces", rebuilt.workspaces},
                          {"experiments", rebuilt.experiments},
                          {"clusters", rebuilt.clusters},
                          {"fileServers", rebuilt.file_servers},
                          {"jobs", rebuilt.jobs},
                          {"statesFromSlurm", rebuilt.slurm_answered},
                          {"skipped", std::move(skipped)}};
  static constexpr Column kColumns[] = {{"Database", "database"}, {"Workspaces", "workspaces"},
                                        {"Experiments", "experiments"}, {"Clusters", "clusters"},
                                        {"Jobs", "jobs"}, {"States from Slurm", "statesFromSlurm"}};
  if (auto s = emit(ctx, out, kColumns); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kStateRebuild = {
    "state rebuild", "Make the state database again from the job directories", kOptions, {}, run};

}  // namespace batchai::frontend
