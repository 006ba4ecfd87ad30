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
  const std::pair<const char*, std::int64_t> good[] = {
      // ISO 8601 with designators
      {"PT4H", 4 * 3600},
      {"P7D", 7 * 86400},
      {"P1DT2H30M15S", 86400 + 2 * 3600 + 30 * 60 + 15},
      {"P1DT2H", 86400 + 2 * 3600},
      {"PT90M", 90 * 60},
      {"PT3600S", 3600},
      {"P1W", 7 * 86400},
      {"P2W3DT4H", 17 * 86400 + 4 * 3600},  // weeks with days, as isodate read them
      {"P1WT12H", 7 * 86400 + 12 * 3600},
      {"PT1.5H", 5400},
      {"PT1,5H", 5400},  // ISO 8601's other decimal sign
      {"P0.5D", 43200},
      {"P1.5W", 907200},
      {"PT2H0.25M", 7215},
      {"P1DT0.5S", 86401},  // a fraction of a second rounds up, so a limit is never cut short
      {"PT0.5S", 1},
      {"PT0.001S", 1},
      {"PT59.0000000000000000001S", 60},  // past the twelve digits that are read exactly
      {"PT1.000000000000S", 1},
      {"PT0.25H", 900},
      {"P0Y0M7D", 7 * 86400},  // zero years and months have a fixed length
      {"P0YT1H", 3600},
      {"P100000000D", 100000000LL * 86400},
      {"PT000000000000000090M", 90 * 60},
      // .NET TimeSpan, as the service showed durations
      {"7.00:00:00", 7 * 86400},
      {"04:30:00", 4 * 3600 + 30 * 60},
      {"1.02:03:04", 86400 + 2 * 3600 + 3 * 60 + 4},
      {"00:00:01.5", 2},
      {"00:01:00.0000000", 60},
      {"4:5:6", 4 * 3600 + 5 * 60 + 6},
  };
  for (const auto& [text, seconds] : good) {
    auto d = parse_duration(text);
    ASSERT_TRUE(d) << text << ": " << d.error().message;
    EXPECT_EQ(*d, seconds) << text;
  }

  const auto message = [](std::string_view text) {
    auto d = parse_duration(text);
    return d ? std::string("accepted as ") + std::to_string(*d) : d.error().message;
  };
  for (const char* bad : {"", "P", "PT", "4h", "PT4", "P1H", "T4H", "1.25:00:00", "00:60:00", "1:2", "PT1H1H",
                          "PT1S2H", "P1D1D", "P1DT", "pt4h", "+PT4H", "PT4H ", " PT4H", "PT.5H", "PT1.H", "PT1.5",
                          "P1D2W", "P1WT", "PT1H30", "P1S", "PT1D", "PT1W", "P0001-02-03T04:05:06",
                          "P00000000T010000", "P1000000000D", "PT1e3S", "00:00:01,5", "00:00:01.12345678",
                          "1.2.03:00:00", "7.00:00", "7:00:00:00"}) {
    EXPECT_EQ(message(bad), "expected a duration such as \"PT4H\", \"P1DT2H\" or \"7.00:00:00\", got \"" +
                                std::string(bad) + "\"")
        << bad;
  }
  for (const char* zero : {"PT0S", "P0D", "P0Y", "00:00:00", "0.00:00:00", "-PT4H", "-04:00:00", "P0WT0H0M0.0S"}) {
    EXPECT_EQ(message(zero), "expected a positive duration, got \"" + std::string(zero) + "\"") << zero;
  }
  for (const char* calendar : {"P1Y", "P1M", "P0.5M", "P1Y2M3DT4H", "P0Y1M"}) {
    EXPECT_EQ(message(calendar),
              "years and months have no fixed length; give the limit in weeks, days or hours (such as \"P30D\"), "
              "got \"" + std::string(calendar) + "\"")
        << calendar;
  }
  for (const char* early : {"PT1.5H30M", "P1.5DT2H", "P0.5W1D", "PT1,5M1S"}) {
    EXPECT_EQ(message(early), "only the last number of a duration may have a fraction, got \"" +
                                  std::string(early) + "\"")
        << early;
  }
}

