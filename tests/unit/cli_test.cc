// The batchai command layer, driven through the same entry point as the real
// program, with a fake Slurm behind slurm::Client.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "fake_slurm.h"
#include "frontend/cli.h"
#include "frontend/state.h"
#include "unit/temp_dir.h"

namespace batchai::frontend {
namespace {

using batchai::testing::FakeSlurm;
using batchai::testing::job_in;
using slurm::JobState;

class Cli : public ::testing::Test {
 protected:
  FakeSlurm fake;
  std::ostringstream out, help;
  std::vector<std::chrono::milliseconds> sleeps;
  Context ctx;
  std::filesystem::path dir;

  void SetUp() override {
    ctx.out = &out;
    ctx.slurm = [this]() -> Result<slurm::Client*> { return &fake; };
    ctx.sleep = [this](std::chrono::milliseconds d) { sleeps.push_back(d); };
    ctx.environment = {"PATH=/usr/bin", "HOME=/root"};
    dir = batchai::testing::make_test_dir("batchai-cli-test");
    ASSERT_FALSE(dir.empty());
  }
  void TearDown() override {
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }

  std::string write(const std::string& name, const std::string& text) {
    auto path = dir / name;
    std::ofstream(path) << text;
    return path.string();
  }

  // Runs a command line; returns the exit status, with stderr in `err`.
  int run(std::vector<std::string> argv) {
    ::testing::internal::CaptureStderr();
    int rc = frontend::run(argv, ctx, help);
    err = ::testing::internal::GetCapturedStderr();
    return rc;
  }
  std::string err;
};

TEST_F(Cli, EveryCommandsHelpIsGeneratedFromItsOptionTable) {
  for (const Command* c : commands()) {
    help.str("");
    std::vector<std::string> argv;
    std::istringstream words{std::string(c->path)};
    for (std::string w; words >> w;) argv.push_back(w);
    argv.push_back("--help");
    ASSERT_EQ(run(argv), 0) << c->path;
    for (const auto& o : c->options) {
      EXPECT_NE(help.str().find(args::spelling(o)), std::string::npos) << c->path << ": " << args::spelling(o);
      // Marked from the row's flag, never by hand in its text.
      EXPECT_EQ(std::string_view(o.help).find("required"), std::string_view::npos) << c->path << ": " << o.name;
      if (o.required) {
        EXPECT_NE(help.str().find(args::help_text(o)), std::string::npos) << c->path << ": " << o.name;
        const std::string usage = help.str().substr(0, help.str().find('\n'));
        EXPECT_NE(usage.find(args::usage_form(o)), std::string::npos) << usage;
      }
    }
    for (const auto& o : global_options()) {
      EXPECT_NE(help.str().find(args::spelling(o)), std::string::npos) << c->path << ": " << args::spelling(o);
    }
  }
}

TEST_F(Cli, GroupsListTheirCommands) {
  for (const Group& g : groups()) {
    help.str("");
    EXPECT_EQ(run({std::string(g.path), "--help"}), 0);
    for (const Command* c : commands()) {
      if (!c->path.starts_with(std::string(g.path) + " ")) continue;
      std::string word(c->path.substr(g.path.size() + 1));
      if (word.find(' ') != std::string::npos) continue;  // in a subgroup, listed there
      EXPECT_NE(help.str().find("  " + word), std::string::npos) << g.path << ": " << word;
    }
  }
  help.str("");
  EXPECT_EQ(run({}), 2);  // no command: help, as a usage error
  EXPECT_NE(help.str().find("slurm"), std::string::npos);
}

TEST_F(Cli, UnknownCommandSuggestsTheNearestOne) {
  EXPECT_EQ(run({"slurm", "sumbit", "x"}), 2);
  EXPECT_EQ(err,
            "batchai: error: 'sumbit' is not a command of 'batchai slurm' (did you mean 'submit'?); "
            "see 'batchai slurm --help'\n");
}

TEST_F(Cli, JobValidateReportsValidOrEveryProblem) {
  std::string good = write("good.json", R"({"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "/l",
      "customMpiSettings": {"commandLine": "hostname"}}})");
  EXPECT_EQ(run({"job", "validate", "-f", good}), 0) << err;
  EXPECT_EQ(out.str(), "valid\n");
  std::string bad = write("bad.json", R"({"properties": {"nodeCount": 0, "customMpiSettings": {}}})");
  EXPECT_EQ(run({"job", "validate", "-f", bad}), 1);
  EXPECT_EQ(err, "batchai: error: " + bad + ": properties.nodeCount: expected a positive integer, got 0\nbatchai: error: " + bad +
                     ": properties.stdOutErrPathPrefix: required, but missing\nbatchai: error: " + bad +
                     ": properties.customMpiSettings.commandLine: required, but missing\n");
  EXPECT_EQ(run({"job", "validate"}), 2);
  EXPECT_EQ(err, "batchai: error: batchai job validate: --config-file: required (the job.json to check)\n");

