// Each node's preparation on the local cluster, through `batchai job
// create`: batchai-prolog links the job's share on every node before
// jobPreparation runs there, and each way preparation can fail ends the job
// failed with Batch AI's error code, a message naming the node, and the
// node's logs kept.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "integration/cli_fixture.h"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

class NodeSetup : public batchai::testing::CliFixture {
 protected:
  void SetUp() override {
    CliFixture::SetUp();
    if (IsSkipped()) return;
    ASSERT_EQ(batchai("workspace create -g rg -n ws").status, 0);
    ASSERT_EQ(batchai("experiment create -g rg -w ws -n e").status, 0);
    ASSERT_EQ(batchai("cluster create -g rg -w ws -n c -s STANDARD_NC6 -t 4").status, 0);
  }

  // A 4-node job with `volumes` (azureFileShares items) and jobPreparation.
  std::string job(const std::string& name, const std::string& volumes, const std::string& preparation,
                  int nodes = 4) {
    return write_job(name, R"({"nodeCount": )" + std::to_string(nodes) +
                               R"(, "customToolkitSettings": {"commandLine": "true"},
        "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_TEMP_DIR",
        "mountVolumes": {"azureFileShares": [)" + volumes + R"(]},
        "jobPreparation": {"commandLine": )" + json::serialize(json::value(preparation)) + "}}");
  }

  fs::path stdouterr(const json::value& shown) {
    return dir / "tmp" / std::string(shown.at("jobOutputDirectoryPathSegment").as_string()) / "stdouterr";
  }

  std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
};

constexpr const char* kMyshare =
    R"({"azureFileUrl": "https://teststorage.file.core.windows.net/myshare", "relativeMountPath": "myshare"})";

TEST_F(NodeSetup, AShareIsTheSameOnEveryNodeAndKeepsWhatTheJobWrote) {
  std::ofstream(dir / "shares/myshare/seed.txt") << "seed\n";
  const std::string f =
      job("shared", kMyshare,
          "cp $AZ_BATCHAI_JOB_MOUNT_ROOT/myshare/seed.txt $AZ_BATCHAI_JOB_MOUNT_ROOT/myshare/seen-$SLURMD_NODENAME && "
          "touch $AZ_BATCHAI_JOB_TEMP/scratch-$SLURMD_NODENAME");
  ASSERT_EQ(batchai("job create -g rg -w ws -e e -n shared -c c -f " + f).status, 0);
  EXPECT_EQ(batchai("job wait --interval 1 -g rg -w ws -e e -n shared").status, 0);
  const json::value shown = batchai_json("job show -g rg -w ws -e e -n shared");
  EXPECT_EQ(shown.at("executionState"), "succeeded");
  for (const char* node : {"node1", "node2", "node3", "node4"}) {
    EXPECT_EQ(read(dir / "shares/myshare" / (std::string("seen-") + node)), "seed\n") << node;
    // Batch AI's per-node logs, with batchai-prolog's steps in them.
    const std::string log = read(stdouterr(shown) / (std::string("execution-") + node + ".log"));
    EXPECT_NE(log.find("batchai-prolog: volume myshare -> " + (dir / "shares/myshare").string()), std::string::npos)
        << log;
    EXPECT_NE(log.find("jobPreparation ended with exit code 0"), std::string::npos) << log;
    // Node scratch is gone at the end; the share's files and the logs stay.
    EXPECT_NE(log.find("batchai-prolog: node " + std::string(node) + ": removed " + (dir / "tmp").string() +
                       "/batchai-job-"),
              std::string::npos)
        << log;
  }
  const std::string scratch = (dir / "tmp" / ("batchai-job-" + std::to_string(shown.at("slurmJobId").as_int64()))).string();
  EXPECT_FALSE(fs::exists(scratch)) << scratch;
  const std::string files = batchai("job file list -g rg -w ws -e e -j shared -o tsv").out;
  for (const char* name : {"execution-node1.log", "execution-node4.log", "stdout-job_prep-node2.txt"}) {
    EXPECT_NE(files.find(name), std::string::npos) << files;
  }
}

TEST_F(NodeSetup, AFailingJobPreparationFailsTheJobWithItsNodeAndOutput) {
  const std::string f = job("prep", kMyshare, "echo no such package >&2; exit 3", 2);
  ASSERT_EQ(batchai("job create -g rg -w ws -e e -n prep -c c -f " + f).status, 0);
  const batchai::testing::CliOutcome waited = batchai("job wait --interval 1 -g rg -w ws -e e -n prep");
  EXPECT_EQ(waited.status, 3) << waited.err;
  const json::value shown = batchai_json("job show -g rg -w ws -e e -n prep");
  EXPECT_EQ(shown.at("executionState"), "failed");
  const auto& errors = shown.at("executionInfo").at("errors").as_array();
  ASSERT_EQ(errors.size(), 2u) << shown;  // both nodes ran it and failed
  EXPECT_EQ(errors[0].at("code"), "JobPreparationFailed");
  EXPECT_EQ(errors[0].at("message"), "jobPreparation exited with code 3 on node1");
  EXPECT_EQ(errors[0].at("details").at(0).at("value"), "node1");
  EXPECT_EQ(read(stdouterr(shown) / "stderr-job_prep-node1.txt"), "no such package\n");
  EXPECT_NE(read(stdouterr(shown) / "execution-node2.log").find("jobPreparation ended with exit code 3"),
            std::string::npos);
}

