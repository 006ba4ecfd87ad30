// cluster.json: the body of `az batchai cluster create -f`, Batch AI's
// 2018-05-01 ClusterBaseProperties. Read with JsonReader as job.json is:
// every problem reported at once, each at its JSON path. What means nothing
// on Slurm (the image, the subnet, the admin account, cluster-level
// mounts) is read and checked so a file az took is taken, and its presence
// noted for the caller to say so.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace batchai::clusterspec {

struct SetupTask {
  std::string command_line;
  std::vector<std::pair<std::string, std::string>> environment;  // name, value
  std::string std_out_err_path_prefix;
};

struct ClusterSpec {
  std::optional<std::string> vm_size;
  std::optional<std::string> vm_priority;  // "dedicated" or "lowpriority"
  // scaleSettings: manual (target) or autoScale (min, max, initial).
  std::optional<std::int64_t> target_nodes;
  std::optional<std::int64_t> min_nodes, max_nodes, initial_nodes;
  std::optional<SetupTask> setup_task;
  // Given, and inert on Slurm: the JSON paths, for one note each.
  std::vector<std::string> inert;
};

struct ParseOptions {
  std::string file_name = "cluster.json";
  bool strict = false;  // unknown keys are errors, not warnings
};

struct Parsed {
  ClusterSpec spec;
  std::vector<std::string> warnings;
};

// On failure the Error's message holds every problem, one per line, each
// "<file>: <json path>: <problem>".
Result<Parsed> parse_cluster_spec(std::string_view text, const ParseOptions& options = {});

}  // namespace batchai::clusterspec
