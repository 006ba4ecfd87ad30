// site.json: every key lands in its field, "~" expands, and each kind of
// mistake is refused with one exact line naming file and JSON path, all of
// them at once. The example in etc/batchai must stay valid.
#include "io/site_config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "unit/temp_dir.h"

namespace batchai::site {
namespace {

constexpr std::string_view kHome = "/home/ada";

Result<SiteConfig> parse(std::string_view text) { return parse_site_config(text, "site.json", kHome); }

// The message for a file that must be refused (empty if it was accepted).
std::string refusal(std::string_view text) {
  auto site = parse(text);
  return site ? std::string() : site.error().message;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

TEST(SiteConfig, EmptyFileGivesTheDefaultsWithHomeExpanded) {
  auto site = parse("{}");
  ASSERT_TRUE(site) << site.error().message;
  EXPECT_EQ(site->source, "site.json");
  EXPECT_EQ(site->jobs_root, "/home/ada/.batchai/jobs");
  EXPECT_EQ(site->mount_root, "/var/lib/batchai/mounts");
  EXPECT_EQ(site->node_temp_root, "/tmp");
  EXPECT_EQ(site->prolog_program, "");  // found beside batchai
  EXPECT_EQ(site->job_runtime_dir, "");  // found beside batchai
  EXPECT_EQ(site->python, "python3");
  EXPECT_EQ(site->mpi, "pmix");
  EXPECT_EQ(site->tensorflow_port_base, 2222);
  EXPECT_EQ(site->default_process_count, DefaultProcessCount::node_count);  // Batch AI's
  EXPECT_EQ(site->mpi_launcher, MpiLauncher::srun);
  EXPECT_EQ(site->tensorflow_grace_seconds, 30);
  EXPECT_TRUE(site->requeue);
  EXPECT_EQ(site->checkpoint_signal_seconds, 120);
  EXPECT_TRUE(site->clusters.empty());
  EXPECT_EQ(site->low.qos, "");
  EXPECT_EQ(site->low.nice, 100);
  EXPECT_EQ(site->normal.qos, "");
  EXPECT_FALSE(site->normal.nice);
  EXPECT_EQ(site->high.qos, "");
  EXPECT_FALSE(site->high.nice);
  EXPECT_EQ(site->low_priority.qos, "");
  EXPECT_EQ(site->container_runtime, ContainerRuntime::none);
  EXPECT_FALSE(site->allow_host_without_container);
  EXPECT_TRUE(site->shares.empty());
  EXPECT_EQ(site->find_cluster("gpu"), nullptr);
}

TEST(SiteConfig, EveryKeyLandsInItsField) {
  auto site = parse(R"({
    "jobsRoot": "/shared/jobs",
    "mountRoot": "/shared/mounts",
    "nodeTempRoot": "/scratch",
    "prologProgram": "/shared/apps/batchai/libexec/batchai/batchai-prolog",
    "jobRuntimeDir": "/shared/apps/batchai/share/batchai/runtime",
    "python": "/opt/conda/bin/python",
    "mpi": "pmi2",
    "tensorFlowPortBase": 3000,
    "defaultProcessCount": "gpus",
    "mpiLauncher": "mpirun",
    "tensorFlowGraceSeconds": 5,
    "requeue": false,
    "checkpointSignalSeconds": 300,
    "clusters": [
      {"name": "gpu", "partition": "gpu-part", "gpusPerNode": 4, "gpuType": "h100", "maxWallClockTime": "P2D"},
      {"name": "batch"}
    ],
    "vmSizes": [
      {"name": "STANDARD_NC6", "partition": "gpu-part", "lowPriorityPartition": "gpu-lowpri", "gpusPerNode": 1}
    ],
    "lowPriority": {"qos": "scavenger"},
    "schedulingPriority": {
      "low": {"qos": "scavenger"},
      "normal": {"nice": 10},
      "high": {"qos": "high", "nice": -5}
    },
    "containers": {"runtime": "apptainer", "allowHostWithoutContainer": true},
    "shares": [
      {"type": "azureFileShare", "name": "afs", "path": "/shares/afs"},
      {"type": "azureBlobFileSystem", "name": "data", "path": "/shares/data"},
      {"type": "fileServer", "name": "nfs", "path": "/shares/nfs"},
      {"type": "unmanagedFileSystem", "name": "mount -t nfs x:/y $AZ_BATCHAI_JOB_MOUNT_ROOT/y", "path": "/y"}
    ]
  })");
  ASSERT_TRUE(site) << site.error().message;
  EXPECT_EQ(site->jobs_root, "/shared/jobs");
  EXPECT_EQ(site->mount_root, "/shared/mounts");
  EXPECT_EQ(site->node_temp_root, "/scratch");
  EXPECT_EQ(site->prolog_program, "/shared/apps/batchai/libexec/batchai/batchai-prolog");
  EXPECT_EQ(site->job_runtime_dir, "/shared/apps/batchai/share/batchai/runtime");
  EXPECT_EQ(site->python, "/opt/conda/bin/python");
  EXPECT_EQ(site->mpi, "pmi2");
  EXPECT_EQ(site->tensorflow_port_base, 3000);
  EXPECT_EQ(site->default_process_count, DefaultProcessCount::gpus);
  EXPECT_EQ(site->mpi_launcher, MpiLauncher::mpirun);
  EXPECT_EQ(site->tensorflow_grace_seconds, 5);
  EXPECT_FALSE(site->requeue);
  EXPECT_EQ(site->checkpoint_signal_seconds, 300);

  ASSERT_EQ(site->clusters.size(), 2u);
  const Cluster* gpu = site->find_cluster("gpu");
  ASSERT_EQ(gpu, &site->clusters[0]);
  EXPECT_EQ(gpu->partition, "gpu-part");
  EXPECT_EQ(gpu->gpus_per_node, 4);
  EXPECT_EQ(gpu->gpu_type, "h100");
  EXPECT_EQ(gpu->max_wall_clock_seconds, 2 * 86400);
  const Cluster* batch = site->find_cluster("batch");
  ASSERT_EQ(batch, &site->clusters[1]);
  EXPECT_EQ(batch->partition, "batch");  // defaults to the name
  EXPECT_EQ(batch->gpus_per_node, 0);
  EXPECT_EQ(batch->gpu_type, "");
  EXPECT_FALSE(batch->max_wall_clock_seconds);
  EXPECT_EQ(site->find_cluster("Batch"), nullptr);
  EXPECT_EQ(gpu->low_priority_partition, "");  // a vmSizes key only
  ASSERT_EQ(site->vm_sizes.size(), 1u);
  EXPECT_EQ(site->vm_sizes[0].partition, "gpu-part");
  EXPECT_EQ(site->vm_sizes[0].low_priority_partition, "gpu-lowpri");
  EXPECT_EQ(site->low_priority.qos, "scavenger");

  // A mapping given replaces the default as a whole: low loses its nice.
  EXPECT_EQ(site->low.qos, "scavenger");
  EXPECT_FALSE(site->low.nice);
  EXPECT_EQ(site->normal.qos, "");
  EXPECT_EQ(site->normal.nice, 10);
  EXPECT_EQ(site->high.qos, "high");
  EXPECT_EQ(site->high.nice, -5);

  EXPECT_EQ(site->container_runtime, ContainerRuntime::apptainer);
  EXPECT_TRUE(site->allow_host_without_container);

  ASSERT_EQ(site->shares.size(), 4u);
  EXPECT_EQ(site->shares[0].kind, Share::Kind::azure_file_share);
  EXPECT_EQ(site->shares[0].name, "afs");
  EXPECT_EQ(site->shares[0].path, "/shares/afs");
  EXPECT_EQ(site->shares[1].kind, Share::Kind::azure_blob_file_system);
  EXPECT_EQ(site->shares[1].name, "data");
  EXPECT_EQ(site->shares[2].kind, Share::Kind::file_server);
  EXPECT_EQ(site->shares[2].path, "/shares/nfs");
  EXPECT_EQ(site->shares[3].kind, Share::Kind::unmanaged_file_system);
  EXPECT_EQ(site->shares[3].name, "mount -t nfs x:/y $AZ_BATCHAI_JOB_MOUNT_ROOT/y");
}

TEST(SiteConfig, CommentsTrailingCommasAndNullsAreAccepted) {
  auto site = parse(R"(// the site
  {
    /* shared by all nodes */
    "jobsRoot": "/shared/jobs",  // trailing comment
    "mpi": null,                 // null: the default
    "clusters": [{"name": "gpu", "gpusPerNode": 2,},],
  })");
  ASSERT_TRUE(site) << site.error().message;
  EXPECT_EQ(site->jobs_root, "/shared/jobs");
  EXPECT_EQ(site->mpi, "pmix");
  ASSERT_EQ(site->clusters.size(), 1u);
  EXPECT_EQ(site->clusters[0].gpus_per_node, 2);
}

TEST(SiteConfig, TildeExpandsToHome) {
  auto site = parse(R"({"jobsRoot": "~", "mountRoot": "~/mounts", "nodeTempRoot": "/tmp/~x",
                        "shares": [{"type": "fileServer", "name": "nfs", "path": "~/nfs"}]})");
  ASSERT_TRUE(site) << site.error().message;
  EXPECT_EQ(site->jobs_root, "/home/ada");
  EXPECT_EQ(site->mount_root, "/home/ada/mounts");
  EXPECT_EQ(site->node_temp_root, "/tmp/~x");  // only a leading ~
  EXPECT_EQ(site->shares[0].path, "/home/ada/nfs");