TEST_F(NodeSetup, AShareWhoseDirectoryIsMissingIsAMountError) {
  // The site maps "ghost" to a directory the nodes do not have.
  const std::string d = dir.string();
  std::ofstream(dir / "site.json") << R"({
  "jobsRoot": ")" << d << R"(/jobs", "nodeTempRoot": ")" << d << R"(/tmp",
  "vmSizes": [{"name": "STANDARD_NC6", "partition": "batch"}],
  "shares": [{"type": "azureFileShare", "name": "ghost", "path": ")" << d << R"(/shares/ghost"}]
})";
  const std::string f = job("mount", R"({"azureFileUrl": "https://teststorage.file.core.windows.net/ghost",
                                         "relativeMountPath": "data"})",
                            "touch $AZ_BATCHAI_JOB_TEMP/prepared", 2);
  ASSERT_EQ(batchai("job create -g rg -w ws -e e -n mount -c c -f " + f).status, 0);
  EXPECT_NE(batchai("job wait --interval 1 -g rg -w ws -e e -n mount").status, 0);
  const json::value shown = batchai_json("job show -g rg -w ws -e e -n mount");
  EXPECT_EQ(shown.at("executionState"), "failed");
  const auto& errors = shown.at("executionInfo").at("errors").as_array();
  ASSERT_FALSE(errors.empty()) << shown;
  EXPECT_EQ(errors[0].at("code"), "MountError");
  EXPECT_NE(std::string(errors[0].at("message").as_string()).find("volume 'data' on node1: its source " + d +
                                                                   "/shares/ghost cannot be reached"),
            std::string::npos)
      << errors[0];
  EXPECT_NE(read(stdouterr(shown) / "execution-node1.log").find("MountError"), std::string::npos);
  // jobPreparation never ran.
  EXPECT_FALSE(fs::exists(stdouterr(shown) / "stdout-job_prep-node1.txt"));
}

TEST_F(NodeSetup, AMountCommandOutsideTheAllowlistFailsTheJobSayingWhy) {
  const std::string f = write_job("gluster", R"({"nodeCount": 2, "customToolkitSettings": {"commandLine": "true"},
      "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_TEMP_DIR",
      "mountVolumes": {"unmanagedFileSystems": [{"mountCommand": "mount -t glusterfs 10.0.0.4:/gv0",
                                                 "relativeMountPath": "gv0"}]},
      "jobPreparation": {"commandLine": "touch $AZ_BATCHAI_JOB_TEMP/prepared"}})");
  const batchai::testing::CliOutcome created = batchai("job create -g rg -w ws -e e -n gluster -c c -f " + f);
  ASSERT_EQ(created.status, 0) << created.err;
  // Told at once, not only when the job fails.
  EXPECT_NE(created.err.find("is not in this site's allowlist"), std::string::npos) << created.err;
  EXPECT_NE(batchai("job wait --interval 1 -g rg -w ws -e e -n gluster").status, 0);
  const json::value shown = batchai_json("job show -g rg -w ws -e e -n gluster");
  EXPECT_EQ(shown.at("executionState"), "failed");
  const auto& errors = shown.at("executionInfo").at("errors").as_array();
  ASSERT_EQ(errors.size(), 2u) << shown;  // each node refused it
  EXPECT_EQ(errors[1].at("code"), "MountError");
  EXPECT_EQ(std::string(errors[1].at("message").as_string()),
            "volume 'gv0' on node2: the mountCommand \"mount -t glusterfs 10.0.0.4:/gv0\" is not in this site's "
            "allowlist (the unmanagedFileSystem shares in " + (dir / "site.json").string() + "); ask an admin to map it");
  EXPECT_NE(read(stdouterr(shown) / "execution-node2.log").find("MountError"), std::string::npos);
  EXPECT_FALSE(fs::exists(stdouterr(shown) / "stdout-job_prep-node1.txt"));
}

