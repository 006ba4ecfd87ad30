// The translator: every valid corpus file against its golden dry-run text,
// then each mapping rule on its own, then hostile values run through bash.
//
// Golden files are tests/jobspec/valid/<name>.sbatch. After an intended
// change, regenerate them with BATCHAI_UPDATE_GOLDEN=1 and review the diff.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/files.h"
#include "io/job_spec.h"
#include "base/version.h"
#include "slurm/job_plan.h"
#include "slurm/shell_quote.h"
#include "unit/temp_dir.h"

namespace fs = std::filesystem;
using namespace batchai;
using namespace batchai::slurm;

namespace {

// The site every golden file is planned for: pyxis, GPUs, every share the
// corpus names, and a QOS for high priority.
site::SiteConfig test_site() {
  site::SiteConfig s;
  s.source = "test-site.json";
  s.jobs_root = "/shared/jobs";
  s.mount_root = "/shared/mounts";
  s.node_temp_root = "/local/scratch";
  s.job_runtime_dir = "/opt/batchai/share/batchai/runtime";
  s.high.qos = "high";
  s.container_runtime = site::ContainerRuntime::pyxis;
  using K = site::Share::Kind;
  s.shares = {{K::azure_file_share, "myshare", "/shared/afs/myshare"},
              {K::azure_file_share, "scripts", "/shared/afs/scripts"},
              {K::azure_file_share, "logs", "/shared/afs/logs"},
              {K::azure_blob_file_system, "data", "/shared/blob/data"},
              {K::file_server, "nfs", "/nfs"},
              {K::unmanaged_file_system, "mount -t glusterfs 10.0.0.4:/gv0", "/gluster/gv0"}};
  return s;
}

ClusterBinding gpu_cluster() {
  ClusterBinding b;
  b.cluster.name = "gpu";
  b.cluster.partition = "gpu";
  b.cluster.gpus_per_node = 4;
  b.cluster.gpu_type = "h100";
  b.partition_max_seconds = 3 * 86400;
  return b;
}

JobIdentity identity(const std::string& job = "job") {
  return {"rg", "ws", "exp", job, "00000000-0000-4000-8000-000000000000"};
}

jobspec::JobSpec parse(std::string_view text) {
  auto parsed = jobspec::parse_job_spec(text);
  EXPECT_TRUE(parsed) << parsed.error().message;
  auto spec = jobspec::replace_storage_placeholders(parsed ? parsed->spec : jobspec::JobSpec{},
                                                    {"teststorage", "testkey"});
  EXPECT_TRUE(spec) << spec.error().message;
  return spec ? *spec : jobspec::JobSpec{};
}

Result<JobPlan> plan(std::string_view text, const site::SiteConfig& site = test_site(),
                     const ClusterBinding& cluster = gpu_cluster()) {
  return plan_job(parse(text), identity(), cluster, site);
}

JobPlan must_plan(std::string_view text, const site::SiteConfig& site = test_site()) {
  auto p = plan(text, site);
  EXPECT_TRUE(p) << p.error().message;
  return p ? *p : JobPlan{};
}

std::string dry_run(const JobPlan& p) {
  std::string text = dry_run_text(p, submission(p, render_script(p), {}));
  // Golden files do not change with the version.
  const std::string v = build::kVersion;
  if (auto at = text.find("batchai " + v); at != std::string::npos) text.replace(at + 8, v.size(), "VERSION");
  return text;
}

std::vector<fs::path> valid_corpus() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(BATCHAI_JOBSPEC_CORPUS) / "valid")) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string test_name(const ::testing::TestParamInfo<fs::path>& info) { return info.param.stem().string(); }

class GoldenScript : public ::testing::TestWithParam<fs::path> {};

TEST_P(GoldenScript, MatchesTheGoldenFile) {
  auto text = read_text_file(GetParam().string(), "corpus");
  ASSERT_TRUE(text);
  auto spec = parse(*text);
  auto p = plan_job(spec, identity(GetParam().stem().string()), gpu_cluster(), test_site());
  ASSERT_TRUE(p) << p.error().message;
  const std::string actual = dry_run(*p);
  fs::path golden = GetParam();
  golden.replace_extension(".sbatch");
  if (std::getenv("BATCHAI_UPDATE_GOLDEN")) {
    ASSERT_TRUE(write_file_atomic(golden.string(), actual, 0644));
    GTEST_SKIP() << "rewrote " << golden;
  }
  auto expected = read_text_file(golden.string(), "golden");
  ASSERT_TRUE(expected) << "no golden file; run with BATCHAI_UPDATE_GOLDEN=1 to write it";
  EXPECT_EQ(actual, *expected);
}

INSTANTIATE_TEST_SUITE_P(Translate, GoldenScript, ::testing::ValuesIn(valid_corpus()), test_name);

// Every golden script is valid bash.
TEST_P(GoldenScript, IsValidBash) {
  auto text = read_text_file(GetParam().string(), "corpus");
  ASSERT_TRUE(text);
  auto p = plan_job(parse(*text), identity(), gpu_cluster(), test_site());
  ASSERT_TRUE(p) << p.error().message;
  batchai::testing::TempDir dir;
  const std::string path = (dir.path() / "job.sbatch").string();
  ASSERT_TRUE(write_file_atomic(path, render_script(*p), 0644));
  EXPECT_EQ(std::system(("bash -n " + path).c_str()), 0);
}

// Files that parse but cannot run here: each is refused with its exact
// message. Placeholders are left unset, as if no storage account was given.
std::vector<fs::path> untranslatable_corpus() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(BATCHAI_JOBSPEC_CORPUS) / "untranslatable")) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class Untranslatable : public ::testing::TestWithParam<fs::path> {};

TEST_P(Untranslatable, IsRefusedWithTheExpectedMessage) {
  auto text = read_text_file(GetParam().string(), "corpus");
  ASSERT_TRUE(text);
  auto parsed = jobspec::parse_job_spec(*text);
  ASSERT_TRUE(parsed) << "must parse; the translator refuses it: " << parsed.error().message;
  std::string message;
  if (auto spec = jobspec::replace_storage_placeholders(parsed->spec, {}); !spec) {
    message = spec.error().message;
  } else if (auto p = plan_job(*spec, identity(), gpu_cluster(), test_site()); !p) {
    message = p.error().message;
  }
  fs::path expected_file = GetParam();
  expected_file.replace_extension(".expected");
  if (std::getenv("BATCHAI_UPDATE_GOLDEN")) {
    ASSERT_TRUE(write_file_atomic(expected_file.string(), message + "\n", 0644));
    GTEST_SKIP() << "rewrote " << expected_file;
  }
  auto expected = read_text_file(expected_file.string(), "expected");
  ASSERT_TRUE(expected) << "no .expected file";
  EXPECT_EQ(message + "\n", *expected);
}

INSTANTIATE_TEST_SUITE_P(Translate, Untranslatable, ::testing::ValuesIn(untranslatable_corpus()), test_name);

