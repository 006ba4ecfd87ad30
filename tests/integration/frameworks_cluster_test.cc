// The real frameworks as Batch AI jobs on the local cluster: TensorFlow 2's
// ParameterServerStrategy, a TensorFlow 1-shaped job, PyTorch over gloo and
// mpi4py in the batch-scoring recipe's shape, each created with `batchai job
// create`, waited on with `job wait` and checked through `job show` and the
// files its processes write. The job scripts are tests/frameworks/*.py; the
// frameworks come from `share/batchai/setup-deps --frameworks`, and a test
// whose framework is missing skips, naming it.
#include <gtest/gtest.h>
#include <time.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "integration/cli_fixture.h"
#include "integration/run_command.h"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using batchai::testing::Outcome;
using batchai::testing::run_command;

// Where setup-deps made the virtual environments.
fs::path frameworks_dir() {
  const char* d = std::getenv("BATCHAI_FRAMEWORKS_DIR");
  return d && *d ? fs::path(d) : fs::path("/var/tmp/batchai-frameworks");
}

// Why a virtual environment of setup-deps cannot be used, if it cannot.
std::optional<std::string> missing_venv(const std::string& name, const std::string& holds) {
  const fs::path venv = frameworks_dir() / name;
  if (fs::exists(venv / ".complete") && fs::exists(venv / "bin/python")) return std::nullopt;
  return "no virtual environment " + venv.string() + " with " + holds +
         " (share/batchai/setup-deps --frameworks makes it)";
}

