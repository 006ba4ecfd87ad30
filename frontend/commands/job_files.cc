#include "frontend/commands/job_files.h"

#include <fstream>

namespace batchai::frontend {

Result<std::optional<std::string>> job_output_directory(const state::Job& job, const std::string& id,
                                                        const std::string& path) {
  // "." and plain names only: the listing must stay inside the job's files.
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (path.substr(start, end - start) == "..") return Error{"--path: '" + path + "' leaves the directory"};
    start = end + 1;
  }
  if (!path.empty() && path.front() == '/') return Error{"--path: '" + path + "' must be relative"};
  std::ifstream in(job.job_dir + "/directories");
  if (!in) return std::optional<std::string>{};
  std::string ids;
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq);
    if (key == id) {
      std::string dir = line.substr(eq + 1);
      if (!path.empty() && path != ".") dir += "/" + path;
      return std::optional<std::string>{dir};
    }
    ids += (ids.empty() ? "" : ", ") + key;
  }
  return Error{"--output-directory-id: job '" + job.key.job + "' has no output directory '" + id + "' (it has " +
               ids + ")"};
}

}  // namespace batchai::frontend
