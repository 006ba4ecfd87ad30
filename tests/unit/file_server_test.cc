// `batchai file-server` and the job volume flags through the CLI, with the
// fake Slurm and real SQLite and records: a file server is a directory
// under the storage root (or the site's own fileServer share), shown as
// az's FileServer; jobs mount it by name (--nfs or fileServers[]); a
// rebuilt database keeps it; delete keeps a directory that holds files.
// Also list-usages, from the fake Slurm's nodes.
#include <gtest/gtest.h>

#include <algorithm>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fake_slurm.h"
#include "frontend/cli.h"
#include "frontend/commands/state_records.h"
#include "unit/run_cli.h"
#include "unit/temp_dir.h"

namespace batchai::frontend {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using batchai::testing::FakeSlurm;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class FileServerCli : public ::testing::Test {
 protected:
  FakeSlurm fake;
  std::ostringstream out, help;
  Context ctx;
  fs::path dir, root, mapped;
  std::string err, job, conf;

  void SetUp() override {
    dir = batchai::testing::make_test_dir("batchai-file-server-test");
    ASSERT_FALSE(dir.empty());
    ctx.out = &out;
    ctx.slurm = [this]() -> Result<slurm::Client*> { return &fake; };
    ctx.sleep = [](std::chrono::milliseconds) {};
    conf = (dir / "site.json").string();
    root = dir / "storage";
    mapped = dir / "site-nfs";
    fs::create_directories(mapped);
    std::ofstream(conf) << R"({"jobsRoot": ")" << (dir / "jobs").string() << R"(", "storageRoot": ")"
                        << root.string() << R"(", "shares": [{"type": "fileServer", "name": "sitenfs", "path": ")"
                        << mapped.string() << R"("}],
        "vmSizes": [{"name": "STANDARD_NC6", "partition": "batch", "lowPriorityPartition": "lowpri", "gpusPerNode": 2},
                    {"name": "STANDARD_D4", "partition": "cpu"}]})";
    ctx.environment = {"PATH=/usr/bin", "HOME=" + dir.string(), "USER=alice", "BATCHAI_CONF=" + conf,
                       "BATCHAI_DEFAULT_GROUP=rg", "BATCHAI_DEFAULT_WORKSPACE=ws"};
    ctx.state_dir = (dir / "state").string();
    job = (dir / "job.json").string();
    std::ofstream(job) << R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_TEMP_DIR",
        "customToolkitSettings": {"commandLine": "echo hi > $AZ_BATCHAI_JOB_MOUNT_ROOT/nfs/out.txt"}}})";
    slurm::PartitionInfo p;
    p.name = "batch";
    p.is_default = true;
    p.total_nodes = 2;
    p.node_names = {"node1", "node2"};
    fake.partition_list.push_back(p);
    ASSERT_EQ(run({"workspace", "create", "-n", "ws"}), 0) << err;
    ASSERT_EQ(run({"experiment", "create", "-n", "e"}), 0) << err;
  }
  void TearDown() override {
    if (!dir.empty()) fs::remove_all(dir);
  }

  int run(std::vector<std::string> argv) {
    out.str("");
    ctx.store = state_opener(ctx);
    const int rc = batchai::testing::run_cli(argv, ctx, help, err);
    ctx.store = nullptr;
    return rc;
  }
  json::value parsed() { return json::parse(out.str()); }
};

