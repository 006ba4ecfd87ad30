// The job.json corpus: every file in tests/jobspec/valid must parse; every
// file in tests/jobspec/invalid must be refused with exactly the message in
// its .expected sidecar (FILE stands for the file's path). Files named
// strict_* are parsed with --strict.
#include "io/job_spec.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "io/toolkits.h"

namespace batchai::jobspec {
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
  for (const auto& e : fs::directory_iterator(fs::path(BATCHAI_JOBSPEC_CORPUS) / kind)) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string test_name(const ::testing::TestParamInfo<fs::path>& info) { return info.param.stem().string(); }

class ValidCorpus : public ::testing::TestWithParam<fs::path> {};
TEST_P(ValidCorpus, Parses) {
  ParseOptions o;
  o.file_name = GetParam().string();
  o.strict = true;
  auto parsed = parse_job_spec(slurp(GetParam()), o);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_TRUE(parsed->warnings.empty());
}
INSTANTIATE_TEST_SUITE_P(JobSpec, ValidCorpus, ::testing::ValuesIn(corpus("valid")), test_name);

class InvalidCorpus : public ::testing::TestWithParam<fs::path> {};
TEST_P(InvalidCorpus, RefusedWithTheExpectedMessage) {
  const fs::path& file = GetParam();
  ParseOptions o;
  o.file_name = file.string();
  o.strict = file.stem().string().starts_with("strict_");
  auto parsed = parse_job_spec(slurp(file), o);
  ASSERT_FALSE(parsed) << file << " was accepted";
  std::string expected = slurp(fs::path(file).replace_extension(".expected"));
  while (!expected.empty() && expected.back() == '\n') expected.pop_back();
  for (std::size_t at; (at = expected.find("FILE")) != std::string::npos;) expected.replace(at, 4, file.string());
  EXPECT_EQ(parsed.error().message, expected);
}
INSTANTIATE_TEST_SUITE_P(JobSpec, InvalidCorpus, ::testing::ValuesIn(corpus("invalid")), test_name);

TEST(JobSpec, TypedValuesOfTheTutorialJob) {
  auto parsed = parse_job_spec(slurp(fs::path(BATCHAI_JOBSPEC_CORPUS) / "valid/horovod_tutorial.json"));
  ASSERT_TRUE(parsed) << parsed.error().message;
  const JobSpec& s = parsed->spec;
  EXPECT_EQ(s.node_count, 4);
  EXPECT_EQ(s.tool_type(), "horovod");
  const auto& h = std::get<HorovodSettings>(s.toolkit);
  EXPECT_EQ(h.process_count, 4);
  EXPECT_EQ(h.command_line_args, "--dir=$AZ_BATCHAI_JOB_MOUNT_ROOT/myshare/cifar");
  ASSERT_TRUE(s.mount_volumes);
  ASSERT_EQ(s.mount_volumes->azure_file_shares.size(), 1u);
  EXPECT_EQ(s.mount_volumes->azure_file_shares[0].relative_mount_path, "myshare");
  EXPECT_EQ(s.mount_volumes->azure_file_shares[0].file_mode, "");  // absent, not Batch AI's 0777
  ASSERT_TRUE(s.container_settings);
  EXPECT_EQ(s.container_settings->image, "tensorflow/tensorflow:1.8.0-gpu");
  EXPECT_EQ(s.max_wall_clock_seconds, 7 * 86400);  // the default: one week
  EXPECT_EQ(s.scheduling_priority, Priority::normal);
}

TEST(JobSpec, UnknownKeysWarnWithASuggestionUnlessStrict) {
  auto parsed = parse_job_spec(
      R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/l", "customToolkitSettings": {"comandLine": "x"}}})");
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->warnings.size(), 1u);
  EXPECT_EQ(parsed->warnings[0],
            "job.json: properties.customToolkitSettings.comandLine: unknown key (did you mean 'commandLine'?); "
            "ignored, as Batch AI did");
}

// The parser finds every toolkit through its table: each key reads into
// its own alternative, which reports its own toolType.
TEST(JobSpec, EachToolkitIsReadThroughItsRow) {
  std::set<std::string_view> keys, tool_types;
  for (std::size_t i = 0; i < toolkit_formats().size(); ++i) {
    const ToolkitFormat& format = toolkit_formats()[i];
    SCOPED_TRACE(format.key);
    EXPECT_EQ(format.index, i);
    EXPECT_TRUE(keys.insert(format.key).second);
    EXPECT_TRUE(tool_types.insert(format.tool_type).second);
    // Enough for every toolkit; the keys one does not know only warn.
    const std::string settings = R"({"pythonScriptFilePath": "s.py", "commandLine": "c"})";
    auto parsed = parse_job_spec(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/l", ")" +
                                 std::string(format.key) + "\": " + settings + "}}");
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->spec.toolkit.index(), i);
    EXPECT_EQ(parsed->spec.tool_type(), format.tool_type);
    EXPECT_EQ(&toolkit_format(parsed->spec.toolkit), &format);
  }
  EXPECT_EQ(keys.size(), std::variant_size_v<Toolkit>);
}

TEST(JobSpec, ReadOnlyFieldsFromJobShowAreAccepted) {
  auto parsed = parse_job_spec(R"({"properties": {"nodeCount": 1, "stdOutErrPathPrefix": "/l",
      "customToolkitSettings": {}, "toolType": "custom", "executionState": "succeeded"}})",
                               {"job.json", true});
  ASSERT_TRUE(parsed) << parsed.error().message;
}

TEST(JobSpec, Durations) {
  EXPECT_EQ(*parse_duration("PT4H"), 4 * 3600);
  EXPECT_EQ(*parse_duration("P7D"), 7 * 86400);
  EXPECT_EQ(*parse_duration("P1DT2H30M15S"), 86400 + 2 * 3600 + 30 * 60 + 15);
  EXPECT_EQ(*parse_duration("7.00:00:00"), 7 * 86400);
  EXPECT_EQ(*parse_duration("04:30:00"), 4 * 3600 + 30 * 60);
  for (const char* bad : {"", "P", "PT", "4h", "PT4", "P1H", "T4H", "1.25:00:00", "00:60:00", "PT0S", "1:2",
                          "PT1H1H", "PT1S2H", "P1D1D", "P1DT"}) {
    EXPECT_FALSE(parse_duration(bad)) << bad;
  }
}

TEST(JobSpec, ResourceNames) {
  EXPECT_TRUE(validate_resource_name("cifar-job_01", "--name"));
  EXPECT_EQ(validate_resource_name("my job", "--name").error().message,
            "--name: expected 1 to 64 letters, digits, '-' or '_', got \"my job\"");
  EXPECT_FALSE(validate_resource_name(std::string(65, 'a'), "--name"));
  EXPECT_FALSE(validate_resource_name("", "--name"));
}

}  // namespace
}  // namespace batchai::jobspec
