#include "frontend/state.h"

#include <fcntl.h>
#include <pwd.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <initializer_list>
#include <map>
#include <random>
#include <string_view>
#include <thread>
#include <type_traits>
#include <variant>

#include "base/diag.h"

namespace batchai::frontend::state {
namespace {

using Clock = std::chrono::steady_clock;

// Schema migrations: step i takes the schema from version i to i + 1, in
// one transaction together with the version bump, so a database is always
// at exactly one version. Append steps; never edit a released one.
//
// Internal integer ids carry the foreign keys, so a rename would touch one
// row; names are unique where az made them unique. A job names its cluster
// by key, not by foreign key: a job outlives its cluster's deletion, as in
// Batch AI, where a job's cluster could live in another workspace.
constexpr std::string_view kMigrations[] = {
    R"sql(
CREATE TABLE workspaces (
  id INTEGER PRIMARY KEY,
  grp TEXT NOT NULL,
  name TEXT NOT NULL,
  location TEXT NOT NULL DEFAULT '',
  created INTEGER NOT NULL,
  UNIQUE (grp, name));
CREATE TABLE experiments (
  id INTEGER PRIMARY KEY,
  workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  created INTEGER NOT NULL,
  UNIQUE (workspace_id, name));
CREATE TABLE clusters (
  id INTEGER PRIMARY KEY,
  workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  vm_size TEXT NOT NULL,
  partition TEXT NOT NULL,
  gpus_per_node INTEGER NOT NULL,
  gpu_type TEXT NOT NULL,
  auto_scale INTEGER NOT NULL CHECK (auto_scale IN (0, 1)),
  target_nodes INTEGER NOT NULL,
  min_nodes INTEGER NOT NULL,
  max_nodes INTEGER NOT NULL,
  created INTEGER NOT NULL,
  UNIQUE (workspace_id, name));
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  uuid TEXT NOT NULL,
  cluster_group TEXT NOT NULL,
  cluster_workspace TEXT NOT NULL,
  cluster_name TEXT NOT NULL,
  tool_type TEXT NOT NULL,
  node_count INTEGER NOT NULL,
  spec_json TEXT NOT NULL,
  job_dir TEXT NOT NULL,
  segment TEXT NOT NULL,
  slurm_job_id INTEGER,
  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'terminating', 'succeeded', 'failed')),
  exit_code INTEGER,
  start_time INTEGER NOT NULL,
  end_time INTEGER NOT NULL,
  errors_json TEXT NOT NULL,
  created INTEGER NOT NULL,
  state_time INTEGER NOT NULL,
  UNIQUE (experiment_id, name));
CREATE TABLE job_history (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  state TEXT NOT NULL,
  time INTEGER NOT NULL);
CREATE INDEX job_history_by_job ON job_history (job_id, id);
CREATE TABLE defaults (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL);
)sql",
    // 2: the partition's MaxTime, read once at cluster create, so job create
    // needs no extra round trip to slurmctld (0: unlimited).
    R"sql(
ALTER TABLE clusters ADD COLUMN max_time_seconds INTEGER NOT NULL DEFAULT 0;
)sql",
    // 3: jobs written by `job export`, which the site submits with its own
    // sbatch, so a job without a Slurm id is not necessarily a lost one.
    R"sql(
ALTER TABLE jobs ADD COLUMN exported INTEGER NOT NULL DEFAULT 0 CHECK (exported IN (0, 1));
)sql",
    // 4: Batch AI's vmPriority; clusters made before it were dedicated.
    R"sql(
ALTER TABLE clusters ADD COLUMN vm_priority TEXT NOT NULL DEFAULT 'dedicated'
  CHECK (vm_priority IN ('dedicated', 'lowpriority'));
)sql",
    // 5: a cluster's node setup task (Batch AI's nodeSetup.setupTask as
    // JSON, secret values left out; '' for none) with the uuid that names
    // its output directory; and file servers, which jobs mount by name. One
    // migration for both, so the two can be built side by side.
    R"sql(
ALTER TABLE clusters ADD COLUMN node_setup_json TEXT NOT NULL DEFAULT '';
ALTER TABLE clusters ADD COLUMN setup_uuid TEXT NOT NULL DEFAULT '';
CREATE TABLE file_servers (
  id INTEGER PRIMARY KEY,
  workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  vm_size TEXT NOT NULL,
  path TEXT NOT NULL,
  site_mapped INTEGER NOT NULL CHECK (site_mapped IN (0, 1)),
  properties_json TEXT NOT NULL,
  created INTEGER NOT NULL,
  UNIQUE (workspace_id, name));
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

std::string quoted(std::string_view name) { return "'" + diag::one_line(name) + "'"; }

std::string in_workspace(const std::string& group, const std::string& workspace) {
  return "in workspace " + quoted(workspace) + " (resource group " + quoted(group) + ")";
}

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

// A stored state this CLI does not know (a newer CLI's, or an edit by hand)
// is an error that names it, rather than being read as some other state.
Error bad_state(const std::string& job, std::string_view state) {
  return Error{"job " + quoted(job) + ": state " + quoted(state) +
               " is not one of queued, running, terminating, succeeded, failed"};
}

std::string duration_text(std::chrono::milliseconds d) {
  return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + " s" : std::to_string(d.count()) + " ms";
}

std::string errno_text() { return std::strerror(errno); }