// What `job validate` reports beyond the format: the same refusals, with the
// same message, where no site could run the job; nothing where it depends on
// the site (its shares, the account given at create, the cluster's GPUs or
// time limit).
TEST_P(Untranslatable, IsFoundWithoutASiteUnlessTheSiteDecides) {
  static const std::set<std::string> kSiteDecides = {"share_unknown", "storage_placeholder_unset",
                                                     "wall_clock_over_limit"};
  auto text = read_text_file(GetParam().string(), "corpus");
  ASSERT_TRUE(text);
  auto parsed = jobspec::parse_job_spec(*text);
  ASSERT_TRUE(parsed) << parsed.error().message;
  auto spec = jobspec::replace_storage_placeholders(parsed->spec, {"account", "key"});
  ASSERT_TRUE(spec) << spec.error().message;
  const auto found = check_job_anywhere(*spec);
  if (kSiteDecides.count(GetParam().stem().string())) {
    EXPECT_TRUE(found) << found.error().message;
    return;
  }
  ASSERT_FALSE(found) << "no site could run it, yet nothing was found";
  fs::path expected_file = GetParam();
  expected_file.replace_extension(".expected");
  auto expected = read_text_file(expected_file.string(), "expected");
  ASSERT_TRUE(expected);
  EXPECT_EQ(found.error().message + "\n", *expected);
}

// --- Counts and placement, per toolkit -------------------------------------

// Batch AI started one process per node for every toolkit when processCount
// was not given, and a job file written for it may run one multi-GPU process
// per node: so does batchai. Where that leaves GPUs idle, the plan says how
// to use them.
struct DefaultCase {
  const char* name;
  const char* settings;  // the toolkit's object, without processCount
  const char* key;
  bool hint;  // a toolkit that can run a rank per GPU
};

class ProcessCountDefault : public ::testing::TestWithParam<DefaultCase> {
 protected:
  std::string job(int nodes) const {
    return R"({"properties": {"nodeCount": )" + std::to_string(nodes) + R"(, "stdOutErrPathPrefix": "/o", ")" +
           GetParam().key + "\": " + GetParam().settings + "}}";
  }
};

const DefaultCase kDefaultCases[] = {
    {"Horovod", R"({"pythonScriptFilePath": "t.py"})", "horovodSettings", true},
    {"CustomMpi", R"({"commandLine": "hostname"})", "customMpiSettings", true},
    {"CntkPython", R"({"languageType": "Python", "pythonScriptFilePath": "t.py"})", "cntkSettings", true},
    {"CntkBrainScript", R"({"languageType": "BrainScript", "configFilePath": "c.cntk"})", "cntkSettings", true},
    {"Chainer", R"({"pythonScriptFilePath": "t.py"})", "chainerSettings", true},
    {"Caffe", R"({"pythonScriptFilePath": "t.py"})", "caffeSettings", false},
    {"PyTorch", R"({"pythonScriptFilePath": "t.py"})", "pyTorchSettings", false},
    {"PyTorchMpi", R"({"pythonScriptFilePath": "t.py", "communicationBackend": "MPI"})", "pyTorchSettings", false},
};

TEST_P(ProcessCountDefault, IsNodeCountOnAGpuClusterAsInBatchAi) {
  auto p = must_plan(job(2));
  EXPECT_EQ(p.process_count, 2);
  EXPECT_EQ(p.tasks_per_node, 1);
  EXPECT_EQ(p.nodes, 2u);
  EXPECT_EQ(p.gpus_per_node, 4);
  if (!GetParam().hint) {
    EXPECT_TRUE(p.warnings.empty()) << p.warnings[0];
    return;
  }
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_EQ(p.warnings[0], std::string("job.json: properties.") + GetParam().key +
                               ".processCount: not given, so 2 processes (one per node) on 2 nodes of 4 GPUs: "
                               "set processCount to 8 for one per GPU");
}

TEST_P(ProcessCountDefault, IsOnePerGpuWhereTheSiteSaysSo) {
  auto per_gpu = test_site();
  per_gpu.default_process_count = site::DefaultProcessCount::gpus;
  auto p = must_plan(job(3), per_gpu);
  EXPECT_EQ(p.process_count, GetParam().hint ? 12 : 3);
  EXPECT_EQ(p.tasks_per_node, GetParam().hint ? 4 : 1);
  EXPECT_TRUE(p.warnings.empty()) << p.warnings[0];
  if (GetParam().hint) {
    EXPECT_NE(render_script(p).find("batchai_mpi_step=(--nodes=3 --ntasks=12 --ntasks-per-node=4 "),
              std::string::npos);
  }
}

TEST_P(ProcessCountDefault, IsNodeCountOnACpuClusterWhateverTheSite) {
  ClusterBinding cpu = gpu_cluster();
  cpu.cluster.gpus_per_node = 0;
  cpu.cluster.gpu_type.clear();
  for (auto option : {site::DefaultProcessCount::node_count, site::DefaultProcessCount::gpus}) {
    auto s = test_site();
    s.default_process_count = option;
    auto p = plan(job(3), s, cpu);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->process_count, 3);
    EXPECT_EQ(p->tasks_per_node, 1);
    EXPECT_TRUE(p->warnings.empty()) << p->warnings[0];
  }
}

INSTANTIATE_TEST_SUITE_P(Translate, ProcessCountDefault, ::testing::ValuesIn(kDefaultCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Translate, TheIdleGpuHintCountsInTheSingular) {
  auto p = must_plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o",
      "horovodSettings": {"pythonScriptFilePath": "train.py"}}})");
  EXPECT_EQ(p.process_count, 1);
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_EQ(p.warnings[0], "job.json: properties.horovodSettings.processCount: not given, so 1 process (one per "
                           "node) on 1 node of 4 GPUs: set processCount to 4 for one per GPU");
}

TEST(Translate, NoHintWhereNoGpuIsIdleOrTheCountIsGiven) {
  ClusterBinding one_gpu = gpu_cluster();
  one_gpu.cluster.gpus_per_node = 1;
  auto p = plan(R"({"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "/o",
      "horovodSettings": {"pythonScriptFilePath": "train.py"}}})", test_site(), one_gpu);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->process_count, 2);
  EXPECT_TRUE(p->warnings.empty()) << p->warnings[0];
  // Fewer ranks than GPUs, asked for: the user's choice.
  auto given = must_plan(R"({"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "/o",
      "horovodSettings": {"pythonScriptFilePath": "train.py", "processCount": 2}}})");
  EXPECT_EQ(given.process_count, 2);
  EXPECT_TRUE(given.warnings.empty()) << given.warnings[0];
}