TEST_F(FileServerCli, CreateShowsAzsFileServerAndMakesTheDirectory) {
  ASSERT_EQ(run({"file-server", "create", "-n", "nfs1", "-s", "STANDARD_D14", "--disk-count", "4", "--disk-size",
                 "512", "--storage-sku", "Premium_LRS", "-p", "secret"}),
            0)
      << err;
  const fs::path made = root / "fileServers" / "nfs1";
  EXPECT_TRUE(fs::is_directory(made));
  const json::value got = parsed();
  EXPECT_EQ(got.at("id"), "/subscriptions/local/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/ws/"
                          "fileServers/nfs1");
  EXPECT_EQ(got.at("type"), "Microsoft.BatchAI/workspaces/fileServers");
  EXPECT_EQ(got.at("vmSize"), "STANDARD_D14");
  EXPECT_EQ(got.at("dataDisks"), json::parse(R"({"cachingType": "none", "diskCount": 4, "diskSizeInGB": 512,
                                                 "storageAccountType": "Premium_LRS"})"));
  EXPECT_EQ(got.at("mountSettings").at("mountPoint"), json::value(made.string()));
  EXPECT_EQ(got.at("mountSettings").at("fileServerType"), "nfs");
  EXPECT_EQ(got.at("sshConfiguration").at("userAccountSettings").at("adminUserName"), "alice");
  EXPECT_TRUE(got.at("sshConfiguration").at("userAccountSettings").at("adminUserPassword").is_null());
  EXPECT_EQ(got.at("provisioningState"), "succeeded");
  EXPECT_NE(err.find("--disk-count is recorded; on Slurm the file server is the directory"), std::string::npos)
      << err;
  EXPECT_EQ(slurp(dir / "state" / "state.db").find("secret"), std::string::npos) << "a password is never stored";

  ASSERT_EQ(run({"file-server", "show", "-n", "nfs1"}), 0) << err;
  EXPECT_EQ(parsed(), got);
  ASSERT_EQ(run({"file-server", "list", "-o", "table"}), 0) << err;
  EXPECT_NE(out.str().find("Name  Resource Group  Size          Disks       Public IP  Internal IP  Mount Point"),
            std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find("4 x 512 Gb"), std::string::npos) << out.str();

  EXPECT_EQ(run({"file-server", "create", "-n", "nfs1", "-s", "STANDARD_D14"}), 1);
  EXPECT_NE(err.find("file server 'nfs1' already exists"), std::string::npos) << err;
  EXPECT_EQ(run({"file-server", "create", "-n", "nfs2"}), 1);
  EXPECT_NE(err.find("--vm-size: required"), std::string::npos) << err;
  EXPECT_EQ(run({"file-server", "create", "-n", "nfs2", "-s", "X", "--caching-type", "sometimes"}), 1);
  EXPECT_NE(err.find("--caching-type: expected none, readonly or readwrite"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(root / "fileServers" / "nfs2")) << "a refused create leaves no directory";
}

TEST_F(FileServerCli, ConfigFileGivesTheSettingsAndFlagsWin) {
  const std::string nfs = (dir / "nfs.json").string();
  std::ofstream(nfs) << R"({"properties": {"vmSize": "STANDARD_D2", "dataDisks": {"diskSizeInGB": 10,
      "diskCount": 2, "storageAccountType": "Standard_LRS"}, "sshConfiguration": {"userAccountSettings":
      {"adminUserName": "bob"}}, "subnet": {"id": "/x/subnets/s"}}})";
  ASSERT_EQ(run({"file-server", "create", "-n", "nfs1", "-f", nfs, "--disk-count", "3"}), 0) << err;
  const json::value got = parsed();
  EXPECT_EQ(got.at("vmSize"), "STANDARD_D2");
  EXPECT_EQ(got.at("dataDisks").at("diskCount"), 3);
  EXPECT_EQ(got.at("dataDisks").at("diskSizeInGB"), 10);
  EXPECT_EQ(got.at("sshConfiguration").at("userAccountSettings").at("adminUserName"), "bob");
  EXPECT_EQ(got.at("subnet").at("id"), "/x/subnets/s");

  std::ofstream(nfs) << R"({"properties": {"vmSize": 5}})";
  EXPECT_EQ(run({"file-server", "create", "-n", "nfs2", "-f", nfs}), 1);
  EXPECT_NE(err.find(nfs + ": properties.vmSize: expected a string"), std::string::npos) << err;
}

