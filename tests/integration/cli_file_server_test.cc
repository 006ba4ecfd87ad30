// `batchai file-server`, the job volume flags and list-usages against the
// local cluster: a file server made, listed, shown and deleted; a job with
// --nfs writes into it; list-usages counts the CPUs sinfo counts. Skips
// without Slurm (CliFixture).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "integration/cli_fixture.h"
#include "integration/run_command.h"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using batchai::testing::CliFixture;
using batchai::testing::CliOutcome;

class CliFileServer : public CliFixture {
 protected:
  void SetUp() override {
    CliFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // The fixture's site, with a storage root for file servers and shares.
    const std::string d = dir.string();
    std::ofstream(dir / "site.json") << R"({
  "jobsRoot": ")" << d << R"(/jobs", "nodeTempRoot": ")" << d << R"(/tmp", "storageRoot": ")" << d << R"(/storage",
  "containers": {"runtime": "none", "allowHostWithoutContainer": true},
  "shares": [{"type": "azureBlobFileSystem", "name": "cont", "path": ")" << d << R"(/blob"}]
})";
    fs::create_directories(dir / "blob");
    ASSERT_EQ(batchai("configure --defaults group=rg workspace=ws").status, 0);
    ASSERT_EQ(batchai("workspace create -n ws").status, 0);
    ASSERT_EQ(batchai("experiment create -n e").status, 0);
  }
};

TEST_F(CliFileServer, CreateListShowDelete) {
  auto created = batchai_json("file-server create -n nfs1 -s STANDARD_D14_V2 --disk-count 2 --disk-size 10");
  const fs::path made = dir / "storage" / "fileServers" / "nfs1";
  EXPECT_EQ(created.at("mountSettings").at("mountPoint"), json::value(made.string()));
  EXPECT_TRUE(fs::is_directory(made));
  auto listed = batchai_json("file-server list");
  ASSERT_EQ(listed.as_array().size(), 1u);
  EXPECT_EQ(listed.at(0).at("name"), "nfs1");
  EXPECT_EQ(batchai_json("file-server show -n nfs1"), created);
  CliOutcome quiet = batchai("file-server create -n nfs2 -s S --no-wait");
  EXPECT_EQ(quiet.status, 0) << quiet.err;
  EXPECT_EQ(quiet.out, "");
  EXPECT_EQ(batchai("file-server delete -n nfs1 -y").status, 0);
  EXPECT_EQ(batchai("file-server delete -n nfs2 -y").status, 0);
  EXPECT_FALSE(fs::exists(made)) << "an empty directory batchai made goes with it";
  EXPECT_EQ(batchai("file-server show -n nfs1").status, 1);
}

TEST_F(CliFileServer, JobWritesIntoTheFileServerItMounts) {
  ASSERT_EQ(batchai("file-server create -n nfs1 -s S").status, 0);
  const std::string job = write_job("writer", R"({"nodeCount": 1, "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_TEMP_DIR",
      "customToolkitSettings": {"commandLine": "echo from-the-job > $AZ_BATCHAI_JOB_MOUNT_ROOT/data/out.txt"}})");
  CliOutcome created = batchai("job create -e e -n w -c batch -f " + job + " --nfs nfs1 --nfs-mount-path data");
  ASSERT_EQ(created.status, 0) << created.err;
  CliOutcome waited = batchai("job wait -e e -n w --interval 1");
  EXPECT_EQ(waited.status, 0) << waited.err;
  std::ifstream in(dir / "storage" / "fileServers" / "nfs1" / "out.txt");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "from-the-job\n");
  auto shown = batchai_json("job show -e e -n w");
  EXPECT_EQ(shown.at("mountVolumes").at("fileServers").at(0).at("relativeMountPath"), "data");
  // The file it wrote stays: delete keeps a directory that holds files.
  CliOutcome deleted = batchai("file-server delete -n nfs1 -y");
  EXPECT_EQ(deleted.status, 0) << deleted.err;
  EXPECT_NE(deleted.err.find("it holds files"), std::string::npos) << deleted.err;
  EXPECT_TRUE(fs::exists(dir / "storage" / "fileServers" / "nfs1" / "out.txt"));
}

// az's --afs-name and --bfs-name on job create: a share made with
// `storage share create` and a container the site maps, both mounted where
// the flags say, and both written by the job.
TEST_F(CliFileServer, AfsAndBfsFlagsMountWhatTheJobWritesInto) {
  ASSERT_EQ(batchai("storage share create -n share1").status, 0);
  const std::string job = write_job("both", R"({"nodeCount": 1, "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_TEMP_DIR",
      "customToolkitSettings": {"commandLine":
        "echo afs > $AZ_BATCHAI_JOB_MOUNT_ROOT/a/x.txt && echo bfs > $AZ_BATCHAI_JOB_MOUNT_ROOT/b/y.txt"}})");
  CliOutcome created = batchai("job create -e e -n ab -c batch -f " + job +
                               " --afs-name share1 --afs-mount-path a --bfs-name cont --bfs-mount-path b");
  ASSERT_EQ(created.status, 0) << created.err;
  CliOutcome waited = batchai("job wait -e e -n ab --interval 1");
  EXPECT_EQ(waited.status, 0) << waited.out << waited.err;
  auto read = [](const fs::path& p) {
    std::ifstream in(p);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  EXPECT_EQ(read(dir / "storage" / "share1" / "x.txt"), "afs\n");
  EXPECT_EQ(read(dir / "blob" / "y.txt"), "bfs\n");
  auto shown = batchai_json("job show -e e -n ab");
  EXPECT_EQ(shown.at("mountVolumes").at("azureFileShares").at(0).at("relativeMountPath"), "a");
  EXPECT_EQ(shown.at("mountVolumes").at("azureBlobFileSystems").at(0).at("containerName"), "cont");
}

