// The state database on real files: records, messages, cascades, modes,
// journal modes, migrations, and what happens when many CLIs write at once
// or one is killed in the middle of a write.
#include "frontend/state.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "unit/temp_dir.h"

namespace batchai::frontend::state {
namespace {

using batchai::testing::TempDir;

// Sets an environment variable for one scope; forked children inherit it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::unique_ptr<Store> open_store(const std::string& dir) {
  auto store = Store::open(dir);
  if (!store) {
    ADD_FAILURE() << store.error().message;
    return nullptr;
  }
  return std::move(*store);
}

// The first column of the first row of `sql`, through a connection of its
// own: what is on disk, not what the Store says.
std::string sql_value(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string value = "<error>";
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 10'000);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
      if (sqlite3_step(stmt) == SQLITE_ROW) {
        const auto* text = sqlite3_column_text(stmt, 0);
        value = text ? reinterpret_cast<const char*>(text) : "<null>";
      }
    } else {
      value = std::string("<error: ") + sqlite3_errmsg(db) + ">";
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return value;
}

Job job_named(const std::string& name, const std::string& experiment = "e") {
  Job j;
  j.key = {"rg", "ws", experiment, name};
  j.uuid = "uuid-" + name;
  j.cluster = {"rg", "ws", "gpu"};
  j.tool_type = "horovod";
  j.node_count = 2;
  j.spec_json = R"({"nodeCount": 2})";
  j.job_dir = "/shared/jobs/" + name;
  j.segment = "local/rg/workspaces/ws/experiments/" + experiment + "/jobs/" + name + "/uuid-" + name;
  return j;
}

Cluster cluster_named(const std::string& name) {
  Cluster c;
  c.key = {"rg", "ws", name};
  c.vm_size = "STANDARD_NC6";
  c.partition = "gpu";
  c.gpus_per_node = 1;
  c.gpu_type = "k80";
  c.target_nodes = 2;
  return c;
}

bool local_tmp() {
  struct statfs fs {};
  return ::statfs(std::filesystem::temp_directory_path().c_str(), &fs) == 0 &&
         !network_filesystem(static_cast<std::int64_t>(fs.f_type));
}

// A database with workspace rg/ws and experiment e.
class StoreTest : public ::testing::Test {
 protected:
  TempDir tmp;
  std::string dir = tmp.file("state");
  std::string db = dir + "/state.db";
  std::unique_ptr<Store> store;

  void SetUp() override {
    ASSERT_TRUE(tmp.ok());
    store = open_store(dir);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->create_workspace({{"rg", "ws"}, "eastus", 1000}));
    ASSERT_TRUE(store->create_experiment({{"rg", "ws", "e"}, 2000}));
  }
};

TEST_F(StoreTest, WorkspacesAreCreatedListedAndDeleted) {
  auto w = store->workspace({"rg", "ws"});
  ASSERT_TRUE(w);
  ASSERT_TRUE(*w);
  EXPECT_EQ((*w)->location, "eastus");
  EXPECT_EQ((*w)->created, 1000);
  ASSERT_TRUE(store->create_workspace({{"rg", "a"}, "", 0}));
  ASSERT_TRUE(store->create_workspace({{"other", "ws"}, "", 0}));

  auto created = store->workspace({"rg", "a"});
  ASSERT_TRUE(created && *created);
  EXPECT_GT((*created)->created, 1'600'000'000) << "0 means now";

  auto all = store->workspaces(std::nullopt);
  ASSERT_TRUE(all);
  std::vector<std::string> names;
  for (const auto& x : *all) names.push_back(x.key.group + "/" + x.key.workspace);
  EXPECT_EQ(names, (std::vector<std::string>{"other/ws", "rg/a", "rg/ws"}));
  auto in_rg = store->workspaces("rg");
  ASSERT_TRUE(in_rg);
  EXPECT_EQ(in_rg->size(), 2u);

  auto dup = store->create_workspace({{"rg", "ws"}, "", 0});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().message, "workspace 'ws' already exists in resource group 'rg'");

  ASSERT_TRUE(store->delete_workspace({"rg", "a"}));
  auto gone = store->workspace({"rg", "a"});
  ASSERT_TRUE(gone);
  EXPECT_FALSE(*gone);
  auto again = store->delete_workspace({"rg", "a"});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message, "workspace 'a' not found in resource group 'rg'");
}

