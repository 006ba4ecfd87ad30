#include "slurm/prolog/container.h"

#include <filesystem>
#include <fstream>

#include "base/files.h"

namespace batchai::prolog {

namespace fs = std::filesystem;

std::vector<std::string> record_preparation_failures(const NodeStep& step) {
  std::vector<std::string> failed;
  for (const auto& node : step.nodes) {
    std::ifstream mark(fs::path(step.job_dir) / "preparation" / node);
    std::string code;
    if (!(mark >> code) || code == "0") continue;
    const std::string stderr_file = "stderr-job_prep-" + node + ".txt";
    const NodeError error{"JobPreparationFailed", "jobPreparation exited with code " + code + " on " + node};
    std::error_code ec;
    fs::create_directories(fs::path(step.job_dir) / "errors", ec);
    (void)write_file_atomic((fs::path(step.job_dir) / "errors" / (node + ".json")).string(),
                            error_json(error, node, {{"stderr", stderr_file}}), 0644);
    failed.push_back(node);
  }
  return failed;
}

std::vector<std::string> record_container_failures(const NodeStep& step) {
  const fs::path errors = fs::path(step.job_dir) / "errors";
  std::error_code ec;
  if (fs::is_directory(errors, ec) && !fs::is_empty(errors, ec)) return {};
  std::vector<std::string> failed;
  for (const auto& node : step.nodes) {
    if (fs::exists(fs::path(step.job_dir) / "containers" / node, ec)) continue;
    const std::string stderr_file = "stderr-container-" + node + ".txt";
    const NodeError error{"ContainerStartFailed",
                          "the job's container (image " + step.image + ") did not start on " + node + "; see " +
                              stderr_file};
    fs::create_directories(errors, ec);
    (void)write_file_atomic((errors / (node + ".json")).string(),
                            error_json(error, node, {{"image", step.image}, {"stderr", stderr_file}}), 0644);
    std::ofstream(fs::path(step.stdouterr) / ("execution-" + node + ".log"), std::ios::app)
        << step.now << " batchai-prolog: ContainerStartFailed: " << error.message << "\n";
    failed.push_back(node);
  }
  return failed;
}

}  // namespace batchai::prolog