// Each missing component gets 0700: XDG asks that for state directories,
// and the database holds job specs. umask can only narrow a mode, and
// chmod undoes that narrowing on the directories made here. Directories
// that exist are left as they are: the user chose them.
Status make_private_dir(const std::string& dir) {
  if (dir.empty()) return Error{"state directory: empty path"};
  for (std::size_t end = 1; end <= dir.size(); ++end) {
    if (end < dir.size() && dir[end] != '/') continue;
    std::string part = dir.substr(0, end);
    if (part.back() == '/') continue;
    if (::mkdir(part.c_str(), 0700) == 0) {
      if (::chmod(part.c_str(), 0700) != 0) {
        return Error{"cannot set mode 0700 on state directory '" + part + "': " + errno_text()};
      }
      continue;
    }
    const int err = errno;
    // A read-only or unwritable parent answers EROFS or EACCES even for a
    // directory that is already there.
    struct stat st {};
    if (err != EEXIST && !(::stat(part.c_str(), &st) == 0 && S_ISDIR(st.st_mode))) {
      return Error{"cannot create state directory '" + part + "': " + std::strerror(err)};
    }
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return Error{"state directory '" + dir + "': " + errno_text()};
  if (!S_ISDIR(st.st_mode)) return Error{"state directory '" + dir + "' is not a directory"};
  return {};
}

// SQLite would create the file 0644 less the umask, so it is made here
// first, 0600 whatever the umask. SQLite gives its journal, WAL and shared
// memory files the database file's mode. Returns whether the database is
// new: made here, or found empty, as a full disk or a quota may leave it
// (SQLite takes an empty file for an empty database).
Result<bool> make_private_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0) {
    const bool ok = ::fchmod(fd, 0600) == 0;
    const std::string why = ok ? "" : errno_text();
    ::close(fd);
    if (!ok) return Error{"cannot set mode 0600 on state database '" + path + "': " + why};
    return true;
  }
  if (errno != EEXIST) return Error{"cannot create state database '" + path + "': " + errno_text()};
  // A database copied in or left by a careless tool may be readable by
  // others; it holds job specs, so it is narrowed.
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0 && st.st_uid == ::geteuid()) {
    if (::chmod(path.c_str(), 0600) != 0) {
      return Error{"cannot set mode 0600 on state database '" + path + "': " + errno_text()};
    }
  }
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0;
}

Result<std::string> journal_for(const std::string& dir) {
  if (const char* forced = std::getenv("BATCHAI_STATE_JOURNAL"); forced && *forced) {
    std::string_view f = forced;
    if (f == "wal" || f == "delete") return std::string(f);
    return Error{"BATCHAI_STATE_JOURNAL: expected wal or delete, got " + quoted(f)};
  }
  struct statfs fs {};
  // Unknown is treated as shared: DELETE is merely slower where WAL would
  // have worked, while WAL on a network filesystem breaks.
  if (::statfs(dir.c_str(), &fs) != 0) return std::string("delete");
  return std::string(network_filesystem(static_cast<std::int64_t>(fs.f_type)) ? "delete" : "wal");
}

using Value = std::variant<std::nullptr_t, std::int64_t, std::string_view>;

class Row {
 public:
  explicit Row(sqlite3_stmt* s) : s_(s) {}
  std::string text(int i) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, i));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, i))) : std::string();
  }
  std::int64_t int64(int i) const { return sqlite3_column_int64(s_, i); }
  bool null(int i) const { return sqlite3_column_type(s_, i) == SQLITE_NULL; }

 private:
  sqlite3_stmt* s_;
};

constexpr std::string_view kJobColumns =
    "w.grp, w.name, e.name, j.name, j.uuid, j.cluster_group, j.cluster_workspace, j.cluster_name, j.tool_type, "
    "j.node_count, j.spec_json, j.job_dir, j.segment, j.slurm_job_id, j.state, j.exit_code, j.start_time, "
    "j.end_time, j.errors_json, j.created, j.state_time, j.exported "
    "FROM jobs j JOIN experiments e ON j.experiment_id = e.id JOIN workspaces w ON e.workspace_id = w.id ";

Result<Job> job_of(const Row& r) {
  Job j;
  j.key = {r.text(0), r.text(1), r.text(2), r.text(3)};
  j.uuid = r.text(4);
  j.cluster = {r.text(5), r.text(6), r.text(7)};
  j.tool_type = r.text(8);
  j.node_count = r.int64(9);
  j.spec_json = r.text(10);
  j.job_dir = r.text(11);
  j.segment = r.text(12);
  if (!r.null(13)) j.slurm_job_id = static_cast<std::uint32_t>(r.int64(13));
  const std::string state = r.text(14);
  auto parsed = parse_execution_state(state);
  if (!parsed) return bad_state(j.key.job, state);
  j.state = *parsed;
  if (!r.null(15)) j.exit_code = static_cast<int>(r.int64(15));
  j.start_time = r.int64(16);
  j.end_time = r.int64(17);
  j.errors_json = r.text(18);
  j.created = r.int64(19);
  j.state_time = r.int64(20);
  j.exported = r.int64(21) != 0;
  return j;
}

constexpr std::string_view kClusterColumns =
    "w.grp, w.name, c.name, c.vm_size, c.partition, c.gpus_per_node, c.gpu_type, c.auto_scale, c.target_nodes, "
    "c.min_nodes, c.max_nodes, c.created, c.max_time_seconds, c.vm_priority, c.node_setup_json, c.setup_uuid FROM clusters c JOIN workspaces w "
    "ON c.workspace_id = w.id ";

Cluster cluster_of(const Row& r) {
  Cluster c;
  c.key = {r.text(0), r.text(1), r.text(2)};
  c.vm_size = r.text(3);
  c.partition = r.text(4);
  c.gpus_per_node = static_cast<int>(r.int64(5));
  c.gpu_type = r.text(6);
  c.auto_scale = r.int64(7) != 0;
  c.target_nodes = r.int64(8);
  c.min_nodes = r.int64(9);
  c.max_nodes = r.int64(10);
  c.created = r.int64(11);
  c.max_time_seconds = r.int64(12);
  // The column's CHECK admits only the two names.
  c.vm_priority = parse_vm_priority(r.text(13)).value_or(VmPriority::dedicated);
  c.node_setup_json = r.text(14);
  c.setup_uuid = r.text(15);
  return c;
}

constexpr std::string_view kFileServerColumns =
    "w.grp, w.name, f.name, f.vm_size, f.path, f.site_mapped, f.properties_json, f.created FROM file_servers f "
    "JOIN workspaces w ON f.workspace_id = w.id ";