// The allocation libslurm gets, as #SBATCH lines right after the shebang,
// quoted where sbatch would split or cut the value.
TEST(Translate, TheScriptCarriesItsAllocationAsSbatchLines) {
  auto p = must_plan(R"({"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "/o", "schedulingPriority": "high",
      "constraints": {"maxWallClockTime": "1:00:30"}, "customToolkitSettings": {"commandLine": "hostname"}}})");
  p.job_dir = "/j #1/\"x\"";
  const std::string script = render_script(p);
  const std::string expected = std::string("#!/bin/bash\n") +
      "#SBATCH --partition=gpu\n#SBATCH --nodes=2\n#SBATCH --ntasks-per-node=1\n#SBATCH --exclusive\n"
      "#SBATCH --time=61\n#SBATCH --job-name=job\n#SBATCH --output=" + p.slurm_output + "\n"
      "#SBATCH --chdir=\"/j #1/\\\"x\\\"\"\n#SBATCH --open-mode=append\n#SBATCH --qos=high\n"
      "#SBATCH --gpus-per-node=h100:4\n#SBATCH --comment=\"batchai ws/exp/job\"\n#SBATCH --requeue\n"
      "#SBATCH --signal=B:USR1@120\n# ";
  EXPECT_EQ(script.substr(0, expected.size()), expected);
  const SubmitRequest r = submission(p, script, {});
  EXPECT_EQ(r.work_dir, "/j #1/\"x\"");
  EXPECT_EQ(r.time_limit_minutes, 61u);
  EXPECT_EQ(r.qos, "high");
  EXPECT_EQ(r.requeue, true);
  EXPECT_EQ(r.warn_seconds, 120);
}

// Requeue and the checkpoint warning are the site's: on by default, and
// each can be turned off; the script's lines and libslurm's request agree.
TEST(Translate, RequeueAndTheCheckpointSignalFollowTheSite) {
  site::SiteConfig site = test_site();
  site.requeue = false;
  site.checkpoint_signal_seconds = 0;
  auto p = plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o",
      "customToolkitSettings": {"commandLine": "hostname"}}})", site, gpu_cluster());
  ASSERT_TRUE(p) << p.error().message;
  const std::string script = render_script(*p);
  EXPECT_NE(script.find("\n#SBATCH --no-requeue\n"), std::string::npos);
  EXPECT_EQ(script.find("--signal"), std::string::npos);
  const SubmitRequest r = submission(*p, script, {});
  EXPECT_EQ(r.requeue, false);
  EXPECT_EQ(r.warn_seconds, 0);

  site.requeue = true;
  site.checkpoint_signal_seconds = 600;
  p = plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o",
      "customToolkitSettings": {"commandLine": "hostname"}}})", site, gpu_cluster());
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_NE(render_script(*p).find("\n#SBATCH --requeue\n#SBATCH --signal=B:USR1@600\n"), std::string::npos);

  // Never more than half the job's time.
  p = plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o",
      "constraints": {"maxWallClockTime": "00:03:00"}, "customToolkitSettings": {"commandLine": "hostname"}}})",
           site, gpu_cluster());
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(submission(*p, "", {}).warn_seconds, 90);
}

TEST(Translate, WithoutGpusMpiDefaultsToOneRankPerNode) {
  ClusterBinding cpu = gpu_cluster();
  cpu.cluster.gpus_per_node = 0;
  cpu.cluster.gpu_type.clear();
  auto p = plan(R"({"properties": {"nodeCount": 3, "stdOutErrPathPrefix": "/o",
      "customMpiSettings": {"commandLine": "hostname"}}})", test_site(), cpu);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->process_count, 3);
  EXPECT_EQ(p->tasks_per_node, 1);
  EXPECT_EQ(dry_run(*p).find("--gpus-per-node"), std::string::npos);
}

TEST(Translate, MoreRanksThanGpusIsAllowedWithAWarning) {
  auto p = must_plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o",
      "horovodSettings": {"pythonScriptFilePath": "train.py", "processCount": 6}}})");
  EXPECT_EQ(p.process_count, 6);
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].find("properties.horovodSettings.processCount: 6 processes on 1 node(s) of 4 GPU(s)"),
            std::string::npos)
      << p.warnings[0];
}

TEST(Translate, MpiRanksSpreadEvenlyOverTheNodes) {
  auto p = must_plan(R"({"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "/o",
      "customMpiSettings": {"commandLine": "hostname", "processCount": 8}}})");
  EXPECT_EQ(p.process_count, 8);
  EXPECT_EQ(p.tasks_per_node, 4);
  const std::string script = render_script(p);
  EXPECT_NE(script.find("batchai_mpi_step=(--nodes=2 --ntasks=8 --ntasks-per-node=4 --mpi='pmix')"), std::string::npos);
}

TEST(Translate, FewerRanksThanNodesUseFewerNodes) {
  auto p = must_plan(R"({"properties": {"nodeCount": 4, "stdOutErrPathPrefix": "/o",
      "chainerSettings": {"pythonScriptFilePath": "t.py", "processCount": 2}}})");
  EXPECT_NE(render_script(p).find("batchai_mpi_step=(--nodes=2 --ntasks=2 --ntasks-per-node=1 "), std::string::npos);
}

TEST(Translate, TensorFlowPlacesPsAndWorkersAsBatchAiDid) {
  // ps0 and worker 0 (the master) on node 0, worker 1 on node 1, as Batch AI
  // placed them (docs/job-translation.md; microsoftarchive/BatchAI#15); each
  // with a port of its own, so no two share an address and port even where
  // the nodes share an address.
  auto p = must_plan(R"({"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "/o",
      "tensorFlowSettings": {"pythonScriptFilePath": "t.py", "masterCommandLineArgs": "--m",
        "workerCommandLineArgs": "--w", "parameterServerCommandLineArgs": "--p",
        "workerCount": 2, "parameterServerCount": 1}}})");
  ASSERT_EQ(p.processes.size(), 3u);
  const auto& ps = p.processes[0];
  const auto& w0 = p.processes[1];
  const auto& w1 = p.processes[2];
  EXPECT_EQ(ps.role, "ps");
  EXPECT_EQ(std::tie(ps.node, ps.port, ps.task_index), std::make_tuple(0, 2222, 0));
  EXPECT_EQ(std::tie(w0.node, w0.port, w0.task_index), std::make_tuple(0, 2223, 0));
  EXPECT_EQ(std::tie(w1.node, w1.port, w1.task_index), std::make_tuple(1, 2224, 1));
  EXPECT_EQ(ps.out_name, "stdout-ps-0.txt");
  EXPECT_EQ(w1.err_name, "stderr-wk-1.txt");
  EXPECT_EQ(w0.command, "'python3' \"t.py\" --m");
  EXPECT_EQ(w1.command, "'python3' \"t.py\" --w");
  EXPECT_EQ(ps.command, "'python3' \"t.py\" --p");
  // The launch table, from which the runtime makes the host lists and a
  // TF_CONFIG with a chief (tests/runtime/job_runtime.bats).
  const std::string script = render_script(p);
  EXPECT_NE(script.find("\nbatchai_processes=(\n"
                        "  '0 0 0 0 ps 2222 stdout-ps-0.txt stderr-ps-0.txt 0'\n"
                        "  '1 0 1 0 worker 2223 stdout-wk-0.txt stderr-wk-0.txt 1'\n"
                        "  '2 1 0 1 worker 2224 stdout-wk-1.txt stderr-wk-1.txt 2'\n)\n"),
            std::string::npos)
      << script;
  EXPECT_NE(script.find("\nbatchai_tensorflow=1"), std::string::npos);
}