// Why /usr/bin/python3 cannot import `module` from Debian's `package`, if
// it cannot.
std::optional<std::string> missing_module(const std::string& module, const std::string& package) {
  if (run_command("/usr/bin/python3 -c 'import " + module + "'").status == 0) return std::nullopt;
  return "/usr/bin/python3 has no " + module + ": Debian's " + package +
         " is missing (share/batchai/setup-deps --frameworks installs it)";
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

json::value read_json(const fs::path& p) {
  boost::system::error_code ec;
  json::value v = json::parse(slurp(p), ec);
  if (ec) ADD_FAILURE() << p << " is not JSON: " << ec.message();
  return v;
}

// Seconds since the epoch of job show's "YYYY-MM-DDTHH:MM:SSZ".
std::optional<double> epoch_of(const json::value& iso) {
  if (!iso.is_string()) return std::nullopt;
  std::tm tm{};
  const char* end = strptime(iso.as_string().c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end) return std::nullopt;
  return static_cast<double>(timegm(&tm));
}

// Each test runs its jobs in experiment "fw" on a 4-node cluster "cpu",
// with the scripts on the share "myshare", which the jobs mount.
class Frameworks : public batchai::testing::CliFixture {
 protected:
  void SetUp() override {
    CliFixture::SetUp();
    if (IsSkipped()) return;
    ASSERT_EQ(batchai("workspace create -g rg -n ws").status, 0);
    ASSERT_EQ(batchai("experiment create -g rg -w ws -n fw").status, 0);
    ASSERT_EQ(batchai("cluster create -g rg -w ws -n cpu -s STANDARD_NC6 -t 4").status, 0);
    fs::create_directories(dir / "shares/myshare/scripts");
    for (const auto& e : fs::directory_iterator(BATCHAI_FRAMEWORK_SCRIPTS)) {
      if (e.path().extension() == ".py") fs::copy_file(e.path(), dir / "shares/myshare/scripts" / e.path().filename());
    }
  }

  void score_by_open_mpis_variables(bool mpirun);

  // The job file's properties around a toolkit's settings: the share
  // mounted, the logs and one output directory RESULTS on it, and a wall
  // clock limit so that a job which never ends still stops.
  std::string job_file(const std::string& name, const std::string& toolkit, int node_count,
                       const std::string& extra = "") {
    return write_job(name, R"({
    "nodeCount": )" + std::to_string(node_count) + R"(,
    )" + toolkit + R"(,
    "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_MOUNT_ROOT/myshare/logs",
    "outputDirectories": [{"id": "RESULTS", "pathPrefix": "$AZ_BATCHAI_JOB_MOUNT_ROOT/myshare"}],
    "mountVolumes": {"azureFileShares": [{"azureFileUrl": "https://teststorage.file.core.windows.net/myshare",
                                          "relativeMountPath": "myshare"}]},)" +
                                     extra + R"(
    "constraints": {"maxWallClockTime": "PT10M"}
  })");
  }

  static std::string script(const std::string& file) { return "$AZ_BATCHAI_JOB_MOUNT_ROOT/myshare/scripts/" + file; }

  // Creates the job and waits for it with `job wait`, at most `seconds`.
  // A job still running then is terminated, so that it leaves the shared
  // cluster, and the test fails. Returns job show's object.
  json::object run_job(const std::string& name, const std::string& file, int seconds) {
    const auto created = batchai("job create -g rg -w ws -e fw -n " + name + " -c cpu -f " + file);
    EXPECT_EQ(created.status, 0) << created.err;
    if (created.status != 0) return {};
    const Outcome waited = run_command("timeout " + std::to_string(seconds) + " env " + env + BATCHAI_EXE +
                                       " job wait -g rg -w ws -e fw -n " + name + " --interval 1");
    if (waited.status == 124) {
      ADD_FAILURE() << "job " << name << " still runs after " << seconds << " s; terminating it\n"
                    << logs(name);
      batchai("job terminate -g rg -w ws -e fw -n " + name + " -y");
    }
    json::value shown = batchai_json("job show -g rg -w ws -e fw -n " + name);
    return shown.is_object() ? shown.as_object() : json::object{};
  }

  // The job's Batch AI path segment and the directories under it.
  std::string segment(const std::string& name) {
    json::value s = batchai_json("job show -g rg -w ws -e fw -n " + name);
    return s.is_object() ? std::string(s.at("jobOutputDirectoryPathSegment").as_string()) : "";
  }
  fs::path results(const std::string& name) { return dir / "shares/myshare" / segment(name) / "outputs"; }
  fs::path stdouterr(const std::string& name) { return dir / "shares/myshare/logs" / segment(name) / "stdouterr"; }

  // Every log of the job, for a failure's message.
  std::string logs(const std::string& name) {
    std::string all;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(stdouterr(name), ec)) {
      all += "--- " + e.path().filename().string() + ":\n" + slurp(e.path());
    }
    return all;
  }

  // The processes, on any node (all are this machine), still running a
  // script of this test; empty when none is, waiting a few seconds for the
  // last to go.
  std::string left_running(const std::string& script_name) {
    std::string found;
    for (int i = 0; i < 20; ++i) {
      found.clear();
      std::istringstream ps(run_command("ps -eo pid=,args=").out);
      for (std::string line; std::getline(ps, line);) {
        if (line.find(script_name) != std::string::npos && line.find(dir.string()) != std::string::npos &&
            line.find("ps -eo") == std::string::npos) {
          found += line + "\n";
        }
      }
      if (found.empty()) return found;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return found;
  }

  static std::string state(const json::object& job) {
    return job.contains("executionState") ? std::string(job.at("executionState").as_string()) : "";
  }
  static std::optional<std::int64_t> exit_code(const json::object& job) {
    if (!job.contains("executionInfo") || !job.at("executionInfo").is_object()) return std::nullopt;
    const auto& info = job.at("executionInfo").as_object();
    if (!info.contains("exitCode") || !info.at("exitCode").is_int64()) return std::nullopt;
    return info.at("exitCode").as_int64();
  }
  static std::optional<double> end_time(const json::object& job) {
    if (!job.contains("executionInfo") || !job.at("executionInfo").is_object()) return std::nullopt;
    return epoch_of(job.at("executionInfo").as_object().at("endTime"));
  }
};

// --- TensorFlow ---------------------------------------------------------------

// TensorFlow's informational lines would bury a failure's cause in the logs
// a failing test prints.
const std::string kQuietTensorFlow = R"(
    "environmentVariables": [{"name": "TF_CPP_MIN_LOG_LEVEL", "value": "1"}],)";