FileServer file_server_of(const Row& r) {
  FileServer f;
  f.key = {r.text(0), r.text(1), r.text(2)};
  f.vm_size = r.text(3);
  f.path = r.text(4);
  f.site_mapped = r.int64(5) != 0;
  f.properties_json = r.text(6);
  f.created = r.int64(7);
  return f;
}

class SqliteStore final : public Store {
 public:
  SqliteStore(sqlite3* db, std::string path, const Waiting& waiting, bool created)
      : db_(db),
        path_(std::move(path)),
        waiting_(waiting),
        prefix_("cannot open state database '" + path_ + "': "),
        created_(created) {}
  ~SqliteStore() override {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Status init(const std::string& wanted_journal) {
    sqlite3_busy_timeout(db_, static_cast<int>(waiting_.busy_timeout.count()));
    // Off by default in SQLite, and per connection: without it the cascades
    // below would silently not happen.
    if (auto s = exec("PRAGMA foreign_keys = ON"); !s) return s;
    if (auto s = set_journal(wanted_journal); !s) return s;
    // In WAL, NORMAL syncs at checkpoints, not at every commit: a crash of
    // the machine may lose the last commits but never corrupts the file,
    // and each CLI call saves two fsyncs (SQLite's documented trade).
    if (journal_ == "wal") {
      if (auto s = exec("PRAGMA synchronous = NORMAL"); !s) return s;
      // Every CLI call is the last connection when it exits; checkpointing
      // then (two more fsyncs and a new WAL next time) would be most of its
      // cost. SQLite's automatic checkpoint still runs.
      sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
      // Being the first connection, every CLI call also rebuilds the WAL
      // index by reading the whole WAL: 0.35 ms per MB here. At SQLite's
      // default of 1000 pages that grew to 1.4 ms of a 5 ms job create;
      // checkpointing every 128 pages (512 KB) costs two fsyncs every ten
      // or so creates instead.
      if (auto s = exec("PRAGMA wal_autocheckpoint = 128"); !s) return s;
    }
    if (auto s = migrate(); !s) return s;
    prefix_ = "state database '" + path_ + "': ";
    return {};
  }

  std::string journal_mode() const override { return journal_; }
  int schema_version() const override { return version_; }
  bool created() const override { return created_; }
  bool damaged() const { return damaged_; }

  Status create_workspace(const Workspace& w) override {
    return transact(Tx::write, [&]() -> Status {
      auto id = workspace_id(w.key);
      if (!id) return id.error();
      if (*id) {
        return Error{"workspace " + quoted(w.key.workspace) + " already exists in resource group " +
                     quoted(w.key.group)};
      }
      return query("INSERT INTO workspaces (grp, name, location, created) VALUES (?, ?, ?, ?)",
                   {w.key.group, w.key.workspace, w.location, w.created ? w.created : now()});
    });
  }

  Result<std::optional<Workspace>> workspace(const WorkspaceKey& k) override {
    return transact(Tx::read, [&]() -> Result<std::optional<Workspace>> {
      std::optional<Workspace> found;
      auto s = query("SELECT grp, name, location, created FROM workspaces WHERE grp = ? AND name = ?",
                     {k.group, k.workspace}, [&](const Row& r) { found = workspace_of(r); });
      if (!s) return s.error();
      return found;
    });
  }

  Result<std::vector<Workspace>> workspaces(const std::optional<std::string>& group) override {
    return transact(Tx::read, [&]() -> Result<std::vector<Workspace>> {
      std::vector<Workspace> all;
      auto add = [&](const Row& r) { all.push_back(workspace_of(r)); };
      auto s = group ? query("SELECT grp, name, location, created FROM workspaces WHERE grp = ? ORDER BY name",
                             {*group}, add)
                     : query("SELECT grp, name, location, created FROM workspaces ORDER BY grp, name", {}, add);
      if (!s) return s.error();
      return all;
    });
  }

  Status delete_workspace(const WorkspaceKey& k) override {
    return transact(Tx::write, [&]() -> Status {
      auto id = existing_workspace(k);
      if (!id) return id.error();
      return query("DELETE FROM workspaces WHERE id = ?", {*id});
    });
  }

  Status create_experiment(const Experiment& e) override {
    return transact(Tx::write, [&]() -> Status {
      auto ws = existing_workspace({e.key.group, e.key.workspace});
      if (!ws) return ws.error();
      auto id = experiment_id(e.key);
      if (!id) return id.error();
      if (*id) {
        return Error{"experiment " + quoted(e.key.experiment) + " already exists " +
                     in_workspace(e.key.group, e.key.workspace)};
      }
      return query("INSERT INTO experiments (workspace_id, name, created) VALUES (?, ?, ?)",
                   {*ws, e.key.experiment, e.created ? e.created : now()});
    });
  }

  Result<std::optional<Experiment>> experiment(const ExperimentKey& k) override {
    return transact(Tx::read, [&]() -> Result<std::optional<Experiment>> {
      std::optional<Experiment> found;
      auto s = query(
          "SELECT w.grp, w.name, e.name, e.created FROM experiments e JOIN workspaces w ON e.workspace_id = w.id "
          "WHERE w.grp = ? AND w.name = ? AND e.name = ?",
          {k.group, k.workspace, k.experiment}, [&](const Row& r) { found = experiment_of(r); });
      if (!s) return s.error();
      return found;
    });
  }

  Result<std::vector<Experiment>> experiments(const WorkspaceKey& k) override {
    return transact(Tx::read, [&]() -> Result<std::vector<Experiment>> {
      auto ws = existing_workspace(k);
      if (!ws) return ws.error();
      std::vector<Experiment> all;
      auto s = query(
          "SELECT w.grp, w.name, e.name, e.created FROM experiments e JOIN workspaces w ON e.workspace_id = w.id "
          "WHERE w.id = ? ORDER BY e.name",
          {*ws}, [&](const Row& r) { all.push_back(experiment_of(r)); });
      if (!s) return s.error();
      return all;
    });
  }

  Status delete_experiment(const ExperimentKey& k) override {
    return transact(Tx::write, [&]() -> Status {
      auto id = existing_experiment(k);
      if (!id) return id.error();
      return query("DELETE FROM experiments WHERE id = ?", {*id});
    });
  }

  Status create_cluster(const Cluster& c) override {
    return transact(Tx::write, [&]() -> Status {
      auto ws = existing_workspace({c.key.group, c.key.workspace});
      if (!ws) return ws.error();
      auto id = cluster_id(c.key);
      if (!id) return id.error();
      if (*id) {
        return Error{"cluster " + quoted(c.key.cluster) + " already exists " +
                     in_workspace(c.key.group, c.key.workspace)};
      }
      return query(
          "INSERT INTO clusters (workspace_id, name, vm_size, partition, gpus_per_node, gpu_type, auto_scale, "
          "target_nodes, min_nodes, max_nodes, created, max_time_seconds, vm_priority, node_setup_json, setup_uuid) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          {*ws, c.key.cluster, c.vm_size, c.partition, std::int64_t{c.gpus_per_node}, c.gpu_type,
           std::int64_t{c.auto_scale ? 1 : 0}, c.target_nodes, c.min_nodes, c.max_nodes,
           c.created ? c.created : now(), c.max_time_seconds, std::string_view(to_string(c.vm_priority)), c.node_setup_json, c.setup_uuid});
    });
  }

