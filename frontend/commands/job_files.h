// Where a job's files are: the directories the job script recorded once
// their variables had expanded on the node ($BATCHAI_JOB_DIR/directories).
// Any shared filesystem will do; Batch AI needed Azure Files or Blob.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "frontend/state.h"
#include "base/result.h"

namespace batchai::frontend {

// The directory of output `id` ("stdouterr" or an outputDirectories id),
// plus `path` inside it. nullopt while the job has not started (nothing
// recorded yet); an error for an unknown id or a path leaving the directory.
Result<std::optional<std::string>> job_output_directory(const state::Job& job, const std::string& id,
                                                        const std::string& path);

// `dir` plus --path `path`, which may not leave it ("." for dir itself).
Result<std::string> directory_inside(const std::string& dir, const std::string& path);

// One entry of a listed directory.
struct ListedFile {
  std::string name;  // the entry's own name
  std::string path;  // absolute, for a file:// link
  bool is_directory = false;
  std::uintmax_t size = 0;  // 0 for a directory
  std::time_t modified = 0;
};

// The entries of `dir` in name order; none where it does not exist (yet).
std::vector<ListedFile> list_directory(const std::string& dir);

}  // namespace batchai::frontend