  auto slash = parse_site_config(R"({"mountRoot": "~/m"})", "site.json", "/home/ada/");
  ASSERT_TRUE(slash) << slash.error().message;
  EXPECT_EQ(slash->mount_root, "/home/ada/m");
}

TEST(SiteConfig, TildeWithoutAHomeIsRefused) {
  auto given = parse_site_config(R"({"jobsRoot": "~/jobs", "storageRoot": "/s"})", "site.json", "");
  ASSERT_FALSE(given);
  EXPECT_EQ(given.error().message, "site.json: jobsRoot: cannot expand \"~\": no home directory is known");
  auto by_default = parse_site_config("{}", "site.json", "");
  ASSERT_FALSE(by_default);
  EXPECT_EQ(by_default.error().message,
            "site.json: jobsRoot: the built-in default \"~/.batchai/jobs\" needs a home directory, and none is "
            "known; give an absolute path\n"
            "site.json: storageRoot: the built-in default \"~/.batchai/storage\" needs a home directory, and none "
            "is known; give an absolute path");
  auto absolute = parse_site_config(R"({"jobsRoot": "/shared/jobs", "storageRoot": "/shared/storage"})",
                                    "site.json", "");
  EXPECT_TRUE(absolute) << absolute.error().message;
}

// One mistake per file, and the one line it must produce.
struct Case {
  const char* text;
  const char* message;
};

TEST(SiteConfig, EachMistakeHasItsMessage) {
  const Case cases[] = {
      {R"([])", "site.json: (top level): expected an object, got an array"},
      {R"({"jobsroot": "/j"})", "site.json: jobsroot: unknown key (did you mean 'jobsRoot'?)"},
      {R"({"colour": 1})", "site.json: colour: unknown key"},
      {R"({"jobsRoot": 5})", "site.json: jobsRoot: expected a string, got 5"},
      {R"({"jobsRoot": "jobs"})",
       "site.json: jobsRoot: expected an absolute path (or one starting with ~/), got \"jobs\""},
      {R"({"mountRoot": "~bob/m"})",
       "site.json: mountRoot: expected an absolute path (or one starting with ~/), got \"~bob/m\""},
      {R"({"prologProgram": "bin/batchai-prolog"})",
       "site.json: prologProgram: expected an absolute path (or one starting with ~/), got \"bin/batchai-prolog\""},
      {R"({"nodeTempRoot": ""})", "site.json: nodeTempRoot: expected an absolute path (or one starting with ~/), "
                                  "got \"\""},
      {R"({"jobsRoot": "/shared/../etc"})", "site.json: jobsRoot: must not contain a '..' segment, got "
                                            "\"/shared/../etc\""},
      {R"({"mountRoot": "~/.."})", "site.json: mountRoot: must not contain a '..' segment, got \"~/..\""},
      {R"({"jobsRoot": "/a\nb"})", "site.json: jobsRoot: must not contain a newline, got \"/a\\nb\""},
      {R"({"jobsRoot": "/a\tb"})", "site.json: jobsRoot: must not contain control characters, got \"/a\\tb\""},
      {R"({"python": ""})", "site.json: python: must not be empty"},
      {R"({"requeue": "yes"})", "site.json: requeue: expected true or false, got \"yes\""},
      {R"({"checkpointSignalSeconds": 70000})",
       "site.json: checkpointSignalSeconds: expected seconds from 0 to 65535, got 70000"},
      {R"({"python": "python3\nrm -rf /"})", "site.json: python: must not contain a newline or control characters"},
      // NUL is refused in every string, as in job.json, before any field's own check.
      {R"({"python": "python3\u0000"})", "site.json: python: must not contain a NUL character (\\u0000)"},
      {R"({"jobsRoot": "/a\u0000b"})", "site.json: jobsRoot: must not contain a NUL character (\\u0000)"},
      {R"({"clusters": [{"name": "gpu\u0000"}]})",
       "site.json: clusters[0].name: must not contain a NUL character (\\u0000)"},
      {R"({"mpi": "pmix --x"})",
       "site.json: mpi: expected an srun --mpi plugin name (letters, digits, '_'), got \"pmix --x\""},
      {R"({"tensorFlowPortBase": 80})", "site.json: tensorFlowPortBase: expected an integer from 1024 to 65000, got 80"},
      {R"({"tensorFlowPortBase": 2222.5})",
       "site.json: tensorFlowPortBase: expected an integer from 1024 to 65000, got 2.2225E3"},
      {R"({"defaultProcessCount": "perGpu"})",
       "site.json: defaultProcessCount: expected \"nodeCount\" or \"gpus\", got \"perGpu\""},
      {R"({"clusters": {}})", "site.json: clusters: expected an array, got an object"},
      {R"({"clusters": ["gpu"]})", "site.json: clusters[0]: expected an object, got \"gpu\""},
      {R"({"clusters": [{"partition": "gpu"}]})", "site.json: clusters[0].name: required, but missing"},
      {R"({"clusters": [{"name": "gpu nodes"}]})",
       "site.json: clusters[0].name: expected 1 to 64 letters, digits, '-' or '_', got \"gpu nodes\""},
      {R"({"clusters": [{"name": "gpu"}, {"name": "cpu"}, {"name": "gpu"}]})",
       "site.json: clusters[2].name: duplicate cluster name \"gpu\" (also clusters[0].name)"},
      {R"({"clusters": [{"name": "gpu"}, {"name": "x", "gpusPerNode": "four"}]})",
       "site.json: clusters[1].gpusPerNode: expected an integer >= 0, got \"four\""},
      // job.json takes what az's SDK converted; site.json keeps strict types.
      {R"({"clusters": [{"name": "gpu", "gpusPerNode": "4"}]})",
       "site.json: clusters[0].gpusPerNode: expected an integer >= 0, got \"4\""},
      {R"({"jobsRoot": true})", "site.json: jobsRoot: expected a string, got true"},
      {R"({"clusters": [{"name": "gpu", "gpusPerNode": -1}]})",
       "site.json: clusters[0].gpusPerNode: expected an integer >= 0, got -1"},
      {R"({"clusters": [{"name": "gpu", "gpuPerNode": 4}]})",
       "site.json: clusters[0].gpuPerNode: unknown key (did you mean 'gpusPerNode'?)"},
      {R"({"clusters": [{"name": "gpu", "partition": "a,b"}]})",
       "site.json: clusters[0].partition: expected letters, digits, '-', '_' or '.', got \"a,b\""},
      {R"({"clusters": [{"name": "gpu", "gpuType": "h100"}]})",
       "site.json: clusters[0].gpuType: only with gpusPerNode > 0"},
      {R"({"clusters": [{"name": "gpu", "maxWallClockTime": "2 days"}]})",
       "site.json: clusters[0].maxWallClockTime: expected a duration such as \"PT4H\", \"P1DT2H\" or "
       "\"7.00:00:00\", got \"2 days\""},
      {R"({"clusters": [{"name": "gpu", "maxWallClockTime": 3600}]})",
       "site.json: clusters[0].maxWallClockTime: expected a duration string such as \"P2D\" or \"2.00:00:00\", "
       "got 3600"},
      {R"({"clusters": [{"name": "gpu", "lowPriorityPartition": "lowpri"}]})",
       "site.json: clusters[0].lowPriorityPartition: unknown key"},
      {R"({"vmSizes": [{"name": "STANDARD_NC6", "lowPriorityPartition": "low pri"}]})",
       "site.json: vmSizes[0].lowPriorityPartition: expected letters, digits, '-', '_' or '.', got \"low pri\""},
      {R"({"vmSizes": [{"name": "STANDARD_NC6", "lowPriorityPartition": 1}]})",
       "site.json: vmSizes[0].lowPriorityPartition: expected a string, got 1"},
      {R"({"lowPriority": "scavenger"})", "site.json: lowPriority: expected an object, got \"scavenger\""},
      {R"({"lowPriority": {"qos": "a,b"}})",
       "site.json: lowPriority.qos: expected letters, digits, '-', '_' or '.', got \"a,b\""},
      {R"({"lowPriority": {"partition": "lowpri"}})", "site.json: lowPriority.partition: unknown key"},
      {R"({"schedulingPriority": {"urgent": {}}})",
       "site.json: schedulingPriority.urgent: unknown key"},
      {R"({"schedulingPriority": {"high": "top"}})",
       "site.json: schedulingPriority.high: expected an object, got \"top\""},
      {R"({"schedulingPriority": {"high": {"qos": "high", "nice": -20000}}})",
       "site.json: schedulingPriority.high.nice: expected an integer from -10000 to 10000, got -20000"},
      {R"({"schedulingPriority": {"low": {"qos": "low prio"}}})",
       "site.json: schedulingPriority.low.qos: expected letters, digits, '-', '_' or '.', got \"low prio\""},
      {R"({"schedulingPriority": {"low": {"QOS": "low"}}})",
       "site.json: schedulingPriority.low.QOS: unknown key (did you mean 'qos'?)"},
      {R"({"containers": {"runtime": "docker"}})",
       "site.json: containers.runtime: expected \"none\", \"pyxis\" or \"apptainer\", got \"docker\""},
      {R"({"containers": {"allowHostWithoutContainer": "yes"}})",
       "site.json: containers.allowHostWithoutContainer: expected true or false, got \"yes\""},
      {R"({"shares": [{"type": "nfs", "name": "n", "path": "/n"}]})",
       "site.json: shares[0].type: expected \"azureFileShare\", \"azureBlobFileSystem\", \"fileServer\" or "
       "\"unmanagedFileSystem\", got \"nfs\""},
      {R"({"shares": [{"type": "fileServer", "name": "", "path": "/n"}]})",
       "site.json: shares[0].name: must not be empty"},
      {R"({"shares": [{"type": "fileServer", "name": "n"}]})", "site.json: shares[0].path: required, but missing"},
      {R"({"shares": [{"type": "fileServer", "name": "n", "path": "n"}]})",
       "site.json: shares[0].path: expected an absolute path (or one starting with ~/), got \"n\""},
      {R"({"shares": [{"name": "n", "path": "/n"}]})", "site.json: shares[0].type: required, but missing"},
      {R"({"shares": [{"type": "fileServer", "name": "n", "path": "/a"},
                      {"type": "azureFileShare", "name": "n", "path": "/b"},
                      {"type": "fileServer", "name": "n", "path": "/c"}]})",
       "site.json: shares[2]: duplicate share: fileServer \"n\" is also shares[0]"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(refusal(c.text), c.message);
  }
}