  // Well formed, but no site would run it; the share, unknown here, and the
  // unset storage account are the site's and create's to judge.
  std::string escapes = write("escapes.json", R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/l",
      "customToolkitSettings": {"commandLine": "true"},
      "mountVolumes": {"azureFileShares": [{"azureFileUrl": "https://<AZURE_BATCHAI_STORAGE_ACCOUNT>.file.core.windows.net/s",
                                            "relativeMountPath": "../../etc"}]}}})");
  EXPECT_EQ(run({"job", "validate", "-f", escapes}), 1);
  EXPECT_EQ(err, "batchai: error: " + escapes +
                     ": properties.mountVolumes.azureFileShares[0].relativeMountPath: \"../../etc\" escapes "
                     "$AZ_BATCHAI_JOB_MOUNT_ROOT\n");
}

// A job file written for az, with the values its SDK converted, is valid;
// a value of a type it did not convert is still refused with its path.
TEST_F(Cli, JobValidateTakesWhatAzConverted) {
  std::string az = write("az.json", R"({"properties": {"nodeCount": "2", "stdOutErrPathPrefix": "/l",
      "customMpiSettings": {"commandLine": "python train.py --epochs $EPOCHS", "processCount": "4"},
      "environmentVariables": [{"name": "EPOCHS", "value": 10}, {"name": "LR", "value": 1e-05}],
      "constraints": {"maxWallClockTime": "PT1.5H"}}})");
  EXPECT_EQ(run({"job", "validate", "-f", az, "--strict"}), 0) << err;
  EXPECT_EQ(out.str(), "valid\n");
  std::string bad = write("bad.json", R"({"properties": {"nodeCount": "2.5", "stdOutErrPathPrefix": "/l",
      "customMpiSettings": {"commandLine": "true"}, "constraints": {"maxWallClockTime": "P1M"}}})");
  EXPECT_EQ(run({"job", "validate", "-f", bad}), 1);
  EXPECT_EQ(err, "batchai: error: " + bad + ": properties.nodeCount: expected a positive integer, got \"2.5\"\n" +
                     "batchai: error: " + bad + ": properties.constraints.maxWallClockTime: years and months have " +
                     "no fixed length; give the limit in weeks, days or hours (such as \"P30D\"), got \"P1M\"\n");
}

TEST_F(Cli, VersionNamesTheBuildFeatures) {
  EXPECT_EQ(run({"--version"}), 0);
  EXPECT_TRUE(help.str().starts_with("batchai 0.")) << help.str();
  EXPECT_NE(help.str().find("libslurm="), std::string::npos);
  EXPECT_NE(help.str().find("cuda="), std::string::npos);
}

TEST_F(Cli, SubmitPassesEveryOptionToSlurm) {
  std::string script = write("job.sh", "#!/bin/bash\nsrun hostname\n");
  ASSERT_EQ(run({"slurm", "submit", script, "-N", "4", "--ntasks", "8", "--ntasks-per-node=2", "-t", "30", "-J",
                 "hello", "-p", "batch", "--chdir", "/tmp", "--stdout", "/tmp/o-%j", "--exclusive"}),
            0)
      << err;
  ASSERT_EQ(fake.submitted.size(), 1u);
  const auto& r = fake.submitted[0];
  EXPECT_EQ(r.script, "#!/bin/bash\nsrun hostname\n");
  EXPECT_EQ(r.nodes, 4u);
  EXPECT_EQ(r.tasks, 8u);
  EXPECT_EQ(r.tasks_per_node, 2);
  EXPECT_EQ(r.time_limit_minutes, 30u);
  EXPECT_EQ(r.name, "hello");
  EXPECT_EQ(r.partition, "batch");
  EXPECT_EQ(r.work_dir, "/tmp");
  EXPECT_EQ(r.std_out, "/tmp/o-%j");
  EXPECT_TRUE(r.exclusive);
  EXPECT_EQ(r.environment, ctx.environment);
  EXPECT_EQ(out.str(), "{\n  \"jobId\": 100\n}\n");
}