TEST(Translate, SingleNodeTensorFlowIsOneWorkerWithoutPs) {
  auto p = must_plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o",
      "tensorFlowSettings": {"pythonScriptFilePath": "t.py"}}})");
  ASSERT_EQ(p.processes.size(), 1u);
  EXPECT_EQ(p.processes[0].role, "worker");
  EXPECT_EQ(p.processes[0].port, 2222);
  EXPECT_EQ(p.processes[0].out_name, "stdout-wk-0.txt");
}

// Neither Batch AI nor TensorFlow bounds the workers by the GPUs: several
// workers per node is normal.
TEST(Translate, TensorFlowRunsAnyNumberOfWorkersOnANode) {
  auto p = must_plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o",
      "tensorFlowSettings": {"pythonScriptFilePath": "t.py", "workerCount": 4, "parameterServerCount": 1}}})");
  EXPECT_TRUE(p.warnings.empty()) << p.warnings[0];
  ASSERT_EQ(p.processes.size(), 5u);
  EXPECT_EQ(p.tasks_per_node, 5);
  for (int i = 0; i < 5; ++i) {
    const auto& proc = p.processes[static_cast<std::size_t>(i)];
    EXPECT_EQ(proc.node, 0);
    EXPECT_EQ(proc.local_rank, i);
    EXPECT_EQ(proc.port, 2222 + i);
    EXPECT_EQ(proc.role, i == 0 ? "ps" : "worker");
    EXPECT_EQ(proc.task_index, i == 0 ? 0 : i - 1);
  }
  // More workers than GPUs (2 nodes of 4), on a CPU cluster too.
  ClusterBinding cpu = gpu_cluster();
  cpu.cluster.gpus_per_node = 0;
  cpu.cluster.gpu_type.clear();
  const std::string nine = R"({"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "/o",
      "tensorFlowSettings": {"pythonScriptFilePath": "t.py", "workerCount": 9}}})";
  for (const auto& cluster : {gpu_cluster(), cpu}) {
    auto many = plan(nine, test_site(), cluster);
    ASSERT_TRUE(many) << many.error().message;
    EXPECT_EQ(many->processes.size(), 10u);  // and the default parameter server
    EXPECT_EQ(many->tasks_per_node, 6);      // ps0 and workers 0, 2, 4, 6, 8
  }
}

// Every process of a job has a port no other process of it has, whatever
// the nodes' addresses: on the local cluster every node is 127.0.0.1.
TEST(Translate, TensorFlowPortsAreDistinctJobWide) {
  auto site = test_site();
  site.tensorflow_port_base = 3000;
  for (const char* counts : {R"("workerCount": 2, "parameterServerCount": 1)",
                             R"("workerCount": 7, "parameterServerCount": 3)", R"("workerCount": 1)",
                             R"("parameterServerCount": 2)"}) {
    SCOPED_TRACE(counts);
    auto p = plan(std::string(R"({"properties": {"nodeCount": 3, "stdOutErrPathPrefix": "/o",
        "tensorFlowSettings": {"pythonScriptFilePath": "t.py", )") + counts + "}}}", site);
    ASSERT_TRUE(p) << p.error().message;
    std::set<int> ports;
    for (const auto& proc : p->processes) {
      EXPECT_EQ(proc.port, 3000 + proc.rank);
      ports.insert(proc.port);
    }
    EXPECT_EQ(ports.size(), p->processes.size());
  }
}

// What the workers may not exceed: Slurm's 512 tasks on a node, and one
// port each below 65536.
TEST(Translate, TensorFlowCountsAreCheckedAgainstSlurmAndThePortRange) {
  auto busy = plan(R"({"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "/o",
      "tensorFlowSettings": {"pythonScriptFilePath": "t.py", "workerCount": 1023}}})");
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().message,
            "job.json: properties.tensorFlowSettings.workerCount: expected at most 512 processes per node, parameter "
            "servers included (1023 workers and 1 parameter server(s) on 2 node(s) put 513 on the first)");
  // 1022 workers and a ps on 2 nodes is 512 on each.
  auto full = plan(R"({"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "/o",
      "tensorFlowSettings": {"pythonScriptFilePath": "t.py", "workerCount": 1022}}})");
  ASSERT_TRUE(full) << full.error().message;
  EXPECT_EQ(full->tasks_per_node, 512);
  EXPECT_EQ(full->processes.back().port, 2222 + 1022);

  auto site = test_site();
  site.tensorflow_port_base = 65000;
  const std::string job = R"({"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "/o",
      "tensorFlowSettings": {"pythonScriptFilePath": "t.py", "workerCount": W}}})";
  auto with = [&](int workers) {
    std::string text = job;
    text.replace(text.find('W'), 1, std::to_string(workers));
    return plan(text, site);
  };
  auto last = with(535);  // ports 65000 to 65535
  ASSERT_TRUE(last) << last.error().message;
  EXPECT_EQ(last->processes.back().port, 65535);
  auto over = with(536);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().message,
            "job.json: properties.tensorFlowSettings.workerCount: expected at most 535 with 1 parameter server(s): "
            "each process takes a port of its own, from the site's tensorFlowPortBase (65000) up to 65535, got 536");
}

TEST(Translate, PyTorchRanksAreBlocksWithTheirOwnFiles) {
  auto p = must_plan(R"({"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "/o",
      "pyTorchSettings": {"pythonScriptFilePath": "t.py", "processCount": 4, "communicationBackend": "gloo"}}})");
  ASSERT_EQ(p.processes.size(), 4u);
  for (int r = 0; r < 4; ++r) {
    const auto& proc = p.processes[static_cast<std::size_t>(r)];
    EXPECT_EQ(proc.rank, r);
    EXPECT_EQ(proc.task_index, r);
    EXPECT_EQ(proc.node, r / 2);
    EXPECT_EQ(proc.local_rank, r % 2);
    EXPECT_EQ(proc.out_name, "stdout-" + std::to_string(r) + ".txt");
  }
  EXPECT_EQ(p.tasks_per_node, 2);
}

TEST(Translate, PyTorchWithTheMpiBackendIsLaunchedByMpi) {
  auto p = must_plan(R"({"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "/o",
      "pyTorchSettings": {"pythonScriptFilePath": "t.py", "communicationBackend": "MPI"}}})");
  EXPECT_EQ(p.launch, Launch::mpi);
}

TEST(Translate, Caffe2RunsOneShardPerNode) {
  auto p = must_plan(R"({"properties": {"nodeCount": 3, "stdOutErrPathPrefix": "/o",
      "caffe2Settings": {"pythonScriptFilePath": "t.py"}}})");
  ASSERT_EQ(p.processes.size(), 3u);
  EXPECT_EQ(p.processes[2].node, 2);
  EXPECT_EQ(p.processes[2].task_index, 2);
}

