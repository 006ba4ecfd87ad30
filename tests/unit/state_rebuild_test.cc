// The state database made again from the job directories: lost, damaged,
// or replaced on request. Real SQLite and real files, with the fake Slurm;
// each command opens the database anew, as each `batchai` process does.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "fake_slurm.h"
#include "frontend/cli.h"
#include "frontend/commands/state_records.h"
#include "frontend/state.h"
#include "unit/run_cli.h"
#include "unit/temp_dir.h"

namespace batchai::frontend {
namespace {

namespace fs = std::filesystem;
using batchai::testing::FakeSlurm;
using batchai::testing::job_in;
using slurm::JobState;

class StateRebuild : public ::testing::Test {
 protected:
  FakeSlurm fake;
  std::ostringstream out, help;
  Context ctx;
  fs::path dir;
  std::string err, job;

  void SetUp() override {
    dir = batchai::testing::make_test_dir("batchai-rebuild-test");
    ASSERT_FALSE(dir.empty());
    ctx.out = &out;
    ctx.slurm = [this]() -> Result<slurm::Client*> { return &fake; };
    ctx.sleep = [](std::chrono::milliseconds) {};
    const std::string conf = (dir / "site.json").string();
    std::ofstream(conf) << R"({"jobsRoot": ")" << (dir / "jobs").string() << R"(",
        "vmSizes": [{"name": "STANDARD_NC6", "partition": "batch"}]})";
    ctx.environment = {"PATH=/usr/bin", "HOME=" + dir.string(), "BATCHAI_CONF=" + conf};
    ctx.state_dir = (dir / "state").string();
    job = (dir / "job.json").string();
    std::ofstream(job) << R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_TEMP_DIR",
        "customToolkitSettings": {"commandLine": "echo hi"}}})";
    slurm::PartitionInfo batch;
    batch.name = "batch";
    batch.is_default = true;
    batch.total_nodes = 4;
    fake.partition_list.push_back(batch);
  }
  void TearDown() override {
    if (!dir.empty()) fs::remove_all(dir);
  }

  // One command line, as one process: the database is opened anew.
  int run(std::vector<std::string> argv) {
    out.str("");
    ctx.store = state_opener(ctx);
    const int rc = batchai::testing::run_cli(argv, ctx, help, err);
    ctx.store = nullptr;
    return rc;
  }
  std::string output(std::vector<std::string> argv) {
    const int rc = run(argv);
    EXPECT_EQ(rc, 0) << err;
    return out.str();
  }
  std::string database() const { return ctx.state_dir + "/state.db"; }

  // A workspace, two clusters and two experiments, through the CLI, with
  // jobs that end succeeded, failed and terminated, one running, one
  // queued; then a job, a cluster and an experiment deleted.
  void populate() {
    ASSERT_EQ(run({"workspace", "create", "-g", "rg", "-n", "ws", "-l", "eastus"}), 0) << err;
    ASSERT_EQ(run({"experiment", "create", "-g", "rg", "-w", "ws", "-n", "e"}), 0) << err;
    ASSERT_EQ(run({"experiment", "create", "-g", "rg", "-w", "ws", "-n", "old"}), 0) << err;
    ASSERT_EQ(run({"cluster", "create", "-g", "rg", "-w", "ws", "-n", "c", "-s", "STANDARD_NC6", "-t", "2"}), 0)
        << err;
    ASSERT_EQ(run({"cluster", "create", "-g", "rg", "-w", "ws", "-n", "c2", "-s", "STANDARD_NC6", "--min", "0",
                   "--max", "3"}), 0) << err;
    for (const char* name : {"done", "broke", "stopped", "busy", "waiting", "gone"}) {
      ASSERT_EQ(run({"job", "create", "-g", "rg", "-w", "ws", "-e", "e", "-n", name, "-c", "c", "-f", job}), 0)
          << err;
    }
    ASSERT_EQ(run({"job", "create", "-g", "rg", "-w", "ws", "-e", "old", "-n", "j", "-c", "c", "-f", job}), 0) << err;
    fake.job_answers[100] = {job_in(100, JobState::completed)};
    fake.job_answers[101] = {job_in(101, JobState::failed, 3)};
    fake.job_answers[102] = {job_in(102, JobState::cancelled, 0, 15)};
    fake.job_answers[103] = {job_in(103, JobState::running)};
    fake.job_answers[104] = {job_in(104, JobState::pending)};
    fake.job_answers[105] = {job_in(105, JobState::completed)};
    fake.job_answers[106] = {job_in(106, JobState::completed)};
    ASSERT_EQ(run({"job", "delete", "-g", "rg", "-w", "ws", "-e", "e", "-n", "gone", "-y"}), 0) << err;
    ASSERT_EQ(run({"experiment", "delete", "-g", "rg", "-w", "ws", "-n", "old", "-y"}), 0) << err;
    ASSERT_EQ(run({"cluster", "delete", "-g", "rg", "-w", "ws", "-n", "c2", "-y"}), 0) << err;
    ASSERT_EQ(run({"cluster", "resize", "-g", "rg", "-w", "ws", "-n", "c", "-t", "3"}), 0) << err;
    // A whole workspace deleted, with what it held.
    ASSERT_EQ(run({"workspace", "create", "-g", "rg", "-n", "ws2"}), 0) << err;
    ASSERT_EQ(run({"experiment", "create", "-g", "rg", "-w", "ws2", "-n", "x"}), 0) << err;
    ASSERT_EQ(run({"cluster", "create", "-g", "rg", "-w", "ws2", "-n", "cx", "-s", "STANDARD_NC6", "-t", "1"}), 0)
        << err;
    ASSERT_EQ(run({"job", "create", "-g", "rg", "-w", "ws2", "-e", "x", "-n", "j", "-c", "cx", "-f", job}), 0) << err;
    fake.job_answers[107] = {job_in(107, JobState::running)};
    ASSERT_EQ(run({"workspace", "delete", "-g", "rg", "-n", "ws2", "-y"}), 0) << err;
    ASSERT_FALSE(fake.cancelled.empty());
    EXPECT_EQ(fake.cancelled.back(), 107u) << "its running job terminated first";
  }

  // What a user sees of everything the database holds.
  std::string everything() {
    return output({"workspace", "list"}) + output({"experiment", "list", "-g", "rg", "-w", "ws"}) +
           output({"cluster", "list", "-g", "rg", "-w", "ws"}) + output({"job", "list", "-g", "rg", "-w", "ws", "-e", "e"}) +
           output({"job", "list", "-g", "rg", "-w", "ws", "-e", "e", "-o", "table"});
  }

  void remove_database() {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(database() + suffix);
  }
};

