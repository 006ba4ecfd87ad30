// The global flags and output formats through the CLI, with the fake Slurm
// and real SQLite: every -o on a show, --only-show-errors, --verbose,
// --subscription, --debug's lines, and --ids on each show and delete.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "fake_slurm.h"
#include "frontend/cli.h"
#include "frontend/commands/state_records.h"
#include "frontend/yaml_output.h"
#include "unit/run_cli.h"
#include "unit/temp_dir.h"

namespace batchai::frontend {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using batchai::testing::FakeSlurm;

std::size_t lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

class OutputFlags : public ::testing::Test {
 protected:
  FakeSlurm fake;
  std::ostringstream out, help;
  Context ctx;
  fs::path dir;
  std::string err, job;

  void SetUp() override {
    dir = batchai::testing::make_test_dir("batchai-output-flags-test");
    ASSERT_FALSE(dir.empty());
    ctx.out = &out;
    ctx.slurm = [this]() -> Result<slurm::Client*> { return &fake; };
    ctx.sleep = [](std::chrono::milliseconds) {};
    const std::string conf = (dir / "site.json").string();
    std::ofstream(conf) << R"({"jobsRoot": ")" << (dir / "jobs").string() << R"(",
        "vmSizes": [{"name": "STANDARD_NC6", "partition": "batch", "gpusPerNode": 1}]})";
    ctx.environment = {"PATH=/usr/bin", "HOME=" + dir.string(), "BATCHAI_CONF=" + conf,
                       "BATCHAI_DEFAULT_GROUP=rg", "BATCHAI_DEFAULT_WORKSPACE=ws", "MY_TOKEN=s3cr3t-value"};
    ctx.state_dir = (dir / "state").string();
    job = (dir / "job.json").string();
    std::ofstream(job) << R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_TEMP_DIR",
        "environmentVariables": [{"name": "PLAIN", "value": "plain-value"}],
        "secrets": [{"name": "KEY", "value": "hidden-secret"}],
        "customToolkitSettings": {"commandLine": "echo hi"}}})";
    slurm::PartitionInfo p;
    p.name = "batch";
    p.is_default = true;
    p.total_nodes = 4;
    fake.partition_list.push_back(p);
    ASSERT_EQ(run({"workspace", "create", "-n", "ws"}), 0) << err;
    ASSERT_EQ(run({"experiment", "create", "-n", "e"}), 0) << err;
    ASSERT_EQ(run({"cluster", "create", "-n", "c1", "-s", "STANDARD_NC6", "-t", "1"}), 0) << err;
    ASSERT_EQ(run({"cluster", "create", "-n", "c2", "-s", "STANDARD_NC6", "-t", "1"}), 0) << err;
  }
  void TearDown() override {
    if (!dir.empty()) fs::remove_all(dir);
  }

  // One command line, as one process.
  int run(std::vector<std::string> argv) {
    out.str("");
    ctx.store = state_opener(ctx);
    const int rc = batchai::testing::run_cli(argv, ctx, help, err);
    ctx.store = nullptr;
    return rc;
  }
  std::string id_of(std::vector<std::string> show) {
    show.insert(show.end(), {"--query", "id", "-o", "tsv"});
    EXPECT_EQ(run(show), 0) << err;
    std::string id = out.str();
    if (!id.empty() && id.back() == '\n') id.pop_back();
    return id;
  }
};