TEST_F(FileServerCli, NoWaitPrintsNothing) {
  ASSERT_EQ(run({"file-server", "create", "-n", "nfs1", "-s", "S", "--no-wait"}), 0) << err;
  EXPECT_EQ(out.str(), "");
  ASSERT_EQ(run({"file-server", "show", "-n", "nfs1"}), 0) << err;
  ASSERT_EQ(run({"job", "create", "-e", "e", "-n", "j1", "-c", "batch", "-f", job, "--no-wait"}), 0) << err;
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(fake.submitted.size(), 1u) << "the job is submitted all the same";
}

TEST_F(FileServerCli, SiteMappedServerIsRecordedAndItsDirectoryKept) {
  ASSERT_EQ(run({"file-server", "create", "-n", "sitenfs", "-s", "S"}), 0) << err;
  EXPECT_EQ(parsed().at("mountSettings").at("mountPoint"), json::value(mapped.string()));
  EXPECT_FALSE(fs::exists(root / "fileServers" / "sitenfs"));
  ASSERT_EQ(run({"file-server", "delete", "-n", "sitenfs", "-y"}), 0) << err;
  EXPECT_TRUE(fs::is_directory(mapped));
  EXPECT_NE(err.find("kept " + mapped.string() + ": batchai did not make it"), std::string::npos) << err;
}

TEST_F(FileServerCli, DeleteConfirmsAndRemovesOnlyAnEmptyDirectoryItMade) {
  ASSERT_EQ(run({"file-server", "create", "-n", "empty", "-s", "S"}), 0) << err;
  ASSERT_EQ(run({"file-server", "create", "-n", "full", "-s", "S"}), 0) << err;
  std::ofstream(root / "fileServers" / "full" / "data.txt") << "results";
  EXPECT_EQ(run({"file-server", "delete", "-n", "empty"}), 1) << "no terminal to confirm on, and no -y";
  EXPECT_TRUE(fs::is_directory(root / "fileServers" / "empty"));
  ASSERT_EQ(run({"file-server", "delete", "-n", "empty", "-y"}), 0) << err;
  EXPECT_FALSE(fs::exists(root / "fileServers" / "empty"));
  ASSERT_EQ(run({"file-server", "delete", "-n", "full", "-y"}), 0) << err;
  EXPECT_EQ(slurp(root / "fileServers" / "full" / "data.txt"), "results");
  EXPECT_NE(err.find("it holds files"), std::string::npos) << err;
  ASSERT_EQ(run({"file-server", "list"}), 0) << err;
  EXPECT_EQ(parsed(), json::array{});
  EXPECT_EQ(run({"file-server", "show", "-n", "full"}), 1);
  EXPECT_NE(err.find("file server 'full' not found in workspace 'ws'"), std::string::npos) << err;
}

TEST_F(FileServerCli, ShowAndDeleteTakeTheIdsWePrint) {
  const std::string base = "/subscriptions/local/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/ws/fileServers/";
  ASSERT_EQ(run({"file-server", "create", "-n", "a", "-s", "S"}), 0) << err;
  ASSERT_EQ(run({"file-server", "create", "-n", "b", "-s", "S"}), 0) << err;
  ASSERT_EQ(run({"file-server", "show", "--ids", base + "a"}), 0) << err;
  EXPECT_EQ(parsed().at("name"), "a");
  ASSERT_EQ(run({"file-server", "show", "--ids", base + "a", base + "b"}), 0) << err;
  const json::value both = parsed();
  ASSERT_TRUE(both.is_array());
  ASSERT_EQ(both.as_array().size(), 2u);
  EXPECT_EQ(both.as_array()[1].at("name"), "b");
  // A cluster's id is not a file server's: one line, and nothing deleted.
  EXPECT_EQ(run({"file-server", "delete", "-y", "--ids", base + "a",
                 "/subscriptions/local/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/ws/clusters/c"}),
            1);
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find("--ids"), std::string::npos) << err;
  EXPECT_EQ(run({"file-server", "delete", "-y", "--ids", base + "a", base + "missing"}), 1);
  EXPECT_NE(err.find("file server 'missing' not found"), std::string::npos) << err;
  ASSERT_EQ(run({"file-server", "show", "-n", "a"}), 0) << "a failed delete deletes none of its ids";
  ASSERT_EQ(run({"file-server", "delete", "-y", "--ids", base + "a", base + "b"}), 0) << err;
  ASSERT_EQ(run({"file-server", "list"}), 0) << err;
  EXPECT_EQ(parsed(), json::array{});
  EXPECT_FALSE(fs::exists(root / "fileServers" / "a"));
}