  Result<std::optional<Cluster>> cluster(const ClusterKey& k) override {
    return transact(Tx::read, [&]() -> Result<std::optional<Cluster>> {
      std::optional<Cluster> found;
      auto s = query("SELECT " + std::string(kClusterColumns) + "WHERE w.grp = ? AND w.name = ? AND c.name = ?",
                     {k.group, k.workspace, k.cluster}, [&](const Row& r) { found = cluster_of(r); });
      if (!s) return s.error();
      return found;
    });
  }

  Result<std::vector<Cluster>> clusters(const WorkspaceKey& k) override {
    return transact(Tx::read, [&]() -> Result<std::vector<Cluster>> {
      auto ws = existing_workspace(k);
      if (!ws) return ws.error();
      std::vector<Cluster> all;
      auto s = query("SELECT " + std::string(kClusterColumns) + "WHERE w.id = ? ORDER BY c.name", {*ws},
                     [&](const Row& r) { all.push_back(cluster_of(r)); });
      if (!s) return s.error();
      return all;
    });
  }

  Status update_cluster(const Cluster& c) override {
    return transact(Tx::write, [&]() -> Status {
      auto id = existing_cluster(c.key);
      if (!id) return id.error();
      return query("UPDATE clusters SET auto_scale = ?, target_nodes = ?, min_nodes = ?, max_nodes = ? WHERE id = ?",
                   {std::int64_t{c.auto_scale ? 1 : 0}, c.target_nodes, c.min_nodes, c.max_nodes, *id});
    });
  }

  Status delete_cluster(const ClusterKey& k) override {
    return transact(Tx::write, [&]() -> Status {
      auto id = existing_cluster(k);
      if (!id) return id.error();
      return query("DELETE FROM clusters WHERE id = ?", {*id});
    });
  }

  Status create_file_server(const FileServer& f) override {
    return transact(Tx::write, [&]() -> Status {
      auto ws = existing_workspace({f.key.group, f.key.workspace});
      if (!ws) return ws.error();
      auto id = file_server_id(f.key);
      if (!id) return id.error();
      if (*id) {
        return Error{"file server " + quoted(f.key.file_server) + " already exists " +
                     in_workspace(f.key.group, f.key.workspace)};
      }
      return query(
          "INSERT INTO file_servers (workspace_id, name, vm_size, path, site_mapped, properties_json, created) "
          "VALUES (?, ?, ?, ?, ?, ?, ?)",
          {*ws, f.key.file_server, f.vm_size, f.path, std::int64_t{f.site_mapped ? 1 : 0}, f.properties_json,
           f.created ? f.created : now()});
    });
  }

  Result<std::optional<FileServer>> file_server(const FileServerKey& k) override {
    return transact(Tx::read, [&]() -> Result<std::optional<FileServer>> {
      std::optional<FileServer> found;
      auto s = query("SELECT " + std::string(kFileServerColumns) + "WHERE w.grp = ? AND w.name = ? AND f.name = ?",
                     {k.group, k.workspace, k.file_server}, [&](const Row& r) { found = file_server_of(r); });
      if (!s) return s.error();
      return found;
    });
  }

  Result<std::vector<FileServer>> file_servers(const WorkspaceKey& k) override {
    return transact(Tx::read, [&]() -> Result<std::vector<FileServer>> {
      auto ws = existing_workspace(k);
      if (!ws) return ws.error();
      std::vector<FileServer> all;
      auto s = query("SELECT " + std::string(kFileServerColumns) + "WHERE w.id = ? ORDER BY f.name", {*ws},
                     [&](const Row& r) { all.push_back(file_server_of(r)); });
      if (!s) return s.error();
      return all;
    });
  }

  Status delete_file_server(const FileServerKey& k) override {
    return transact(Tx::write, [&]() -> Status {
      auto id = file_server_id(k);
      if (!id) return id.error();
      if (!*id) {
        auto ws = existing_workspace({k.group, k.workspace});
        if (!ws) return ws.error();
        return not_found(k);
      }
      return query("DELETE FROM file_servers WHERE id = ?", {**id});
    });
  }