// The issue's TensorFlow 2 job: the ps and the worker serve forever, the
// chief (Batch AI's worker 0) drives them and exits. The job ends with the
// chief, succeeded, and takes its servers with it.
TEST_F(Frameworks, TensorFlow2ParameterServerStrategyEndsWithItsChief) {
  if (auto why = missing_venv("tf2", "tensorflow-cpu")) GTEST_SKIP() << *why;
  const std::string py = (frameworks_dir() / "tf2/bin/python").string();
  const std::string args = "$AZ_BATCHAI_OUTPUT_RESULTS 10";
  const std::string job = job_file("tf2", R"("tensorFlowSettings": {
      "pythonScriptFilePath": ")" + script("tf2_parameter_server.py") + R"(",
      "pythonInterpreterPath": ")" + py + R"(",
      "masterCommandLineArgs": ")" + args + R"(",
      "workerCommandLineArgs": ")" + args + R"(",
      "parameterServerCommandLineArgs": ")" + args + R"(",
      "workerCount": 2,
      "parameterServerCount": 1})",
                                      2, kQuietTensorFlow);
  const json::object shown = run_job("tf2", job, 240);
  EXPECT_EQ(state(shown), "succeeded") << logs("tf2");
  EXPECT_EQ(exit_code(shown), 0);

  const fs::path chief_file = results("tf2") / "chief.json";
  ASSERT_TRUE(fs::exists(chief_file)) << "the chief wrote no " << chief_file << "\n" << logs("tf2");
  const json::object chief = read_json(chief_file).as_object();
  EXPECT_TRUE(chief.at("ok").as_bool()) << json::serialize(chief);
  EXPECT_EQ(chief.at("total").to_number<double>(), 55.0) << json::serialize(chief);
  EXPECT_EQ(chief.at("workers").to_number<int>(), 1) << "TF_CONFIG's worker list besides the chief";

  const auto end = end_time(shown);
  ASSERT_TRUE(end) << json::serialize(shown);
  const double chief_exit = chief.at("exit_time").to_number<double>();
  // endTime has whole seconds: the job cannot end a second before the chief.
  EXPECT_GE(*end, chief_exit - 1.0);
  EXPECT_LE(*end - chief_exit, 60.0) << "the job ended " << *end - chief_exit << " s after its chief";
  EXPECT_EQ(left_running("tf2_parameter_server.py"), "") << "processes of the job outlived it";
}

// The TensorFlow 1 recipes' shape: the ps blocks, the workers run to their
// own end. `fail` makes worker 1 exit with that code.
std::string tf1_job_settings(const std::string& py, const std::string& script_path, const std::string& fail) {
  const std::string worker = "$AZ_BATCHAI_OUTPUT_RESULTS --job_name=worker --task_index=$AZ_BATCHAI_TASK_INDEX" + fail;
  return R"("tensorFlowSettings": {
      "pythonScriptFilePath": ")" +
         script_path + R"(",
      "pythonInterpreterPath": ")" +
         py + R"(",
      "masterCommandLineArgs": ")" +
         worker + R"(",
      "workerCommandLineArgs": ")" +
         worker + R"(",
      "parameterServerCommandLineArgs": "$AZ_BATCHAI_OUTPUT_RESULTS --job_name=ps --task_index=$AZ_BATCHAI_TASK_INDEX",
      "workerCount": 2,
      "parameterServerCount": 1})";
}

TEST_F(Frameworks, TensorFlow1ShapedJobEndsWithItsLastWorker) {
  if (auto why = missing_venv("tf2", "tensorflow-cpu")) GTEST_SKIP() << *why;
  const std::string py = (frameworks_dir() / "tf2/bin/python").string();
  const json::object shown =
      run_job("tf1", job_file("tf1", tf1_job_settings(py, script("tf1_shaped.py"), ""), 2, kQuietTensorFlow), 240);
  EXPECT_EQ(state(shown), "succeeded") << logs("tf1");
  EXPECT_EQ(exit_code(shown), 0);

  // Each worker summed the squares of its half of 0..999.
  double last_exit = 0;
  for (int w = 0; w < 2; ++w) {
    const fs::path f = results("tf1") / ("worker-" + std::to_string(w) + ".json");
    ASSERT_TRUE(fs::exists(f)) << "worker " << w << " wrote no " << f << "\n" << logs("tf1");
    const json::object rec = read_json(f).as_object();
    std::int64_t want = 0;
    for (std::int64_t i = w; i < 1000; i += 2) want += i * i;
    EXPECT_EQ(rec.at("result").as_int64(), want) << "worker " << w;
    EXPECT_EQ(rec.at("workers").as_int64(), 2);
    last_exit = std::max(last_exit, rec.at("exit_time").to_number<double>());
  }
  const auto end = end_time(shown);
  ASSERT_TRUE(end) << json::serialize(shown);
  EXPECT_GE(*end, last_exit - 1.0);
  EXPECT_LE(*end - last_exit, 60.0) << "the job ended " << *end - last_exit << " s after its last worker";
  EXPECT_EQ(left_running("tf1_shaped.py"), "") << "the parameter server outlived the job";
}