TEST_F(StoreTest, ExperimentsLiveInAWorkspace) {
  auto e = store->experiment({"rg", "ws", "e"});
  ASSERT_TRUE(e && *e);
  EXPECT_EQ((*e)->created, 2000);
  ASSERT_TRUE(store->create_experiment({{"rg", "ws", "b"}, 0}));
  auto all = store->experiments({"rg", "ws"});
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].key.experiment, "b");

  auto dup = store->create_experiment({{"rg", "ws", "e"}, 0});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().message, "experiment 'e' already exists in workspace 'ws' (resource group 'rg')");
  auto orphan = store->create_experiment({{"rg", "nows", "e"}, 0});
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().message, "workspace 'nows' not found in resource group 'rg'");
  auto list = store->experiments({"rg", "nows"});
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().message, "workspace 'nows' not found in resource group 'rg'");

  ASSERT_TRUE(store->delete_experiment({"rg", "ws", "b"}));
  auto missing = store->delete_experiment({"rg", "ws", "b"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "experiment 'b' not found in workspace 'ws' (resource group 'rg')");
}

TEST_F(StoreTest, ClustersKeepTheirScaleSettings) {
  ASSERT_TRUE(store->create_cluster(cluster_named("gpu")));
  auto c = store->cluster({"rg", "ws", "gpu"});
  ASSERT_TRUE(c && *c);
  EXPECT_EQ((*c)->vm_size, "STANDARD_NC6");
  EXPECT_EQ((*c)->partition, "gpu");
  EXPECT_EQ((*c)->gpus_per_node, 1);
  EXPECT_EQ((*c)->gpu_type, "k80");
  EXPECT_FALSE((*c)->auto_scale);
  EXPECT_EQ((*c)->target_nodes, 2);

  Cluster scaled = **c;
  scaled.auto_scale = true;
  scaled.min_nodes = 1;
  scaled.max_nodes = 8;
  scaled.vm_size = "ignored";  // only the scale settings change
  ASSERT_TRUE(store->update_cluster(scaled));
  auto after = store->cluster({"rg", "ws", "gpu"});
  ASSERT_TRUE(after && *after);
  EXPECT_TRUE((*after)->auto_scale);
  EXPECT_EQ((*after)->min_nodes, 1);
  EXPECT_EQ((*after)->max_nodes, 8);
  EXPECT_EQ((*after)->vm_size, "STANDARD_NC6");

  auto dup = store->create_cluster(cluster_named("gpu"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().message, "cluster 'gpu' already exists in workspace 'ws' (resource group 'rg')");
  auto list = store->clusters({"rg", "ws"});
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 1u);
  ASSERT_TRUE(store->delete_cluster({"rg", "ws", "gpu"}));
  auto missing = store->update_cluster(scaled);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "cluster 'gpu' not found in workspace 'ws' (resource group 'rg')");
}

TEST_F(StoreTest, ClustersKeepTheirVmPriority) {
  ASSERT_TRUE(store->create_cluster(cluster_named("dedicated")));
  Cluster low = cluster_named("low");
  low.vm_priority = VmPriority::lowpriority;
  ASSERT_TRUE(store->create_cluster(low));
  auto list = store->clusters({"rg", "ws"});
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].vm_priority, VmPriority::dedicated);
  EXPECT_EQ((*list)[1].vm_priority, VmPriority::lowpriority);
  EXPECT_EQ(sql_value(db, "SELECT group_concat(vm_priority, ' ') FROM (SELECT vm_priority FROM clusters ORDER BY name)"),
            "dedicated lowpriority");
  // Only az's two names get in, whoever writes.
  EXPECT_EQ(sql_value(db, "UPDATE clusters SET vm_priority = 'spot' RETURNING vm_priority"), "<error>");
  EXPECT_EQ(parse_vm_priority("lowpriority"), VmPriority::lowpriority);
  EXPECT_EQ(parse_vm_priority("dedicated"), VmPriority::dedicated);
  EXPECT_EQ(parse_vm_priority("LowPriority"), std::nullopt);
}

TEST_F(StoreTest, JobsRoundTripAndRefuseDuplicates) {
  Job j = job_named("j1");
  j.created = 3000;
  ASSERT_TRUE(store->insert_job(j));
  auto got = store->job(j.key);
  ASSERT_TRUE(got && *got);
  const Job& g = **got;
  EXPECT_EQ(g.uuid, "uuid-j1");
  EXPECT_EQ(g.cluster.cluster, "gpu");
  EXPECT_EQ(g.tool_type, "horovod");
  EXPECT_EQ(g.node_count, 2);
  EXPECT_EQ(g.spec_json, R"({"nodeCount": 2})");
  EXPECT_EQ(g.job_dir, "/shared/jobs/j1");
  EXPECT_EQ(g.segment, j.segment);
  EXPECT_FALSE(g.slurm_job_id);
  EXPECT_EQ(g.state, ExecutionState::queued);
  EXPECT_FALSE(g.exit_code);
  EXPECT_EQ(g.errors_json, "[]");
  EXPECT_EQ(g.created, 3000);
  EXPECT_EQ(g.state_time, 3000);

  auto dup = store->insert_job(job_named("j1"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().message, "job 'j1' already exists in experiment 'e'");
  auto no_exp = store->insert_job(job_named("j1", "nope"));
  ASSERT_FALSE(no_exp);
  EXPECT_EQ(no_exp.error().message, "experiment 'nope' not found in workspace 'ws' (resource group 'rg')");

  ASSERT_TRUE(store->insert_job(job_named("j0")));
  auto all = store->jobs({"rg", "ws", "e"});
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].key.job, "j1") << "listed in creation order";

  ASSERT_TRUE(store->delete_job({"rg", "ws", "e", "j0"}));
  auto missing = store->delete_job({"rg", "ws", "e", "j0"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "job 'j0' not found in experiment 'e' (workspace 'ws', resource group 'rg')");
}