  Status insert_job(const Job& j) override {
    return transact(Tx::write, [&]() -> Status {
      auto exp = existing_experiment({j.key.group, j.key.workspace, j.key.experiment});
      if (!exp) return exp.error();
      auto id = job_id(j.key);
      if (!id) return id.error();
      if (*id) {
        return Error{"job " + quoted(j.key.job) + " already exists in experiment " + quoted(j.key.experiment)};
      }
      const std::int64_t created = j.created ? j.created : now();
      const std::int64_t state_time = j.state_time ? j.state_time : created;
      auto s = query(
          "INSERT INTO jobs (experiment_id, name, uuid, cluster_group, cluster_workspace, cluster_name, tool_type, "
          "node_count, spec_json, job_dir, segment, slurm_job_id, state, exit_code, start_time, end_time, "
          "errors_json, created, state_time, exported) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          {*exp, j.key.job, j.uuid, j.cluster.group, j.cluster.workspace, j.cluster.cluster, j.tool_type, j.node_count,
           j.spec_json, j.job_dir, j.segment, slurm_id(j), to_string(j.state), exit_code(j), j.start_time,
           j.end_time, j.errors_json, created, state_time, std::int64_t{j.exported}});
      if (!s) return s;
      // The first state is history too: `job wait` reports from queued on.
      return query("INSERT INTO job_history (job_id, state, time) VALUES (?, ?, ?)",
                   {static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_)), to_string(j.state), state_time});
    });
  }

  Result<std::optional<Job>> job(const JobKey& k) override {
    return transact(Tx::read, [&]() -> Result<std::optional<Job>> {
      std::optional<Job> found;
      auto s =
          query("SELECT " + std::string(kJobColumns) + "WHERE w.grp = ? AND w.name = ? AND e.name = ? AND j.name = ?",
                {k.group, k.workspace, k.experiment, k.job}, [&](const Row& r) -> Status {
                  auto j = job_of(r);
                  if (!j) return j.error();
                  found = std::move(*j);
                  return {};
                });
      if (!s) return s.error();
      return found;
    });
  }

  Result<std::vector<Job>> jobs(const ExperimentKey& k) override {
    return transact(Tx::read, [&]() -> Result<std::vector<Job>> {
      auto exp = existing_experiment(k);
      if (!exp) return exp.error();
      std::vector<Job> all;
      auto s = query("SELECT " + std::string(kJobColumns) + "WHERE e.id = ? ORDER BY j.id", {*exp},
                     [&](const Row& r) -> Status {
                       auto j = job_of(r);
                       if (!j) return j.error();
                       all.push_back(std::move(*j));
                       return {};
                     });
      if (!s) return s.error();
      return all;
    });
  }

  Status update_job(const Job& j) override {
    return transact(Tx::write, [&]() -> Status {
      auto id = existing_job(j.key);
      if (!id) return id.error();
      std::string before;
      auto s = query("SELECT state FROM jobs WHERE id = ?", {*id}, [&](const Row& r) { before = r.text(0); });
      if (!s) return s;
      const std::int64_t state_time = j.state_time ? j.state_time : now();
      s = query(
          "UPDATE jobs SET slurm_job_id = ?, state = ?, exit_code = ?, start_time = ?, end_time = ?, "
          "errors_json = ?, state_time = ? WHERE id = ?",
          {slurm_id(j), to_string(j.state), exit_code(j), j.start_time, j.end_time, j.errors_json, state_time, *id});
      if (!s || before == to_string(j.state)) return s;
      return query("INSERT INTO job_history (job_id, state, time) VALUES (?, ?, ?)",
                   {*id, to_string(j.state), state_time});
    });
  }

  Status delete_job(const JobKey& k) override {
    return transact(Tx::write, [&]() -> Status {
      auto id = existing_job(k);
      if (!id) return id.error();
      return query("DELETE FROM jobs WHERE id = ?", {*id});
    });
  }

  Result<std::vector<std::pair<ExecutionState, std::int64_t>>> job_history(const JobKey& k) override {
    using History = std::vector<std::pair<ExecutionState, std::int64_t>>;
    return transact(Tx::read, [&]() -> Result<History> {
      auto id = existing_job(k);
      if (!id) return id.error();
      History h;
      auto s = query("SELECT state, time FROM job_history WHERE job_id = ? ORDER BY id", {*id},
                     [&](const Row& r) -> Status {
                       const std::string state = r.text(0);
                       auto parsed = parse_execution_state(state);
                       if (!parsed) return bad_state(k.job, state);
                       h.emplace_back(*parsed, r.int64(1));
                       return {};
                     });
      if (!s) return s.error();
      return h;
    });
  }

  Status set_default(const std::string& name, const std::string& value) override {
    return transact(Tx::write, [&]() -> Status {
      if (value.empty()) return query("DELETE FROM defaults WHERE name = ?", {name});
      return query(
          "INSERT INTO defaults (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
          {name, value});
    });
  }

  Result<std::optional<std::string>> get_default(const std::string& name) override {
    return transact(Tx::read, [&]() -> Result<std::optional<std::string>> {
      std::optional<std::string> value;
      auto s = query("SELECT value FROM defaults WHERE name = ?", {name}, [&](const Row& r) { value = r.text(0); });
      if (!s) return s.error();
      return value;
    });
  }

 private:
  enum class Tx { read, write };

  static Workspace workspace_of(const Row& r) { return Workspace{{r.text(0), r.text(1)}, r.text(2), r.int64(3)}; }
  static Experiment experiment_of(const Row& r) { return Experiment{{r.text(0), r.text(1), r.text(2)}, r.int64(3)}; }
  static Value slurm_id(const Job& j) { return j.slurm_job_id ? Value{std::int64_t{*j.slurm_job_id}} : Value{nullptr}; }
  static Value exit_code(const Job& j) { return j.exit_code ? Value{std::int64_t{*j.exit_code}} : Value{nullptr}; }

  // Notes whether SQLite's failure was a lock held by another process, so
  // that transact() knows the whole transaction may simply be tried again.
  // A damaged file gets the one message that names the way out, whichever
  // statement met the damage first.
  Error db_error() {
    const int code = sqlite3_extended_errcode(db_) & 0xff;
    busy_ = code == SQLITE_BUSY || code == SQLITE_LOCKED;
    if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) {
      damaged_ = true;
      return damaged_database(path_, sqlite3_errmsg(db_));
    }
    return Error{prefix_ + sqlite3_errmsg(db_)};
  }

  Status exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return db_error();
    return {};
  }

  // Prepared once per connection and kept: a CLI call runs BEGIN, COMMIT
  // and the same lookups in each of its transactions, and parsing the SQL
  // anew every time was a tenth of `job create`.
  Result<sqlite3_stmt*> prepared(std::string_view sql) {
    if (auto it = statements_.find(sql); it != statements_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                           nullptr) != SQLITE_OK) {
      return db_error();
    }
    statements_.emplace(std::string(sql), stmt);
    return stmt;
  }

  // Runs one statement with `params` bound in order, handing each result
  // row to `row`; a `row` that returns a Status stops the query at its
  // first error.
  template <class OnRow = std::nullptr_t>
  Status query(std::string_view sql, std::initializer_list<Value> params, OnRow&& row = nullptr) {
    auto prepared_stmt = prepared(sql);
    if (!prepared_stmt) return prepared_stmt.error();
    sqlite3_stmt* stmt = *prepared_stmt;
    // Reset after use, error or not: a statement left mid-step would keep
    // its read lock, and its bindings would leak into the next use.
    struct Reset {
      sqlite3_stmt* s;
      ~Reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } reset{stmt};
    int i = 1;
    for (const Value& v : params) {
      int rc = SQLITE_OK;
      if (const auto* n = std::get_if<std::int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, i, *n);
      } else if (const auto* t = std::get_if<std::string_view>(&v)) {
        rc = sqlite3_bind_text(stmt, i, t->data(), static_cast<int>(t->size()), SQLITE_TRANSIENT);
      } else {
        rc = sqlite3_bind_null(stmt, i);
      }
      if (rc != SQLITE_OK) return db_error();
      ++i;
    }
    for (;;) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) return {};
      if (rc != SQLITE_ROW) return db_error();
      if constexpr (std::is_same_v<std::decay_t<OnRow>, std::nullptr_t>) {
        continue;
      } else if constexpr (std::is_same_v<std::invoke_result_t<OnRow, const Row&>, Status>) {
        if (auto s = row(Row(stmt)); !s) return s;
      } else {
        row(Row(stmt));
      }
    }
  }

  Result<std::optional<std::int64_t>> one_id(std::string_view sql, std::initializer_list<Value> params) {
    std::optional<std::int64_t> id;
    auto s = query(sql, params, [&](const Row& r) { id = r.int64(0); });
    if (!s) return s.error();
    return id;
  }

  Result<std::optional<std::int64_t>> workspace_id(const WorkspaceKey& k) {
    return one_id("SELECT id FROM workspaces WHERE grp = ? AND name = ?", {k.group, k.workspace});
  }
  Result<std::optional<std::int64_t>> experiment_id(const ExperimentKey& k) {
    return one_id(
        "SELECT e.id FROM experiments e JOIN workspaces w ON e.workspace_id = w.id "
        "WHERE w.grp = ? AND w.name = ? AND e.name = ?",
        {k.group, k.workspace, k.experiment});
  }
  Result<std::optional<std::int64_t>> cluster_id(const ClusterKey& k) {
    return one_id(
        "SELECT c.id FROM clusters c JOIN workspaces w ON c.workspace_id = w.id "
        "WHERE w.grp = ? AND w.name = ? AND c.name = ?",
        {k.group, k.workspace, k.cluster});
  }
  Result<std::optional<std::int64_t>> file_server_id(const FileServerKey& k) {
    return one_id(
        "SELECT f.id FROM file_servers f JOIN workspaces w ON f.workspace_id = w.id "
        "WHERE w.grp = ? AND w.name = ? AND f.name = ?",
        {k.group, k.workspace, k.file_server});
  }
  Result<std::optional<std::int64_t>> job_id(const JobKey& k) {
    return one_id(
        "SELECT j.id FROM jobs j JOIN experiments e ON j.experiment_id = e.id "
        "JOIN workspaces w ON e.workspace_id = w.id WHERE w.grp = ? AND w.name = ? AND e.name = ? AND j.name = ?",
        {k.group, k.workspace, k.experiment, k.job});
  }

  // The id of a resource that must exist; the error names the first
  // missing level, so "experiment not found" is not reported for a
  // misspelt workspace.
  Result<std::int64_t> existing_workspace(const WorkspaceKey& k) {
    auto id = workspace_id(k);
    if (!id) return id.error();
    if (!*id) return not_found(k);
    return **id;
  }
  Result<std::int64_t> existing_experiment(const ExperimentKey& k) {
    auto id = experiment_id(k);
    if (!id) return id.error();
    if (*id) return **id;
    auto ws = existing_workspace({k.group, k.workspace});
    if (!ws) return ws.error();
    return not_found(k);
  }
  Result<std::int64_t> existing_cluster(const ClusterKey& k) {
    auto id = cluster_id(k);
    if (!id) return id.error();
    if (*id) return **id;
    auto ws = existing_workspace({k.group, k.workspace});
    if (!ws) return ws.error();
    return not_found(k);
  }
  Result<std::int64_t> existing_job(const JobKey& k) {
    auto id = job_id(k);
    if (!id) return id.error();
    if (*id) return **id;
    auto exp = existing_experiment({k.group, k.workspace, k.experiment});
    if (!exp) return exp.error();
    return not_found(k);
  }

  // Runs `body` in one transaction; writes take the write lock up front
  // (BEGIN IMMEDIATE), so two writers never deadlock upgrading a read
  // lock. When another process holds the database longer than the busy
  // timeout, the transaction is rolled back and run again after a growing,
  // jittered pause, until the retry budget is spent: a write that found the
  // database busy even after the busy timeout starts over.
  template <class Body>
  auto transact(Tx mode, Body&& body) -> decltype(body()) {
    using R = decltype(body());
    const auto deadline = Clock::now() + waiting_.retry_budget;
    std::minstd_rand jitter(static_cast<unsigned>(::getpid()) ^
                            static_cast<unsigned>(Clock::now().time_since_epoch().count()));
    std::chrono::milliseconds pause(10);
    for (;;) {
      busy_ = false;
      R result = R(Error{});
      if (auto begun = query(mode == Tx::write ? "BEGIN IMMEDIATE" : "BEGIN", {}); !begun) {
        result = begun.error();
      } else {
        result = body();
        if (result) {
          auto committed = query("COMMIT", {});
          if (committed) return result;
          result = committed.error();
        }
      }
      const bool retry = busy_;
      // Some errors end the transaction themselves; a ROLLBACK then would
      // only fail.
      if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      if (!retry) return result;
      if (Clock::now() + pause >= deadline) {
        return Error{result.error().message + " (still busy after " + duration_text(waiting_.retry_budget) +
                     " of retries)"};
      }
      std::this_thread::sleep_for(pause + std::chrono::milliseconds(jitter() % (pause.count() + 1)));
      pause = std::min(pause * 2, std::chrono::milliseconds(1000));
    }
  }

  // PRAGMA journal_mode answers with the mode in effect, which differs from
  // the one asked for when another connection keeps the database in WAL.
  Status set_journal(const std::string& wanted) {
    const std::string sql = "PRAGMA journal_mode = " + wanted;
    const auto deadline = Clock::now() + waiting_.retry_budget;
    for (;;) {
      busy_ = false;
      std::string mode;
      auto s = query(sql, {}, [&](const Row& r) { mode = r.text(0); });
      if (s) {
        for (char& c : mode) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        journal_ = mode;
        return {};
      }
      if (!busy_ || Clock::now() >= deadline) return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  Result<int> read_version() {
    bool table = false;
    auto s = query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'", {},
                   [&](const Row&) { table = true; });
    if (!s) return s.error();
    if (!table) return 0;
    std::optional<std::int64_t> v;
    s = query("SELECT max(version) FROM schema_version", {}, [&](const Row& r) {
      if (!r.null(0)) v = r.int64(0);
    });
    if (!s) return s.error();
    return static_cast<int>(v.value_or(0));
  }

  Error too_new(int v) const {
    return Error{prefix_ + "schema version " + std::to_string(v) + " is newer than this batchai's (" +
                 std::to_string(kSchemaVersion) + "); use a newer batchai"};
  }

  // The common case, a current database, costs one read transaction; only
  // an old one takes the write lock, and each step re-reads the version
  // under it, since another CLI may have migrated in between.
  Status migrate() {
    auto v = transact(Tx::read, [&] { return read_version(); });
    if (!v) return v.error();
    if (*v > kSchemaVersion) return too_new(*v);
    while (*v < kSchemaVersion) {
      v = transact(Tx::write, [&]() -> Result<int> {
        if (auto s = exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"); !s) return s.error();
        auto at = read_version();
        if (!at) return at;
        if (*at > kSchemaVersion) return too_new(*at);
        if (*at == kSchemaVersion) return at;
        if (auto s = exec(std::string(kMigrations[*at]).c_str()); !s) {
          return Error{s.error().message + " (migrating the schema to version " + std::to_string(*at + 1) + ")"};
        }
        if (auto s = exec("DELETE FROM schema_version"); !s) return s.error();
        auto s = query("INSERT INTO schema_version (version) VALUES (?)", {std::int64_t{*at + 1}});
        if (!s) return s.error();
        return *at + 1;
      });
      if (!v) return v.error();
    }
    version_ = *v;
    return {};
  }

  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*, std::less<>> statements_;
  std::string path_;
  Waiting waiting_;
  // Before every SQLite message: while opening, the message az users
  // expect from a CLI that cannot start; afterwards, the database's name.
  std::string prefix_;
  std::string journal_;
  int version_ = 0;
  bool busy_ = false;
  bool created_ = false;
  bool damaged_ = false;
};

std::function<void(std::string_view)>& sql_trace() {
  static std::function<void(std::string_view)> trace;
  return trace;
}

int trace_statement(unsigned, void* context, void* statement, void*) {
  // The trace may have been cleared since this database was opened.
  auto& trace = *static_cast<std::function<void(std::string_view)>*>(context);
  const char* sql = sqlite3_sql(static_cast<sqlite3_stmt*>(statement));
  if (sql && trace) trace(sql);
  return 0;
}

// Opens the file at `path`, which exists, and brings its schema up to date.
// `damaged` tells the caller whether a failure was SQLite finding the file
// damaged.
Result<std::unique_ptr<SqliteStore>> open_file(const std::string& path, const std::string& journal,
                                               const Waiting& waiting, bool created, bool* damaged = nullptr) {
  sqlite3* db = nullptr;
  // No SQLITE_OPEN_CREATE: the file exists, made 0600 by the caller, and
  // must not be made again by SQLite with its own mode.
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Error{"cannot open state database '" + path + "': " + why};
  }
  if (sql_trace()) sqlite3_trace_v2(db, SQLITE_TRACE_STMT, trace_statement, &sql_trace());
  auto store = std::make_unique<SqliteStore>(db, path, waiting, created);
  if (auto s = store->init(journal); !s) {
    if (damaged) *damaged = store->damaged();
    return s.error();
  }
  return store;
}

