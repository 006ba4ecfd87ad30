// The cluster.json corpus: every file in tests/clusterspec/valid must parse
// under --strict; every file in tests/clusterspec/invalid must be refused
// with exactly the message in its .expected sidecar (FILE stands for the
// file's path). Files named strict_* are parsed with --strict.
#include "io/cluster_spec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace batchai::clusterspec {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<fs::path> corpus(const char* kind) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(BATCHAI_CLUSTERSPEC_CORPUS) / kind)) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string test_name(const ::testing::TestParamInfo<fs::path>& info) { return info.param.stem().string(); }

class ValidClusterCorpus : public ::testing::TestWithParam<fs::path> {};
TEST_P(ValidClusterCorpus, Parses) {
  ParseOptions o;
  o.file_name = GetParam().string();
  o.strict = true;
  auto parsed = parse_cluster_spec(slurp(GetParam()), o);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_TRUE(parsed->warnings.empty());
}
INSTANTIATE_TEST_SUITE_P(ClusterSpec, ValidClusterCorpus, ::testing::ValuesIn(corpus("valid")), test_name);

class InvalidClusterCorpus : public ::testing::TestWithParam<fs::path> {};
TEST_P(InvalidClusterCorpus, RefusedWithTheExpectedMessage) {
  const fs::path& file = GetParam();
  ParseOptions o;
  o.file_name = file.string();
  o.strict = file.stem().string().starts_with("strict_");
  auto parsed = parse_cluster_spec(slurp(file), o);
  ASSERT_FALSE(parsed) << file << " was accepted";
  std::string expected = slurp(fs::path(file).replace_extension(".expected"));
  while (!expected.empty() && expected.back() == '\n') expected.pop_back();
  for (std::size_t at; (at = expected.find("FILE")) != std::string::npos;) expected.replace(at, 4, file.string());
  EXPECT_EQ(parsed.error().message, expected);
}
INSTANTIATE_TEST_SUITE_P(ClusterSpec, InvalidClusterCorpus, ::testing::ValuesIn(corpus("invalid")), test_name);

TEST(ClusterSpec, ValuesOfEveryProperty) {
  auto parsed = parse_cluster_spec(slurp(fs::path(BATCHAI_CLUSTERSPEC_CORPUS) / "valid/every_property.json"));
  ASSERT_TRUE(parsed) << parsed.error().message;
  const ClusterSpec& s = parsed->spec;
  EXPECT_EQ(s.vm_size, "STANDARD_D4_v3");
  EXPECT_EQ(s.vm_priority, "lowpriority");
  EXPECT_FALSE(s.target_nodes);
  EXPECT_EQ(s.min_nodes, 0);  // "0", as az's SDK converted it
  EXPECT_EQ(s.max_nodes, 4);
  EXPECT_EQ(s.initial_nodes, 1);
  ASSERT_TRUE(s.setup_task);
  EXPECT_EQ(s.setup_task->std_out_err_path_prefix, "$AZ_BATCHAI_MOUNT_ROOT/logs");
  ASSERT_EQ(s.setup_task->environment.size(), 1u);
  EXPECT_EQ(s.setup_task->environment[0], std::make_pair(std::string("GREETING"), std::string("10")));
  const std::vector<std::string> inert = {"properties.virtualMachineConfiguration", "properties.nodeSetup.mountVolumes",
                                          "properties.nodeSetup.performanceCountersSettings",
                                          "properties.userAccountSettings", "properties.subnet"};
  EXPECT_EQ(s.inert, inert);
}

TEST(ClusterSpec, UnknownKeysWarnWithoutStrict) {
  auto parsed = parse_cluster_spec(R"({"properties": {"vmSize": "S", "vmSise": "T"}})");
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->warnings.size(), 1u);
  EXPECT_NE(parsed->warnings[0].find("cluster.json: properties.vmSise"), std::string::npos) << parsed->warnings[0];
}

}  // namespace
}  // namespace batchai::clusterspec