TEST_F(FileServerCli, RebuildBringsFileServersBack) {
  ASSERT_EQ(run({"file-server", "create", "-n", "nfs1", "-s", "STANDARD_D14", "--disk-count", "2"}), 0) << err;
  const json::value before = parsed();
  EXPECT_TRUE(fs::exists(dir / "jobs" / "rg" / "workspaces" / "ws" / "fileServers" / "nfs1" / "fileserver.json"));
  fs::remove_all(dir / "state");
  ASSERT_EQ(run({"state", "rebuild"}), 0) << err;
  EXPECT_EQ(parsed().at("fileServers"), 1);
  ASSERT_EQ(run({"file-server", "show", "-n", "nfs1"}), 0) << err;
  EXPECT_EQ(parsed(), before);
  ASSERT_EQ(run({"file-server", "delete", "-n", "nfs1", "-y"}), 0) << err;
  EXPECT_FALSE(fs::exists(dir / "jobs" / "rg" / "workspaces" / "ws" / "fileServers" / "nfs1" / "fileserver.json"));
}

TEST_F(FileServerCli, JobsMountARecordedFileServerByName) {
  ASSERT_EQ(run({"file-server", "create", "-n", "nfs1", "-s", "S"}), 0) << err;
  ASSERT_EQ(run({"job", "create", "-e", "e", "-n", "j1", "-c", "batch", "-f", job, "--nfs", "nfs1"}), 0) << err;
  ASSERT_EQ(fake.submitted.size(), 1u);
  const std::string made = (root / "fileServers" / "nfs1").string();
  EXPECT_NE(fake.submitted[0].script.find(made), std::string::npos) << fake.submitted[0].script;
  ASSERT_EQ(run({"job", "show", "-e", "e", "-n", "j1"}), 0) << err;
  const json::value volume = parsed().at("mountVolumes").at("fileServers").at(0);
  EXPECT_EQ(volume, json::parse(R"({"fileServer": {"id": "/subscriptions/local/resourceGroups/rg/providers/)"
                                R"(Microsoft.BatchAI/workspaces/ws/fileServers/nfs1"}, "relativeMountPath": "nfs",)"
                                R"( "mountOptions": "rw"})"));

  // The same by its id in a job.json, and an unknown one refused by name.
  std::ofstream(job) << R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_TEMP_DIR",
      "mountVolumes": {"fileServers": [{"fileServer": {"id": "/subscriptions/x/resourceGroups/rg/providers/)"
                        R"(Microsoft.BatchAI/workspaces/ws/fileServers/nfs1"}, "relativeMountPath": "data"}]},
      "customToolkitSettings": {"commandLine": "ls"}}})";
  ASSERT_EQ(run({"job", "create", "-e", "e", "-n", "j2", "-c", "batch", "-f", job}), 0) << err;
  EXPECT_NE(fake.submitted.back().script.find(made), std::string::npos);
  EXPECT_EQ(run({"job", "create", "-e", "e", "-n", "j3", "-c", "batch", "-f", job, "--nfs", "nope"}), 1);
  EXPECT_NE(err.find("no file server named \"nope\""), std::string::npos) << err;
}