// The UTC time in a file name: 20261206T190312Z.
std::string file_time(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace

const char* to_string(ExecutionState s) {
  switch (s) {
    case ExecutionState::queued: return "queued";
    case ExecutionState::running: return "running";
    case ExecutionState::terminating: return "terminating";
    case ExecutionState::succeeded: return "succeeded";
    case ExecutionState::failed: return "failed";
  }
  return "?";
}

std::optional<ExecutionState> parse_execution_state(std::string_view text) {
  using S = ExecutionState;
  for (S s : {S::queued, S::running, S::terminating, S::succeeded, S::failed}) {
    if (text == to_string(s)) return s;
  }
  return std::nullopt;
}

const char* to_string(VmPriority p) { return p == VmPriority::lowpriority ? "lowpriority" : "dedicated"; }

std::optional<VmPriority> parse_vm_priority(std::string_view text) {
  for (VmPriority p : {VmPriority::dedicated, VmPriority::lowpriority}) {
    if (text == to_string(p)) return p;
  }
  return std::nullopt;
}

bool is_final(ExecutionState s) { return s == ExecutionState::succeeded || s == ExecutionState::failed; }

Error not_found(const WorkspaceKey& k) {
  return Error{"workspace " + quoted(k.workspace) + " not found in resource group " + quoted(k.group)};
}
Error not_found(const ExperimentKey& k) {
  return Error{"experiment " + quoted(k.experiment) + " not found " + in_workspace(k.group, k.workspace)};
}
Error not_found(const ClusterKey& k) {
  return Error{"cluster " + quoted(k.cluster) + " not found " + in_workspace(k.group, k.workspace)};
}
Error not_found(const FileServerKey& k) {
  return Error{"file server " + quoted(k.file_server) + " not found " + in_workspace(k.group, k.workspace)};
}
Error not_found(const JobKey& k) {
  return Error{"job " + quoted(k.job) + " not found in experiment " + quoted(k.experiment) + " (workspace " +
               quoted(k.workspace) + ", resource group " + quoted(k.group) + ")"};
}

bool network_filesystem(std::int64_t f_type) {
  // statfs(2) magic numbers; some are negative in a signed 32-bit f_type,
  // so only the low 32 bits are compared.
  constexpr std::uint32_t kShared[] = {
      0x6969,      // NFS
      0x517B,      // SMB
      0xFF534D42,  // CIFS
      0xFE534D42,  // SMB2
      0x0BD00BD0,  // Lustre
      0x47504653,  // GPFS
      0x00C36400,  // CephFS
      0x65735546,  // FUSE (sshfs and most cluster clients)
      0x19830326,  // BeeGFS
      0xAAD7AAEA,  // Panasas
  };
  const auto t = static_cast<std::uint32_t>(f_type);
  for (std::uint32_t m : kShared) {
    if (t == m) return true;
  }
  return false;
}

std::string database_path(const std::string& dir) { return dir + "/state.db"; }

Error damaged_database(const std::string& path, const std::string& why) {
  return Error{"the state database " + path + " is damaged (" + why +
               "); 'batchai state rebuild' makes it again from the job directories"};
}

void set_sql_trace(std::function<void(std::string_view)> trace) { sql_trace() = std::move(trace); }

Result<std::unique_ptr<Store>> Store::open(const std::string& dir, const Waiting& waiting) {
  if (auto s = make_private_dir(dir); !s) return s.error();
  const std::string path = database_path(dir);
  auto created = make_private_file(path);
  if (!created) return created.error();
  auto journal = journal_for(dir);
  if (!journal) return journal.error();
  auto store = open_file(path, *journal, waiting, *created);
  if (!store) return store.error();
  return std::unique_ptr<Store>(std::move(*store));
}

Result<std::unique_ptr<Store>> Store::open_new(const std::string& path, const Waiting& waiting) {
  if (const auto slash = path.rfind('/'); slash != std::string::npos && slash > 0) {
    if (auto s = make_private_dir(path.substr(0, slash)); !s) return s.error();
  }
  // Left by a rebuild that was stopped part way: never half of one.
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
    if (::unlink((path + suffix).c_str()) != 0 && errno != ENOENT) {
      return Error{"cannot remove '" + path + suffix + "': " + errno_text()};
    }
  }
  auto created = make_private_file(path);
  if (!created) return created.error();
  auto store = open_file(path, "delete", waiting, true);
  if (!store) return store.error();
  return std::unique_ptr<Store>(std::move(*store));
}