TEST(Translate, CustomToolkitRunsOnceOnTheMasterNode) {
  auto p = must_plan(R"({"properties": {"nodeCount": 4, "stdOutErrPathPrefix": "/o",
      "customToolkitSettings": {"commandLine": "mpirun --hostfile $AZ_BATCHAI_MPI_HOST_FILE x"}}})");
  ASSERT_EQ(p.processes.size(), 1u);
  EXPECT_EQ(p.processes[0].node, 0);
  EXPECT_EQ(p.processes[0].out_name, "stdout.txt");
  EXPECT_EQ(p.nodes, 4u);  // all nodes allocated, for the job's own mpirun
}

TEST(Translate, CntkAndCaffeConfigFilesRunTheirExecutables) {
  auto cntk = must_plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o",
      "cntkSettings": {"languageType": "BrainScript", "configFilePath": "$IN/c.cntk", "commandLineArgs": "a=1"}}})");
  EXPECT_EQ(cntk.mpi_command, "cntk configFile=\"$IN/c.cntk\" a=1");
  auto caffe = must_plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o",
      "caffeSettings": {"configFilePath": "s.prototxt"}}})");
  EXPECT_EQ(caffe.mpi_command, "caffe train --solver=\"s.prototxt\"");
}

// --- Allocation ------------------------------------------------------------

TEST(Translate, WallClockOverThePartitionLimitIsAnError) {
  auto p = plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o",
      "customToolkitSettings": {}, "constraints": {"maxWallClockTime": "P5D"}}})");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message, "job.json: properties.constraints.maxWallClockTime: 5.00:00:00 is over the limit "
                               "of cluster gpu (3.00:00:00)");
}

TEST(Translate, TheDefaultWeekIsCappedByThePartition) {
  auto p = must_plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o", "customToolkitSettings": {}}})");
  EXPECT_EQ(p.time_limit_minutes, 3u * 24 * 60);
  auto given = must_plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o",
      "customToolkitSettings": {}, "constraints": {"maxWallClockTime": "PT90S"}}})");
  EXPECT_EQ(given.time_limit_minutes, 2u);  // seconds round up to whole minutes
}

TEST(Translate, PriorityMapsToTheSitesNiceOrQos) {
  auto low = must_plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o",
      "schedulingPriority": "low", "customToolkitSettings": {}}})");
  EXPECT_EQ(low.nice, 100);
  EXPECT_EQ(low.qos, "");
  auto high = must_plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o",
      "schedulingPriority": "high", "customToolkitSettings": {}}})");
  EXPECT_EQ(high.qos, "high");
  EXPECT_FALSE(high.nice);
  auto site = test_site();
  site.high = {};
  auto unmapped = plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o",
      "schedulingPriority": "high", "customToolkitSettings": {}}})", site);
  ASSERT_TRUE(unmapped);
  ASSERT_EQ(unmapped->warnings.size(), 1u);
  EXPECT_NE(unmapped->warnings[0].find("\"high\" maps to nothing"), std::string::npos);
}

TEST(Translate, ALowPriorityClustersQosWinsOverThePrioritysAndKeepsItsNice) {
  ClusterBinding low = gpu_cluster();
  low.qos = "scavenger";
  auto high = plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o",
      "schedulingPriority": "high", "customToolkitSettings": {}}})", test_site(), low);
  ASSERT_TRUE(high) << high.error().message;
  EXPECT_EQ(high->qos, "scavenger");
  ASSERT_EQ(high->warnings.size(), 1u);
  EXPECT_NE(high->warnings[0].find("gets its QOS \"scavenger\", not \"high\""), std::string::npos)
      << high->warnings[0];
  auto low_job = plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o",
      "schedulingPriority": "low", "customToolkitSettings": {}}})", test_site(), low);
  ASSERT_TRUE(low_job) << low_job.error().message;
  EXPECT_EQ(low_job->qos, "scavenger");
  EXPECT_EQ(low_job->nice, 100);
  EXPECT_TRUE(low_job->warnings.empty());
}

TEST(Translate, SubmissionAsksForWholeNodesAndTheirGpus) {
  auto p = must_plan(R"({"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "/o",
      "horovodSettings": {"pythonScriptFilePath": "t.py", "processCount": 8}}})");
  auto r = submission(p, "#!/bin/bash\n", {"A=1"});
  EXPECT_TRUE(r.exclusive);
  EXPECT_EQ(r.nodes, 2u);
  EXPECT_EQ(r.tasks_per_node, 4);
  EXPECT_EQ(r.gpus_per_node, "h100:4");
  EXPECT_EQ(r.partition, "gpu");
  EXPECT_EQ(r.work_dir, "/shared/jobs/rg/workspaces/ws/experiments/exp/jobs/job/00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(r.std_out, r.work_dir + "/slurm-%j.out");
  // No volumes: only the job directory, for the Epilog's cleanup.
  EXPECT_EQ(r.prolog_environment, std::vector<std::string>{"BATCHAI_JOB_DIR=" + r.work_dir});
}

TEST(Translate, VolumesReachASitesPrologThroughTheSubmission) {
  auto p = must_plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o", "customToolkitSettings": {},
      "mountVolumes": {"azureFileShares": [
        {"azureFileUrl": "https://a.file.core.windows.net/myshare", "relativeMountPath": "data/in"}]}}})");
  auto r = submission(p, "#!/bin/bash\n", {"A=1"});
  ASSERT_EQ(r.prolog_environment.size(), 2u);
  EXPECT_EQ(r.prolog_environment[0], "BATCHAI_JOB_DIR=" + r.work_dir);
  EXPECT_EQ(r.prolog_environment[1],
            R"(BATCHAI_VOLUMES={"version":1,"volumes":[{"relativeMountPath":"data/in","source":"/shared/afs/myshare"}]})");
}

// --- Environment and layout ------------------------------------------------

TEST(Translate, OutputLayoutIsBatchAis) {
  auto p = must_plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_MOUNT_ROOT/logs",
      "customToolkitSettings": {},
      "inputDirectories": [{"id": "DATA", "path": "$AZ_BATCHAI_JOB_MOUNT_ROOT/data"}],
      "outputDirectories": [{"id": "MODEL", "pathPrefix": "/out", "pathSuffix": "Models"},
                            {"id": "ALL", "pathPrefix": "/out"}]}})");
  auto value = [&](const std::string& name) {
    for (const auto& v : p.environment) {
      if (v.name == name) return v.value;
    }
    return std::string("<unset>");
  };
  const std::string seg = "rg/workspaces/ws/experiments/exp/jobs/job/00000000-0000-4000-8000-000000000000";
  EXPECT_EQ(value("AZ_BATCHAI_STDOUTERR_DIR"), "$AZ_BATCHAI_JOB_MOUNT_ROOT/logs/" + seg + "/stdouterr");
  EXPECT_EQ(value("AZ_BATCHAI_OUTPUT_MODEL"), "/out/" + seg + "/outputs/Models");
  EXPECT_EQ(value("AZ_BATCHAI_OUTPUT_ALL"), "/out/" + seg + "/outputs");
  EXPECT_EQ(value("AZ_BATCHAI_INPUT_DATA"), "$AZ_BATCHAI_JOB_MOUNT_ROOT/data");
  EXPECT_EQ(value("AZ_BATCHAI_NUM_GPUS"), "4");
  EXPECT_EQ(value("AZ_BATCHAI_MOUNT_ROOT"), "/shared/mounts");
}