TEST_F(Cli, SubmitDefaultsFollowSbatch) {
  std::string script = write("run.sh", "#!/bin/sh\ntrue\n");
  ASSERT_EQ(run({"slurm", "submit", script, "--chdir", "/work"}), 0) << err;
  const auto& r = fake.submitted.at(0);
  EXPECT_EQ(r.name, "run.sh");
  EXPECT_EQ(r.nodes, 1u);
  EXPECT_FALSE(r.tasks);
  EXPECT_EQ(r.std_out, "/work/slurm-%j.out");
  EXPECT_FALSE(r.exclusive);
}

TEST_F(Cli, SubmitRefusesBadInputWithoutSubmitting) {
  std::string script = write("ok.sh", "#!/bin/sh\n");
  EXPECT_EQ(run({"slurm", "submit", script, "--nodes", "four"}), 1);
  EXPECT_EQ(err, "batchai: error: --nodes: expected an integer from 1 to 100000, got 'four'\n");
  EXPECT_EQ(run({"slurm", "submit", write("bad.sh", "echo no shebang\n")}), 1);
  EXPECT_NE(err.find("does not start with '#!'"), std::string::npos) << err;
  EXPECT_EQ(run({"slurm", "submit", (dir / "missing.sh").string()}), 1);
  EXPECT_NE(err.find("SCRIPT: cannot read"), std::string::npos) << err;
  EXPECT_TRUE(fake.submitted.empty());
}

TEST_F(Cli, WaitPollsUntilFinalAndExitsWithTheJobsCode) {
  fake.job_answers[7] = {job_in(7, JobState::pending), job_in(7, JobState::running),
                         job_in(7, JobState::completing, 3), job_in(7, JobState::failed, 3)};
  EXPECT_EQ(run({"slurm", "wait", "7", "--interval", "2"}), 3);
  EXPECT_EQ(sleeps.size(), 3u);
  EXPECT_EQ(sleeps[0], std::chrono::milliseconds(2000));
  EXPECT_NE(out.str().find("\"state\": \"FAILED\""), std::string::npos) << out.str();

  fake.job_answers[8] = {job_in(8, JobState::completed)};
  EXPECT_EQ(run({"slurm", "wait", "8"}), 0);
  fake.job_answers[9] = {job_in(9, JobState::cancelled, 0, 9)};
  EXPECT_EQ(run({"slurm", "wait", "9"}), 128 + 9);
  fake.job_answers[10] = {job_in(10, JobState::running)};
  EXPECT_EQ(run({"slurm", "wait", "10", "--timeout", "3"}), 1);
  EXPECT_EQ(err, "batchai: error: job 10 still RUNNING after 3 s\n");
}

TEST_F(Cli, ShowAndCancelUnknownJobsFailClearly) {
  EXPECT_EQ(run({"slurm", "show", "42"}), 1);
  EXPECT_NE(err.find("job 42 is not known to Slurm"), std::string::npos) << err;
  EXPECT_EQ(run({"slurm", "show", "x42"}), 1);
  EXPECT_EQ(err, "batchai: error: JOBID: expected an integer from 1 to 4294967295, got 'x42'\n");
  EXPECT_EQ(run({"slurm", "cancel", "42"}), 1);
  EXPECT_TRUE(fake.cancelled.empty());
  fake.job_answers[42] = {job_in(42, JobState::running)};
  EXPECT_EQ(run({"slurm", "cancel", "42"}), 0);
  EXPECT_EQ(fake.cancelled, std::vector<slurm::JobId>{42});
}

TEST_F(Cli, SlurmErrorsReachTheUser) {
  fake.fail_with = "nodes: Unable to contact slurm controller (connect failure)";
  EXPECT_EQ(run({"slurm", "nodes"}), 1);
  EXPECT_EQ(err, "batchai: error: nodes: Unable to contact slurm controller (connect failure)\n");
}

TEST_F(Cli, OutputFormats) {
  fake.job_answers[5] = {job_in(5, JobState::running)};
  ASSERT_EQ(run({"slurm", "show", "5", "-o", "tsv", "--query", "[[jobId, name, state, exitCode, nodes]]"}), 0) << err;
  EXPECT_EQ(out.str(), "5\tjob5\tRUNNING\t0\tnode[1-4]\n");
  out.str("");
  ASSERT_EQ(run({"slurm", "show", "5", "-o", "table"}), 0);
  EXPECT_EQ(out.str(),
            "JobId  Name  State    Exit code  Nodes      Start  End\n"
            "-----  ----  -------  ---------  ---------  -----  ---\n"
            "5      job5  RUNNING  0          node[1-4]\n");
  EXPECT_EQ(run({"slurm", "show", "5", "-o", "xml"}), 2);
  EXPECT_EQ(err, "batchai: error: --output: expected json, jsonc, yaml, yamlc, table, tsv or none, got 'xml'\n");
}

