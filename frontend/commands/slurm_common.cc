#include "frontend/commands/slurm_common.h"

#include <boost/json.hpp>

#include "base/args.h"

namespace batchai::frontend {

boost::json::value to_json(const slurm::JobInfo& job) {
  boost::json::array names;
  for (const auto& n : job.node_names) names.emplace_back(n);
  return boost::json::object{
      {"jobId", job.id},
      {"name", job.name},
      {"user", job.user},
      {"partition", job.partition},
      {"state", slurm::to_string(job.state)},
      {"reason", job.reason},
      {"exitCode", job.exit_code},
      {"signal", job.signal},
      {"nodeCount", job.node_count},
      {"nodes", job.nodes},
      {"nodeNames", names},
      {"submitTime", iso_time(job.submit_time)},
      {"startTime", iso_time(job.start_time)},
      {"endTime", iso_time(job.end_time)},
      {"timeLimitMinutes", job.time_limit_minutes},
      {"workDir", job.work_dir},
      {"stdOut", job.std_out},
      {"stdErr", job.std_err},
  };
}

std::span<const Column> job_columns() {
  static constexpr Column kColumns[] = {
      {"JobId", "jobId"}, {"Name", "name"},     {"State", "state"},        {"Exit code", "exitCode"},
      {"Nodes", "nodes"}, {"Start", "startTime"}, {"End", "endTime"},
  };
  return kColumns;
}

Result<slurm::JobId> parse_job_id(std::string_view text) {
  auto id = args::parse_int(text, 1, UINT32_MAX, "JOBID");
  if (!id) return id.error();
  return static_cast<slurm::JobId>(*id);
}

Result<slurm::JobInfo> wait_for_job(Context& ctx, slurm::Client& client, slurm::JobId id,
                                    std::chrono::milliseconds interval, std::chrono::seconds timeout) {
  std::chrono::milliseconds waited{0};
  for (;;) {
    auto job = client.job(id);
    if (!job) return job.error();
    if (!*job) return Error{"job " + std::to_string(id) + " is not known to Slurm"};
    if (slurm::is_final((*job)->state)) return **job;
    if (timeout.count() > 0 && waited >= timeout) {
      return Error{"job " + std::to_string(id) + " still " + slurm::to_string((*job)->state) + " after " +
                   std::to_string(timeout.count()) + " s"};
    }
    ctx.sleep(interval);
    waited += interval;
  }
}

int exit_status_of(const slurm::JobInfo& job) {
  if (job.state == slurm::JobState::completed) return 0;
  if (job.exit_code != 0) return job.exit_code;
  if (job.signal != 0) return 128 + job.signal;
  return 1;
}

}  // namespace batchai::frontend