TEST_F(StoreTest, JobHistoryGrowsOnlyWhenTheStateChanges) {
  Job j = job_named("j");
  j.created = 100;
  ASSERT_TRUE(store->insert_job(j));
  j.slurm_job_id = 4242;
  j.state_time = 110;
  ASSERT_TRUE(store->update_job(j));  // still queued: no new entry
  j.state = ExecutionState::running;
  j.start_time = 120;
  j.state_time = 120;
  ASSERT_TRUE(store->update_job(j));
  j.state = ExecutionState::failed;
  j.exit_code = 3;
  j.end_time = 130;
  j.state_time = 130;
  j.errors_json = R"([{"code": "JobFailed"}])";
  ASSERT_TRUE(store->update_job(j));

  auto h = store->job_history(j.key);
  ASSERT_TRUE(h);
  using Entries = std::vector<std::pair<ExecutionState, std::int64_t>>;
  EXPECT_EQ(*h, (Entries{{ExecutionState::queued, 100}, {ExecutionState::running, 120},
                         {ExecutionState::failed, 130}}));
  // On disk as az spelled them.
  EXPECT_EQ(sql_value(db, "SELECT group_concat(state, ' ') FROM job_history"), "queued running failed");
  EXPECT_EQ(sql_value(db, "SELECT state FROM jobs"), "failed");
  auto got = store->job(j.key);
  ASSERT_TRUE(got && *got);
  ASSERT_TRUE((*got)->slurm_job_id && (*got)->exit_code);
  EXPECT_EQ(*(*got)->slurm_job_id, 4242u);
  EXPECT_EQ(*(*got)->exit_code, 3);
  EXPECT_EQ((*got)->start_time, 120);
  EXPECT_EQ((*got)->end_time, 130);
  EXPECT_EQ((*got)->errors_json, R"([{"code": "JobFailed"}])");
  EXPECT_EQ((*got)->state_time, 130);
}

// A state this CLI does not know (a newer CLI's, or an edit by hand) is
// named, not read as another one.
TEST_F(StoreTest, AnUnknownStateOnDiskIsAnError) {
  ASSERT_TRUE(store->insert_job(job_named("j")));
  sql_value(db, "UPDATE job_history SET state = 'done'");
  auto h = store->job_history({"rg", "ws", "e", "j"});
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().message, "job 'j': state 'done' is not one of queued, running, terminating, succeeded, failed");
  EXPECT_EQ(parse_execution_state("terminating"), ExecutionState::terminating);
  EXPECT_STREQ(to_string(ExecutionState::succeeded), "succeeded");
  EXPECT_EQ(parse_execution_state("Running"), std::nullopt);
}

TEST_F(StoreTest, DeletingAWorkspaceOrExperimentRemovesWhatItHolds) {
  ASSERT_TRUE(store->create_experiment({{"rg", "ws", "e2"}, 0}));
  ASSERT_TRUE(store->create_cluster(cluster_named("gpu")));
  ASSERT_TRUE(store->insert_job(job_named("a")));
  ASSERT_TRUE(store->insert_job(job_named("b", "e2")));
  ASSERT_TRUE(store->create_workspace({{"rg", "keep"}, "", 0}));
  ASSERT_TRUE(store->create_experiment({{"rg", "keep", "e"}, 0}));
  Job kept = job_named("k");
  kept.key.workspace = "keep";
  ASSERT_TRUE(store->insert_job(kept));

  ASSERT_TRUE(store->delete_experiment({"rg", "ws", "e2"}));
  EXPECT_EQ(sql_value(db, "SELECT count(*) FROM jobs"), "2");
  EXPECT_EQ(sql_value(db, "SELECT count(*) FROM job_history"), "2");

  ASSERT_TRUE(store->delete_workspace({"rg", "ws"}));
  EXPECT_EQ(sql_value(db, "SELECT group_concat(name) FROM experiments"), "e");
  EXPECT_EQ(sql_value(db, "SELECT count(*) FROM clusters"), "0");
  EXPECT_EQ(sql_value(db, "SELECT group_concat(name) FROM jobs"), "k");
  EXPECT_EQ(sql_value(db, "SELECT count(*) FROM job_history"), "1");
  auto re = store->create_workspace({{"rg", "ws"}, "", 0});
  ASSERT_TRUE(re);
  auto empty = store->experiments({"rg", "ws"});
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty()) << "a re-created workspace starts empty";
}

