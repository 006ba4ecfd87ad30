#include "slurm/prolog/error_record.h"

#include "slurm/prolog/as_user.h"
#include "slurm/prolog/fd.h"
#include "slurm/prolog/limits.h"
#include "slurm/prolog/safe_file.h"

namespace batchai::prolog {

Status record_prolog_error(const PrologJob& job, const site::SiteConfig& site, const NodeError& error) {
  const std::string text = error_json(error, job.node, {{"step", "Prolog"}});
  // Bounded as a whole: the job directory is on a shared filesystem, which
  // may hang, and this may run after the Prolog's own budget is spent.
  auto recorded = within(kRecordLimit, [&]() -> Status {
    auto dir = open_job_dir(job, site);
    if (!dir) return dir.error();
    // Written by the user: root opens nothing in a directory the user can
    // write, and the file is the user's without a chown.
    // Its own limit inside the whole, so that it, not the whole, reports a
    // hang in the job directory.
    return as_user(User{job.uid, job.gid}, std::chrono::milliseconds(kRecordLimit) * 8 / 10, [&]() -> Status {
      auto errors = walk_user_directories(*dir, {"errors"}, job.uid, std::nullopt);
      if (!errors) return errors.error();
      return write_new_file(*errors, job.node + ".json", text, 0644);
    });
  });
  if (!recorded) return Error{"cannot record the error in errors/" + job.node + ".json: " + recorded.error().message};
  return {};
}

}  // namespace batchai::prolog