// No container runtime is packaged for Debian 12 (Apptainer is not), so a
// stand-in `apptainer` on PATH plays the runtime: everything around it,
// the script, Slurm, the marks and the error records, is the real path.
class ContainerStart : public NodeSetup {
 protected:
  void SetUp() override {
    NodeSetup::SetUp();
    if (IsSkipped()) return;
    const std::string d = dir.string();
    std::ofstream(dir / "site.json") << R"({
  "jobsRoot": ")" << d << R"(/jobs", "nodeTempRoot": ")" << d << R"(/tmp",
  "vmSizes": [{"name": "STANDARD_NC6", "partition": "batch"}],
  "containers": {"runtime": "apptainer"}
})";
    fs::create_directories(dir / "bin");
    env += "PATH=" + (dir / "bin").string() + ":" + std::getenv("PATH") + " ";
  }

  void runtime(const std::string& body) {
    std::ofstream(dir / "bin/apptainer") << "#!/bin/bash\n" << body;
    fs::permissions(dir / "bin/apptainer", fs::perms(0755));
  }

  std::string container_job(const std::string& name) {
    return write_job(name, R"({"nodeCount": 2, "customToolkitSettings": {"commandLine": "true"},
        "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_TEMP_DIR",
        "containerSettings": {"imageSourceRegistry": {"image": "nosuch/image:1"}},
        "jobPreparation": {"commandLine": "touch $AZ_BATCHAI_JOB_TEMP/prepared"}})");
  }
};

TEST_F(ContainerStart, AContainerThatDoesNotStartIsContainerStartFailedOnEachNode) {
  runtime("echo 'FATAL: while making image from oci registry: nosuch/image:1: not found' >&2\nexit 255\n");
  ASSERT_EQ(batchai("job create -g rg -w ws -e e -n broken -c c -f " + container_job("broken")).status, 0);
  EXPECT_NE(batchai("job wait --interval 1 -g rg -w ws -e e -n broken").status, 0);
  const json::value shown = batchai_json("job show -g rg -w ws -e e -n broken");
  EXPECT_EQ(shown.at("executionState"), "failed");
  const auto& errors = shown.at("executionInfo").at("errors").as_array();
  ASSERT_EQ(errors.size(), 2u) << shown;
  EXPECT_EQ(errors[0].at("code"), "ContainerStartFailed");
  EXPECT_EQ(std::string(errors[0].at("message").as_string()),
            "the job's container (image docker://nosuch/image:1) did not start on node1; see "
            "stderr-container-node1.txt");
  EXPECT_EQ(errors[1].at("details").at(0).at("value"), "node2");
  // The runtime's own words, and the node's log, are kept.
  EXPECT_NE(read(stdouterr(shown) / "stderr-container-node2.txt").find("FATAL: while making image"),
            std::string::npos);
  EXPECT_NE(read(stdouterr(shown) / "execution-node2.log").find("ContainerStartFailed"), std::string::npos);
  EXPECT_FALSE(fs::exists(stdouterr(shown) / "stdout-job_prep-node1.txt"));
}

TEST_F(ContainerStart, AContainerThatStartsRunsJobPreparationInIt) {
  // Runs what follows the image, as `apptainer exec [options] IMAGE CMD...` does.
  runtime("while [ $# -gt 0 ] && [[ $1 != docker://* ]]; do shift; done\nshift\n"
          "export BATCHAI_IN_CONTAINER=1\nexec \"$@\"\n");
  const std::string f = write_job("works", R"({"nodeCount": 2,
      "customToolkitSettings": {"commandLine": "echo main $BATCHAI_IN_CONTAINER"},
      "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_TEMP_DIR",
      "containerSettings": {"imageSourceRegistry": {"image": "nosuch/image:1"}},
      "jobPreparation": {"commandLine": "echo prep $BATCHAI_IN_CONTAINER"}})");
  ASSERT_EQ(batchai("job create -g rg -w ws -e e -n works -c c -f " + f).status, 0);
  EXPECT_EQ(batchai("job wait --interval 1 -g rg -w ws -e e -n works").status, 0);
  const json::value shown = batchai_json("job show -g rg -w ws -e e -n works");
  EXPECT_EQ(shown.at("executionState"), "succeeded") << shown;
  EXPECT_EQ(read(stdouterr(shown) / "stdout-job_prep-node2.txt"), "prep 1\n");
  EXPECT_NE(read(stdouterr(shown) / "execution-node1.log").find("container started"), std::string::npos);
}

TEST_F(NodeSetup, AMountPathOutsideTheMountRootIsRefusedAtCreate) {
  const std::string f = job("escape", R"({"azureFileUrl": "https://teststorage.file.core.windows.net/myshare",
                                          "relativeMountPath": "../../etc"})",
                            "true");
  const batchai::testing::CliOutcome r = batchai("job create -g rg -w ws -e e -n escape -c c -f " + f);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("properties.mountVolumes.azureFileShares[0].relativeMountPath: \"../../etc\" escapes"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(batchai("job show -g rg -w ws -e e -n escape").status, 1);  // nothing recorded
}

}  // namespace
