// The state store with its records: every change is made in the database
// first (which refuses duplicates and missing parents), then written to the
// records beside the job directories, so that the database can be made
// again from them (state_records.h). Reads go to the database alone.
#include <filesystem>
#include <optional>
#include <system_error>

#include "frontend/commands/state_records.h"

namespace batchai::frontend {
namespace {

class RecordingStore final : public state::Store {
 public:
  RecordingStore(std::unique_ptr<state::Store> inner, std::function<Result<std::string>()> jobs_root,
                 std::string owner)
      : inner_(std::move(inner)), jobs_root_(std::move(jobs_root)), owner_(std::move(owner)) {}

  std::string records_owner() const override { return owner_; }

  std::string journal_mode() const override { return inner_->journal_mode(); }
  int schema_version() const override { return inner_->schema_version(); }
  bool created() const override { return inner_->created(); }

  // A create whose record cannot be written is undone, so that the
  // database never holds what a rebuild would lose.
  Status create_workspace(const state::Workspace& w) override {
    if (auto s = inner_->create_workspace(w); !s) return s;
    auto root = root_dir();
    Status s = root ? write_workspace_record(*root, with_created(w), owner_) : Status(root.error());
    if (!s) (void)inner_->delete_workspace(w.key);
    return s;
  }
  Result<std::optional<state::Workspace>> workspace(const state::WorkspaceKey& k) override {
    return inner_->workspace(k);
  }
  Result<std::vector<state::Workspace>> workspaces(const std::optional<std::string>& group) override {
    return inner_->workspaces(group);
  }
  Status delete_workspace(const state::WorkspaceKey& k) override {
    auto experiments = inner_->experiments(k);
    if (!experiments) return experiments.error();
    std::vector<std::string> dirs;
    for (const auto& e : *experiments) {
      auto jobs = inner_->jobs(e.key);
      if (!jobs) return jobs.error();
      for (const auto& j : *jobs) dirs.push_back(j.job_dir);
    }
    if (auto s = inner_->delete_workspace(k); !s) return s;
    for (const auto& d : dirs) {
      if (auto s = mark_job_deleted(d); !s) return s;
    }
    auto root = root_dir();
    if (!root) return root.error();
    return remove_workspace_records(*root, k);
  }

  Status create_experiment(const state::Experiment& e) override {
    if (auto s = inner_->create_experiment(e); !s) return s;
    auto root = root_dir();
    Status s = root ? write_experiment_record(*root, with_created(e), owner_) : Status(root.error());
    if (!s) (void)inner_->delete_experiment(e.key);
    return s;
  }
  Result<std::optional<state::Experiment>> experiment(const state::ExperimentKey& k) override {
    return inner_->experiment(k);
  }
  Result<std::vector<state::Experiment>> experiments(const state::WorkspaceKey& k) override {
    return inner_->experiments(k);
  }
  Status delete_experiment(const state::ExperimentKey& k) override {
    auto jobs = inner_->jobs(k);
    if (!jobs) return jobs.error();
    if (auto s = inner_->delete_experiment(k); !s) return s;
    for (const auto& j : *jobs) {
      if (auto s = mark_job_deleted(j.job_dir); !s) return s;
    }
    auto root = root_dir();
    if (!root) return root.error();
    return remove_experiment_record(*root, k);
  }

  Status create_cluster(const state::Cluster& c) override {
    if (auto s = inner_->create_cluster(c); !s) return s;
    auto root = root_dir();
    Status s = root ? write_cluster_record(*root, with_created(c), owner_) : Status(root.error());
    if (!s) (void)inner_->delete_cluster(c.key);
    return s;
  }
  Result<std::optional<state::Cluster>> cluster(const state::ClusterKey& k) override { return inner_->cluster(k); }
  Result<std::vector<state::Cluster>> clusters(const state::WorkspaceKey& k) override {
    return inner_->clusters(k);
  }
  Status update_cluster(const state::Cluster& c) override {
    if (auto s = inner_->update_cluster(c); !s) return s;
    // The whole cluster, as stored: `c` may carry only the scale settings.
    auto stored = inner_->cluster(c.key);
    if (!stored) return stored.error();
    if (!*stored) return {};
    auto root = root_dir();
    if (!root) return root.error();
    return write_cluster_record(*root, **stored, owner_);
  }
  Status delete_cluster(const state::ClusterKey& k) override {
    if (auto s = inner_->delete_cluster(k); !s) return s;
    auto root = root_dir();
    if (!root) return root.error();
    return remove_cluster_record(*root, k);
  }

