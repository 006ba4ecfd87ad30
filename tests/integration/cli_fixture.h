// The fixture of the CLI's integration tests: the real `batchai` binary
// (BATCHAI_EXE) against the local cluster, with its own site.json, state
// directory and a share, all in a temporary directory. Tests skip when
// there is no Slurm to test against.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "slurm/client.h"
#include "unit/temp_dir.h"

namespace batchai::testing {

namespace fs = std::filesystem;
namespace json = boost::json;

struct CliOutcome {
  int status;
  std::string out;  // stdout
  std::string err;  // stderr
};

class CliFixture : public ::testing::Test {
 protected:
  fs::path dir;
  std::string env;  // prefix for every command

  void SetUp() override {
    auto c = batchai::slurm::connect_libslurm();
    if (!c) GTEST_SKIP() << "no Slurm to test against: " << c.error().message;
    if (auto p = (*c)->partitions(); !p) GTEST_SKIP() << "Slurm is not answering: " << p.error().message;
    dir = batchai::testing::make_test_dir("batchai-cli");
    ASSERT_FALSE(dir.empty()) << "cannot make a directory under " << fs::temp_directory_path();
    fs::create_directories(dir / "shares/myshare");
    const std::string d = dir.string();
    std::ofstream(dir / "site.json") << R"({
  "jobsRoot": ")" << d << R"(/jobs", "nodeTempRoot": ")" << d << R"(/tmp",
  "vmSizes": [{"name": "STANDARD_NC6", "partition": "batch", "lowPriorityPartition": "lowpri"}],
  "containers": {"runtime": "none", "allowHostWithoutContainer": true},
  "shares": [{"type": "azureFileShare", "name": "myshare", "path": ")" << d << R"(/shares/myshare"}]
})";
    env = "BATCHAI_CONF=" + (dir / "site.json").string() + " BATCHAI_STATE_DIR=" + (dir / "state").string() +
          " AZURE_BATCHAI_STORAGE_ACCOUNT=teststorage OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=lo ";
  }
  void TearDown() override {
    if (dir.empty() || HasFailure()) return;
    // A job just cancelled may still be writing its last records into the
    // directory while it is removed ("Directory not empty"): try again.
    std::error_code ec;
    for (int i = 0; i < 50; ++i) {
      fs::remove_all(dir, ec);
      if (!ec) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "cannot remove " << dir << ": " << ec.message();
  }

  CliOutcome batchai(const std::string& args) {
    const std::string err_file = (dir / "stderr.txt").string();
    CliOutcome r{0, "", ""};
    FILE* pipe = ::popen((env + BATCHAI_EXE + " " + args + " 2>" + err_file).c_str(), "r");
    std::array<char, 4096> buf;
    while (std::size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) r.out.append(buf.data(), n);
    const int status = ::pclose(pipe);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream e(err_file);
    std::stringstream s;
    s << e.rdbuf();
    r.err = s.str();
    return r;
  }

  json::value batchai_json(const std::string& args) {
    CliOutcome r = batchai(args);
    EXPECT_EQ(r.status, 0) << args << "\n" << r.err;
    boost::system::error_code ec;
    json::value v = json::parse(r.out, ec);
    EXPECT_FALSE(ec) << args << "\n" << r.out;
    return v;
  }

  std::string write_job(const std::string& name, const std::string& properties) {
    const fs::path p = dir / (name + ".json");
    std::ofstream(p) << R"({"properties": )" << properties << "}";
    return p.string();
  }

  // Polls `args` (which prints a JSON string) until it is `want`.
  bool wait_for(const std::string& args, const std::string& want, int seconds = 60) {
    for (int i = 0; i < seconds * 5; ++i) {
      CliOutcome r = batchai(args);
      if (r.status == 0 && r.out.find("\"" + want + "\"") != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }
};

}  // namespace batchai::testing
