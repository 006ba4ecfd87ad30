// Where a job's files are: the directories the job script recorded once
// their variables had expanded on the node ($BATCHAI_JOB_DIR/directories).
// Any shared filesystem will do; Batch AI needed Azure Files or Blob.
#pragma once

#include <optional>
#include <string>

#include "frontend/state.h"
#include "base/result.h"

namespace batchai::frontend {

// The directory of output `id` ("stdouterr" or an outputDirectories id),
// plus `path` inside it. nullopt while the job has not started (nothing
// recorded yet); an error for an unknown id or a path leaving the directory.
Result<std::optional<std::string>> job_output_directory(const state::Job& job, const std::string& id,
                                                        const std::string& path);

}  // namespace batchai::frontend