  Status create_file_server(const state::FileServer& f) override {
    if (auto s = inner_->create_file_server(f); !s) return s;
    auto root = root_dir();
    Status s = root ? write_file_server_record(*root, with_created(f), owner_) : Status(root.error());
    if (!s) (void)inner_->delete_file_server(f.key);
    return s;
  }
  Result<std::optional<state::FileServer>> file_server(const state::FileServerKey& k) override {
    return inner_->file_server(k);
  }
  Result<std::vector<state::FileServer>> file_servers(const state::WorkspaceKey& k) override {
    return inner_->file_servers(k);
  }
  Status delete_file_server(const state::FileServerKey& k) override {
    if (auto s = inner_->delete_file_server(k); !s) return s;
    auto root = root_dir();
    if (!root) return root.error();
    return remove_file_server_record(*root, k);
  }

  // A new job's record is written with its directory (record_job), which
  // does not exist yet here; a rebuild inserts jobs whose record exists.
  Status insert_job(const state::Job& j) override { return inner_->insert_job(j); }
  Result<std::optional<state::Job>> job(const state::JobKey& k) override { return inner_->job(k); }
  Result<std::vector<state::Job>> jobs(const state::ExperimentKey& k) override { return inner_->jobs(k); }
  Status update_job(const state::Job& j) override {
    if (auto s = inner_->update_job(j); !s) return s;
    // A directory removed by hand is not made again for its record: the
    // job's files are gone, and a rebuild could not bring it back anyway.
    std::error_code ec;
    if (!std::filesystem::is_directory(j.job_dir, ec)) return {};
    return write_job_record(j, owner_);
  }
  Status delete_job(const state::JobKey& k) override {
    auto found = inner_->job(k);
    if (!found) return found.error();
    if (auto s = inner_->delete_job(k); !s) return s;
    if (!*found) return {};
    return mark_job_deleted((*found)->job_dir);
  }
  Result<std::vector<std::pair<state::ExecutionState, std::int64_t>>> job_history(const state::JobKey& k) override {
    return inner_->job_history(k);
  }

  Status set_default(const std::string& name, const std::string& value) override {
    return inner_->set_default(name, value);
  }
  Result<std::optional<std::string>> get_default(const std::string& name) override {
    return inner_->get_default(name);
  }

 private:
  Result<std::string> root_dir() {
    if (!root_) {
      auto r = jobs_root_();
      if (!r) return r.error();
      root_ = std::move(*r);
    }
    return *root_;
  }

  // The store fills in a creation time left 0; the record must hold the
  // same one, so it is read back.
  state::Workspace with_created(state::Workspace w) {
    if (!w.created) {
      if (auto stored = inner_->workspace(w.key); stored && *stored) w.created = (*stored)->created;
    }
    return w;
  }
  state::Experiment with_created(state::Experiment e) {
    if (!e.created) {
      if (auto stored = inner_->experiment(e.key); stored && *stored) e.created = (*stored)->created;
    }
    return e;
  }
  state::Cluster with_created(state::Cluster c) {
    if (!c.created) {
      if (auto stored = inner_->cluster(c.key); stored && *stored) c.created = (*stored)->created;
    }
    return c;
  }

  state::FileServer with_created(state::FileServer f) {
    if (!f.created) {
      if (auto stored = inner_->file_server(f.key); stored && *stored) f.created = (*stored)->created;
    }
    return f;
  }

  std::unique_ptr<state::Store> inner_;
  std::function<Result<std::string>()> jobs_root_;
  std::optional<std::string> root_;
  std::string owner_;
};

}  // namespace

std::unique_ptr<state::Store> recording_store(std::unique_ptr<state::Store> inner,
                                              std::function<Result<std::string>()> jobs_root, std::string owner) {
  return std::make_unique<RecordingStore>(std::move(inner), std::move(jobs_root), std::move(owner));
}

}  // namespace batchai::frontend
