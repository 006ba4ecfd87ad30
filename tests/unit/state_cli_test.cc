// The workspace, experiment and configure commands, through the same entry
// point as the real program, on a real state database in a temporary
// directory.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "frontend/cli.h"
#include "frontend/state.h"
#include "unit/run_cli.h"
#include "unit/temp_dir.h"

namespace batchai::frontend {
namespace {

using batchai::testing::TempDir;

class StateCli : public ::testing::Test {
 protected:
  TempDir tmp;
  std::unique_ptr<state::Store> store;
  std::ostringstream out, help;
  Context ctx;
  std::string err;

  void SetUp() override {
    ASSERT_TRUE(tmp.ok());
    auto opened = state::Store::open(tmp.file("state"));
    ASSERT_TRUE(opened) << opened.error().message;
    store = std::move(*opened);
    ctx.out = &out;
    ctx.slurm = []() -> Result<slurm::Client*> { return Error{"no Slurm in these tests"}; };
    ctx.store = [this]() -> Result<state::Store*> { return store.get(); };
    ctx.environment = {"PATH=/usr/bin", "HOME=/root"};
  }

  // Runs a command line with stdin from /dev/null, so that confirmation
  // prompts meet no terminal even when the tests run in one. Returns the
  // exit status; stdout in `out` (reset first), stderr in `err`.
  int run(std::vector<std::string> argv) {
    out.str("");
    return batchai::testing::run_cli(argv, ctx, help, err);
  }

