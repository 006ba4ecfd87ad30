// `batchai completion bash`: the script is generated from the command
// table, so every command and option of the table must complete, through
// a real bash.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "frontend/cli.h"

namespace batchai::frontend {
namespace {

class Completion : public ::testing::Test {
 protected:
  void SetUp() override {
    script = std::filesystem::temp_directory_path() / ("batchai-completion-" + std::to_string(::getpid()) + ".bash");
    std::ostringstream out, help;
    Context ctx;
    ctx.out = &out;
    const std::vector<std::string> args{"completion", "bash"};
    ASSERT_EQ(run(args, ctx, help), 0);
    std::ofstream(script) << out.str();
  }
  void TearDown() override { std::filesystem::remove(script); }

  // What bash offers for the words typed so far; the last is being typed.
  std::string complete(const std::string& words) {
    const std::string cmd = "bash -c 'source " + script.string() +
                            "; read -r -a COMP_WORDS <<<\"$0\"; [[ $0 == *\" \" ]] && COMP_WORDS+=(\"\"); "
                            "COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _batchai; echo \"${COMPREPLY[*]}\"' '" +
                            words + "'";
    std::string out;
    FILE* pipe = ::popen(cmd.c_str(), "r");
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
    ::pclose(pipe);
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  std::filesystem::path script;
};

TEST_F(Completion, GroupsCommandsAndOptionsComplete) {
  EXPECT_EQ(complete("batchai cl"), "cluster");
  EXPECT_EQ(complete("batchai cluster node e"), "exec");
  EXPECT_EQ(complete("batchai job "), "create delete export file list node show terminate validate wait");
  EXPECT_EQ(complete("batchai job create --con"), "--config-file");
  // Global options and option values before the command do not get in the way.
  EXPECT_EQ(complete("batchai -o json job fi"), "file");
  EXPECT_EQ(complete("batchai job create -g rg -w ws --qu"), "--query");
}

TEST_F(Completion, EveryCommandAndOptionOfTheTableCompletes) {
  for (const Command* c : commands()) {
    const std::string path(c->path);
    const auto space = path.rfind(' ');
    const std::string parent = space == std::string::npos ? "" : path.substr(0, space);
    const std::string last = space == std::string::npos ? path : path.substr(space + 1);
    const std::string offered = " " + complete("batchai " + (parent.empty() ? "" : parent + " ")) + " ";
    EXPECT_NE(offered.find(" " + last + " "), std::string::npos) << path << " not in" << offered;
    const std::string options = " " + complete("batchai " + path + " -") + " ";
    for (const auto& o : c->options) {
      EXPECT_NE(options.find(" --" + std::string(o.name) + " "), std::string::npos) << path << " --" << o.name;
    }
  }
}

TEST_F(Completion, OnlyBash) {
  std::ostringstream out, help;
  Context ctx;
  ctx.out = &out;
  const std::vector<std::string> args{"completion", "zsh"};
  EXPECT_EQ(run(args, ctx, help), 1);
}

}  // namespace
}  // namespace batchai::frontend