TEST_F(OutputFlags, EveryFormatOnClusterShow) {
  ASSERT_EQ(run({"cluster", "show", "-n", "c1"}), 0) << err;
  const std::string as_json = out.str();
  const json::value value = json::parse(as_json);
  EXPECT_EQ(value.at("name"), "c1");

  // Not a terminal: jsonc and yamlc are json and yaml, as az prints them.
  ASSERT_EQ(run({"cluster", "show", "-n", "c1", "-o", "json"}), 0) << err;
  EXPECT_EQ(out.str(), as_json);
  ASSERT_EQ(run({"cluster", "show", "-n", "c1", "-o", "jsonc"}), 0) << err;
  EXPECT_EQ(out.str(), as_json);
  ASSERT_EQ(run({"cluster", "show", "-n", "c1", "-o", "yaml"}), 0) << err;
  const std::string as_yaml = out.str();
  EXPECT_EQ(as_yaml, *to_yaml(value));
  EXPECT_NE(as_yaml.find("\nname: c1\n"), std::string::npos) << as_yaml;
  ASSERT_EQ(run({"cluster", "show", "-n", "c1", "-o", "yamlc"}), 0) << err;
  EXPECT_EQ(out.str(), as_yaml);
  ASSERT_EQ(run({"cluster", "show", "-n", "c1", "-o", "table"}), 0) << err;
  EXPECT_EQ(out.str().rfind("Name", 0), 0u) << out.str();
  EXPECT_EQ(lines(out.str()), 3u) << out.str();
  // tsv: one line, the object's values by sorted key, as az's knack.
  ASSERT_EQ(run({"cluster", "show", "-n", "c1", "-o", "tsv"}), 0) << err;
  EXPECT_EQ(lines(out.str()), 1u);
  std::vector<std::string> keys;
  for (const auto& kv : value.as_object()) keys.emplace_back(kv.key());
  std::sort(keys.begin(), keys.end());
  std::vector<std::string> fields{""};
  for (char c : out.str().substr(0, out.str().find('\n'))) {
    if (c == '\t') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  ASSERT_EQ(fields.size(), keys.size()) << out.str();
  const auto at = std::find(keys.begin(), keys.end(), "name") - keys.begin();
  EXPECT_EQ(fields[at], "c1");
  ASSERT_EQ(run({"cluster", "show", "-n", "c1", "-o", "none"}), 0) << err;
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err, "");

  // On a terminal they colour, and say the same once the colour is gone.
  ctx.out_is_tty = true;
  ASSERT_EQ(run({"cluster", "show", "-n", "c1", "-o", "jsonc"}), 0) << err;
  EXPECT_NE(out.str().find("\x1b["), std::string::npos);
  EXPECT_EQ(json::parse(std::regex_replace(out.str(), std::regex("\x1b\\[[0-9;]*m"), "")), value);
  ASSERT_EQ(run({"cluster", "show", "-n", "c1", "-o", "yamlc"}), 0) << err;
  EXPECT_NE(out.str().find("\x1b["), std::string::npos);
  EXPECT_EQ(std::regex_replace(out.str(), std::regex("\x1b\\[[0-9;]*m"), ""), as_yaml);
  ASSERT_EQ(run({"cluster", "show", "-n", "c1", "-o", "json"}), 0) << err;
  EXPECT_EQ(out.str(), as_json);

  // With a query, on the query's result.
  ASSERT_EQ(run({"cluster", "list", "--query", "[].name", "-o", "yaml"}), 0) << err;
  EXPECT_EQ(out.str(), "- c1\n- c2\n");
}

TEST_F(OutputFlags, NoneIsSilentButKeepsTheExitStatus) {
  ASSERT_EQ(run({"job", "create", "-e", "e", "-n", "j1", "-c", "c1", "-f", job, "-o", "none"}), 0) << err;
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(fake.submitted.size(), 1u);
  EXPECT_EQ(run({"cluster", "show", "-n", "nope", "-o", "none"}), 1);
  EXPECT_EQ(out.str(), "");
  EXPECT_NE(err.find("batchai: error: cluster 'nope' not found"), std::string::npos) << err;
  // A query that cannot apply still fails.
  EXPECT_EQ(run({"cluster", "show", "-n", "c1", "-o", "none", "--query", "abs(name)"}), 1);
  EXPECT_EQ(out.str(), "");
}

TEST_F(OutputFlags, AnUnknownFormatIsOneLine) {
  EXPECT_EQ(run({"cluster", "show", "-n", "c1", "-o", "xml"}), 2);
  EXPECT_EQ(err, "batchai: error: --output: expected json, jsonc, yaml, yamlc, table, tsv or none, got 'xml'\n");
  EXPECT_EQ(out.str(), "");
}

