// The storage and group commands, through the same entry point as the real
// program, on real directories and a real state database in a temporary
// directory: the tutorial's storage steps (share, directory, upload,
// download), the one namespace of site-mapped and user-made shares that
// jobs resolve, and the refusals that keep a path inside its share.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "frontend/cli.h"
#include "frontend/state.h"
#include "unit/run_cli.h"
#include "unit/temp_dir.h"

namespace batchai::frontend {
namespace {

namespace fs = std::filesystem;
using batchai::testing::TempDir;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

class StorageCli : public ::testing::Test {
 protected:
  TempDir tmp;
  std::unique_ptr<state::Store> store;
  std::ostringstream out, help;
  Context ctx;
  std::string err;
  fs::path root, mapped;

  void SetUp() override {
    ASSERT_TRUE(tmp.ok());
    auto opened = state::Store::open(tmp.file("state"));
    ASSERT_TRUE(opened) << opened.error().message;
    store = std::move(*opened);
    root = tmp.path() / "storage";
    mapped = tmp.path() / "site-shares" / "teamshare";
    fs::create_directories(mapped);
    // The site maps one share itself; users make the others under storageRoot.
    write(tmp.path() / "site.json", R"({"storageRoot": ")" + root.string() + R"(", "jobsRoot": ")" +
                                        tmp.file("jobs") + R"(", "shares": [{"type": "azureFileShare",
                                        "name": "teamshare", "path": ")" + mapped.string() + R"("}]})");
    ctx.out = &out;
    ctx.slurm = []() -> Result<slurm::Client*> { return Error{"no Slurm in these tests"}; };
    ctx.store = [this]() -> Result<state::Store*> { return store.get(); };
    ctx.environment = {"PATH=/usr/bin", "HOME=" + tmp.path().string(), "BATCHAI_CONF=" + tmp.file("site.json")};
  }

  int run(std::vector<std::string> argv) {
    out.str("");
    return batchai::testing::run_cli(argv, ctx, help, err);
  }

  boost::json::value json() { return boost::json::parse(out.str()); }
};

TEST_F(StorageCli, TheTutorialsStorageStepsRoundTrip) {
  ASSERT_EQ(run({"storage", "account", "create", "-n", "acct", "-g", "rg", "-l", "eastus"}), 0) << err;
  EXPECT_EQ(json().at("storageRoot").as_string(), root.string());
  EXPECT_TRUE(fs::is_directory(root));

  ASSERT_EQ(run({"storage", "share", "create", "-n", "myshare"}), 0) << err;
  EXPECT_EQ(json().at("created"), true);
  ASSERT_EQ(run({"storage", "share", "create", "-n", "myshare"}), 0) << err;
  EXPECT_EQ(json().at("created"), false) << "an existing share is not an error, as in az";
  EXPECT_TRUE(fs::is_directory(root / "myshare"));

  ASSERT_EQ(run({"storage", "directory", "create", "-s", "myshare", "-n", "cifar"}), 0) << err;
  EXPECT_EQ(json().at("created"), true);

  const std::string script = "#!/bin/sh\necho trained\n";
  write(tmp.path() / "local" / "train.sh", script);
  fs::permissions(tmp.path() / "local" / "train.sh", fs::perms(0755));
  ASSERT_EQ(run({"storage", "file", "upload", "-s", "myshare", "--source", tmp.file("local/train.sh"), "-p", "cifar"}),
            0)
      << err;
  EXPECT_EQ(json().at("name"), "cifar/train.sh") << "a directory path takes the source's name";
  EXPECT_EQ(json().at("contentLength"), script.size());
  EXPECT_EQ(slurp(root / "myshare" / "cifar" / "train.sh"), script);
  EXPECT_EQ(fs::status(root / "myshare" / "cifar" / "train.sh").permissions() & fs::perms::owner_exec,
            fs::perms::owner_exec)
      << "an uploaded script stays executable";

  // A tree, with the directories it needs made on the way.
  write(tmp.path() / "local" / "data" / "a.bin", std::string(1000, 'a'));
  write(tmp.path() / "local" / "data" / "sub" / "b.bin", "bb");
  ASSERT_EQ(run({"storage", "file", "upload-batch", "-d", "myshare", "-s", tmp.file("local/data"),
                 "--destination-path", "cifar/data"}),
            0)
      << err;
  EXPECT_EQ(json(), boost::json::parse(R"([{"name": "cifar/data/a.bin", "contentLength": 1000},
                                            {"name": "cifar/data/sub/b.bin", "contentLength": 2}])"));

  // A copy still being written (or left by a crash) is not a file yet.
  write(root / "myshare" / "cifar" / "model.h5.tmp.4242", "partial");
  ASSERT_EQ(run({"storage", "file", "list", "-s", "myshare", "-p", "cifar"}), 0) << err;
  EXPECT_EQ(json(), boost::json::parse(R"([{"name": "data", "type": "dir", "contentLength": null},
                                            {"name": "train.sh", "type": "file", "contentLength": 23}])"));
  ASSERT_EQ(run({"storage", "file", "list", "-s", "myshare", "-p", "cifar", "-o", "table"}), 0) << err;
  EXPECT_EQ(out.str(), "Name      Content Length  Type\n--------  --------------  ----\ndata                      dir\n"
                       "train.sh  23              file\n");

  fs::create_directories(tmp.path() / "downloads");
  ASSERT_EQ(run({"storage", "file", "download", "-s", "myshare", "-p", "cifar/data/sub/b.bin", "--dest",
                 tmp.file("downloads")}),
            0)
      << err;
  EXPECT_EQ(slurp(tmp.path() / "downloads" / "b.bin"), "bb");
  EXPECT_EQ(json().at("dest").as_string(), tmp.file("downloads/b.bin"));
  EXPECT_EQ(fs::directory_iterator(tmp.path() / "downloads")->path().filename(), "b.bin") << "no temporary left";
}