TEST_F(Frameworks, TensorFlow1ShapedJobFailsWithItsWorkersExitCode) {
  if (auto why = missing_venv("tf2", "tensorflow-cpu")) GTEST_SKIP() << *why;
  const std::string py = (frameworks_dir() / "tf2/bin/python").string();
  const json::object shown = run_job(
      "tf1fail",
      job_file("tf1fail", tf1_job_settings(py, script("tf1_shaped.py"), " --fail_worker=1 --fail_code=3"), 2,
               kQuietTensorFlow),
      240);
  EXPECT_EQ(state(shown), "failed") << logs("tf1fail");
  EXPECT_EQ(exit_code(shown), 3) << json::serialize(shown);
  EXPECT_FALSE(fs::exists(results("tf1fail") / "worker-1.json"));
  EXPECT_EQ(left_running("tf1_shaped.py"), "") << "processes of the job outlived it";
}

// --- PyTorch --------------------------------------------------------------------

// The recipe's command line: the init method and the rank from Batch AI's
// variables, the world size from the job's.
std::string pytorch_settings(const std::string& script_path, const std::string& extra) {
  return R"("pyTorchSettings": {
      "pythonScriptFilePath": ")" +
         script_path + R"(",
      "pythonInterpreterPath": "/usr/bin/python3",
      "commandLineArgs": "$AZ_BATCHAI_OUTPUT_RESULTS --dist-url $AZ_BATCHAI_PYTORCH_INIT_METHOD --rank $AZ_BATCHAI_TASK_INDEX --world-size $WORLD_SIZE)" +
         extra + R"(",
      "communicationBackend": "gloo"})";
}

TEST_F(Frameworks, PyTorchGlooAllReduceGivesTheSumOnEveryRank) {
  if (auto why = missing_module("torch", "python3-torch")) GTEST_SKIP() << *why;
  const json::object shown =
      run_job("torch", job_file("torch", pytorch_settings(script("pytorch_gloo.py"), ""), 2), 180);
  ASSERT_EQ(state(shown), "succeeded") << logs("torch");
  EXPECT_EQ(exit_code(shown), 0);
  std::set<std::string> init_methods;
  for (int r = 0; r < 2; ++r) {
    const fs::path f = results("torch") / ("rank-" + std::to_string(r) + ".json");
    ASSERT_TRUE(fs::exists(f)) << "rank " << r << " wrote no " << f << "\n" << logs("torch");
    const json::object rec = read_json(f).as_object();
    EXPECT_EQ(rec.at("world_size").as_int64(), 2);
    EXPECT_EQ(rec.at("sum").to_number<double>(), 3.0) << "rank " << r << ": 1 + 2";
    init_methods.insert(std::string(rec.at("init_method").as_string()));
  }
  ASSERT_EQ(init_methods.size(), 1u) << "the ranks were given different init methods";
  EXPECT_TRUE(init_methods.begin()->starts_with("tcp://")) << *init_methods.begin();
}

TEST_F(Frameworks, PyTorchDistributedDataParallelRanksEndWithTheSameParameters) {
  if (auto why = missing_module("torch", "python3-torch")) GTEST_SKIP() << *why;
  const json::object shown =
      run_job("ddp", job_file("ddp", pytorch_settings(script("pytorch_gloo.py"), " --ddp 5"), 2), 180);
  ASSERT_EQ(state(shown), "succeeded") << logs("ddp");
  std::vector<json::object> ranks;
  for (int r = 0; r < 2; ++r) {
    const fs::path f = results("ddp") / ("rank-" + std::to_string(r) + ".json");
    ASSERT_TRUE(fs::exists(f)) << "rank " << r << " wrote no " << f << "\n" << logs("ddp");
    ranks.push_back(read_json(f).as_object().at("ddp").as_object());
  }
  // Each rank started from weights of its own and trained on data of its
  // own: only DDP's broadcast and averaged gradients make them agree.
  EXPECT_NE(ranks[0].at("before"), ranks[1].at("before"));
  EXPECT_EQ(ranks[0].at("after"), ranks[1].at("after"));
  EXPECT_NE(ranks[0].at("after"), ranks[0].at("before"));
  EXPECT_EQ(ranks[0].at("losses").as_array().size(), 5u);
}

// --- mpi4py -------------------------------------------------------------------