TEST_F(OutputFlags, OnlyShowErrorsDropsNotesAndWarnings) {
  ASSERT_EQ(run({"cluster", "create", "-n", "c3", "-s", "STANDARD_NC6", "-t", "1", "--image", "UbuntuLTS"}), 0);
  EXPECT_EQ(err, "batchai: --image is accepted; on Slurm the nodes run the site's OS image; nothing changes\n");
  ASSERT_EQ(run({"cluster", "create", "-n", "c4", "-s", "STANDARD_NC6", "-t", "1", "--image", "UbuntuLTS",
                 "--only-show-errors"}),
            0);
  EXPECT_EQ(err, "");
  // A warning too (more nodes than the partition has), but never an error.
  ASSERT_EQ(run({"cluster", "create", "-n", "c5", "-s", "STANDARD_NC6", "-t", "9", "--only-show-errors"}), 0);
  EXPECT_EQ(err, "");
  EXPECT_EQ(run({"cluster", "show", "-n", "nope", "--only-show-errors"}), 1);
  EXPECT_EQ(lines(err), 1u) << err;
  EXPECT_EQ(err.rfind("batchai: error: ", 0), 0u) << err;
  // The next command line is back to the default.
  ASSERT_EQ(run({"cluster", "create", "-n", "c6", "-s", "STANDARD_NC6", "-t", "1", "--image", "UbuntuLTS"}), 0);
  EXPECT_EQ(err, "batchai: --image is accepted; on Slurm the nodes run the site's OS image; nothing changes\n");
}

TEST_F(OutputFlags, VerboseSaysWhereACreatedJobWent) {
  ASSERT_EQ(run({"job", "create", "-e", "e", "-n", "quiet", "-c", "c1", "-f", job}), 0) << err;
  EXPECT_EQ(err.find("is Slurm job"), std::string::npos) << err;
  ASSERT_EQ(run({"job", "create", "-e", "e", "-n", "told", "-c", "c1", "-f", job, "--verbose"}), 0) << err;
  EXPECT_NE(err.find("batchai: job 'told' is Slurm job "), std::string::npos) << err;
  EXPECT_NE(err.find(" node(s)); its directory is " + (dir / "jobs").string()), std::string::npos) << err;
}

TEST_F(OutputFlags, SubscriptionIsAcceptedAndIgnored) {
  ASSERT_EQ(run({"cluster", "show", "-n", "c1", "--subscription", "0000-1111"}), 0) << err;
  EXPECT_EQ(json::parse(out.str()).at("name"), "c1");
  EXPECT_EQ(err, "");
  ASSERT_EQ(run({"cluster", "show", "-n", "c1", "--subscription", "0000-1111", "--verbose"}), 0) << err;
  EXPECT_NE(err.find("batchai: --subscription is accepted and ignored"), std::string::npos) << err;
}

TEST_F(OutputFlags, DebugShowsSlurmCallsAndStatementsButNoValues) {
  ASSERT_EQ(run({"job", "create", "-e", "e", "-n", "j1", "-c", "c1", "-f", job}), 0) << err;
  EXPECT_EQ(err.find("debug"), std::string::npos) << err;
  ASSERT_EQ(run({"job", "create", "-e", "e", "-n", "j2", "-c", "c1", "-f", job, "--debug"}), 0) << err;
  EXPECT_NE(err.find("batchai: debug: slurm: submit name="), std::string::npos) << err;
  EXPECT_NE(err.find(" partition=batch nodes=1"), std::string::npos) << err;
  EXPECT_NE(err.find("batchai: debug: slurm: submit -> job "), std::string::npos) << err;
  EXPECT_NE(err.find("batchai: debug: sql: INSERT INTO jobs"), std::string::npos) << err;
  // Every line is the program's; no value from the environment or the job.
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) EXPECT_EQ(line.rfind("batchai: ", 0), 0u) << line;
  for (const char* secret : {"s3cr3t-value", "hidden-secret", "plain-value", "echo hi"}) {
    EXPECT_EQ(err.find(secret), std::string::npos) << secret << " in:\n" << err;
  }
  ASSERT_EQ(run({"job", "show", "-e", "e", "-n", "j2", "--debug"}), 0) << err;
  EXPECT_NE(err.find("batchai: debug: slurm: job "), std::string::npos) << err;
  EXPECT_NE(err.find("batchai: debug: sql: SELECT"), std::string::npos) << err;
  // Off again for the next command line.
  ASSERT_EQ(run({"job", "show", "-e", "e", "-n", "j2"}), 0) << err;
  EXPECT_EQ(err, "");
}