TEST(SiteConfig, SyntaxErrorsNameLineAndColumn) {
  EXPECT_EQ(refusal("{\n  \"jobsRoot\": \"/j\"\n  \"mpi\": \"pmix\"\n}"),
            "site.json:3:3: invalid JSON: syntax error");
}

TEST(SiteConfig, EveryProblemIsReportedAtOnce) {
  EXPECT_EQ(refusal(R"({
    "jobRoot": "/j",
    "tensorFlowPortBase": 1,
    "clusters": [{"name": "gpu", "gpusPerNode": "four"}, {"name": "gpu"}],
    "containers": {"runtime": "docker"}
  })"),
            "site.json: jobRoot: unknown key (did you mean 'jobsRoot'?)\n"
            "site.json: tensorFlowPortBase: expected an integer from 1024 to 65000, got 1\n"
            "site.json: clusters[0].gpusPerNode: expected an integer >= 0, got \"four\"\n"
            "site.json: clusters[1].name: duplicate cluster name \"gpu\" (also clusters[0].name)\n"
            "site.json: containers.runtime: expected \"none\", \"pyxis\" or \"apptainer\", got \"docker\"");
}

TEST(SiteConfig, RuntimeNames) {
  EXPECT_EQ(to_string(ContainerRuntime::none), "none");
  EXPECT_EQ(to_string(ContainerRuntime::pyxis), "pyxis");
  EXPECT_EQ(to_string(ContainerRuntime::apptainer), "apptainer");
  auto site = parse(R"({"containers": {"runtime": "pyxis"}})");
  ASSERT_TRUE(site) << site.error().message;
  EXPECT_EQ(site->container_runtime, ContainerRuntime::pyxis);
}