TEST_F(StateRebuild, AMissingDatabaseIsRebuiltFromJobDirectories) {
  populate();
  if (HasFatalFailure()) return;
  const std::string before = everything();
  ASSERT_NE(before.find("\"executionState\": \"running\""), std::string::npos) << before;
  ASSERT_EQ(before.find("gone"), std::string::npos);
  ASSERT_EQ(before.find("ws2"), std::string::npos);
  remove_database();
  ASSERT_EQ(run({"job", "list", "-g", "rg", "-w", "ws", "-e", "e"}), 0) << err;
  EXPECT_EQ(err, "batchai: the state database " + database() + " was missing; rebuilt it from the job directories " +
                     "under " + (dir / "jobs").string() + ": 1 workspace, 1 experiment, 1 cluster, 5 jobs\n");
  EXPECT_EQ(everything(), before);
  EXPECT_EQ(err, "") << "rebuilt once";
  // Deleted stays deleted: the job's directory is still there, marked.
  EXPECT_EQ(run({"job", "show", "-g", "rg", "-w", "ws", "-e", "e", "-n", "gone"}), 1);
  EXPECT_EQ(err, "batchai: error: job 'gone' not found in experiment 'e' (workspace 'ws', resource group 'rg')\n");
  EXPECT_EQ(run({"experiment", "show", "-g", "rg", "-w", "ws", "-n", "old"}), 1);
  EXPECT_EQ(run({"cluster", "show", "-g", "rg", "-w", "ws", "-n", "c2"}), 1);
}