Result<Health> health(const std::string& dir, const Waiting& waiting) {
  const std::string path = database_path(dir);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Health::missing;
    return Error{"state database '" + path + "': " + errno_text()};
  }
  if (S_ISREG(st.st_mode) && st.st_size == 0) return Health::missing;
  auto journal = journal_for(dir);
  if (!journal) return journal.error();
  bool damaged = false;
  auto store = open_file(path, *journal, waiting, false, &damaged);
  if (store) return Health::healthy;
  if (damaged) return Health::damaged;
  return store.error();
}

Result<std::string> install_rebuilt(const std::string& dir, const std::string& rebuilt, std::int64_t now) {
  const std::string path = database_path(dir);
  std::string kept;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    kept = path + ".damaged-" + file_time(now);
    // Two rebuilds in one second must not lose the first one's copy.
    for (int n = 2; ::lstat(kept.c_str(), &st) == 0; ++n) {
      kept = path + ".damaged-" + file_time(now) + "-" + std::to_string(n);
    }
    // A WAL or journal left beside the old file belongs to it: beside the
    // new one, SQLite would replay it into a database it never saw.
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
      if (::rename((path + suffix).c_str(), (kept + suffix).c_str()) != 0 && errno != ENOENT) {
        return Error{"cannot keep '" + path + suffix + "' as '" + kept + suffix + "': " + errno_text()};
      }
    }
  }
  if (::rename(rebuilt.c_str(), path.c_str()) != 0) {
    return Error{"cannot rename '" + rebuilt + "' to '" + path + "': " + errno_text()};
  }
  return kept;
}

std::string default_state_dir(const std::function<std::optional<std::string>(const char*)>& getenv) {
  auto set = [&](const char* name) -> std::optional<std::string> {
    auto v = getenv(name);
    if (v && !v->empty()) return v;
    return std::nullopt;
  };
  if (auto dir = set("BATCHAI_STATE_DIR")) return *dir;
  // XDG: a relative XDG_STATE_HOME is invalid and ignored.
  if (auto xdg = set("XDG_STATE_HOME"); xdg && xdg->front() == '/') return *xdg + "/batchai";
  if (auto home = set("HOME")) return *home + "/.local/state/batchai";
  // No HOME (a cron job, a stripped environment): the password database.
  std::string buffer(16384, '\0');
  struct passwd pw {};
  struct passwd* found = nullptr;
  if (::getpwuid_r(::geteuid(), &pw, buffer.data(), buffer.size(), &found) == 0 && found && found->pw_dir) {
    return std::string(found->pw_dir) + "/.local/state/batchai";
  }
  return ".batchai-state";
}

}  // namespace batchai::frontend::state