  boost::json::value json() { return boost::json::parse(out.str()); }
};

TEST_F(StateCli, WorkspaceCreateShowListDelete) {
  ASSERT_EQ(run({"workspace", "create", "-g", "rg", "-n", "ws", "-l", "eastus"}), 0) << err;
  EXPECT_EQ(err,
            "batchai: --location is kept for show and list but has no effect: a Slurm site has no Azure regions\n");
  auto created = json().as_object();
  EXPECT_EQ(created["id"], "/subscriptions/local/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/ws");
  EXPECT_EQ(created["name"], "ws");
  EXPECT_EQ(created["resourceGroup"], "rg");
  EXPECT_EQ(created["location"], "eastus");
  EXPECT_EQ(created["provisioningState"], "succeeded");
  EXPECT_EQ(created["type"], "Microsoft.BatchAI/workspaces");
  ASSERT_TRUE(created["creationTime"].is_string());
  EXPECT_TRUE(created["creationTime"].as_string().ends_with("Z"));

  ASSERT_EQ(run({"workspace", "show", "-g", "rg", "-n", "ws"}), 0) << err;
  EXPECT_EQ(json(), boost::json::value(created)) << "show prints what create printed";

  ASSERT_EQ(run({"workspace", "create", "-g", "rg", "-n", "a"}), 0) << err;
  EXPECT_EQ(err, "") << "no note without --location";
  EXPECT_TRUE(json().as_object()["location"].is_null());
  ASSERT_EQ(run({"workspace", "create", "-g", "other", "-n", "ws"}), 0) << err;

  ASSERT_EQ(run({"workspace", "list", "-o", "table"}), 0) << err;
  EXPECT_EQ(out.str(),
            "Name  Resource Group  Location\n"
            "----  --------------  --------\n"
            "ws    other\n"
            "a     rg\n"
            "ws    rg              eastus\n");
  ASSERT_EQ(run({"workspace", "list", "-g", "rg", "-o", "tsv", "--query", "[].[name, resourceGroup, location]"}), 0)
      << err;
  EXPECT_EQ(out.str(), "a\trg\tNone\nws\trg\teastus\n");
  ASSERT_EQ(run({"workspace", "list", "-g", "rg"}), 0) << err;
  ASSERT_TRUE(json().is_array());
  EXPECT_EQ(json().as_array().size(), 2u);

  ASSERT_EQ(run({"workspace", "delete", "-g", "rg", "-n", "a", "-y", "--no-wait"}), 0) << err;
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(run({"workspace", "show", "-g", "rg", "-n", "a"}), 1);
  EXPECT_EQ(err, "batchai: error: workspace 'a' not found in resource group 'rg'\n");
  EXPECT_EQ(run({"workspace", "delete", "-g", "rg", "-n", "a", "--yes"}), 1);
  EXPECT_EQ(err, "batchai: error: workspace 'a' not found in resource group 'rg'\n");
}

TEST_F(StateCli, DuplicatesAndBadNamesAreRefused) {
  ASSERT_EQ(run({"workspace", "create", "-g", "rg", "-n", "ws"}), 0) << err;
  EXPECT_EQ(run({"workspace", "create", "-g", "rg", "-n", "ws"}), 1);
  EXPECT_EQ(err, "batchai: error: workspace 'ws' already exists in resource group 'rg'\n");
  EXPECT_EQ(out.str(), "");
  ASSERT_EQ(run({"experiment", "create", "-g", "rg", "-w", "ws", "-n", "e"}), 0) << err;
  EXPECT_EQ(run({"experiment", "create", "-g", "rg", "-w", "ws", "-n", "e"}), 1);
  EXPECT_EQ(err, "batchai: error: experiment 'e' already exists in workspace 'ws' (resource group 'rg')\n");

  EXPECT_EQ(run({"workspace", "create", "-g", "rg", "-n", "my ws"}), 1);
  EXPECT_EQ(err, "batchai: error: --name: expected 1 to 64 letters, digits, '-' or '_', got \"my ws\"\n");
  EXPECT_EQ(run({"experiment", "create", "-g", "r/g", "-w", "ws", "-n", "e2"}), 1);
  EXPECT_EQ(err, "batchai: error: --resource-group: expected 1 to 90 letters, digits, '_', '-', '.', '(' or ')', not ending "
            "in '.', got \"r/g\"\n");
  EXPECT_EQ(run({"workspace", "create", "-g", "rg"}), 2);
  EXPECT_EQ(err, "batchai: error: batchai workspace create: --name: required (workspace name)\n");
}

TEST_F(StateCli, DeleteAsksFirstAndRefusesWithoutATerminal) {
  ASSERT_EQ(run({"workspace", "create", "-g", "rg", "-n", "ws"}), 0) << err;
  ASSERT_EQ(run({"experiment", "create", "-g", "rg", "-w", "ws", "-n", "e"}), 0) << err;
  const std::string refusal =
      "batchai: error: cannot ask for confirmation: stdin is not a terminal; pass -y (--yes) to go ahead without "
      "asking\n";
  EXPECT_EQ(run({"experiment", "delete", "-g", "rg", "-w", "ws", "-n", "e"}), 1);
  EXPECT_EQ(err, refusal);
  EXPECT_EQ(run({"workspace", "delete", "-g", "rg", "-n", "ws"}), 1);
  EXPECT_EQ(err, refusal);
  ASSERT_EQ(run({"experiment", "show", "-g", "rg", "-w", "ws", "-n", "e"}), 0) << "still there";

  ASSERT_EQ(run({"experiment", "delete", "-g", "rg", "-w", "ws", "-n", "e", "-y"}), 0) << err;
  EXPECT_EQ(run({"experiment", "show", "-g", "rg", "-w", "ws", "-n", "e"}), 1);
  EXPECT_EQ(err, "batchai: error: experiment 'e' not found in workspace 'ws' (resource group 'rg')\n");
}

// A terminal on stdin (a pseudo-terminal whose other side types the
// answers): az's question, asked again until the answer is y or n.
TEST_F(StateCli, DeleteOnATerminalTakesYOrN) {
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0) GTEST_SKIP() << "no pseudo-terminals here";
  const int terminal = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
  ASSERT_GE(terminal, 0);
  ASSERT_EQ(run({"workspace", "create", "-g", "rg", "-n", "ws"}), 0) << err;
  ASSERT_EQ(run({"experiment", "create", "-g", "rg", "-w", "ws", "-n", "e"}), 0) << err;

