#include "slurm/prolog/node_scratch.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "slurm/prolog/as_user.h"
#include "slurm/prolog/limits.h"

namespace batchai::prolog {

void remove_node_scratch(const PrologJob& job, const site::SiteConfig& site, const std::string& job_id,
                         const Log& log, std::chrono::milliseconds limit) {
  if (job_id.empty() || !std::all_of(job_id.begin(), job_id.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return;
  }
  const std::string scratch = site.node_temp_root + "/batchai-job-" + job_id;
  struct stat st {};
  if (::lstat(scratch.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != job.uid || job.uid == 0) return;
  // A tree of millions of files, or one on a hung disk, must not hold the
  // Epilog past Slurm's timeout: the child is killed after `limit`.
  auto removed = as_user(User{job.uid, job.gid}, limit, [&]() -> Status {
    std::error_code ec;
    std::filesystem::remove_all(scratch, ec);
    if (ec) return Error{ec.message()};
    return {};
  });
  log(removed ? "removed " + scratch : "could not remove " + scratch + ": " + removed.error().message);
}

}  // namespace batchai::prolog
