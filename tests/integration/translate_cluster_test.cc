// The translator against the local Slurm cluster: every script generated
// from the valid corpus passes `sbatch --test-only`, and the public recipe
// shapes run for real on 2 to 4 nodes with tests/recipes/check_rank.sh
// standing in for their Python scripts. A hostile job shows that nothing in
// its values runs and that its secret does not leak.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "base/files.h"
#include "io/job_spec.h"
#include "io/site_config.h"
#include "integration/run_command.h"
#include "slurm/client.h"
#include "slurm/job_plan.h"
#include "slurm/shell_quote.h"
#include "unit/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using namespace batchai;

using batchai::testing::Outcome;
using batchai::testing::run_command;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<fs::path> corpus(const std::string& prefix) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(BATCHAI_JOBSPEC_CORPUS) / "valid")) {
    if (e.path().extension() == ".json" && e.path().stem().string().starts_with(prefix)) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string test_name(const ::testing::TestParamInfo<fs::path>& info) { return info.param.stem().string(); }

// A site for the local cluster, in a fresh directory: every share the corpus
// names is a directory here, and the nodes (all on this host) see it.
class LocalSite : public ::testing::Test {
 protected:
  fs::path dir;
  fs::path conf;

  void SetUp() override {
    auto c = slurm::connect_libslurm();
    if (!c) GTEST_SKIP() << "no Slurm to test against: " << c.error().message;
    if (auto p = (*c)->partitions(); !p) GTEST_SKIP() << "Slurm is not answering: " << p.error().message;
    dir = batchai::testing::make_test_dir("batchai-translate");
    ASSERT_FALSE(dir.empty()) << "cannot make a directory under " << fs::temp_directory_path();
    for (const char* s : {"scripts", "logs", "myshare", "data/images", "data/model", "nfs", "gluster"}) {
      fs::create_directories(dir / "shares" / s);
    }
    fs::copy_file(fs::path(BATCHAI_RECIPES) / "check_rank.sh", dir / "shares/scripts/check_rank.sh");
    conf = dir / "site.json";
    const std::string d = dir.string();
    std::ofstream(conf) << R"({
  // The local cluster: no GPUs, no container runtime.
  "jobsRoot": ")" << d << R"(/jobs", "mountRoot": ")" << d << R"(/mounts", "nodeTempRoot": ")" << d << R"(/tmp",
  "containers": {"runtime": "none", "allowHostWithoutContainer": true},
  "shares": [
    {"type": "azureFileShare", "name": "scripts", "path": ")" << d << R"(/shares/scripts"},
    {"type": "azureFileShare", "name": "logs", "path": ")" << d << R"(/shares/logs"},
    {"type": "azureFileShare", "name": "myshare", "path": ")" << d << R"(/shares/myshare"},
    {"type": "azureBlobFileSystem", "name": "data", "path": ")" << d << R"(/shares/data"},
    {"type": "fileServer", "name": "nfs", "path": ")" << d << R"(/shares/nfs"},
    {"type": "unmanagedFileSystem", "name": "mount -t glusterfs 10.0.0.4:/gv0", "path": ")" << d << R"(/shares/gluster"}
  ]
})";
  }
  void TearDown() override {
    if (!dir.empty() && !HasFailure()) fs::remove_all(dir);
  }

  // `batchai job create` for real; returns the Slurm job id, or -1.
  long create(const fs::path& job_json, const std::string& name, std::string* out = nullptr) {
    // The emulated nodes share one host, where Open MPI's shared-memory
    // transport mixes up ranks it believes are on different nodes; TCP is
    // what real multi-node jobs use between nodes anyway.
    const std::string env = "OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=lo BATCHAI_CONF=" + conf.string() +
                            " BATCHAI_STATE_DIR=" + (dir / "state").string() + " ";
    // The job's experiment; it exists after the first job of a test.
    run_command(env + BATCHAI_EXE + " workspace create -g rg -n ws");
    run_command(env + BATCHAI_EXE + " experiment create -g rg -w ws -n exp");
    Outcome r = run_command(env + "AZURE_BATCHAI_STORAGE_ACCOUNT=teststorage AZURE_BATCHAI_STORAGE_KEY=testkey " +
                            "BATCHAI_TEST_MPI_PROGRAM=" + BATCHAI_TRAIN_EXE + " " + BATCHAI_EXE +
                            " job create -g rg -w ws -e exp -n " + name + " -c batch -o tsv -f " + job_json.string());
    if (out) *out = r.out;
    EXPECT_EQ(r.status, 0) << r.out;
    if (r.status != 0) return -1;
    // The job's Slurm id, from its directory's record of the submission.
    Outcome shown = run_command(env + BATCHAI_EXE + " job show -g rg -w ws -e exp -n " + name +
                                " --query slurmJobId -o tsv");
    try {
      return std::stol(shown.out);
    } catch (...) {
      ADD_FAILURE() << "no Slurm id: " << shown.out;
      return -1;
    }
  }

  // The job's directory: jobs root, then Batch AI's segment with its uuid.
  fs::path job_dir(const std::string& name) {
    const fs::path parent = dir / "jobs/rg/workspaces/ws/experiments/exp/jobs" / name;
    for (const auto& e : fs::directory_iterator(parent)) return e.path();
    return {};
  }
};