TEST_F(OutputFlags, IdsOnClusterShowAndDelete) {
  const std::string c1 = id_of({"cluster", "show", "-n", "c1"});
  const std::string c2 = id_of({"cluster", "show", "-n", "c2"});
  EXPECT_EQ(c1, "/subscriptions/local/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/ws/clusters/c1");
  ASSERT_EQ(run({"cluster", "show", "--ids", c1}), 0) << err;
  EXPECT_EQ(json::parse(out.str()).at("name"), "c1");
  ASSERT_EQ(run({"cluster", "show", "--ids", c1, c2, "-o", "tsv", "--query", "[].name"}), 0) << err;
  EXPECT_EQ(out.str(), "c1\nc2\n");
  // Another subscription's spelling of the same id is the same cluster.
  std::string other = c1;
  other.replace(other.find("local"), 5, "00000000-1111-2222-3333-444444444444");
  ASSERT_EQ(run({"cluster", "show", "--ids", other, "--query", "name", "-o", "tsv"}), 0) << err;
  EXPECT_EQ(out.str(), "c1\n");

  EXPECT_EQ(run({"cluster", "show", "--ids", "/subscriptions/local/clusters/c1"}), 1);
  EXPECT_EQ(lines(err), 1u) << err;
  EXPECT_EQ(err.rfind("batchai: error: --ids: '/subscriptions/local/clusters/c1' is not a cluster id (expected ", 0),
            0u)
      << err;
  const std::string ws = id_of({"workspace", "show", "-n", "ws"});
  EXPECT_EQ(run({"cluster", "show", "--ids", ws}), 1);
  EXPECT_NE(err.find("is not a cluster id"), std::string::npos) << err;
  EXPECT_EQ(run({"cluster", "show", "--ids", c1, "-n", "c1"}), 1);
  EXPECT_EQ(err, "batchai: error: --ids: give either --ids or --name, not both\n");
  EXPECT_EQ(run({"cluster", "show"}), 2);
  EXPECT_NE(err.find("--name or --ids: required"), std::string::npos) << err;

  ASSERT_EQ(run({"cluster", "delete", "--ids", c1, c2, "-y"}), 0) << err;
  ASSERT_EQ(run({"cluster", "list", "--query", "length(@)"}), 0) << err;
  EXPECT_EQ(out.str(), "0\n");
  EXPECT_EQ(run({"cluster", "delete", "--ids", c1, "-y"}), 1);
}

TEST_F(OutputFlags, IdsOnJobShowAndDelete) {
  ASSERT_EQ(run({"job", "create", "-e", "e", "-n", "j1", "-c", "c1", "-f", job}), 0) << err;
  ASSERT_EQ(run({"job", "create", "-e", "e", "-n", "j2", "-c", "c1", "-f", job}), 0) << err;
  const std::string j1 = id_of({"job", "show", "-e", "e", "-n", "j1"});
  const std::string j2 = id_of({"job", "show", "-e", "e", "-n", "j2"});
  EXPECT_EQ(j1, "/subscriptions/local/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/ws/experiments/e/jobs/j1");
  ASSERT_EQ(run({"job", "show", "--ids", j1}), 0) << err;
  EXPECT_EQ(json::parse(out.str()).at("name"), "j1");
  ASSERT_EQ(run({"job", "show", "--ids", j1, j2}), 0) << err;
  EXPECT_EQ(json::parse(out.str()).as_array().size(), 2u);
  EXPECT_EQ(run({"job", "show", "--ids", j1 + "/extra"}), 1);
  EXPECT_EQ(lines(err), 1u) << err;
  EXPECT_NE(err.find("is not a job id"), std::string::npos) << err;
  EXPECT_EQ(run({"job", "show", "--ids", "/subscriptions/local/resourceGroups/rg/providers/Microsoft.BatchAI/"
                                         "workspaces/ws/experiments/e/jobs/bad name"}),
            1);
  EXPECT_EQ(lines(err), 1u) << err;
  EXPECT_NE(err.find("--ids"), std::string::npos) << err;

  ASSERT_EQ(run({"job", "delete", "--ids", j1, j2, "-y"}), 0) << err;
  ASSERT_EQ(run({"job", "list", "-e", "e", "--query", "length(@)"}), 0) << err;
  EXPECT_EQ(out.str(), "0\n");
}