TEST_F(Cli, NodesAndPartitions) {
  slurm::NodeInfo n;
  n.name = "node1";
  n.state = slurm::NodeState::idle;
  n.drain = true;
  n.cpus = 2;
  n.reason = "maintenance";
  fake.node_list = {n};
  ASSERT_EQ(run({"slurm", "nodes", "-o", "tsv", "--query", "[].[name, state, flags, cpus, gres, reason]"}), 0);
  EXPECT_EQ(out.str(), "node1\tIDLE\tDRAIN\t2\t\tmaintenance\n");
  out.str("");
  slurm::PartitionInfo p;
  p.name = "gpu";
  p.is_default = true;
  p.nodes = "g[1-2]";
  p.total_nodes = 2;
  p.max_time_minutes = 60;
  fake.partition_list = {p};
  ASSERT_EQ(run({"slurm", "partitions", "-o", "tsv", "--query", "[].[name, default, state, nodes, totalNodes, maxTimeMinutes]"}),
            0);
  EXPECT_EQ(out.str(), "gpu\tTrue\tUP\tg[1-2]\t2\t60\n");
}

// --- job create, against the fake ------------------------------------------

class JobCreate : public Cli {
 protected:
  std::string job, conf;
  std::unique_ptr<state::Store> store;
  void SetUp() override {
    Cli::SetUp();
    job = write("job.json", R"({"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_TEMP_DIR",
        "horovodSettings": {"pythonScriptFilePath": "t.py", "processCount": 4},
        "secrets": [{"name": "TOKEN", "value": "tok-123456"}]}})");
    conf = write("site.json", R"({"jobsRoot": ")" + (dir / "jobs").string() + R"(",
        "clusters": [{"name": "gpu", "partition": "batch", "gpusPerNode": 2}]})");
    ctx.environment.push_back("BATCHAI_CONF=" + conf);
    ctx.environment.push_back("BATCHAI_DEFAULT_GROUP=default");
    ctx.environment.push_back("BATCHAI_DEFAULT_WORKSPACE=default");
    auto opened = state::Store::open((dir / "state").string());
    ASSERT_TRUE(opened) << opened.error().message;
    store = std::move(*opened);
    ctx.store = [this]() -> Result<state::Store*> { return store.get(); };
    ASSERT_TRUE(store->create_workspace({{"default", "default"}, "", 0}));
    ASSERT_TRUE(store->create_experiment({{"default", "default", "exp"}, 0}));
    slurm::PartitionInfo batch;
    batch.name = "batch";
    batch.max_time_minutes = 2 * 24 * 60;
    fake.partition_list.push_back(batch);
  }

  // A record of an hour ago that never got a Slurm id.
  state::Job unsubmitted(const std::string& name) {
    state::Job j;
    j.key = {"default", "default", "exp", name};
    j.uuid = "u";
    j.cluster = {"default", "default", "gpu"};
    j.tool_type = "custom";
    j.job_dir = (dir / "nowhere").string();
    j.segment = "s";
    j.created = j.state_time = std::time(nullptr) - 3600;
    return j;
  }
};