  auto answer = [&](const std::string& typed, std::vector<std::string> argv) {
    EXPECT_EQ(::write(master, typed.data(), typed.size()), static_cast<ssize_t>(typed.size()));
    const int saved = ::dup(STDIN_FILENO);
    ::dup2(terminal, STDIN_FILENO);
    std::clearerr(stdin);
    std::cin.clear();
    ::testing::internal::CaptureStderr();
    int rc = frontend::run(argv, ctx, help);
    err = ::testing::internal::GetCapturedStderr();
    ::dup2(saved, STDIN_FILENO);
    ::close(saved);
    return rc;
  };
  const std::string question = "Are you sure you want to perform this operation? (y/n): ";
  EXPECT_EQ(answer("n\n", {"experiment", "delete", "-g", "rg", "-w", "ws", "-n", "e"}), 1);
  EXPECT_EQ(err, question + "batchai: error: operation cancelled\n");
  ASSERT_EQ(run({"experiment", "show", "-g", "rg", "-w", "ws", "-n", "e"}), 0) << "still there";
  EXPECT_EQ(answer("maybe\nY\n", {"experiment", "delete", "-g", "rg", "-w", "ws", "-n", "e"}), 0);
  EXPECT_EQ(err, question + question);
  EXPECT_EQ(run({"experiment", "show", "-g", "rg", "-w", "ws", "-n", "e"}), 1);
  ::close(terminal);
  ::close(master);
}

TEST_F(StateCli, ExperimentCreateShowListDelete) {
  ASSERT_EQ(run({"workspace", "create", "-g", "rg", "-n", "ws"}), 0) << err;
  ASSERT_EQ(run({"experiment", "create", "-g", "rg", "-w", "ws", "-n", "e1"}), 0) << err;
  auto created = json().as_object();
  EXPECT_EQ(created["id"],
            "/subscriptions/local/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/ws/experiments/e1");
  EXPECT_EQ(created["name"], "e1");
  EXPECT_EQ(created["resourceGroup"], "rg");
  EXPECT_EQ(created["provisioningState"], "succeeded");
  EXPECT_EQ(created["type"], "Microsoft.BatchAI/workspaces/experiments");
  EXPECT_FALSE(created.contains("workspace")) << "az's object has the workspace only in its id";
  ASSERT_EQ(run({"experiment", "create", "--resource-group", "rg", "--workspace", "ws", "--name", "e0"}), 0) << err;

  ASSERT_EQ(run({"experiment", "show", "-g", "rg", "-w", "ws", "-n", "e1"}), 0) << err;
  EXPECT_EQ(json(), boost::json::value(created));
  ASSERT_EQ(run({"experiment", "list", "-g", "rg", "-w", "ws", "-o", "table"}), 0) << err;
  EXPECT_EQ(out.str(),
            "Name  Resource Group  Workspace\n"
            "----  --------------  ---------\n"
            "e0    rg              ws\n"
            "e1    rg              ws\n");
  ASSERT_EQ(run({"experiment", "list", "-g", "rg", "-w", "ws"}), 0) << err;
  ASSERT_EQ(json().as_array().size(), 2u);

  EXPECT_EQ(run({"experiment", "list", "-g", "rg", "-w", "nows"}), 1);
  EXPECT_EQ(err, "batchai: error: workspace 'nows' not found in resource group 'rg'\n");
  EXPECT_EQ(run({"experiment", "show", "-g", "rg", "-w", "nows", "-n", "e1"}), 1);
  EXPECT_EQ(err, "batchai: error: workspace 'nows' not found in resource group 'rg'\n");
  EXPECT_EQ(run({"experiment", "create", "-g", "rg", "-w", "nows", "-n", "e1"}), 1);
  EXPECT_EQ(err, "batchai: error: workspace 'nows' not found in resource group 'rg'\n");

  ASSERT_EQ(run({"experiment", "delete", "-g", "rg", "-w", "ws", "-n", "e0", "-y"}), 0) << err;
  ASSERT_EQ(run({"experiment", "list", "-g", "rg", "-w", "ws", "-o", "tsv", "--query", "[].[name, resourceGroup]"}), 0)
      << err;
  EXPECT_EQ(out.str(), "e1\trg\n");
  // Deleting the workspace takes its experiments with it.
  ASSERT_EQ(run({"workspace", "delete", "-g", "rg", "-n", "ws", "-y"}), 0) << err;
  ASSERT_EQ(run({"workspace", "create", "-g", "rg", "-n", "ws"}), 0) << err;
  ASSERT_EQ(run({"experiment", "list", "-g", "rg", "-w", "ws"}), 0) << err;
  EXPECT_EQ(out.str(), "[]\n");
}

TEST_F(StateCli, GroupAndWorkspaceComeFromFlagThenEnvironmentThenStoredDefault) {
  for (const char* g : {"stored", "env", "flag"}) {
    ASSERT_EQ(run({"workspace", "create", "-g", g, "-n", "ws"}), 0) << err;
    ASSERT_EQ(run({"experiment", "create", "-g", g, "-w", "ws", "-n", "e"}), 0) << err;
  }
  EXPECT_EQ(run({"experiment", "show", "-n", "e"}), 1);
  EXPECT_EQ(err,
            "batchai: error: --resource-group: required (or set a default: batchai configure --defaults group=NAME)\n");
  EXPECT_EQ(run({"experiment", "show", "-g", "stored", "-n", "e"}), 1);
  EXPECT_EQ(err,
            "batchai: error: --workspace: required (or set a default: batchai configure --defaults workspace=NAME)\n");

  ASSERT_EQ(run({"configure", "--defaults", "group=stored", "workspace=ws"}), 0) << err;
  EXPECT_EQ(out.str(), "");
  auto group_of_e = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {"experiment", "show", "-n", "e"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (run(argv) != 0) return "error: " + err;
    return std::string(json().as_object()["resourceGroup"].as_string());
  };
  EXPECT_EQ(group_of_e({}), "stored");
  ctx.environment.push_back("BATCHAI_DEFAULT_GROUP=env");
  EXPECT_EQ(group_of_e({}), "env");
  EXPECT_EQ(group_of_e({"-g", "flag"}), "flag");
  EXPECT_EQ(group_of_e({"-g", "flag", "-w", "nows"}),
            "error: batchai: error: workspace 'nows' not found in resource group 'flag'\n");

  ASSERT_EQ(run({"configure", "--list-defaults", "-o", "table"}), 0) << err;
  EXPECT_EQ(out.str(),
            "Name       Source                  Value\n"
            "---------  ----------------------  -----\n"
            "group      $BATCHAI_DEFAULT_GROUP  env\n"
            "workspace  batchai configure       ws\n");

  ctx.environment.back() = "BATCHAI_DEFAULT_GROUP=";  // empty: unset
  EXPECT_EQ(group_of_e({}), "stored");
  ctx.environment.back() = "BATCHAI_DEFAULT_GROUP=not valid";
  EXPECT_EQ(group_of_e({}),
            "error: batchai: error: BATCHAI_DEFAULT_GROUP: expected 1 to 90 letters, digits, '_', '-', '.', '(' or "
            "')', not ending in '.', got \"not valid\"\n");
  ctx.environment.pop_back();

  // workspace list takes the default group too, as az's did.
  ASSERT_EQ(run({"workspace", "list", "-o", "tsv", "--query", "[].[name, resourceGroup]"}), 0) << err;
  EXPECT_EQ(out.str(), "ws\tstored\n");
  ASSERT_EQ(run({"configure", "--defaults", "group="}), 0) << err;
  ASSERT_EQ(run({"workspace", "list", "-o", "tsv", "--query", "[].[name, resourceGroup]"}), 0) << err;
  EXPECT_EQ(out.str(), "ws\tenv\nws\tflag\nws\tstored\n");
  ASSERT_EQ(run({"configure", "-l"}), 0) << err;
  EXPECT_EQ(json(), boost::json::parse(R"([{"name": "workspace", "source": "batchai configure", "value": "ws"}])"));
}

TEST_F(StateCli, ConfigureChecksWhatItStores) {
  EXPECT_EQ(run({"configure", "--defaults", "grop=rg"}), 1);
  EXPECT_EQ(err,
            "batchai: error: --defaults: unknown name 'grop' (expected group or workspace; did you mean 'group'?)\n");
  EXPECT_EQ(run({"configure", "--defaults", "group=rg", "workspace"}), 1);
  EXPECT_EQ(err, "batchai: error: --defaults: expected NAME=VALUE, got 'workspace'\n");
  EXPECT_EQ(run({"configure", "--defaults", "group=rg", "workspace=a b"}), 1);
  EXPECT_EQ(err, "batchai: error: --defaults workspace: expected 1 to 64 letters, digits, '-' or '_', got \"a b\"\n");
  auto stored = store->get_default("group");
  ASSERT_TRUE(stored);
  EXPECT_FALSE(*stored) << "nothing is stored when any pair is wrong";
  EXPECT_EQ(run({"configure", "group=rg"}), 1);
  EXPECT_EQ(err, "batchai: error: unexpected argument 'group=rg' (NAME=VALUE pairs follow --defaults)\n");
  EXPECT_EQ(run({"configure"}), 1);
  EXPECT_EQ(err, "batchai: error: nothing to do: give --defaults NAME=VALUE or --list-defaults\n");
  ASSERT_EQ(run({"configure", "-d", "workspace=w1", "-d", "group=g1", "-l"}), 0) << err;
  EXPECT_EQ(json().as_array().size(), 2u);
}

TEST_F(StateCli, AStoreThatCannotOpenIsReported) {
  ctx.store = []() -> Result<state::Store*> {
    return Error{"cannot open state database '/x/state.db': disk I/O error"};
  };
  EXPECT_EQ(run({"workspace", "list"}), 1);
  EXPECT_EQ(err, "batchai: error: cannot open state database '/x/state.db': disk I/O error\n");
  // Commands that keep no state never ask for it.
  ctx.store = nullptr;
  EXPECT_EQ(run({"workspace", "--help"}), 0);
}

}  // namespace
}  // namespace batchai::frontend