// --- sbatch --test-only of every corpus script -------------------------------

class TestOnly : public LocalSite, public ::testing::WithParamInterface<fs::path> {};

TEST_P(TestOnly, SlurmAcceptsTheAllocationAndScript) {
  auto text = read_text_file(GetParam().string(), "corpus");
  ASSERT_TRUE(text);
  auto parsed = jobspec::parse_job_spec(*text);
  ASSERT_TRUE(parsed) << parsed.error().message;
  auto spec = jobspec::replace_storage_placeholders(parsed->spec, {"teststorage", "testkey"});
  ASSERT_TRUE(spec);
  auto site = site::parse_site_config(read_text_file(conf.string(), "site").value(), conf.string(), "/root");
  ASSERT_TRUE(site) << site.error().message;
  slurm::ClusterBinding cluster;
  cluster.cluster.name = cluster.cluster.partition = "batch";
  auto plan = slurm::plan_job(*spec, {"rg", "ws", "exp", GetParam().stem().string(), "u"}, cluster, *site);
  ASSERT_TRUE(plan) << plan.error().message;
  auto request = slurm::submission(*plan, slurm::render_script(*plan), {});
  const fs::path script = dir / "job.sbatch";
  std::ofstream(script) << request.script;
  fs::create_directories(request.work_dir);
  // The allocation is the script's own #SBATCH lines.
  const std::string cmd = "sbatch --test-only";
  Outcome r = run_command(cmd + " " + script.string());
  EXPECT_EQ(r.status, 0) << cmd << "\n" << r.out;
  EXPECT_NE(r.out.find("to start at"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Corpus, TestOnly, ::testing::ValuesIn(corpus("")), test_name);

// --- The recipe shapes, for real ---------------------------------------------

struct Expected {
  int processes;
  std::vector<std::string> stdouterr;  // beyond the execution logs
};

const std::map<std::string, Expected> kRecipes = {
    {"recipe_horovod_tensorflow", {2, {"stdout.txt", "stderr.txt", "stdout-job_prep-node1.txt"}}},
    {"recipe_horovod_pytorch", {4, {"stdout.txt", "stderr.txt", "stdout-job_prep-node2.txt"}}},
    {"recipe_tensorflow_single", {1, {"stdout-wk-0.txt", "stderr-wk-0.txt"}}},
    {"recipe_tensorflow_distributed", {3, {"stdout-wk-0.txt", "stdout-wk-1.txt", "stdout-ps-0.txt"}}},
    {"recipe_keras_tensorflow", {1, {"stdout-wk-0.txt", "stdout-job_prep-node1.txt"}}},
    {"recipe_pytorch_gloo", {2, {"stdout-0.txt", "stdout-1.txt", "stderr-1.txt"}}},
    {"recipe_batch_scoring", {2, {"stdout.txt", "stderr.txt"}}},
    {"recipe_custom_toolkit", {1, {"stdout.txt", "stderr.txt"}}},
};

class Recipe : public LocalSite, public ::testing::WithParamInterface<fs::path> {};

TEST_P(Recipe, RunsOnTheClusterWithBatchAisEnvironmentAndFiles) {
  const std::string name = GetParam().stem().string();
  ASSERT_TRUE(kRecipes.contains(name)) << "add " << name << " to kRecipes";
  const Expected& want = kRecipes.at(name);
  const long id = create(GetParam(), name);
  ASSERT_GT(id, 0);
  Outcome wait = run_command(std::string(BATCHAI_EXE) + " slurm wait " + std::to_string(id));
  const fs::path job = job_dir(name);
  const fs::path seg = fs::path("rg/workspaces/ws/experiments/exp/jobs") / name / job.filename();
  const fs::path stdouterr = dir / "shares/logs" / seg / "stdouterr";
  ASSERT_EQ(wait.status, 0) << wait.out << "\n--- slurm output:\n"
                            << slurp(job / ("slurm-" + std::to_string(id) + ".out")) << "\n--- stderr:\n"
                            << slurp(stdouterr / "stderr.txt") << slurp(stdouterr / "stderr-wk-0.txt")
                            << slurp(stdouterr / "stderr-0.txt");

  // The execution record the job wrote for later commands.
  const std::string record = slurp(job / "execution");
  EXPECT_NE(record.find("slurm_job_id=" + std::to_string(id) + "\n"), std::string::npos) << record;
  EXPECT_NE(record.find("start_time=20"), std::string::npos) << record;
  EXPECT_NE(record.find("end_time=20"), std::string::npos) << record;
  EXPECT_NE(record.find("exit_code=0\n"), std::string::npos) << record;

  // Batch AI's file layout, with one execution log per node.
  std::ifstream hosts(job / "hostfile");
  int host_lines = 0;
  for (std::string l; std::getline(hosts, l);) ++host_lines;
  EXPECT_GE(host_lines, 1);
  for (int n = 1; n <= host_lines; ++n) {
    EXPECT_TRUE(fs::exists(stdouterr / ("execution-node" + std::to_string(n) + ".log"))) << n;
  }
  for (const auto& f : want.stdouterr) EXPECT_TRUE(fs::exists(stdouterr / f)) << f;

  // One report per process, each with its rank and the world size.
  fs::path outputs = dir / "shares/logs" / seg / "outputs";
  if (fs::exists(outputs / "Models")) outputs /= "Models";
  if (fs::exists(outputs / "labels")) outputs /= "labels";
  std::set<int> ranks;
  for (const auto& e : fs::directory_iterator(outputs)) {
    const std::string f = e.path().filename().string();
    if (!f.starts_with("rank-")) continue;
    const std::string line = slurp(e.path());
    EXPECT_NE(line.find(" world=" + std::to_string(want.processes) + " "), std::string::npos) << line;
    ranks.insert(std::stoi(f.substr(5)));
  }
  EXPECT_EQ(ranks.size(), static_cast<std::size_t>(want.processes));
  if (!ranks.empty()) {
    EXPECT_EQ(*ranks.rbegin(), want.processes - 1);
  }

  // MPI toolkits also ran a real MPI program across the ranks.
  if (name.find("horovod") != std::string::npos || name == "recipe_batch_scoring") {
    EXPECT_NE(slurp(stdouterr / "stdout.txt").find("world check passed: " + std::to_string(want.processes)),
              std::string::npos)
        << slurp(stdouterr / "stdout.txt") << slurp(stdouterr / "stderr.txt");
  }
  // TensorFlow: the chief, the other workers and the ps each saw their role.
  if (name == "recipe_tensorflow_distributed") {
    std::string roles;
    for (int r = 0; r < 3; ++r) roles += slurp(outputs / ("rank-" + std::to_string(r) + ".txt"));
    EXPECT_NE(roles.find("role=ps index=0"), std::string::npos) << roles;
    EXPECT_NE(roles.find("role=chief index=0"), std::string::npos) << roles;
    EXPECT_NE(roles.find("role=worker index=1"), std::string::npos) << roles;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, Recipe, ::testing::ValuesIn(corpus("recipe_")), test_name);

// --- Hostile input -----------------------------------------------------------

// Values full of shell syntax reach the job byte for byte, nothing in them
// runs, and the secret appears nowhere but in the job's own environment.
TEST_F(LocalSite, HostileValuesAreInertAndTheSecretDoesNotLeak) {
  const fs::path canary = dir / "pwned";
  const std::string c = canary.string();
  const std::string secret = "s3cr3t-'\\\"$(touch " + c + "-secret)`touch " + c + "-tick`";
  const std::string value = "v'\\\"; touch " + c + "-env; $(touch " + c + "-sub) `touch " + c + "-bt`\nline2";
  // check.sh compares the environment with what the job.json said.
  std::ofstream(dir / "shares/scripts/check.sh")
      << "#!/bin/bash\n"
      << "[ \"$HOSTILE\" = " << slurm::shell_quote(value) << " ] || { echo \"HOSTILE differs: $HOSTILE\" >&2; exit 4; }\n"
      << "[ \"$TOKEN\" = " << slurm::shell_quote(secret) << " ] || { echo 'TOKEN differs' >&2; exit 5; }\n"
      << "echo checked > \"$AZ_BATCHAI_OUTPUT_O/checked\"\n";
  auto json_escape = [](const std::string& s) {
    std::string o;
    for (char ch : s) {
      if (ch == '\n') {
        o += "\\n";
        continue;
      }
      if (ch == '"' || ch == '\\') o += '\\';
      o += ch;
    }
    return o;
  };
  std::ofstream(dir / "hostile.json")
      << R"J({"properties": {"nodeCount": 2,
  "customToolkitSettings": {"commandLine": "bash $AZ_BATCHAI_JOB_MOUNT_ROOT/scripts/check.sh"},
  "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_MOUNT_ROOT/logs/$(touch )J" << json_escape(c) << R"J(-path)",
  "mountVolumes": {"azureFileShares": [
    {"azureFileUrl": "https://x.file.core.windows.net/scripts", "relativeMountPath": "scripts"},
    {"azureFileUrl": "https://x.file.core.windows.net/logs", "relativeMountPath": "logs"}]},
  "outputDirectories": [{"id": "O", "pathPrefix": "$AZ_BATCHAI_JOB_MOUNT_ROOT/logs", "pathSuffix": "a b;c"}],
  "environmentVariables": [{"name": "HOSTILE", "value": ")J" << json_escape(value) << R"J("}],
  "secrets": [{"name": "TOKEN", "value": ")J" << json_escape(secret) << R"J("}]}})J";

  const long id = create(dir / "hostile.json", "hostile");
  ASSERT_GT(id, 0);
  Outcome wait = run_command(std::string(BATCHAI_EXE) + " slurm wait " + std::to_string(id));
  const fs::path job = job_dir("hostile");
  EXPECT_EQ(wait.status, 0) << wait.out << slurp(job / ("slurm-" + std::to_string(id) + ".out"));

  // Nothing ran: no canary exists.
  for (const auto& e : fs::directory_iterator(dir)) {
    EXPECT_FALSE(e.path().filename().string().starts_with("pwned")) << e.path();
  }
  // The job saw the values exactly (check.sh wrote its mark).
  bool checked = false;
  for (const auto& e : fs::recursive_directory_iterator(dir / "shares/logs")) {
    if (e.path().filename() == "checked") checked = true;
  }
  EXPECT_TRUE(checked);
  // The secret is nowhere: not in the script, not in Slurm's copy of the
  // job, not in the logs; its file is gone.
  EXPECT_FALSE(fs::exists(job / "secrets.env"));
  const std::string needle = "s3cr3t";
  EXPECT_EQ(slurp(job / "job.sbatch").find(needle), std::string::npos);
  EXPECT_EQ(slurp(job / ("slurm-" + std::to_string(id) + ".out")).find(needle), std::string::npos);
  Outcome shown = run_command("scontrol show job -dd " + std::to_string(id) + "; scontrol write batch_script " +
                              std::to_string(id) + " -");
  EXPECT_EQ(shown.out.find(needle), std::string::npos) << shown.out;
  // job.json keeps the secret as given, so it is readable by its owner only.
  struct stat st {};
  ASSERT_EQ(::stat((job / "job.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// Batch AI failed a job whose preparation failed on any node, before its
// toolkit started; the exit code is the preparation's.
TEST_F(LocalSite, FailedJobPreparationFailsTheJobBeforeTheToolkitRuns) {
  std::ofstream(dir / "prep.json") << R"J({"properties": {"nodeCount": 2,
      "customToolkitSettings": {"commandLine": "touch $AZ_BATCHAI_SHARED_JOB_TEMP/toolkit-ran"},
      "jobPreparation": {"commandLine": "echo preparing; [ \"$SLURMD_NODENAME\" != node2 ] || exit 7"},
      "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_MOUNT_ROOT/logs",
      "mountVolumes": {"azureFileShares": [{"azureFileUrl": "https://x.file.core.windows.net/logs", "relativeMountPath": "logs"}]}}})J";
  const long id = create(dir / "prep.json", "prep");
  ASSERT_GT(id, 0);
  Outcome wait = run_command(std::string(BATCHAI_EXE) + " slurm wait " + std::to_string(id));
  EXPECT_EQ(wait.status, 7) << wait.out;
  const fs::path job = job_dir("prep");
  EXPECT_NE(slurp(job / "execution").find("exit_code=7\n"), std::string::npos) << slurp(job / "execution");
  EXPECT_FALSE(fs::exists(job / "shared/toolkit-ran"));
  const fs::path stdouterr = dir / "shares/logs/rg/workspaces/ws/experiments/exp/jobs/prep" / job.filename() / "stdouterr";
  EXPECT_NE(slurp(stdouterr / "stdout-job_prep-node1.txt").find("preparing"), std::string::npos);
  EXPECT_NE(slurp(stdouterr / "execution-node2.log").find("jobPreparation ended with exit code 7"), std::string::npos)
      << slurp(stdouterr / "execution-node2.log");
}

// One failing process fails the job with its exit code, and the others are
// stopped rather than left waiting for it.
TEST_F(LocalSite, AFailingRankFailsTheJobWithItsExitCode) {
  std::ofstream(dir / "rank.json") << R"J({"properties": {"nodeCount": 2,
      "pyTorchSettings": {"pythonScriptFilePath": "-c", "pythonInterpreterPath": "bash",
        "commandLineArgs": "'if [ $RANK = 1 ]; then exit 9; fi; sleep 600'", "processCount": 4},
      "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_TEMP_DIR"}})J";
  const long id = create(dir / "rank.json", "rank");
  ASSERT_GT(id, 0);
  Outcome wait = run_command("timeout 120 " + std::string(BATCHAI_EXE) + " slurm wait " + std::to_string(id));
  EXPECT_EQ(wait.status, 9) << wait.out;
  EXPECT_NE(slurp(job_dir("rank") / "execution").find("exit_code=9\n"), std::string::npos);
}

TEST_F(LocalSite, DryRunMasksTheSecretAndWritesNothing) {
  std::ofstream(dir / "s.json") << R"({"properties": {"nodeCount": 1, "customToolkitSettings": {},
      "stdOutErrPathPrefix": "/o", "secrets": [{"name": "TOKEN", "value": "hunter2-secret"}]}})";
  Outcome r = run_command("BATCHAI_CONF=" + conf.string() + " BATCHAI_STATE_DIR=" + (dir / "state").string() + " " +
                          BATCHAI_EXE + " job create -g rg -w ws -e exp -n dry -c batch --dry-run -f " +
                          (dir / "s.json").string());
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find("hunter2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("export TOKEN=********"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir / "jobs"));
}

}  // namespace