// The batch-scoring recipe's shape: 4 ranks on 2 nodes share 23 inputs by
// Open MPI's rank and size.
// The batch-scoring recipe's shape, whichever launcher the site chose.
void Frameworks::score_by_open_mpis_variables(bool mpirun) {
  if (auto why = missing_module("mpi4py", "python3-mpi4py")) GTEST_SKIP() << *why;
  std::set<std::string> inputs;
  fs::create_directories(dir / "shares/myshare/images");
  for (int i = 0; i < 23; ++i) {
    const std::string name = "image-" + std::to_string(i) + ".jpg";
    std::ofstream(dir / "shares/myshare/images" / name) << "pixels of " << name;
    inputs.insert(name);
  }
  const std::string settings = R"("customMpiSettings": {
      "commandLine": "/usr/bin/python3 )" + script("mpi_scoring.py") +
                               R"( $AZ_BATCHAI_INPUT_IMAGES $AZ_BATCHAI_OUTPUT_RESULTS",
      "processCount": 4})";
  const std::string extra = R"(
    "inputDirectories": [{"id": "IMAGES", "path": "$AZ_BATCHAI_JOB_MOUNT_ROOT/myshare/images"}],)";
  const json::object shown = run_job("score", job_file("score", settings, 2, extra), 180);
  ASSERT_EQ(state(shown), "succeeded") << logs("score");
  const std::string script = slurp(dir / "jobs" / segment("score") / "job.sbatch");
  EXPECT_EQ(script.find("\nbatchai_mpi_launcher=mpirun") != std::string::npos, mpirun) << script;

  std::map<std::string, int> scored;               // input -> times scored
  std::map<std::string, std::map<int, int>> nodes;  // node -> rank -> local rank
  std::map<std::string, std::set<int>> local_sizes;
  for (int r = 0; r < 4; ++r) {
    const fs::path f = results("score") / ("rank-" + std::to_string(r) + ".json");
    ASSERT_TRUE(fs::exists(f)) << "rank " << r << " wrote no " << f << "\n" << logs("score");
    const json::object rec = read_json(f).as_object();
    const json::object& ompi = rec.at("ompi").as_object();
    ASSERT_TRUE(ompi.at("RANK").is_string() && ompi.at("LOCAL_RANK").is_string() && ompi.at("LOCAL_SIZE").is_string())
        << "rank " << r << " lacks Open MPI's variables: " << json::serialize(ompi);
    EXPECT_EQ(ompi.at("RANK").as_string(), std::to_string(r));
    EXPECT_EQ(ompi.at("SIZE").as_string(), "4");
    EXPECT_EQ(rec.at("mpi4py").at("rank").as_int64(), r) << "Open MPI's rank is MPI's";
    EXPECT_EQ(rec.at("mpi4py").at("size").as_int64(), 4);
    EXPECT_EQ(rec.at("scored_by_all").as_int64(), 23);
    for (const auto& [input, score] : rec.at("scores").as_object()) {
      ++scored[std::string(input)];
      EXPECT_FALSE(score.as_string().empty());
    }
    const std::string node(rec.at("node").as_string());
    nodes[node][r] = std::stoi(std::string(ompi.at("LOCAL_RANK").as_string()));
    local_sizes[node].insert(std::stoi(std::string(ompi.at("LOCAL_SIZE").as_string())));
  }
  // Together the ranks scored every input exactly once.
  std::set<std::string> seen;
  for (const auto& [input, times] : scored) {
    EXPECT_EQ(times, 1) << input << " was scored " << times << " times";
    seen.insert(input);
  }
  EXPECT_EQ(seen, inputs);
  // Every rank's local rank is its place among its node's ranks.
  EXPECT_EQ(nodes.size(), 2u) << "4 ranks on 2 nodes";
  for (const auto& [node, ranks] : nodes) {
    int place = 0;
    for (const auto& [rank, local] : ranks) {
      EXPECT_EQ(local, place) << "rank " << rank << " on " << node;
      ++place;
    }
    EXPECT_EQ(local_sizes[node], std::set<int>{static_cast<int>(ranks.size())}) << node;
  }
}

TEST_F(Frameworks, Mpi4pyRanksShareTheInputsByOpenMpisVariables) { score_by_open_mpis_variables(false); }

// A site whose MPI has no PMIx starts ranks with Open MPI's own mpirun, as
// Batch AI did; the job sees the same.
TEST_F(Frameworks, Mpi4pyRanksStartedByMpirunShareTheInputsAlike) {
  if (IsSkipped()) return;
  std::string site = slurp(dir / "site.json");
  site.insert(site.find('{') + 1, "\n  \"mpiLauncher\": \"mpirun\",");
  std::ofstream(dir / "site.json") << site;
  score_by_open_mpis_variables(true);
}

}  // namespace