TEST_F(StoreTest, DefaultsAreSetReplacedAndCleared) {
  auto none = store->get_default("group");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  ASSERT_TRUE(store->set_default("group", "rg"));
  ASSERT_TRUE(store->set_default("group", "rg2"));
  auto v = store->get_default("group");
  ASSERT_TRUE(v && *v);
  EXPECT_EQ(**v, "rg2");
  ASSERT_TRUE(store->set_default("group", ""));
  auto cleared = store->get_default("group");
  ASSERT_TRUE(cleared);
  EXPECT_FALSE(*cleared);
}

TEST_F(StoreTest, ReopeningKeepsEverything) {
  ASSERT_TRUE(store->insert_job(job_named("j")));
  Job exported = job_named("x");
  exported.exported = true;
  ASSERT_TRUE(store->insert_job(exported));
  store.reset();
  store = open_store(dir);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), 5);
  auto j = store->job({"rg", "ws", "e", "j"});
  ASSERT_TRUE(j && *j);
  EXPECT_FALSE((*j)->exported);
  auto x = store->job({"rg", "ws", "e", "x"});
  ASSERT_TRUE(x && *x);
  EXPECT_TRUE((*x)->exported);
}

TEST(StoreFiles, DirectoryIs0700AndFileIs0600WhateverTheUmask) {
  TempDir tmp;
  const std::string dir = tmp.file("a/b/state");
  const mode_t old = ::umask(0);
  auto store = open_store(dir);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->create_workspace({{"rg", "ws"}, "", 0}));
  ::umask(old);
  struct stat st {};
  for (const std::string& d : {tmp.file("a"), tmp.file("a/b"), dir}) {
    ASSERT_EQ(::stat(d.c_str(), &st), 0) << d;
    EXPECT_EQ(st.st_mode & 07777, 0700u) << d;
  }
  ASSERT_EQ(::stat((dir + "/state.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  // SQLite's side files take the database's mode.
  for (const char* side : {"/state.db-wal", "/state.db-shm"}) {
    if (::stat((dir + side).c_str(), &st) == 0) {
      EXPECT_EQ(st.st_mode & 07777, 0600u) << side;
    }
  }
}

TEST(StoreFiles, AnExistingDatabaseReadableByOthersIsNarrowed) {
  TempDir tmp;
  { ASSERT_TRUE(open_store(tmp.file("s"))); }
  const std::string db = tmp.file("s/state.db");
  ASSERT_EQ(::chmod(db.c_str(), 0644), 0);
  ASSERT_TRUE(open_store(tmp.file("s")));
  struct stat st {};
  ASSERT_EQ(::stat(db.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

// A database is new when its file was missing or empty; a rebuilt one
// takes the place of the old, which is kept with its WAL under a new name.
TEST(StoreFiles, ARebuiltDatabaseReplacesTheOldOneWhichIsKept) {
  TempDir tmp;
  const std::string dir = tmp.file("s");
  EXPECT_EQ(*health(dir), Health::missing);
  {
    auto first = open_store(dir);
    ASSERT_TRUE(first);
    EXPECT_TRUE(first->created());
    ASSERT_TRUE(first->create_workspace({{"rg", "old"}, "", 0}));
  }
  {
    auto again = open_store(dir);
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->created());
  }
  EXPECT_EQ(*health(dir), Health::healthy);
  const std::string rebuilt = dir + "/state.db.rebuild";
  {
    auto fresh = Store::open_new(rebuilt);
    ASSERT_TRUE(fresh) << fresh.error().message;
    EXPECT_EQ((*fresh)->journal_mode(), "delete");
    ASSERT_TRUE((*fresh)->create_workspace({{"rg", "new"}, "", 0}));
  }
  EXPECT_FALSE(std::filesystem::exists(rebuilt + "-journal"));
  const bool had_wal = std::filesystem::exists(dir + "/state.db-wal");
  auto kept = install_rebuilt(dir, rebuilt, 1796583600);  // 2026-12-06 19:00:00 UTC
  ASSERT_TRUE(kept) << kept.error().message;
  EXPECT_EQ(*kept, dir + "/state.db.damaged-20261206T190000Z");
  EXPECT_FALSE(std::filesystem::exists(rebuilt));
  EXPECT_FALSE(std::filesystem::exists(dir + "/state.db-wal")) << "the old WAL must not meet the new file";
  EXPECT_EQ(std::filesystem::exists(*kept + "-wal"), had_wal);
  auto store = open_store(dir);
  ASSERT_TRUE(store);
  auto all = store->workspaces(std::nullopt);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].key.workspace, "new");
  store.reset();
  // A second rebuild in the same second keeps both copies.
  ASSERT_TRUE(Store::open_new(rebuilt));
  auto second = install_rebuilt(dir, rebuilt, 1796583600);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(*second, dir + "/state.db.damaged-20261206T190000Z-2");
  EXPECT_TRUE(std::filesystem::exists(*kept));

  // An empty file, as a full disk leaves it, is a new database too.
  const std::string other = tmp.file("t");
  std::filesystem::create_directories(other);
  std::ofstream{other + "/state.db"};
  EXPECT_EQ(*health(other), Health::missing);
  auto empty = open_store(other);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->created());
}

TEST(StoreFiles, JournalIsWalOnLocalDiskAndDeleteWhenAsked) {
  TempDir tmp;
  {
    ScopedEnv env("BATCHAI_STATE_JOURNAL", nullptr);
    if (!local_tmp()) GTEST_SKIP() << "the temporary directory is on a network filesystem";
    auto store = open_store(tmp.file("local"));
    ASSERT_TRUE(store);
    EXPECT_EQ(store->journal_mode(), "wal");
    EXPECT_EQ(sql_value(tmp.file("local/state.db"), "PRAGMA journal_mode"), "wal");
  }
  {
    ScopedEnv env("BATCHAI_STATE_JOURNAL", "delete");
    auto store = open_store(tmp.file("shared"));
    ASSERT_TRUE(store);
    EXPECT_EQ(store->journal_mode(), "delete");
    ASSERT_TRUE(store->create_workspace({{"rg", "ws"}, "", 0}));
    EXPECT_FALSE(std::filesystem::exists(tmp.file("shared/state.db-wal")));
  }
  {
    // A database left in WAL mode goes back to DELETE when opened alone.
    ScopedEnv env("BATCHAI_STATE_JOURNAL", "delete");
    auto store = open_store(tmp.file("local"));
    ASSERT_TRUE(store);
    EXPECT_EQ(store->journal_mode(), "delete");
  }
  {
    ScopedEnv env("BATCHAI_STATE_JOURNAL", "memory");
    auto store = Store::open(tmp.file("x"));
    ASSERT_FALSE(store);
    EXPECT_EQ(store.error().message, "BATCHAI_STATE_JOURNAL: expected wal or delete, got 'memory'");
  }
}

TEST(StoreFiles, NetworkAndClusterFilesystemsAreRecognised) {
  for (std::int64_t magic : {0x6969L, 0x517BL, 0xFF534D42L, 0xFE534D42L, 0x0BD00BD0L, 0x47504653L, 0x00C36400L,
                             0x65735546L, 0x19830326L, 0xAAD7AAEAL}) {
    EXPECT_TRUE(network_filesystem(magic)) << std::hex << magic;
  }
  // A signed 32-bit f_type holds CIFS's magic as a negative number.
  EXPECT_TRUE(network_filesystem(static_cast<std::int32_t>(0xFF534D42u)));
  for (std::int64_t magic : {0xEF53L /* ext4 */, 0x58465342L /* xfs */, 0x01021994L /* tmpfs */,
                             0x9123683EL /* btrfs */, 0x2FC12FC1L /* zfs */}) {
    EXPECT_FALSE(network_filesystem(magic)) << std::hex << magic;
  }
}

TEST(StoreFiles, UnreadableDatabasesAreReportedWithTheirPath) {
  TempDir tmp;
  ASSERT_TRUE(std::filesystem::create_directories(tmp.file("s")));
  std::ofstream(tmp.file("s/state.db")) << std::string(4096, 'x');
  auto store = Store::open(tmp.file("s"));
  ASSERT_FALSE(store);
  // Damage names the way out, never a silently empty database.
  EXPECT_EQ(store.error().message, "the state database " + tmp.file("s/state.db") +
                                       " is damaged (file is not a database); 'batchai state rebuild' makes it "
                                       "again from the job directories");
  auto health = state::health(tmp.file("s"));
  ASSERT_TRUE(health) << health.error().message;
  EXPECT_EQ(*health, state::Health::damaged);

  std::ofstream(tmp.file("file")) << "x";
  auto not_dir = Store::open(tmp.file("file"));
  ASSERT_FALSE(not_dir);
  EXPECT_EQ(not_dir.error().message, "state directory '" + tmp.file("file") + "' is not a directory");
}

TEST(StoreSchema, AVersionZeroDatabaseIsMigrated) {
  TempDir tmp;
  const std::string dir = tmp.file("s");
  ASSERT_TRUE(std::filesystem::create_directories(dir));
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir + "/state.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TABLE schema_version (version INTEGER NOT NULL); "
                           "INSERT INTO schema_version VALUES (0);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = open_store(dir);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), 5);
  EXPECT_EQ(sql_value(dir + "/state.db", "SELECT group_concat(version) FROM schema_version"), "5");
  ASSERT_TRUE(store->create_workspace({{"rg", "ws"}, "", 0}));
  ASSERT_TRUE(store->create_experiment({{"rg", "ws", "e"}, 0}));
  EXPECT_TRUE(store->insert_job(job_named("j")));
}

TEST(StoreSchema, AVersionThreeDatabaseKeepsItsClustersAsDedicated) {
  TempDir tmp;
  const std::string dir = tmp.file("s");
  const std::string db = dir + "/state.db";
  {
    auto store = open_store(dir);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->create_workspace({{"rg", "ws"}, "", 0}));
    ASSERT_TRUE(store->create_cluster(cluster_named("old")));
  }
  // Back to version 3, which had no vm_priority, nor version 5's setup
  // task columns and file servers.
  sql_value(db, "ALTER TABLE clusters DROP COLUMN node_setup_json");
  sql_value(db, "ALTER TABLE clusters DROP COLUMN setup_uuid");
  sql_value(db, "DROP TABLE file_servers");
  sql_value(db, "ALTER TABLE clusters DROP COLUMN vm_priority");
  ASSERT_EQ(sql_value(db, "SELECT count(*) FROM pragma_table_info('clusters') WHERE name = 'vm_priority'"), "0");
  ASSERT_EQ(sql_value(db, "UPDATE schema_version SET version = 3 RETURNING version"), "3");
  auto store = open_store(dir);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), 5);
  auto c = store->cluster({"rg", "ws", "old"});
  ASSERT_TRUE(c && *c);
  EXPECT_EQ((*c)->vm_priority, VmPriority::dedicated);
  EXPECT_EQ((*c)->partition, "gpu");
}