TEST(Translate, ReservedVariableNamesAreRefused) {
  auto p = plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o", "customToolkitSettings": {},
      "environmentVariables": [{"name": "AZ_BATCHAI_JOB_TEMP", "value": "x"}],
      "secrets": [{"name": "MASTER_ADDR", "value": "y"}]}})");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message,
            "job.json: properties.environmentVariables[0].name: \"AZ_BATCHAI_JOB_TEMP\" is set by batchai for every "
            "job; choose another name\n"
            "job.json: properties.secrets[0].name: \"MASTER_ADDR\" is set by batchai for every job; choose another "
            "name");
}

// --- Shares ------------------------------------------------------------------

TEST(Translate, VolumesBecomeLinksToTheSitesShares) {
  auto p = must_plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o", "customToolkitSettings": {},
      "mountVolumes": {
        "azureFileShares": [{"azureFileUrl": "https://a.file.core.windows.net/myshare/", "relativeMountPath": "afs"}],
        "azureBlobFileSystems": [{"accountName": "a", "containerName": "data", "relativeMountPath": "bfs"}],
        "fileServers": [{"fileServer": {"id": "/subscriptions/s/fileServers/nfs"}, "sourceDirectory": "/exp/1",
                         "relativeMountPath": "nfs"}],
        "unmanagedFileSystems": [{"mountCommand": "mount -t glusterfs 10.0.0.4:/gv0", "relativeMountPath": "g/v"}]}}})");
  ASSERT_EQ(p.volumes.size(), 4u);
  EXPECT_EQ(p.volumes[0].source, "/shared/afs/myshare");
  EXPECT_EQ(p.volumes[1].source, "/shared/blob/data");
  EXPECT_EQ(p.volumes[2].source, "/nfs/exp/1");
  EXPECT_EQ(p.volumes[3].relative_path, "g/v");
  EXPECT_EQ(p.volumes[3].source, "/gluster/gv0");
}

TEST(Translate, UnknownSharesAndEscapingPathsAreRefused) {
  auto p = plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o", "customToolkitSettings": {},
      "mountVolumes": {
        "azureFileShares": [{"azureFileUrl": "https://a.file.core.windows.net/other", "relativeMountPath": "x"},
                            {"azureFileUrl": "https://a.file.core.windows.net/myshare", "relativeMountPath": "../etc"}],
        "fileServers": [{"fileServer": {"id": "nfs"}, "sourceDirectory": "a/../../root", "relativeMountPath": "n"}]},
      "outputDirectories": [{"id": "O", "pathPrefix": "/o", "pathSuffix": "../../x"}]}})");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message,
            "job.json: properties.outputDirectories[0].pathSuffix: \"../../x\" escapes the job's outputs directory\n"
            "job.json: properties.mountVolumes.azureFileShares[0]: no Azure file share named \"other\" on this site; "
            "create it with `batchai storage share create -n other`, or an admin maps it to a directory under \"shares\" in test-site.json\n"
            "job.json: properties.mountVolumes.azureFileShares[1].relativeMountPath: \"../etc\" escapes "
            "$AZ_BATCHAI_JOB_MOUNT_ROOT\n"
            "job.json: properties.mountVolumes.fileServers[0].sourceDirectory: \"a/../../root\" escapes the file "
            "server's export");
}

TEST(Translate, AMountCommandOutsideTheAllowlistIsLeftForTheNodesToFail) {
  // Batch AI ran mount commands on each node and failed the job there; the
  // site's allowlist plays that part, and the user hears of it at create.
  auto p = must_plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o", "customToolkitSettings": {},
      "mountVolumes": {"unmanagedFileSystems": [{"mountCommand": "mount -t cifs //evil/x", "relativeMountPath": "x"}]}}})");
  ASSERT_EQ(p.volumes.size(), 1u);
  EXPECT_EQ(p.volumes[0].source, "");
  EXPECT_EQ(p.volumes[0].refused,
            "the mountCommand \"mount -t cifs //evil/x\" is not in this site's allowlist (the unmanagedFileSystem "
            "shares in test-site.json); ask an admin to map it");
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_EQ(p.warnings[0], "job.json: properties.mountVolumes.unmanagedFileSystems[0]: " + p.volumes[0].refused +
                               "; the job will fail with MountError");
  EXPECT_NE(render_script(p).find("--refused 'x=the mountCommand \"mount -t cifs //evil/x\" is not"), std::string::npos);
}

TEST(Translate, DirectoryModeReachesTheNodesAndBadModesAreRefused) {
  auto p = must_plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o", "customToolkitSettings": {},
      "mountVolumes": {"azureFileShares": [{"azureFileUrl": "https://a.file.core.windows.net/myshare",
        "relativeMountPath": "a/b", "directoryMode": "0750", "fileMode": "0640"}]}}})");
  ASSERT_EQ(p.volumes.size(), 1u);
  EXPECT_EQ(p.volumes[0].directory_mode, 0750u);
  EXPECT_NE(render_script(p).find("--volume 'a/b=/shared/afs/myshare' --directory-mode 'a/b=0750'"), std::string::npos);

  auto bad = plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o", "customToolkitSettings": {},
      "mountVolumes": {"azureFileShares": [{"azureFileUrl": "https://a.file.core.windows.net/myshare",
        "relativeMountPath": "a", "directoryMode": "rwxr-x---", "fileMode": "08"}]}}})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "job.json: properties.mountVolumes.azureFileShares[0].fileMode: \"08\" is not an octal mode such as "
            "\"0644\"\n"
            "job.json: properties.mountVolumes.azureFileShares[0].directoryMode: \"rwxr-x---\" is not an octal mode "
            "such as \"0755\"");
}

// --- Containers --------------------------------------------------------------

constexpr const char* kContainerJob = R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o",
    "customToolkitSettings": {"commandLine": "nvidia-smi"},
    "containerSettings": {"imageSourceRegistry": {"serverUrl": "nvcr.io", "image": "nvcr.io/nvidia/pytorch:24.01-py3",
      "credentials": {"username": "$oauthtoken", "password": "ngc-TOKEN-123"}}, "shmSize": "16gb"}}})";