// job create writes a job's record once, after the submission, so it holds
// the Slurm id and the creation instant that orders a rebuild; a job whose
// submission is refused leaves no directory and so no record.
TEST_F(StateRebuild, ACreatedJobsRecordHoldsItsSlurmIdAndCreationInstant) {
  ASSERT_EQ(run({"workspace", "create", "-g", "rg", "-n", "ws"}), 0) << err;
  ASSERT_EQ(run({"experiment", "create", "-g", "rg", "-w", "ws", "-n", "e"}), 0) << err;
  ASSERT_EQ(run({"cluster", "create", "-g", "rg", "-w", "ws", "-n", "c", "-s", "STANDARD_NC6", "-t", "1"}), 0) << err;
  ASSERT_EQ(run({"job", "create", "-g", "rg", "-w", "ws", "-e", "e", "-n", "first", "-c", "c", "-f", job}), 0) << err;
  ASSERT_EQ(run({"job", "create", "-g", "rg", "-w", "ws", "-e", "e", "-n", "second", "-c", "c", "-f", job}), 0) << err;
  auto record = [&](const std::string& name) {
    const fs::path jobs = dir / "jobs/rg/workspaces/ws/experiments/e/jobs" / name;
    EXPECT_TRUE(fs::is_directory(jobs)) << jobs;
    if (!fs::is_directory(jobs)) return boost::json::object{};
    const fs::path file = fs::directory_iterator(jobs)->path() / "batchai.json";
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return boost::json::parse(text.str()).as_object();
  };
  const auto first = record("first"), second = record("second");
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());
  EXPECT_EQ(first.at("slurmJobId").as_int64(), 100);
  EXPECT_EQ(second.at("slurmJobId").as_int64(), 101);
  EXPECT_EQ(first.at("order").as_int64() / 1'000'000'000, first.at("created").as_int64());
  EXPECT_LT(first.at("order").as_int64(), second.at("order").as_int64());

  fake.refuse_submit = "the queue is full";
  EXPECT_EQ(run({"job", "create", "-g", "rg", "-w", "ws", "-e", "e", "-n", "refused", "-c", "c", "-f", job}), 1);
  EXPECT_FALSE(fs::exists(dir / "jobs/rg/workspaces/ws/experiments/e/jobs/refused"));
  fake.refuse_submit.reset();
  // And the export, which batchai does not submit, has its record at once.
  ASSERT_EQ(run({"job", "export", "-g", "rg", "-w", "ws", "-e", "e", "-n", "site", "-c", "c", "-f", job}), 0) << err;
  const auto exported = record("site");
  ASSERT_FALSE(exported.empty());
  EXPECT_TRUE(exported.at("slurmJobId").is_null());
  EXPECT_TRUE(exported.at("exported").as_bool());
}

// A rebuild that cannot run leaves no empty database behind, so the next
// command tries again instead of listing nothing.
TEST_F(StateRebuild, AFailedRebuildIsTriedAgainByTheNextCommand) {
  populate();
  if (HasFatalFailure()) return;
  const std::string before = everything();
  remove_database();
  const std::string conf = (dir / "site.json").string();
  fs::rename(conf, conf + ".away");
  EXPECT_EQ(run({"workspace", "list"}), 1);
  EXPECT_TRUE(err.starts_with("batchai: error: ")) << err;
  EXPECT_FALSE(fs::exists(database()));
  fs::rename(conf + ".away", conf);
  EXPECT_EQ(everything(), before);
}

// An empty file, as a full disk leaves it, is a missing database too.
TEST_F(StateRebuild, AnEmptyDatabaseFileIsRebuiltToo) {
  populate();
  if (HasFatalFailure()) return;
  const std::string before = everything();
  remove_database();
  std::ofstream{database()};
  EXPECT_EQ(everything(), before);
}

