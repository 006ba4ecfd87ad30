#include "slurm/prolog/node_scratch.h"

#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace batchai::prolog {

void remove_node_scratch(const PrologJob& job, const site::SiteConfig& site, const std::string& job_id,
                         const Log& log) {
  if (job_id.empty() || !std::all_of(job_id.begin(), job_id.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return;
  }
  const std::string scratch = site.node_temp_root + "/batchai-job-" + job_id;
  struct stat st {};
  if (::lstat(scratch.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != job.uid || job.uid == 0) return;
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(job.gid) != 0 || ::setuid(job.uid) != 0) ::_exit(2);
    std::error_code ec;
    std::filesystem::remove_all(scratch, ec);
    ::_exit(ec ? 1 : 0);
  }
  int status = 0;
  if (pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    log("removed " + scratch);
  } else {
    log("could not remove " + scratch);
  }
}

}  // namespace batchai::prolog