// job export takes the same flags: the exported job.json mounts the server.
TEST_F(FileServerCli, ExportCarriesTheVolumeFlags) {
  ASSERT_EQ(run({"file-server", "create", "-n", "nfs1", "-s", "S"}), 0) << err;
  ASSERT_EQ(run({"job", "export", "-e", "e", "-n", "x1", "-c", "batch", "-f", job, "--nfs", "nfs1",
                 "--nfs-mount-path", "shared"}),
            0)
      << err;
  EXPECT_TRUE(fake.submitted.empty());
  ASSERT_EQ(run({"job", "show", "-e", "e", "-n", "x1"}), 0) << err;
  const json::value shown = parsed();
  EXPECT_EQ(shown.at("mountVolumes").at("fileServers").at(0).at("relativeMountPath"), "shared");
  const std::string dir_of_job(shown.at("jobOutputDirectoryPathSegment").as_string());
  EXPECT_FALSE(dir_of_job.empty());
  EXPECT_EQ(run({"job", "create", "-e", "e", "-n", "x2", "-c", "batch", "-f", job, "--nfs-mount-path", "p"}), 0);
  EXPECT_NE(err.find("--nfs-mount-path without --nfs does nothing"), std::string::npos) << err;
}

TEST_F(FileServerCli, AfsAndBfsFlagsAddVolumesAsAzDid) {
  fs::create_directories(root / "share1");
  ASSERT_EQ(run({"job", "create", "-e", "e", "-n", "j1", "-c", "batch", "-f", job, "--afs-name", "share1",
                 "--afs-mount-path", "data", "--storage-account-name", "acct", "--dry-run"}),
            0)
      << err;
  EXPECT_NE(out.str().find((root / "share1").string()), std::string::npos) << out.str();
  ASSERT_EQ(run({"job", "create", "-e", "e", "-n", "j1", "-c", "batch", "-f", job, "--afs-name", "share1",
                 "--storage-account-name", "acct"}),
            0)
      << err;
  ASSERT_EQ(run({"job", "show", "-e", "e", "-n", "j1"}), 0) << err;
  EXPECT_EQ(parsed().at("mountVolumes").at("azureFileShares").at(0),
            json::parse(R"({"accountName": "acct", "azureFileUrl": "https://acct.file.core.windows.net/share1",
                             "relativeMountPath": "afs"})"));
  // A container the site does not map is refused with the plan's message.
  EXPECT_EQ(run({"job", "create", "-e", "e", "-n", "j2", "-c", "batch", "-f", job, "--bfs-name", "cont"}), 1);
  EXPECT_NE(err.find("azureBlobFileSystems[0]"), std::string::npos) << err;
  EXPECT_NE(err.find("no blob container named \"cont\""), std::string::npos) << err;
}

slurm::NodeInfo node(const std::string& name, std::uint32_t cpus, std::uint32_t alloc, const std::string& gres,
                     const std::string& used) {
  slurm::NodeInfo n;
  n.name = name;
  n.cpus = cpus;
  n.alloc_cpus = alloc;
  n.gres = gres;
  n.gres_used = used;
  return n;
}