TEST_F(StateRebuild, AGarbageDatabaseNamesTheRebuild) {
  populate();
  if (HasFatalFailure()) return;
  const std::string before = everything();
  // Overwritten whole, as a bad copy or restore leaves it: a WAL beside it
  // would still serve SQLite the pages it holds.
  remove_database();
  std::ofstream(database(), std::ios::trunc) << std::string(8192, '\x5a');
  const std::string damaged = "batchai: error: the state database " + database() +
                              " is damaged (file is not a database); 'batchai state rebuild' makes it again from " +
                              "the job directories\n";
  EXPECT_EQ(run({"job", "list", "-g", "rg", "-w", "ws", "-e", "e"}), 1);
  EXPECT_EQ(err, damaged);
  EXPECT_EQ(out.str(), "") << "never a silent empty list";
  EXPECT_EQ(run({"workspace", "list"}), 1);
  EXPECT_EQ(err, damaged);

  // A damaged database needs no --force; it is kept beside the new one.
  ASSERT_EQ(run({"state", "rebuild"}), 0) << err;
  EXPECT_EQ(err, "");
  auto report = boost::json::parse(out.str());
  EXPECT_EQ(report.at("jobs"), 5);
  EXPECT_EQ(report.at("statesFromSlurm"), true);
  const std::string kept(report.at("previousDatabase").as_string());
  EXPECT_TRUE(std::regex_match(kept, std::regex(std::regex_replace(database(), std::regex("[.]"), "[.]") +
                                                "[.]damaged-[0-9]{8}T[0-9]{6}Z")))
      << kept;
  std::ifstream garbage(kept);
  std::stringstream text;
  text << garbage.rdbuf();
  EXPECT_EQ(text.str(), std::string(8192, '\x5a'));
  EXPECT_FALSE(fs::exists(database() + ".rebuild"));
  EXPECT_EQ(everything(), before);
}

TEST_F(StateRebuild, AHealthyDatabaseIsReplacedOnlyWithForce) {
  populate();
  if (HasFatalFailure()) return;
  const std::string before = everything();
  EXPECT_EQ(run({"state", "rebuild"}), 1);
  EXPECT_EQ(err, "batchai: error: the state database " + database() + " is not damaged; 'batchai state rebuild " +
                     "--force' replaces it with one made from the job directories\n");
  ASSERT_EQ(run({"state", "rebuild", "--force"}), 0) << err;
  EXPECT_EQ(everything(), before);
}

// Slurm down during the rebuild: the jobs keep the states their records
// hold, and catch up once it answers.
TEST_F(StateRebuild, WithoutSlurmJobsKeepTheirRecordedStates) {
  populate();
  if (HasFatalFailure()) return;
  const std::string before = everything();
  fake.job_answers[103] = {job_in(103, JobState::completed)};
  fake.fail_with = "Unable to contact slurm controller";
  ASSERT_EQ(run({"state", "rebuild", "--force"}), 0) << err;
  EXPECT_EQ(err, "batchai: warning: Slurm did not answer (Unable to contact slurm controller); the rebuilt jobs keep "
                 "the states their directories recorded until it does\n");
  EXPECT_EQ(boost::json::parse(out.str()).at("statesFromSlurm"), false);
  fake.fail_with.reset();
  ASSERT_EQ(run({"job", "show", "-g", "rg", "-w", "ws", "-e", "e", "-n", "busy", "--query", "executionState"}), 0)
      << err;
  EXPECT_EQ(out.str(), "\"succeeded\"\n");
}