TEST(Translate, PyxisGetsEnrootsImageSyntaxAndAPrivateCredentialsFile) {
  auto p = must_plan(kContainerJob);
  ASSERT_TRUE(p.container);
  EXPECT_EQ(p.container->image, "nvcr.io#nvidia/pytorch:24.01-py3");
  ASSERT_EQ(p.private_files.size(), 1u);
  EXPECT_EQ(p.private_files[0].path, p.job_dir + "/enroot/.credentials");
  EXPECT_EQ(p.private_files[0].content,
            "machine nvcr.io login $oauthtoken password ngc-TOKEN-123\n"
            "machine authn.nvidia.com login $oauthtoken password ngc-TOKEN-123\n");
  const std::string script = render_script(p);
  EXPECT_EQ(script.find("ngc-TOKEN-123"), std::string::npos);
  EXPECT_NE(script.find("--container-image='nvcr.io#nvidia/pytorch:24.01-py3'"), std::string::npos);
  EXPECT_EQ(dry_run(p).find("ngc-TOKEN-123"), std::string::npos);
}

TEST(Translate, ApptainerPullsDockerImagesWithCredentialsFromTheSecretsFile) {
  auto site = test_site();
  site.container_runtime = site::ContainerRuntime::apptainer;
  auto p = must_plan(kContainerJob, site);
  ASSERT_TRUE(p.container);
  EXPECT_EQ(p.container->image, "docker://nvcr.io/nvidia/pytorch:24.01-py3");
  EXPECT_EQ(p.secrets_file, p.job_dir + "/secrets.env");
  ASSERT_EQ(p.private_files.size(), 1u);
  EXPECT_NE(p.private_files[0].content.find("APPTAINER_DOCKER_PASSWORD='ngc-TOKEN-123'"), std::string::npos);
  EXPECT_NE(render_script(p).find("batchai_exec=(apptainer exec --nv --bind"), std::string::npos);
}

TEST(Translate, NoRuntimeRefusesContainersUnlessTheSiteAllowsTheHost) {
  auto site = test_site();
  site.container_runtime = site::ContainerRuntime::none;
  auto refused = plan(kContainerJob, site);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "job.json: properties.containerSettings: this site has no container runtime (containers.runtime is "
            "\"none\" in test-site.json); remove containerSettings to run on the host");
  site.allow_host_without_container = true;
  auto p = plan(kContainerJob, site);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->container);
  ASSERT_EQ(p->warnings.size(), 1u);
  EXPECT_NE(p->warnings[0].find("running on the host without image nvcr.io/nvidia/pytorch:24.01-py3"),
            std::string::npos);
}

// --- Secrets -------------------------------------------------------------------

TEST(Translate, SecretsGoToAPrivateFileNeverTheScript) {
  auto p = must_plan(R"J({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o", "customToolkitSettings": {},
      "secrets": [{"name": "TOKEN", "value": "tok'en$(id)"}]}})J");
  ASSERT_EQ(p.private_files.size(), 1u);
  EXPECT_EQ(p.private_files[0].content, "export TOKEN='tok'\\''en$(id)'\n");
  EXPECT_EQ(render_script(p).find("tok"), std::string::npos);
  const std::string shown = dry_run(p);
  EXPECT_EQ(shown.find("tok'"), std::string::npos);
  EXPECT_NE(shown.find("********"), std::string::npos);
}

TEST(Translate, KeyVaultReferencesAreRefusedWithTheirPath) {
  auto p = plan(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o", "customToolkitSettings": {},
      "secrets": [{"name": "T", "valueSecretReference": {"sourceVault": {"id": "v"}, "secretUrl": "u"}}]}})");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message, "job.json: properties.secrets[0].valueSecretReference: Key Vault references cannot "
                               "be resolved on Slurm; give \"value\"");
}

TEST(StoragePlaceholders, AreReplacedOrNamedWhenMissing) {
  auto parsed = jobspec::parse_job_spec(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o",
      "customToolkitSettings": {}, "mountVolumes": {"azureFileShares": [{
        "accountName": "<AZURE_BATCHAI_STORAGE_ACCOUNT>",
        "azureFileUrl": "https://<AZURE_BATCHAI_STORAGE_ACCOUNT>.file.core.windows.net/s",
        "credentials": {"accountKey": "<AZURE_BATCHAI_STORAGE_KEY>"}, "relativeMountPath": "s"}]}}})");
  ASSERT_TRUE(parsed) << parsed.error().message;
  auto filled = jobspec::replace_storage_placeholders(parsed->spec, {"acct", "k3y"});
  ASSERT_TRUE(filled);
  const auto& share = filled->mount_volumes->azure_file_shares[0];
  EXPECT_EQ(share.account_name, "acct");
  EXPECT_EQ(share.azure_file_url, "https://acct.file.core.windows.net/s");
  EXPECT_EQ(std::get<std::string>(*share.account_key), "k3y");
  auto missing = jobspec::replace_storage_placeholders(parsed->spec, {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "job.json: properties.mountVolumes.azureFileShares[0].accountName: <AZURE_BATCHAI_STORAGE_ACCOUNT> needs "
            "--storage-account-name or $AZURE_BATCHAI_STORAGE_ACCOUNT\n"
            "job.json: properties.mountVolumes.azureFileShares[0].azureFileUrl: <AZURE_BATCHAI_STORAGE_ACCOUNT> needs "
            "--storage-account-name or $AZURE_BATCHAI_STORAGE_ACCOUNT\n"
            "job.json: properties.mountVolumes.azureFileShares[0].credentials.accountKey: <AZURE_BATCHAI_STORAGE_KEY> "
            "needs --storage-account-key or $AZURE_BATCHAI_STORAGE_KEY");
}

// --- Hostile values through a real bash ---------------------------------------

// Runs `script` with bash in an empty environment; returns stdout.
std::string run_bash(const std::string& script, const batchai::testing::TempDir& dir) {
  const std::string path = (dir.path() / "run.sh").string();
  EXPECT_TRUE(write_file_atomic(path, script, 0644));
  std::string out;
  FILE* f = ::popen(("cd " + dir.path().string() + " && env -i HOME=/nonexistent bash " + path).c_str(), "r");
  if (!f) return out;
  std::array<char, 4096> buf{};
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), f)) out.append(buf.data(), n);
  ::pclose(f);
  return out;
}

const std::vector<std::string> kHostile = {
    "$(touch pwned1)", "`touch pwned2`", "'; touch pwned3; '", "\"; touch pwned4; \"", "a\nb\ttouch pwned5",
    "${IFS}$(touch${IFS}pwned6)", "\\\"$(touch pwned7)\\", "$((1+1))", "!!", "*", "~root", "-n",
};

TEST(ShellQuote, ValuesArriveByteForByteAndNothingRuns) {
  batchai::testing::TempDir dir;
  std::string script;
  for (const auto& v : kHostile) script += "printf '%s\\0' " + shell_quote(v) + "\n";
  const std::string out = run_bash(script, dir);
  std::string expected;
  for (const auto& v : kHostile) expected += v + '\0';
  EXPECT_EQ(out, expected);
  for (int i = 1; i <= 7; ++i) EXPECT_FALSE(fs::exists(dir.path() / ("pwned" + std::to_string(i)))) << i;
}