TEST_F(FileServerCli, ListUsagesCountsAllocatedAgainstPartitionTotals) {
  fake.partition_list.clear();
  slurm::PartitionInfo batch, lowpri, cpu;
  batch.name = "batch";
  batch.node_names = {"g1", "g2"};
  lowpri.name = "lowpri";
  lowpri.node_names = {"g1", "g2"};
  cpu.name = "cpu";
  cpu.node_names = {"c1"};
  fake.partition_list = {batch, lowpri, cpu};
  fake.node_list = {node("g1", 8, 4, "gpu:k80:2(S:0)", "gpu:k80:1(IDX:0)"), node("g2", 8, 0, "gpu:k80:2", ""),
                    node("c1", 16, 16, "", "")};
  ASSERT_EQ(run({"list-usages", "-l", "eastus"}), 0) << err;
  const json::array rows = parsed().as_array();
  using Usage = std::pair<std::int64_t, std::int64_t>;  // currentValue, limit
  std::map<std::string, Usage> got;
  for (const auto& r : rows) {
    EXPECT_EQ(r.at("unit"), "Count");
    got[std::string(r.at("name").at("value").as_string())] = {r.at("currentValue").to_number<std::int64_t>(),
                                                              r.at("limit").to_number<std::int64_t>()};
  }
  EXPECT_EQ(got["STANDARD_NC6DedicatedCores"], Usage(4, 16));
  EXPECT_EQ(got["STANDARD_NC6DedicatedGpus"], Usage(1, 4));
  EXPECT_EQ(got["STANDARD_NC6LowPriorityCores"], Usage(4, 16));
  EXPECT_EQ(got["STANDARD_D4DedicatedCores"], Usage(16, 16));
  EXPECT_FALSE(got.contains("STANDARD_D4DedicatedGpus")) << "no GPUs, no GPU row";
  EXPECT_EQ(got["TotalDedicatedCores"], Usage(20, 32));
  EXPECT_EQ(got["TotalLowPriorityCores"], Usage(4, 16));
  EXPECT_EQ(rows[0].at("name").at("localizedValue"), "STANDARD_NC6 dedicated cores (partition batch)");

  ASSERT_EQ(run({"list-usages", "-l", "eastus", "-o", "table"}), 0) << err;
  EXPECT_EQ(out.str().substr(0, out.str().find('\n')).find("Value"), 0u) << out.str();
  EXPECT_NE(out.str().find("Usage"), std::string::npos);
  EXPECT_NE(out.str().find("Limit"), std::string::npos);

  EXPECT_EQ(run({"list-usages"}), 2) << "a usage error";
  EXPECT_NE(err.find("--location: required"), std::string::npos) << err;
}

}  // namespace
}  // namespace batchai::frontend

namespace batchai::frontend {
namespace {

// The store's own rules, without the CLI: one name per workspace, a
// workspace that must exist, and a workspace delete that takes its file
// servers with it.
TEST(FileServerStore, NamesAreUniquePerWorkspaceAndGoWithIt) {
  batchai::testing::TempDir tmp;
  ASSERT_TRUE(tmp.ok());
  auto opened = state::Store::open(tmp.file("state"));
  ASSERT_TRUE(opened) << opened.error().message;
  state::Store& store = **opened;
  state::FileServer f;
  f.key = {"rg", "ws", "nfs1"};
  f.vm_size = "S";
  f.path = "/data/nfs1";
  f.properties_json = R"({"directoryCreated":true})";
  auto missing = store.create_file_server(f);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "workspace 'ws' not found in resource group 'rg'");
  ASSERT_TRUE(store.create_workspace({{"rg", "ws"}, "", 0}));
  ASSERT_TRUE(store.create_file_server(f));
  auto dup = store.create_file_server(f);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().message, "file server 'nfs1' already exists in workspace 'ws' (resource group 'rg')");
  auto got = store.file_server(f.key);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->path, "/data/nfs1");
  EXPECT_EQ((*got)->properties_json, f.properties_json);
  EXPECT_GT((*got)->created, 0) << "a creation time left 0 is the store's to fill in";
  auto gone = store.delete_file_server({"rg", "ws", "other"});
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().message, "file server 'other' not found in workspace 'ws' (resource group 'rg')");
  ASSERT_TRUE(store.delete_workspace({"rg", "ws"}));
  ASSERT_TRUE(store.create_workspace({{"rg", "ws"}, "", 0}));
  auto after = store.file_servers({"rg", "ws"});
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->empty()) << "the workspace's delete took its file servers";
}

}  // namespace
}  // namespace batchai::frontend