// Job directories written before batchai.json existed come back from their
// path, job.json, the script's partition and the execution record.
TEST_F(StateRebuild, OlderJobDirectoriesComeBackFromWhatTheyHold) {
  populate();
  if (HasFatalFailure()) return;
  const std::string jobs = (dir / "jobs/rg/workspaces/ws").string();
  std::string busy_dir;
  std::vector<fs::path> records;
  for (const auto& e : fs::recursive_directory_iterator(jobs)) {
    const auto name = e.path().filename();
    if (name == "batchai.json" || name == "workspace.json" || name == "experiment.json") records.push_back(e.path());
    if (e.path().string().find("/jobs/busy/") != std::string::npos && name == "job.json") {
      busy_dir = e.path().parent_path().string();
    }
  }
  for (const auto& r : records) fs::remove(r);
  ASSERT_FALSE(busy_dir.empty());
  std::ofstream(busy_dir + "/execution") << "slurm_job_id=103\nstart_time=2026-12-01T10:00:00Z\n";
  remove_database();
  fake.job_answers[103] = {job_in(103, JobState::running)};
  // They name no owner, so the automatic rebuild of a missing database
  // leaves them (they may be another state directory's); asked for, a
  // rebuild takes them.
  ASSERT_EQ(run({"job", "list", "-g", "rg", "-w", "ws", "-e", "e", "-o", "tsv"}), 1) << err;
  EXPECT_NE(err.find("workspace 'ws'"), std::string::npos) << err;
  ASSERT_EQ(run({"state", "rebuild", "--force"}), 0) << err;
  out.str("");
  ASSERT_EQ(run({"job", "list", "-g", "rg", "-w", "ws", "-e", "e", "-o", "tsv", "--query",
                 "[].[name, executionState, toolType, nodeCount, slurmJobId]"}), 0) << err;
  // Only the job that recorded its Slurm id is known to Slurm again; the
  // others are told by their records or wait to be told (exported).
  EXPECT_NE(out.str().find("busy\trunning\tcustom\t1\t103\n"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find("gone"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find("\nj\t"), std::string::npos) << "deleted with its experiment";
}

// Two state directories on one jobsRoot (two test runs, or one user's two
// BATCHAI_STATE_DIRs): each rebuild takes its own records, never the
// other's; those that name no owner only when asked.
TEST(StateRecords, ARebuildTakesOnlyItsOwnersRecords) {
  batchai::testing::TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const std::string root = tmp.file("jobs");
  ASSERT_TRUE(write_workspace_record(root, {{"rg", "mine"}, "", 800}, "/home/u/.batchai"));
  ASSERT_TRUE(write_workspace_record(root, {{"rg", "theirs"}, "", 800}, "/tmp/other-state"));
  ASSERT_TRUE(write_workspace_record(root, {{"rg", "old"}, "", 800}, ""));
  auto names = [&](const RecordFilter& filter) {
    auto records = read_records(root, filter);
    EXPECT_TRUE(records) << records.error().message;
    std::vector<std::string> all;
    if (records) {
      for (const auto& w : records->workspaces) all.push_back(w.key.workspace);
    }
    std::sort(all.begin(), all.end());
    return all;
  };
  EXPECT_EQ(names({"/home/u/.batchai", false}), (std::vector<std::string>{"mine"}));
  EXPECT_EQ(names({"/home/u/.batchai", true}), (std::vector<std::string>{"mine", "old"}));
  EXPECT_EQ(names({"/tmp/other-state", false}), (std::vector<std::string>{"theirs"}));
}

TEST(StateRecords, AJobRecordRoundTripsThroughItsDirectory) {
  batchai::testing::TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const std::string root = tmp.file("jobs");
  state::Job j;
  j.key = {"rg", "ws", "e", "j"};
  j.uuid = "1234";
  j.job_dir = root + "/rg/workspaces/ws/experiments/e/jobs/j/1234";
  j.cluster = {"rg", "ws", "c"};
  j.tool_type = "horovod";
  j.node_count = 2;
  j.slurm_job_id = 42;
  j.state = state::ExecutionState::failed;
  j.exit_code = 3;
  j.start_time = 1000;
  j.end_time = 2000;
  j.created = 900;
  j.state_time = 2000;
  j.errors_json = R"([{"code":"JobFailed","message":"m","details":[]}])";
  fs::create_directories(j.job_dir);
  std::ofstream(j.job_dir + "/job.json") << R"({"properties": {"nodeCount": 2, "secrets": [{"name": "S", "value": "x"}]}})";
  j.order = 5;
  ASSERT_TRUE(write_job_record(j, ""));
  EXPECT_EQ(fs::status(j.job_dir + "/batchai.json").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  ASSERT_TRUE(write_workspace_record(root, {{"rg", "ws"}, "", 800}, ""));
  auto records = read_records(root, {"", true});
  ASSERT_TRUE(records) << records.error().message;
  EXPECT_EQ(records->skipped, std::vector<std::string>{});
  ASSERT_EQ(records->jobs.size(), 1u);
  const state::Job& r = records->jobs[0];
  EXPECT_EQ(r.key.job, "j");
  EXPECT_EQ(r.segment, "rg/workspaces/ws/experiments/e/jobs/j/1234");
  EXPECT_EQ(r.cluster.cluster, "c");
  EXPECT_EQ(r.slurm_job_id, 42u);
  EXPECT_EQ(r.state, state::ExecutionState::failed);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.errors_json, j.errors_json);
  EXPECT_EQ(std::tuple(r.created, r.state_time, r.start_time, r.end_time), std::tuple(900, 2000, 1000, 2000));
  EXPECT_EQ(std::tuple(r.tool_type, r.node_count, r.exported), std::tuple("horovod", 2, false));
  EXPECT_EQ(r.spec_json.find("\"x\""), std::string::npos) << "secret values stay out: " << r.spec_json;
  // The experiment has no record, but a live job: it comes back.
  ASSERT_EQ(records->experiments.size(), 1u);
  EXPECT_EQ(records->experiments[0].created, 900);

  // A record from a newer batchai is left out, named.
  std::ofstream(j.job_dir + "/batchai.json") << R"({"version": 99})";
  records = read_records(root, {"", true});
  ASSERT_TRUE(records);
  EXPECT_TRUE(records->jobs.empty());
  ASSERT_EQ(records->skipped.size(), 1u);
  EXPECT_EQ(records->skipped[0], j.job_dir + "/batchai.json: version 99 is newer than this batchai's (1)");
}

TEST(StateRecords, AClusterRecordKeepsItsVmPriority) {
  batchai::testing::TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  const std::string root = tmp.file("jobs");
  ASSERT_TRUE(write_workspace_record(root, {{"rg", "ws"}, "", 800}, ""));
  state::Cluster c;
  c.key = {"rg", "ws", "low"};
  c.vm_size = "STANDARD_NC6";
  c.partition = "lowpri";
  c.target_nodes = 2;
  c.created = 900;
  c.vm_priority = state::VmPriority::lowpriority;
  ASSERT_TRUE(write_cluster_record(root, c, ""));
  c.key.cluster = "dedicated";
  c.partition = "batch";
  c.vm_priority = state::VmPriority::dedicated;
  ASSERT_TRUE(write_cluster_record(root, c, ""));
  // A record written before vmPriority existed, and one with a name az never had.
  const std::string clusters = root + "/rg/workspaces/ws/clusters/";
  for (const char* name : {"old", "odd"}) fs::create_directories(clusters + name);
  const std::string fields = R"("version": 1, "group": "rg", "workspace": "ws", "vmSize": "STANDARD_NC6",
      "partition": "batch", "gpusPerNode": 0, "gpuType": "", "autoScale": false, "targetNodes": 1, "minNodes": 0,
      "maxNodes": 0, "created": 900, "maxTimeSeconds": 0)";
  std::ofstream(clusters + "old/cluster.json") << "{" << fields << R"(, "cluster": "old"})";
  std::ofstream(clusters + "odd/cluster.json") << "{" << fields << R"(, "cluster": "odd", "vmPriority": "spot"})";

  auto records = read_records(root, {"", true});
  ASSERT_TRUE(records) << records.error().message;
  std::map<std::string, state::VmPriority> found;
  for (const auto& x : records->clusters) found[x.key.cluster] = x.vm_priority;
  EXPECT_EQ(found, (std::map<std::string, state::VmPriority>{{"dedicated", state::VmPriority::dedicated},
                                                            {"low", state::VmPriority::lowpriority},
                                                            {"old", state::VmPriority::dedicated}}));
  EXPECT_EQ(records->skipped,
            std::vector<std::string>{clusters + "odd/cluster.json: vmPriority: expected \"dedicated\" or "
                                     "\"lowpriority\", got \"spot\""});
}

}  // namespace
}  // namespace batchai::frontend