TEST_F(OutputFlags, IdsOnWorkspaceAndExperimentShowAndDelete) {
  ASSERT_EQ(run({"workspace", "create", "-n", "ws2"}), 0) << err;
  ASSERT_EQ(run({"experiment", "create", "-n", "e2"}), 0) << err;
  const std::string w1 = id_of({"workspace", "show", "-n", "ws"});
  const std::string w2 = id_of({"workspace", "show", "-n", "ws2"});
  const std::string e1 = id_of({"experiment", "show", "-n", "e"});
  const std::string e2 = id_of({"experiment", "show", "-n", "e2"});
  ASSERT_EQ(run({"workspace", "show", "--ids", w1, "--query", "name", "-o", "tsv"}), 0) << err;
  EXPECT_EQ(out.str(), "ws\n");
  ASSERT_EQ(run({"workspace", "show", "--ids", w1, w2, "--query", "[].name", "-o", "tsv"}), 0) << err;
  EXPECT_EQ(out.str(), "ws\nws2\n");
  ASSERT_EQ(run({"experiment", "show", "--ids", e1, "--query", "name", "-o", "tsv"}), 0) << err;
  EXPECT_EQ(out.str(), "e\n");
  ASSERT_EQ(run({"experiment", "show", "--ids", e1, e2, "--query", "[].name", "-o", "tsv"}), 0) << err;
  EXPECT_EQ(out.str(), "e\ne2\n");
  EXPECT_EQ(run({"experiment", "show", "--ids", w1}), 1);
  EXPECT_EQ(lines(err), 1u) << err;
  EXPECT_NE(err.find("is not an experiment id"), std::string::npos) << err;

  ASSERT_EQ(run({"experiment", "delete", "--ids", e1, e2, "-y"}), 0) << err;
  ASSERT_EQ(run({"experiment", "list", "--query", "length(@)"}), 0) << err;
  EXPECT_EQ(out.str(), "0\n");
  ASSERT_EQ(run({"workspace", "delete", "--ids", w2, "-y"}), 0) << err;
  ASSERT_EQ(run({"workspace", "list", "--query", "[].name", "-o", "tsv"}), 0) << err;
  EXPECT_EQ(out.str(), "ws\n");
}

TEST_F(OutputFlags, HelpSaysNameOrIds) {
  for (std::string command : {"workspace", "experiment", "cluster", "job"}) {
    for (std::string verb : {"show", "delete"}) {
      help.str("");
      ASSERT_EQ(run({command, verb, "--help"}), 0) << err;
      const std::string text = help.str();
      const std::string names = command == "job" ? "-e NAME -n NAME" : "-n NAME";
      EXPECT_NE(text.find("(" + names + " | --ids ID [ID ...]) [options]\n"), std::string::npos) << text;
      EXPECT_NE(text.find("(required, or --ids)"), std::string::npos) << text;
      EXPECT_NE(text.find("--only-show-errors"), std::string::npos) << text;
      EXPECT_NE(text.find("--subscription ID"), std::string::npos) << text;
    }
  }
}

}  // namespace
}  // namespace batchai::frontend