TEST(ShellQuote, ExpandingQuotesExpandOnlyVariables) {
  batchai::testing::TempDir dir;
  std::string script = "export ROOT=/r\n";
  for (const auto& v : kHostile) script += "printf '%s\\0' " + shell_quote_expanding(v) + "\n";
  script += "printf '%s\\0' " + shell_quote_expanding("$ROOT/a/${ROOT}b/$ROOT_X/$") + "\n";
  const std::string out = run_bash(script, dir);
  std::string expected;
  // ${IFS} is a variable and expands (to the default blank), the rest stays.
  for (const auto& v : kHostile) {
    std::string e = v;
    for (auto at = e.find("${IFS}"); at != std::string::npos; at = e.find("${IFS}")) e.replace(at, 6, " \t\n");
    expected += e + '\0';
  }
  expected += std::string("/r/a//rb//$") + '\0';
  EXPECT_EQ(out, expected);
  for (int i = 1; i <= 7; ++i) EXPECT_FALSE(fs::exists(dir.path() / ("pwned" + std::to_string(i)))) << i;
}

// The environment section of a real script, run by bash: hostile values
// from job.json arrive byte for byte and nothing in them runs.
TEST(Translate, HostileEnvironmentValuesAreInert) {
  std::string vars;
  for (std::size_t i = 0; i < kHostile.size(); ++i) {
    std::string escaped;
    for (char c : kHostile[i]) {
      if (c == '"' || c == '\\') escaped += '\\';
      if (c == '\n') {
        escaped += "\\n";
      } else if (c == '\t') {
        escaped += "\\t";
      } else {
        escaped += c;
      }
    }
    vars += std::string(i ? "," : "") + "{\"name\": \"V" + std::to_string(i) + "\", \"value\": \"" + escaped + "\"}";
  }
  auto p = must_plan(R"J({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/o/$(touch pwned8)",
      "customToolkitSettings": {}, "environmentVariables": [)J" + vars + "]}}");
  const std::string script = render_script(p);
  const auto from = script.find("# Batch AI's environment");
  const auto to = script.find("\n\n", from) + 1;
  ASSERT_NE(from, std::string::npos);
  ASSERT_NE(to, std::string::npos);
  std::string run = "BATCHAI_JOB_DIR=/j\nSLURM_JOB_ID=7\n" + script.substr(from, to - from);
  for (std::size_t i = 0; i < kHostile.size(); ++i) run += "printf '%s\\0' \"$V" + std::to_string(i) + "\"\n";
  run += "printf '%s\\0' \"$AZ_BATCHAI_STDOUTERR_DIR\"\n";
  batchai::testing::TempDir dir;
  const std::string out = run_bash(run, dir);
  std::string expected;
  for (const auto& v : kHostile) expected += v + '\0';
  expected += "/o/$(touch pwned8)/" + identity().segment() + "/stdouterr" + '\0';
  EXPECT_EQ(out, expected);
  for (int i = 1; i <= 8; ++i) EXPECT_FALSE(fs::exists(dir.path() / ("pwned" + std::to_string(i)))) << i;
}

}  // namespace

// Open MPI's launcher, where the site chose it: the script says so and how
// many ranks; pyxis cannot give mpirun's ranks their container.
TEST(Translate, MpirunWhereTheSiteChoseItAndNotIntoPyxis) {
  const std::string horovod =
      R"({"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "/logs",
          "horovodSettings": {"pythonScriptFilePath": "train.py", "processCount": 4}}})";
  auto site = test_site();
  site.mpi_launcher = site::MpiLauncher::mpirun;
  const std::string script = render_script(must_plan(horovod, site));
  EXPECT_NE(script.find("\nbatchai_mpi_launcher=mpirun"), std::string::npos) << script;
  EXPECT_NE(script.find("\nbatchai_mpi_ranks=4\n"), std::string::npos) << script;
  EXPECT_EQ(render_script(must_plan(horovod)).find("batchai_mpi_launcher"), std::string::npos);

  site.container_runtime = site::ContainerRuntime::pyxis;
  const std::string in_image =
      R"({"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "/logs",
          "containerSettings": {"imageSourceRegistry": {"image": "tensorflow/tensorflow:1.8.0-gpu"}},
          "horovodSettings": {"pythonScriptFilePath": "train.py"}}})";
  auto refused = plan(in_image, site);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("properties.containerSettings: this site starts MPI ranks with mpirun"),
            std::string::npos)
      << refused.error().message;
}

TEST(Translate, TensorFlowScriptsCarryTheSitesGracePeriod) {
  auto site = test_site();
  site.tensorflow_grace_seconds = 7;
  const std::string script = render_script(must_plan(
      R"({"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "/logs",
          "tensorFlowSettings": {"pythonScriptFilePath": "t.py", "workerCount": 2, "parameterServerCount": 1}}})",
      site));
  EXPECT_NE(script.find("\nbatchai_tf_grace=7 "), std::string::npos) << script;
}

// A cluster's setup task: the script carries its data, quoted, only when the
// cluster has one (every golden above has none and is unchanged by it).
TEST(Translate, ASetupTaskJobScriptMatchesItsGolden) {
  ClusterBinding with_setup = gpu_cluster();
  with_setup.setup_task = SetupTask{"apt-get install -y 'x y' && echo \"$HOSTNAME\"",
                                    "$AZ_BATCHAI_MOUNT_ROOT/logs/rg/workspaces/ws/clusters/gpu/"
                                    "11111111-1111-4111-8111-111111111111/stdouterr",
                                    {{"GREETING", "it's $HOME", false}}};
  auto p = plan(R"({"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "/o",
      "jobPreparation": {"commandLine": "echo prep"}, "customToolkitSettings": {"commandLine": "echo hi"}}})",
                test_site(), with_setup);
  ASSERT_TRUE(p) << p.error().message;
  const std::string actual = dry_run(*p);
  EXPECT_NE(actual.find("batchai_setup_task='apt-get install -y '\\''x y'\\'' && echo \"$HOSTNAME\"'"),
            std::string::npos) << actual;
  EXPECT_NE(actual.find("batchai_setup_env=('GREETING=it'\\''s $HOME')"), std::string::npos) << actual;
  const fs::path golden = fs::path(BATCHAI_JOBSPEC_CORPUS) / "setup_task.sbatch";
  if (std::getenv("BATCHAI_UPDATE_GOLDEN")) {
    ASSERT_TRUE(write_file_atomic(golden.string(), actual, 0644));
    GTEST_SKIP() << "rewrote " << golden;
  }
  auto expected = read_text_file(golden.string(), "golden");
  ASSERT_TRUE(expected) << "no golden file; run with BATCHAI_UPDATE_GOLDEN=1 to write it";
  EXPECT_EQ(actual, *expected);
  // Without one, not a line of it.
  auto plain = plan(R"({"properties": {"nodeCount": 2, "stdOutErrPathPrefix": "/o",
      "customToolkitSettings": {"commandLine": "echo hi"}}})");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(dry_run(*plain).find("batchai_setup"), std::string::npos);
}
