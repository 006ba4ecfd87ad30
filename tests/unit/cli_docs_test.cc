// Every command of az batchai (API 2018-05-01) is a batchai command, and
// docs/cli.md says what each one does on Slurm: the table a Batch AI user
// reads before porting a script must not leave one out.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "frontend/cli.h"

namespace batchai::frontend {
namespace {

// az batchai's command tree, as its 2018-05-01 CLI has it.
constexpr std::string_view kAzCommands[] = {
    "workspace create", "workspace show", "workspace list", "workspace delete",
    "experiment create", "experiment show", "experiment list", "experiment delete",
    "cluster create", "cluster show", "cluster list", "cluster delete", "cluster resize", "cluster auto-scale",
    "cluster node list", "cluster node exec", "cluster file list",
    "job create", "job show", "job list", "job terminate", "job delete", "job wait",
    "job file list", "job file stream", "job node list", "job node exec",
    "file-server create", "file-server show", "file-server list", "file-server delete",
    "list-usages",
};

std::string cli_doc() {
  std::ifstream in(BATCHAI_CLI_DOC);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The section of docs/cli.md that maps every az batchai command.
std::string command_table(const std::string& doc) {
  const auto start = doc.find("## Every az batchai command");
  if (start == std::string::npos) return "";
  const auto end = doc.find("\n## ", start + 1);
  return doc.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

TEST(CliDoc, EveryAzBatchaiCommandIsACommand) {
  for (auto path : kAzCommands) {
    bool found = false;
    for (const Command* c : commands()) found = found || c->path == path;
    EXPECT_TRUE(found) << "az batchai " << path << " has no batchai command";
  }
}

TEST(CliDoc, EveryAzBatchaiCommandHasARowInTheDoc) {
  const std::string table = command_table(cli_doc());
  ASSERT_FALSE(table.empty()) << BATCHAI_CLI_DOC << " has no '## Every az batchai command' section";
  for (auto path : kAzCommands) {
    EXPECT_NE(table.find("| `" + std::string(path) + "`"), std::string::npos) << "no row for az batchai " << path;
  }
  // A row says what the command does here; none is left as a gap.
  for (std::string_view gap : {"missing", "not implemented", "TODO"}) {
    EXPECT_EQ(table.find(gap), std::string::npos) << "the table says '" << gap << "'";
  }
}

}  // namespace
}  // namespace batchai::frontend