// What az's SDK converted before the service saw the file, as the job runs
// it: numbers and bools as Python's str() prints them, integers from
// strings, and ISO 8601 durations with fractions.
TEST(JobSpec, ValuesAzConvertedAreConvertedTheSameWay) {
  auto tf = parse_job_spec(slurp(fs::path(BATCHAI_JOBSPEC_CORPUS) / "valid/az_converted_tensorflow.json"),
                           {"job.json", true});
  ASSERT_TRUE(tf) << tf.error().message;
  EXPECT_TRUE(tf->warnings.empty());
  EXPECT_EQ(tf->spec.node_count, 2);
  const auto& t = std::get<TensorFlowSettings>(tf->spec.toolkit);
  EXPECT_EQ(t.worker_command_line_args, "7");
  EXPECT_EQ(t.worker_count, 2);
  EXPECT_EQ(t.parameter_server_count, 1);
  std::vector<std::pair<std::string, std::string>> env;
  for (const auto& v : tf->spec.environment_variables) env.emplace_back(v.name, v.value);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"EPOCHS", "10"},    {"LEARNING_RATE", "1.5"}, {"WEIGHT_DECAY", "1e-05"}, {"MOMENTUM", "0.9"},
      {"SCALE", "2.0"},    {"BIG", "1e+16"},         {"NEGATIVE", "-3"},        {"USE_FP16", "True"},
      {"SHUFFLE", "False"}};
  EXPECT_EQ(env, expected);
  EXPECT_TRUE(tf->spec.max_wall_clock_given);
  EXPECT_EQ(tf->spec.max_wall_clock_seconds, 5400);

  auto mpi = parse_job_spec(slurp(fs::path(BATCHAI_JOBSPEC_CORPUS) / "valid/az_converted_mpi.json"),
                            {"job.json", true});
  ASSERT_TRUE(mpi) << mpi.error().message;
  const auto& h = std::get<HorovodSettings>(mpi->spec.toolkit);
  EXPECT_EQ(h.command_line_args, "100");
  EXPECT_EQ(h.process_count, 4);
  EXPECT_EQ(mpi->spec.max_wall_clock_seconds, 86400 + 2 * 3600);
}

// Every string field takes a number and every integer field a string, in
// every block of the file, not only the ones the corpus shows.
TEST(JobSpec, EveryStringAndIntegerFieldConverts) {
  auto parsed = parse_job_spec(R"({"properties": {"nodeCount": 3.0, "stdOutErrPathPrefix": 1,
      "schedulingPriority": "high", "cluster": {"id": 2},
      "caffeSettings": {"pythonScriptFilePath": 3, "pythonInterpreterPath": 4, "commandLineArgs": 5,
                        "processCount": "6"},
      "jobPreparation": {"commandLine": 7},
      "inputDirectories": [{"id": "IN", "path": 8}],
      "outputDirectories": [{"id": "OUT", "pathPrefix": 9, "pathSuffix": 10}],
      "secrets": [{"name": "S", "value": 11}],
      "containerSettings": {"shmSize": 12, "imageSourceRegistry": {"image": 13, "serverUrl": 14,
                            "credentials": {"username": 15, "password": 16}}},
      "mountVolumes": {"unmanagedFileSystems": [{"mountCommand": 17, "relativeMountPath": 18}]}}})",
                               {"job.json", true});
  ASSERT_TRUE(parsed) << parsed.error().message;
  const JobSpec& s = parsed->spec;
  EXPECT_EQ(s.node_count, 3);
  EXPECT_EQ(s.std_out_err_path_prefix, "1");
  EXPECT_EQ(s.cluster_id, "2");
  const auto& c = std::get<CaffeSettings>(s.toolkit);
  EXPECT_EQ(c.python_script_file_path, "3");
  EXPECT_EQ(c.python_interpreter_path, "4");
  EXPECT_EQ(c.command_line_args, "5");
  EXPECT_EQ(c.process_count, 6);
  EXPECT_EQ(s.job_preparation_command_line, "7");
  EXPECT_EQ(s.input_directories.at(0).path, "8");
  EXPECT_EQ(s.output_directories.at(0).path_prefix, "9");
  EXPECT_EQ(s.output_directories.at(0).path_suffix, "10");
  EXPECT_EQ(std::get<std::string>(s.secrets.at(0).value), "11");
  ASSERT_TRUE(s.container_settings);
  EXPECT_EQ(s.container_settings->shm_size, "12");
  EXPECT_EQ(s.container_settings->image, "13");
  EXPECT_EQ(s.container_settings->server_url, "14");
  ASSERT_TRUE(s.container_settings->credentials);
  EXPECT_EQ(s.container_settings->credentials->username, "15");
  EXPECT_EQ(std::get<std::string>(s.container_settings->credentials->password), "16");
  ASSERT_TRUE(s.mount_volumes);
  EXPECT_EQ(s.mount_volumes->unmanaged_file_systems.at(0).mount_command, "17");
  EXPECT_EQ(s.mount_volumes->unmanaged_file_systems.at(0).relative_mount_path, "18");
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