TEST_F(StorageCli, NamesAndPathsThatLeaveTheirShareAreRefusedNamingTheFlag) {
  ASSERT_EQ(run({"storage", "share", "create", "-n", "myshare"}), 0) << err;
  EXPECT_EQ(run({"storage", "share", "create", "-n", "My_Share"}), 1);
  EXPECT_EQ(err, "batchai: error: --name: \"My_Share\" is not a share name: use lowercase letters, digits and "
                 "hyphens\n");
  EXPECT_EQ(run({"storage", "share", "create", "-n", "a--b"}), 1);
  EXPECT_NE(err.find("a hyphen must stand between letters or digits"), std::string::npos) << err;

  write(tmp.path() / "x.txt", "x");
  EXPECT_EQ(run({"storage", "file", "upload", "-s", "myshare", "--source", tmp.file("x.txt"), "-p", "../x.txt"}), 1);
  EXPECT_EQ(err, "batchai: error: --path: \"../x.txt\" must name a path inside the share, without . or ..\n");
  EXPECT_FALSE(fs::exists(root / "x.txt"));
  EXPECT_EQ(run({"storage", "file", "upload", "-s", "myshare", "--source", tmp.file("x.txt"), "-p", "/etc/x"}), 1);
  EXPECT_EQ(err, "batchai: error: --path: \"/etc/x\" must be a path inside the share, not an absolute one\n");

  // A link inside the share that leads out of it.
  fs::create_directory_symlink(tmp.path(), root / "myshare" / "out");
  EXPECT_EQ(run({"storage", "file", "upload", "-s", "myshare", "--source", tmp.file("x.txt"), "-p", "out/y.txt"}), 1);
  EXPECT_EQ(err, "batchai: error: --path: \"out/y.txt\" leads out of the share through a symbolic link\n");
  EXPECT_FALSE(fs::exists(tmp.path() / "y.txt"));
  EXPECT_EQ(run({"storage", "file", "download", "-s", "myshare", "-p", "out/x.txt", "--dest", tmp.file("z")}), 1);
  EXPECT_FALSE(fs::exists(tmp.path() / "z"));

  EXPECT_EQ(run({"storage", "file", "list", "-s", "nosuch"}), 1);
  EXPECT_EQ(err, "batchai: error: --share-name: no file share \"nosuch\" in " + root.string() +
                     " (create it with `batchai storage share create -n nosuch`)\n");
  EXPECT_EQ(run({"storage", "directory", "create", "-s", "myshare", "-n", "a/b"}), 1);
  EXPECT_EQ(err, "batchai: error: --name: the parent of \"a/b\" does not exist in the share; create it first\n");
  EXPECT_EQ(run({"storage", "file", "upload", "-s", "myshare", "--source", tmp.file("x.txt"), "-p", "no/dir/x"}), 1);
  EXPECT_NE(err.find("does not exist in the share"), std::string::npos) << err;
  EXPECT_EQ(run({"storage", "file", "download", "-s", "myshare", "-p", "missing.h5"}), 1);
  EXPECT_EQ(err, "batchai: error: --path: no file \"missing.h5\" in the share\n");
}

