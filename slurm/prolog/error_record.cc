#include "slurm/prolog/error_record.h"

#include <fcntl.h>
#include <unistd.h>

#include "slurm/prolog/fd.h"

namespace batchai::prolog {

void record_prolog_error(const PrologJob& job, const site::SiteConfig& site, const NodeError& error) {
  auto dir = open_job_dir(job, site);
  if (!dir) return;
  auto errors = user_dir(*dir, "errors", job);
  if (!errors) return;
  const std::string text = error_json(error, job.node, {{"step", "Prolog"}});
  const std::string name = job.node + ".json";
  Fd fd(::openat(errors->get(), name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd.ok()) return;
  (void)::fchown(fd.get(), job.uid, job.gid);
  (void)!::write(fd.get(), text.data(), text.size());
}

}  // namespace batchai::prolog
