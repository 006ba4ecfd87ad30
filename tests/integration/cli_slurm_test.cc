// The installed shape of things: the real `batchai` binary, its exit codes
// and output, against the local cluster.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "integration/run_command.h"
#include "slurm/client.h"
#include "unit/temp_dir.h"

namespace {

namespace fs = std::filesystem;

using batchai::testing::Outcome;
using batchai::testing::run_command;

class CliSlurm : public ::testing::Test {
 protected:
  fs::path dir;
  void SetUp() override {
    auto c = batchai::slurm::connect_libslurm();
    if (!c) GTEST_SKIP() << "no Slurm to test against: " << c.error().message;
    if (auto p = (*c)->partitions(); !p) GTEST_SKIP() << "Slurm is not answering: " << p.error().message;
    dir = batchai::testing::make_temp_dir("batchai-cli-slurm");
    ASSERT_FALSE(dir.empty()) << "cannot make a directory under " << fs::temp_directory_path();
  }
  void TearDown() override {
    if (!dir.empty()) fs::remove_all(dir);
  }
};

TEST_F(CliSlurm, SubmitWaitPropagatesTheExitCodeAndShowFindsTheJob) {
  std::ofstream(dir / "job.sh") << "#!/bin/bash\nsrun -l bash -c 'echo on $SLURMD_NODENAME'\nexit 5\n";
  Outcome r = run_command(std::string(BATCHAI_EXE) + " slurm submit " + (dir / "job.sh").string() + " -N 4 --exclusive --chdir " +
              dir.string() + " --wait -o tsv --query \"[[jobId, name, state, exitCode]]\"");
  EXPECT_EQ(r.status, 5) << r.out;
  EXPECT_NE(r.out.find("\tjob.sh\tFAILED\t5\n"), std::string::npos) << r.out;
  std::string id = r.out.substr(0, r.out.find('\t'));
  Outcome show = run_command(std::string(BATCHAI_EXE) + " slurm show " + id);
  EXPECT_EQ(show.status, 0) << show.out;
  EXPECT_NE(show.out.find("\"exitCode\": 5"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("\"nodeCount\": 4"), std::string::npos) << show.out;
}

TEST_F(CliSlurm, StoppedControllerOrMissingConfigIsAOneLineError) {
  Outcome r = run_command("SLURM_CONF=" + (dir / "nope.conf").string() + " " + BATCHAI_EXE + " slurm nodes");
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(r.out.starts_with("batchai: error: cannot read the Slurm configuration ")) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
}

}  // namespace