TEST_F(StorageCli, TheSitesSharesAndTheUsersAreOneNamespace) {
  // Uploads to a share the site maps land where jobs mount it.
  ASSERT_EQ(run({"storage", "share", "create", "-n", "teamshare"}), 0) << err;
  EXPECT_EQ(json().at("created"), false);
  EXPECT_FALSE(fs::exists(root / "teamshare"));
  write(tmp.path() / "x.txt", "team");
  ASSERT_EQ(run({"storage", "file", "upload", "-s", "teamshare", "--source", tmp.file("x.txt")}), 0) << err;
  EXPECT_EQ(slurp(mapped / "x.txt"), "team");

  ASSERT_EQ(run({"storage", "share", "create", "-n", "mine"}), 0) << err;
  ASSERT_EQ(run({"storage", "share", "list"}), 0) << err;
  EXPECT_EQ(json(), boost::json::parse(R"([{"name": "mine", "path": ")" + (root / "mine").string() +
                                       R"(", "owner": "user"}, {"name": "teamshare", "path": ")" + mapped.string() +
                                       R"(", "owner": "site"}])"));

  EXPECT_EQ(run({"storage", "share", "delete", "-n", "teamshare", "-y"}), 1);
  EXPECT_NE(err.find("is the site's share"), std::string::npos) << err;
  EXPECT_TRUE(fs::exists(mapped / "x.txt"));

  // Deleting asks first; with -y the share and its files go.
  write(root / "mine" / "f", "f");
  EXPECT_EQ(run({"storage", "share", "delete", "-n", "mine"}), 1);
  EXPECT_NE(err.find("pass -y (--yes)"), std::string::npos) << err;
  EXPECT_TRUE(fs::exists(root / "mine" / "f"));
  ASSERT_EQ(run({"storage", "share", "delete", "-n", "mine", "-y"}), 0) << err;
  EXPECT_EQ(json().at("deleted"), true);
  EXPECT_FALSE(fs::exists(root / "mine"));
  ASSERT_EQ(run({"storage", "share", "delete", "-n", "mine", "-y"}), 0) << err;
  EXPECT_EQ(json().at("deleted"), false);
}

TEST_F(StorageCli, AJobMountsTheShareAUserMade) {
  write(tmp.path() / "job.json", R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_MOUNT_ROOT/mine",
      "customToolkitSettings": {"commandLine": "ls $AZ_BATCHAI_JOB_MOUNT_ROOT/mine"},
      "mountVolumes": {"azureFileShares": [{"azureFileUrl": "https://acct.file.core.windows.net/mine",
                                            "relativeMountPath": "mine"}]}}})");
  ASSERT_EQ(run({"workspace", "create", "-g", "rg", "-n", "ws"}), 0) << err;
  ASSERT_EQ(run({"experiment", "create", "-g", "rg", "-w", "ws", "-n", "e"}), 0) << err;
  const std::vector<std::string> create = {"job", "create", "-g", "rg", "-w", "ws", "-e", "e", "-n", "j",
                                           "-c", "batch", "-f", tmp.file("job.json"), "--dry-run"};
  EXPECT_EQ(run(create), 1);
  EXPECT_NE(err.find("no Azure file share named \"mine\" on this site; create it with `batchai storage share "
                     "create -n mine`"),
            std::string::npos)
      << err;
  ASSERT_EQ(run({"storage", "share", "create", "-n", "mine"}), 0) << err;
  ASSERT_EQ(run(create), 0) << err;
  EXPECT_NE(out.str().find("--volume 'mine=" + (root / "mine").string() + "'"), std::string::npos) << out.str();
}

TEST_F(StorageCli, GroupDeleteRemovesEveryWorkspaceOfTheGroupOnly) {
  ASSERT_EQ(run({"group", "create", "-n", "batchai.recipes", "-l", "eastus"}), 0) << err;
  EXPECT_EQ(json().at("name"), "batchai.recipes");
  for (const char* ws : {"a", "b"}) ASSERT_EQ(run({"workspace", "create", "-g", "batchai.recipes", "-n", ws}), 0);
  ASSERT_EQ(run({"workspace", "create", "-g", "other", "-n", "c"}), 0);
  ASSERT_EQ(run({"experiment", "create", "-g", "batchai.recipes", "-w", "a", "-n", "e"}), 0);

  EXPECT_EQ(run({"group", "delete", "-n", "batchai.recipes"}), 1) << "asks first";
  ASSERT_EQ(run({"group", "delete", "-n", "batchai.recipes", "-y"}), 0) << err;
  ASSERT_EQ(run({"workspace", "list", "-g", "batchai.recipes"}), 0);
  EXPECT_EQ(json(), boost::json::array());
  ASSERT_EQ(run({"workspace", "list", "-g", "other"}), 0);
  EXPECT_EQ(json().as_array().size(), 1u);
  EXPECT_EQ(run({"group", "delete", "-n", "batchai.recipes", "-y"}), 1);
  EXPECT_EQ(err, "batchai: error: --name: no resource group \"batchai.recipes\" (it has no workspaces)\n");
}

}  // namespace
}  // namespace batchai::frontend