// -o table and -o tsv of file servers and usages carry what -o json does.
TEST_F(CliFileServer, TableAndTsvSayWhatJsonSays) {
  ASSERT_EQ(batchai("file-server create -n nfs1 -s STANDARD_D14_V2").status, 0);
  // tsv as az's: the JSON's values by sorted key; the mount point is
  // nested, so a query takes it out.
  CliOutcome tsv = batchai("file-server list -o tsv");
  ASSERT_EQ(tsv.status, 0) << tsv.err;
  EXPECT_NE(tsv.out.find("\tnfs1\t"), std::string::npos) << tsv.out;
  CliOutcome mount = batchai("file-server list -o tsv --query \"[].[name, mountSettings.mountPoint]\"");
  EXPECT_EQ(mount.out, "nfs1\t" + (dir / "storage" / "fileServers" / "nfs1").string() + "\n") << mount.err;
  CliOutcome table = batchai("file-server show -n nfs1 -o table");
  ASSERT_EQ(table.status, 0) << table.err;
  EXPECT_NE(table.out.find("Name"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("nfs1"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("STANDARD_D14_V2"), std::string::npos) << table.out;
  const json::value usages = batchai_json("list-usages -l eastus");
  CliOutcome usage_tsv = batchai("list-usages -l eastus -o tsv");
  ASSERT_EQ(usage_tsv.status, 0) << usage_tsv.err;
  std::size_t lines = 0;
  for (char c : usage_tsv.out) lines += c == '\n';
  EXPECT_EQ(lines, usages.as_array().size()) << usage_tsv.out;
  // currentValue, limit, name (an object: empty), unit; in -o json's order.
  std::string want;
  for (const auto& u : usages.as_array()) {
    want += std::to_string(u.at("currentValue").to_number<std::int64_t>()) + "\t" +
            std::to_string(u.at("limit").to_number<std::int64_t>()) + "\t\tCount\n";
  }
  EXPECT_EQ(usage_tsv.out, want);
  CliOutcome usage_table = batchai("list-usages -l eastus -o table");
  ASSERT_EQ(usage_table.status, 0) << usage_table.err;
  // az's table: Value (the localized name), Usage, Limit.
  for (const auto& u : usages.as_array()) {
    EXPECT_NE(usage_table.out.find(std::string(u.at("name").at("localizedValue").as_string())), std::string::npos)
        << usage_table.out;
  }
  EXPECT_EQ(batchai("file-server delete -n nfs1 -y").status, 0);
}

TEST_F(CliFileServer, ListUsagesLimitsAreSinfosTotals) {
  // sinfo's %C: allocated/idle/other/total CPUs of the partition.
  auto sinfo = batchai::testing::run_command("sinfo -h -p batch -o %C");
  ASSERT_EQ(sinfo.status, 0) << sinfo.out;
  const std::string total = sinfo.out.substr(sinfo.out.rfind('/') + 1);
  auto usages = batchai_json("list-usages -l eastus");
  bool found = false;
  for (const auto& u : usages.as_array()) {
    EXPECT_EQ(u.at("unit"), "Count");
    if (u.at("name").at("value") == "batchDedicatedCores") {
      found = true;
      EXPECT_EQ(u.at("limit").to_number<std::int64_t>(), std::stoll(total)) << sinfo.out;
    }
  }
  EXPECT_TRUE(found) << json::serialize(usages);
  // A running job holds CPUs, which the usage counts.
  const std::string sleeper = write_job("sleeper", R"({"nodeCount": 1, "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_TEMP_DIR",
      "customToolkitSettings": {"commandLine": "sleep 120"}})");
  ASSERT_EQ(batchai("job create -e e -n s -c batch -f " + sleeper).status, 0);
  ASSERT_TRUE(wait_for("job show -e e -n s --query executionState", "running"));
  auto busy = batchai_json("list-usages -l eastus --query \"[?name.value=='batchDedicatedCores'].currentValue | [0]\"");
  auto now = batchai::testing::run_command("sinfo -h -p batch -o %C");
  EXPECT_GE(busy.to_number<std::int64_t>(), 1) << now.out;
  EXPECT_EQ(batchai("job terminate -e e -n s -y").status, 0);
}

}  // namespace