TEST(SiteConfig, LoadPrefersBatchaiConfAndRequiresIt) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string conf = dir.file("conf.json"), def = dir.file("site.json");
  write(conf, R"({"mpi": "pmi2"})");
  write(def, R"({"mpi": "none"})");

  auto site = load_site_config(conf.c_str(), def, kHome);
  ASSERT_TRUE(site) << site.error().message;
  EXPECT_EQ(site->mpi, "pmi2");
  EXPECT_EQ(site->source, conf);

  const std::string missing = dir.file("missing.json");
  auto refused = load_site_config(missing.c_str(), def, kHome);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "BATCHAI_CONF: cannot read '" + missing + "': No such file or directory");

  // Set but empty counts as unset.
  auto fallback = load_site_config("", def, kHome);
  ASSERT_TRUE(fallback) << fallback.error().message;
  EXPECT_EQ(fallback->mpi, "none");
  EXPECT_EQ(fallback->source, def);
}

TEST(SiteConfig, LoadWithoutAnyFileGivesTheDefaults) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  auto site = load_site_config(nullptr, dir.file("site.json"), kHome);
  ASSERT_TRUE(site) << site.error().message;
  EXPECT_EQ(site->source, "built-in defaults");
  EXPECT_EQ(site->jobs_root, "/home/ada/.batchai/jobs");
  EXPECT_EQ(site->mpi, "pmix");
}