TEST(StoreSchema, ANewerDatabaseIsRefused) {
  TempDir tmp;
  const std::string dir = tmp.file("s");
  { ASSERT_TRUE(open_store(dir)); }
  EXPECT_EQ(sql_value(dir + "/state.db", "UPDATE schema_version SET version = 7 RETURNING version"), "7");
  auto store = Store::open(dir);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().message,
            "cannot open state database '" + dir +
                "/state.db': schema version 7 is newer than this batchai's (5); use a newer batchai");
}

TEST(StoreDir, DefaultStateDirFollowsXdg) {
  std::map<std::string, std::string> env;
  auto get = [&](const char* n) -> std::optional<std::string> {
    auto it = env.find(n);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  env["HOME"] = "/home/u";
  EXPECT_EQ(default_state_dir(get), "/home/u/.local/state/batchai");
  env["XDG_STATE_HOME"] = "relative/ignored";
  EXPECT_EQ(default_state_dir(get), "/home/u/.local/state/batchai");
  env["XDG_STATE_HOME"] = "/xdg";
  EXPECT_EQ(default_state_dir(get), "/xdg/batchai");
  env["BATCHAI_STATE_DIR"] = "/scratch/u/batchai";
  EXPECT_EQ(default_state_dir(get), "/scratch/u/batchai");
}

// --- several processes ---

constexpr int kProcesses = 20;
constexpr int kJobsEach = 5;

// What one CLI does: its own jobs, and one name that every process tries.
// Exit status 0: lost the shared name as expected; 1: won it; 2: failed.
int insert_as_one_cli(const std::string& dir, int index) {
  auto store = Store::open(dir);
  if (!store) {
    std::fprintf(stderr, "process %d: %s\n", index, store.error().message.c_str());
    return 2;
  }
  int won = 0;
  for (int k = 0; k < kJobsEach; ++k) {
    if (k == 2) {
      auto shared = (*store)->insert_job(job_named("same"));
      if (shared) {
        won = 1;
      } else if (shared.error().message != "job 'same' already exists in experiment 'e'") {
        std::fprintf(stderr, "process %d: %s\n", index, shared.error().message.c_str());
        return 2;
      }
    }
    auto own = (*store)->insert_job(job_named("p" + std::to_string(index) + "-j" + std::to_string(k)));
    if (!own) {
      std::fprintf(stderr, "process %d: %s\n", index, own.error().message.c_str());
      return 2;
    }
  }
  return won;
}

class Concurrency : public ::testing::TestWithParam<const char*> {};

TEST_P(Concurrency, TwentyClisWritingAtOnceAllSucceed) {
  ScopedEnv env("BATCHAI_STATE_JOURNAL", GetParam());
  TempDir tmp;
  const std::string dir = tmp.file("state");
  {
    auto store = open_store(dir);
    ASSERT_TRUE(store);
    ASSERT_EQ(store->journal_mode(), GetParam());
    ASSERT_TRUE(store->create_workspace({{"rg", "ws"}, "", 0}));
    ASSERT_TRUE(store->create_experiment({{"rg", "ws", "e"}, 0}));
  }  // closed: no connection crosses a fork

  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < kProcesses; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(gate[1]);
      char c;
      // Returns at EOF, when the parent closes the gate: all start at once.
      while (::read(gate[0], &c, 1) > 0) {
      }
      ::_exit(insert_as_one_cli(dir, i));
    }
    children.push_back(pid);
  }
  const auto start = std::chrono::steady_clock::now();
  ::close(gate[0]);
  ::close(gate[1]);
  int winners = 0;
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
    ASSERT_LE(WEXITSTATUS(status), 1) << "a process failed; see its message above";
    winners += WEXITSTATUS(status);
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ measured ] %d processes x %d jobs, journal %s: %lld ms\n", kProcesses, kJobsEach + 1, GetParam(),
              static_cast<long long>(ms));
  EXPECT_EQ(winners, 1);

  auto store = open_store(dir);
  ASSERT_TRUE(store);
  auto jobs = store->jobs({"rg", "ws", "e"});
  ASSERT_TRUE(jobs);
  EXPECT_EQ(jobs->size(), static_cast<std::size_t>(kProcesses * kJobsEach + 1));
  std::set<std::string> names;
  for (const auto& j : *jobs) names.insert(j.key.job);
  EXPECT_EQ(names.size(), jobs->size()) << "each job once";
  for (int i = 0; i < kProcesses; ++i) {
    for (int k = 0; k < kJobsEach; ++k) {
      EXPECT_TRUE(names.count("p" + std::to_string(i) + "-j" + std::to_string(k))) << i << " " << k;
    }
  }
  EXPECT_TRUE(names.count("same"));
  EXPECT_EQ(sql_value(dir + "/state.db", "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(sql_value(dir + "/state.db", "SELECT count(*) FROM job_history"), std::to_string(jobs->size()));
}

// Another process holds the write lock longer than SQLite's busy timeout:
// the write is retried until the lock is free, and fails with a message
// only once the retry budget is spent. (Timings shortened from 10 s and
// 30 s.)
TEST_P(Concurrency, AWriteOutlastsTheBusyTimeoutByRetrying) {
  ScopedEnv env("BATCHAI_STATE_JOURNAL", GetParam());
  TempDir tmp;
  const std::string dir = tmp.file("state");
  const std::string db = dir + "/state.db";
  {
    auto store = open_store(dir);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->create_workspace({{"rg", "ws"}, "", 0}));
    ASSERT_TRUE(store->create_experiment({{"rg", "ws", "e"}, 0}));
  }
  // Holds BEGIN IMMEDIATE for `hold`, then commits.
  auto lock_for = [&](std::chrono::milliseconds hold) -> pid_t {
    int ready[2];
    if (::pipe(ready) != 0) return -1;
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(ready[0]);
      sqlite3* c = nullptr;
      if (sqlite3_open_v2(db.c_str(), &c, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) ::_exit(2);
      if (sqlite3_exec(c, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) ::_exit(3);
      if (::write(ready[1], "x", 1) != 1) ::_exit(4);
      ::usleep(static_cast<useconds_t>(hold.count() * 1000));
      ::_exit(sqlite3_exec(c, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK ? 0 : 5);
    }
    ::close(ready[1]);
    char c = 0;
    const bool started = ::read(ready[0], &c, 1) == 1;
    ::close(ready[0]);
    return started ? pid : -1;
  };
  using std::chrono::milliseconds;
  auto store = Store::open(dir, {milliseconds(50), milliseconds(5000)});
  ASSERT_TRUE(store) << store.error().message;

  pid_t holder = lock_for(milliseconds(800));
  ASSERT_GT(holder, 0);
  const auto start = std::chrono::steady_clock::now();
  auto waited = (*store)->insert_job(job_named("patient"));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(waited) << waited.error().message;
  EXPECT_GE(took, milliseconds(500)) << "it did wait for the holder";
  int status = 0;
  ASSERT_EQ(::waitpid(holder, &status, 0), holder);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;

  auto impatient = Store::open(dir, {milliseconds(50), milliseconds(300)});
  ASSERT_TRUE(impatient) << impatient.error().message;
  holder = lock_for(milliseconds(1000));
  ASSERT_GT(holder, 0);
  auto refused = (*impatient)->insert_job(job_named("impatient"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "state database '" + db + "': database is locked (still busy after 300 ms of retries)");
  ASSERT_EQ(::waitpid(holder, &status, 0), holder);
  auto jobs = (*store)->jobs({"rg", "ws", "e"});
  ASSERT_TRUE(jobs);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].key.job, "patient");
}

// Killed in the middle of a write: the next open rolls the transaction
// back (a hot journal, or WAL frames without a commit), so nothing of it
// remains and the database is whole.
TEST_P(Concurrency, AWriterKilledMidTransactionLeavesNoPartialRows) {
  ScopedEnv env("BATCHAI_STATE_JOURNAL", GetParam());
  TempDir tmp;
  const std::string dir = tmp.file("state");
  const std::string db = dir + "/state.db";
  {
    auto store = open_store(dir);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->create_workspace({{"rg", "ws"}, "", 0}));
    ASSERT_TRUE(store->create_experiment({{"rg", "ws", "e"}, 0}));
    ASSERT_TRUE(store->insert_job(job_named("before")));
  }
  const auto db_size_before = std::filesystem::file_size(db);
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // A write transaction far larger than a tiny page cache, so SQLite has
    // to write pages before the commit that never comes.
    ::close(ready[0]);
    sqlite3* c = nullptr;
    if (sqlite3_open_v2(db.c_str(), &c, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) ::_exit(2);
    const std::string fill(2000, 'x');
    std::string sql = "PRAGMA cache_size = 8; BEGIN IMMEDIATE;";
    for (int i = 0; i < 400; ++i) {
      sql +=
          "INSERT INTO jobs (experiment_id, name, uuid, cluster_group, cluster_workspace, cluster_name, tool_type, "
          "node_count, spec_json, job_dir, segment, state, start_time, end_time, errors_json, created, state_time) "
          "SELECT id, 'killed" +
          std::to_string(i) + "', 'u', 'rg', 'ws', 'c', 'custom', 1, '" + fill +
          "', '/d', 's', 'queued', 0, 0, '[]', 1, 1 FROM experiments;";
    }
    if (sqlite3_exec(c, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) ::_exit(3);
    if (::write(ready[1], "x", 1) != 1) ::_exit(4);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1) << "the writer failed before its transaction was under way";
  ::close(ready[0]);
  // Proof that the kill lands mid-write: with WAL the uncommitted pages are
  // in the WAL; with DELETE they are in the database file itself, and the
  // journal that undoes them is still there.
  const bool wal = std::string(GetParam()) == "wal";
  const std::string side = db + (wal ? "-wal" : "-journal");
  ASSERT_TRUE(std::filesystem::exists(side)) << side;
  EXPECT_GT(std::filesystem::file_size(wal ? side : db), db_size_before + 400'000) << "pages written before the commit";
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));

  auto store = open_store(dir);
  ASSERT_TRUE(store);
  auto jobs = store->jobs({"rg", "ws", "e"});
  ASSERT_TRUE(jobs);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].key.job, "before");
  EXPECT_EQ(sql_value(db, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(sql_value(db, "SELECT count(*) FROM jobs WHERE name LIKE 'killed%'"), "0");
  ASSERT_TRUE(store->insert_job(job_named("after")));
}

// Killed at a random point of a run of ordinary Store writes: every job
// that is there is whole, with its history entry (both are written in one
// transaction).
TEST_P(Concurrency, ACliKilledWhileWritingLeavesOnlyWholeJobs) {
  ScopedEnv env("BATCHAI_STATE_JOURNAL", GetParam());
  TempDir tmp;
  const std::string dir = tmp.file("state");
  {
    auto store = open_store(dir);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->create_workspace({{"rg", "ws"}, "", 0}));
    ASSERT_TRUE(store->create_experiment({{"rg", "ws", "e"}, 0}));
  }
  int progress[2];
  ASSERT_EQ(::pipe(progress), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(progress[0]);
    auto store = Store::open(dir);
    if (!store) ::_exit(2);
    for (int i = 0;; ++i) {
      if (!(*store)->insert_job(job_named("k" + std::to_string(i)))) ::_exit(3);
      if (::write(progress[1], "x", 1) != 1) ::_exit(4);
    }
  }
  ::close(progress[1]);
  int seen = 0;
  char c;
  while (seen < 25 && ::read(progress[0], &c, 1) == 1) ++seen;
  ASSERT_EQ(seen, 25) << "the writer stopped early";
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
  ::close(progress[0]);

  auto store = open_store(dir);
  ASSERT_TRUE(store);
  auto jobs = store->jobs({"rg", "ws", "e"});
  ASSERT_TRUE(jobs);
  ASSERT_GE(jobs->size(), 25u);
  for (std::size_t i = 0; i < jobs->size(); ++i) {
    const Job& j = (*jobs)[i];
    EXPECT_EQ(j.key.job, "k" + std::to_string(i)) << "in order, none missing";
    EXPECT_EQ(j.uuid, "uuid-" + j.key.job);
    EXPECT_EQ(j.job_dir, "/shared/jobs/" + j.key.job);
    auto h = store->job_history(j.key);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->size(), 1u) << j.key.job;
  }
  EXPECT_EQ(sql_value(dir + "/state.db", "PRAGMA integrity_check"), "ok");
}

INSTANTIATE_TEST_SUITE_P(Journal, Concurrency, ::testing::Values("wal", "delete"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace batchai::frontend::state