TEST_F(JobCreate, SubmitsTheTranslatedJobAndWritesItsDirectory) {
  ASSERT_EQ(run({"job", "create", "-e", "exp", "-n", "j1", "-c", "gpu", "-f", job}), 0) << err;
  ASSERT_EQ(fake.submitted.size(), 1u);
  const auto& r = fake.submitted[0];
  EXPECT_EQ(r.partition, "batch");
  EXPECT_EQ(r.nodes, 2u);
  EXPECT_EQ(r.tasks_per_node, 2);
  EXPECT_EQ(r.gpus_per_node, "2");
  EXPECT_EQ(r.time_limit_minutes, 2u * 24 * 60);  // the week's default, capped by MaxTime
  EXPECT_TRUE(r.exclusive);
  EXPECT_TRUE(r.script.starts_with("#!/bin/bash\n"));
  EXPECT_EQ(r.script.find("tok-123456"), std::string::npos);
  // Recorded, with the Slurm id and without the secret.
  auto recorded = store->job({"default", "default", "exp", "j1"});
  ASSERT_TRUE(recorded && *recorded);
  EXPECT_EQ((*recorded)->slurm_job_id, 100u);
  EXPECT_EQ((*recorded)->state, state::ExecutionState::queued);
  EXPECT_EQ((*recorded)->spec_json.find("tok-123456"), std::string::npos);
  // A version 4 uuid, which is the job directory's last component.
  EXPECT_TRUE(std::regex_match((*recorded)->uuid,
                               std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << (*recorded)->uuid;
  EXPECT_EQ(std::filesystem::path(r.work_dir).filename(), (*recorded)->uuid);
  for (const auto& e : r.environment) EXPECT_EQ(e.find("tok-123456"), std::string::npos) << e;
  // The job directory: script, job.json and the secrets file, private ones 0600.
  const std::filesystem::path job_dir = r.work_dir;
  EXPECT_TRUE(job_dir.string().starts_with((dir / "jobs/default/workspaces/default/experiments/exp/jobs/j1/").string()));
  EXPECT_EQ(std::filesystem::status(job_dir / "secrets.env").permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(std::filesystem::status(job_dir / "job.json").permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::ifstream script(job_dir / "job.sbatch");
  std::stringstream text;
  text << script.rdbuf();
  EXPECT_EQ(text.str(), r.script);
  EXPECT_NE(out.str().find("\"slurmJobId\""), std::string::npos) << out.str();
}

TEST_F(JobCreate, ARefusedSubmissionLeavesNoJobDirectory) {
  fake.refuse_submit = "Slurm said no";
  EXPECT_EQ(run({"job", "create", "-e", "exp", "-n", "j1", "-c", "gpu", "-f", job}), 1);
  EXPECT_EQ(err, "batchai: error: Slurm said no\n");
  const auto parent = dir / "jobs/default/workspaces/default/experiments/exp/jobs/j1";
  EXPECT_TRUE(!std::filesystem::exists(parent) || std::filesystem::is_empty(parent));
  auto recorded = store->job({"default", "default", "exp", "j1"});
  ASSERT_TRUE(recorded);
  EXPECT_FALSE(*recorded);  // no record of a job that never was
}

// A CLI killed between recording and submitting leaves a record without a
// Slurm id; after a minute it shows failed instead of queued forever.
TEST_F(JobCreate, ARecordNeverSubmittedEndsFailed) {
  state::Job j = unsubmitted("orphan");
  ASSERT_TRUE(store->insert_job(j));
  ASSERT_EQ(run({"job", "show", "-e", "exp", "-n", "orphan", "--query", "executionState"}), 0) << err;
  EXPECT_EQ(out.str(), "\"failed\"\n");
  auto recorded = store->job(j.key);
  ASSERT_TRUE(recorded && *recorded);
  EXPECT_NE((*recorded)->errors_json.find("JobNotSubmitted"), std::string::npos);
  j.key.job = "fresh";
  j.created = std::time(nullptr);
  ASSERT_TRUE(store->insert_job(j));
  out.str("");
  ASSERT_EQ(run({"job", "show", "-e", "exp", "-n", "fresh", "--query", "executionState"}), 0) << err;
  EXPECT_EQ(out.str(), "\"queued\"\n");
}

TEST_F(JobCreate, DryRunPrintsTheMaskedScriptAndSubmitsNothing) {
  ASSERT_EQ(run({"job", "create", "-e", "exp", "-n", "j1", "-c", "gpu", "-f", job, "--dry-run"}), 0) << err;
  EXPECT_TRUE(fake.submitted.empty());
  EXPECT_FALSE(std::filesystem::exists(dir / "jobs"));
  // A script sbatch takes as it is: the shebang first, then the allocation,
  // then the notes as comments.
  EXPECT_TRUE(out.str().starts_with("#!/bin/bash\n#SBATCH --partition=batch\n#SBATCH --nodes=2\n")) << out.str();
  const auto notes = out.str().find("# batchai job create --dry-run: nothing was written or submitted.\n");
  ASSERT_NE(notes, std::string::npos) << out.str();
  EXPECT_GT(notes, out.str().rfind("#SBATCH "));
  EXPECT_NE(out.str().find("export TOKEN=********"), std::string::npos);
  EXPECT_EQ(out.str().find("tok-123456"), std::string::npos);
}

TEST_F(Cli, AMissingRequiredOptionIsAUsageError) {
  EXPECT_EQ(run({"job", "show", "-e", "exp"}), 2);
  EXPECT_EQ(err, "batchai: error: batchai job show: --name or --ids: required (job name)\n");
  EXPECT_EQ(out.str(), "");
  help.str("");
  ASSERT_EQ(run({"job", "show", "--help"}), 0);
  EXPECT_TRUE(help.str().starts_with("usage: batchai job show (-e NAME -n NAME | --ids ID [ID ...]) [options]\n"))
      << help.str();
  EXPECT_NE(help.str().find(" job name (required, or --ids)\n"), std::string::npos) << help.str();
  help.str("");
  ASSERT_EQ(run({"cluster", "auto-scale", "--help"}), 0);
  EXPECT_TRUE(help.str().starts_with("usage: batchai cluster auto-scale -n NAME --min N --max N [options]\n"))
      << help.str();
}

TEST_F(JobCreate, BadFlagsAndNamesAreOneLineErrors) {
  EXPECT_EQ(run({"job", "create", "-n", "j1", "-c", "gpu", "-f", job}), 2);
  EXPECT_EQ(err, "batchai: error: batchai job create: --experiment: required (the job's experiment)\n");
  EXPECT_EQ(run({"job", "create", "-e", "exp", "-n", "bad name", "-c", "gpu", "-f", job}), 1);
  EXPECT_NE(err.find("--name"), std::string::npos) << err;
  EXPECT_EQ(run({"job", "create", "-e", "exp", "-n", "j1", "-c", "gpus", "-f", job}), 1);
  EXPECT_EQ(err, "batchai: error: --cluster: no cluster \"gpus\" in workspace 'default' or in " + conf +
                     "; did you mean \"gpu\"?\n");
  EXPECT_TRUE(fake.submitted.empty());
}

TEST_F(JobCreate, StoragePlaceholdersComeFromFlagsOrTheEnvironment) {
  const std::string afs = write("afs.json", R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o",
      "customToolkitSettings": {}, "mountVolumes": {"azureFileShares": [{
      "azureFileUrl": "https://<AZURE_BATCHAI_STORAGE_ACCOUNT>.file.core.windows.net/afs", "relativeMountPath": "afs"}]}}})");
  conf = write("site.json", R"({"jobsRoot": ")" + (dir / "jobs").string() + R"(",
      "shares": [{"type": "azureFileShare", "name": "afs", "path": "/srv/afs"}]})");
  EXPECT_EQ(run({"job", "create", "-e", "e", "-n", "j", "-c", "batch", "-f", afs, "--dry-run"}), 1);
  EXPECT_NE(err.find("azureFileUrl: <AZURE_BATCHAI_STORAGE_ACCOUNT> needs --storage-account-name"), std::string::npos)
      << err;
  EXPECT_EQ(run({"job", "create", "-e", "e", "-n", "j", "-c", "batch", "-f", afs, "--dry-run",
                 "--storage-account-name", "acct"}), 0) << err;
  ctx.environment.push_back("AZURE_BATCHAI_STORAGE_ACCOUNT=acct2");
  EXPECT_EQ(run({"job", "create", "-e", "e", "-n", "j", "-c", "batch", "-f", afs, "--dry-run"}), 0) << err;
}


// --- job export: the same job, for the site's own sbatch --------------------

class JobExport : public JobCreate {
 protected:
  std::string job_dir() {
    auto recorded = store->job({"default", "default", "exp", "j1"});
    return recorded && *recorded ? (*recorded)->job_dir : "";
  }
  static std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  static std::filesystem::perms mode(const std::filesystem::path& p) {
    return std::filesystem::status(p).permissions() & std::filesystem::perms::all;
  }
};

TEST_F(JobExport, WritesTheJobDirectoryAndPrintsTheSbatchCommandWithoutSubmitting) {
  ASSERT_EQ(run({"job", "export", "-e", "exp", "-n", "j1", "-c", "gpu", "-f", job}), 0) << err;
  EXPECT_TRUE(fake.submitted.empty());
  auto recorded = store->job({"default", "default", "exp", "j1"});
  ASSERT_TRUE(recorded && *recorded);
  EXPECT_TRUE((*recorded)->exported);
  EXPECT_FALSE((*recorded)->slurm_job_id);
  EXPECT_EQ((*recorded)->state, state::ExecutionState::queued);
  const std::filesystem::path dir_of_job = (*recorded)->job_dir;
  EXPECT_TRUE(
      dir_of_job.string().starts_with((dir / "jobs/default/workspaces/default/experiments/exp/jobs/j1/").string()));
  const auto private_mode = std::filesystem::perms::owner_read | std::filesystem::perms::owner_write;
  EXPECT_EQ(mode(dir_of_job / "secrets.env"), private_mode);
  EXPECT_EQ(mode(dir_of_job / "job.json"), private_mode);
  EXPECT_NE(slurp(dir_of_job / "secrets.env").find("tok-123456"), std::string::npos);
  const std::string script = slurp(dir_of_job / "job.sbatch");
  EXPECT_TRUE(script.starts_with("#!/bin/bash\n")) << script.substr(0, 80);
  EXPECT_EQ(script.find("tok-123456"), std::string::npos);

  const std::string command = "sbatch " + (dir_of_job / "job.sbatch").string();
  auto printed = boost::json::parse(out.str()).as_object();
  EXPECT_EQ(printed["sbatchCommand"], command.c_str());
  EXPECT_EQ(printed["name"], "j1");
  EXPECT_TRUE(printed["slurmJobId"].is_null());
  EXPECT_EQ(printed["executionState"], "queued");
  EXPECT_EQ(printed["jobDirectory"], dir_of_job.string().c_str());
  EXPECT_NE(err.find("submit it with: " + command + "\n"), std::string::npos) << err;
  EXPECT_NE(err.find("--slurm-job-id ID"), std::string::npos) << err;
  EXPECT_EQ(err.find("tok-123456"), std::string::npos) << err;
}

// Export writes what job create submits: the same script, but for the uuid.
TEST_F(JobExport, TheScriptIsTheOneJobCreateSubmits) {
  ASSERT_EQ(run({"job", "export", "-e", "exp", "-n", "j1", "-c", "gpu", "-f", job}), 0) << err;
  ASSERT_EQ(run({"job", "create", "-e", "exp", "-n", "j2", "-c", "gpu", "-f", job}), 0) << err;
  ASSERT_EQ(fake.submitted.size(), 1u);
  auto exported = store->job({"default", "default", "exp", "j1"});
  auto created = store->job({"default", "default", "exp", "j2"});
  ASSERT_TRUE(exported && *exported && created && *created);
  std::string script = slurp(std::filesystem::path((*exported)->job_dir) / "job.sbatch");
  // The job's name and uuid appear in its paths and labels; nothing else differs.
  const std::pair<std::string, std::string> renames[] = {{(*exported)->uuid, (*created)->uuid}, {"j1", "j2"}};
  for (const auto& [from, to] : renames) {
    for (auto at = script.find(from); at != std::string::npos; at = script.find(from, at + to.size())) {
      script.replace(at, from.size(), to);
    }
  }
  EXPECT_EQ(script, fake.submitted[0].script);
}

TEST_F(JobExport, BadFlagsAndTakenNamesAreOneLineErrorsThatWriteNothing) {
  EXPECT_EQ(run({"job", "export", "-e", "exp", "-n", "j1", "-c", "gpu"}), 2);
  EXPECT_EQ(err, "batchai: error: batchai job export: --config-file: required (the job.json)\n");
  EXPECT_EQ(run({"job", "export", "-e", "exp", "-n", "bad name", "-c", "gpu", "-f", job}), 1);
  EXPECT_EQ(err, "batchai: error: --name: expected 1 to 64 letters, digits, '-' or '_', got \"bad name\"\n");
  EXPECT_EQ(run({"job", "export", "-e", "exp", "-n", "j1", "-c", "gpu", "-f", job, "--dry-run"}), 2);
  EXPECT_NE(err.find("--dry-run"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_FALSE(std::filesystem::exists(dir / "jobs"));

  ASSERT_EQ(run({"job", "create", "-e", "exp", "-n", "j1", "-c", "gpu", "-f", job}), 0) << err;
  EXPECT_EQ(run({"job", "export", "-e", "exp", "-n", "j1", "-c", "gpu", "-f", job}), 1);
  EXPECT_EQ(err, "batchai: error: job 'j1' already exists in experiment 'exp'\n");
  std::size_t job_dirs = 0;
  const auto parent = dir / "jobs/default/workspaces/default/experiments/exp/jobs/j1";
  for (const auto& e : std::filesystem::directory_iterator(parent)) job_dirs += e.is_directory();
  EXPECT_EQ(job_dirs, 1u) << "only job create's directory";
}

TEST_F(JobExport, AClusterWithNoNodesGetsAHeldSbatch) {
  state::Cluster c;
  c.key = {"default", "default", "empty"};
  c.vm_size = "STANDARD_NC6";
  c.partition = "batch";
  ASSERT_TRUE(store->create_cluster(c));
  out.str("");
  ASSERT_EQ(run({"job", "export", "-e", "exp", "-n", "j1", "-c", "empty", "-f", job, "--query", "sbatchCommand",
                 "-o", "tsv"}), 0) << err;
  EXPECT_EQ(out.str(), "sbatch --hold " + job_dir() + "/job.sbatch\n");
}

// An exported job waits for its site's sbatch: no Slurm id is no failure.
TEST_F(JobExport, AnExportedJobWithoutAnIdStaysQueued) {
  state::Job j = unsubmitted("old");
  j.exported = true;
  ASSERT_TRUE(store->insert_job(j));
  ASSERT_EQ(run({"job", "show", "-e", "exp", "-n", "old", "--query", "executionState"}), 0) << err;
  EXPECT_EQ(out.str(), "\"queued\"\n");
}

TEST_F(JobExport, ShowAndWaitFollowTheJobOnceToldItsSlurmId) {
  ASSERT_EQ(run({"job", "export", "-e", "exp", "-n", "j1", "-c", "gpu", "-f", job}), 0) << err;
  EXPECT_EQ(run({"job", "terminate", "-e", "exp", "-n", "j1", "-y"}), 1);
  EXPECT_EQ(err, "batchai: error: job 'j1' was exported and batchai knows no Slurm id for it; if it was submitted, "
                 "give the id with batchai job show --slurm-job-id ID first, or cancel it with scancel\n");
  slurm::JobInfo elsewhere = job_in(7, JobState::running);
  elsewhere.work_dir = "/home/someone";
  fake.job_answers[7] = {elsewhere};
  EXPECT_EQ(run({"job", "show", "-e", "exp", "-n", "j1", "--slurm-job-id", "7"}), 1);
  EXPECT_EQ(err, "batchai: error: --slurm-job-id: Slurm job 7 runs in '/home/someone', not in the directory of job "
                 "'j1' (" + job_dir() + ")\n");
  EXPECT_EQ(run({"job", "show", "-e", "exp", "-n", "j1", "--slurm-job-id", "70"}), 1);
  EXPECT_EQ(err, "batchai: error: --slurm-job-id: Slurm has no job 70 and job 'j1' recorded no such id in its "
                 "directory\n");
  EXPECT_EQ(run({"job", "show", "-e", "exp", "-n", "j1", "--slurm-job-id", "seven"}), 1);
  EXPECT_NE(err.find("--slurm-job-id: expected an integer"), std::string::npos) << err;

  slurm::JobInfo running = job_in(8, JobState::running);
  running.work_dir = job_dir();
  slurm::JobInfo done = job_in(8, JobState::completed);
  done.work_dir = job_dir();
  fake.job_answers[8] = {running, running, done};
  out.str("");
  ASSERT_EQ(run({"job", "show", "-e", "exp", "-n", "j1", "--slurm-job-id", "8"}), 0) << err;
  auto shown = boost::json::parse(out.str()).as_object();
  EXPECT_EQ(shown["slurmJobId"], 8);
  EXPECT_EQ(shown["executionState"], "running");
  auto recorded = store->job({"default", "default", "exp", "j1"});
  ASSERT_TRUE(recorded && *recorded);
  EXPECT_EQ((*recorded)->slurm_job_id, 8u);

  EXPECT_EQ(run({"job", "show", "-e", "exp", "-n", "j1", "--slurm-job-id", "9"}), 1);
  EXPECT_EQ(err, "batchai: error: --slurm-job-id: job 'j1' is Slurm job 8, not 9\n");
  EXPECT_EQ(run({"job", "wait", "-e", "exp", "-n", "j1", "--slurm-job-id", "8", "--interval", "1"}), 0) << err;
  EXPECT_NE(err.find("job 'j1' is succeeded"), std::string::npos) << err;
  EXPECT_EQ(run({"job", "terminate", "-e", "exp", "-n", "j1", "-y"}), 0) << "an ended job: nothing to do";
  EXPECT_TRUE(fake.cancelled.empty());

  // A job create job has its id already; it takes no other.
  ASSERT_EQ(run({"job", "create", "-e", "exp", "-n", "j2", "-c", "gpu", "-f", job}), 0) << err;
  EXPECT_EQ(run({"job", "show", "-e", "exp", "-n", "j2", "--slurm-job-id", "8"}), 1);
  EXPECT_EQ(err, "batchai: error: --slurm-job-id: job 'j2' is Slurm job 100, not 8\n");
}

// Submitted without telling batchai: the script recorded its id when it
// started, and job show takes it from there.
TEST_F(JobExport, TheIdTheScriptRecordedIsTakenWithoutAsking) {
  ASSERT_EQ(run({"job", "export", "-e", "exp", "-n", "j1", "-c", "gpu", "-f", job}), 0) << err;
  std::ofstream(job_dir() + "/execution") << "slurm_job_id=12\nstart_time=2026-12-06T12:00:00Z\n";
  slurm::JobInfo running = job_in(12, JobState::running);
  running.work_dir = job_dir();
  fake.job_answers[12] = {running};
  out.str("");
  ASSERT_EQ(run({"job", "show", "-e", "exp", "-n", "j1"}), 0) << err;
  auto shown = boost::json::parse(out.str()).as_object();
  EXPECT_EQ(shown["slurmJobId"], 12);
  EXPECT_EQ(shown["executionState"], "running");
}

}  // namespace
}  // namespace batchai::frontend