TEST(SiteConfig, LoadReportsProblemsInTheFileItRead) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string def = dir.file("site.json");
  write(def, R"({"mpi": 1})");
  auto site = load_site_config(nullptr, def, kHome);
  ASSERT_FALSE(site);
  EXPECT_EQ(site.error().message, def + ": mpi: expected a string, got 1");
}

TEST(SiteConfig, TheExampleFileIsValid) {
  const std::string path = BATCHAI_SITE_EXAMPLE;
  auto site = load_site_config(path.c_str(), "", kHome);
  ASSERT_TRUE(site) << site.error().message;
  const Cluster* gpu = site->find_cluster("gpu");
  ASSERT_NE(gpu, nullptr);
  EXPECT_EQ(gpu->partition, "gpu");
  EXPECT_EQ(gpu->gpus_per_node, 4);
  EXPECT_EQ(gpu->gpu_type, "h100");
  EXPECT_EQ(gpu->max_wall_clock_seconds, 2 * 86400);
  const Cluster* batch = site->find_cluster("batch");
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(batch->gpus_per_node, 0);
  EXPECT_EQ(site->high.qos, "high");
  const Cluster* nc6 = site->find_vm_size("STANDARD_NC6");
  ASSERT_NE(nc6, nullptr);
  EXPECT_EQ(nc6->low_priority_partition, "gpu-lowpri");
  EXPECT_EQ(site->low_priority.qos, "scavenger");
  EXPECT_FALSE(site->shares.empty());
}

TEST(SiteConfig, VmSizesMatchCaseInsensitivelyAndDefaultToSlurmsPartition) {
  auto site = parse(R"({"vmSizes": [{"name": "STANDARD_NC24r", "partition": "gpu", "gpusPerNode": 4},
                                    {"name": "STANDARD_D2_v2"}]})");
  ASSERT_TRUE(site) << site.error().message;
  const Cluster* nc = site->find_vm_size("standard_nc24R");
  ASSERT_NE(nc, nullptr);
  EXPECT_EQ(nc->partition, "gpu");
  EXPECT_EQ(nc->gpus_per_node, 4);
  ASSERT_NE(site->find_vm_size("STANDARD_D2_V2"), nullptr);
  EXPECT_EQ(site->find_vm_size("STANDARD_D2_V2")->partition, "");
  EXPECT_EQ(nc->low_priority_partition, "") << "not given: the same partition, which cluster create decides";
  EXPECT_EQ(site->find_vm_size("STANDARD_NC6"), nullptr);
  auto dup = parse(R"({"vmSizes": [{"name": "A"}, {"name": "a"}]})");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().message, "site.json: vmSizes[1].name: duplicate VM size \"a\" (also vmSizes[0].name)");
}

}  // namespace
}  // namespace batchai::site
