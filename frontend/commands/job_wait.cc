// batchai job wait: block until the job ends; exit with its exit code, as
// az did, printing its errors when it failed.
#include <boost/json.hpp>
#include <chrono>
#include <optional>

#include "frontend/commands/job_common.h"
#include "base/diag.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    BATCHAI_EXPERIMENT_OPTIONS,
    args::required({"name", 'n', "NAME", "job name"}),
    kSlurmJobIdOption,
    {"interval", 0, "SECONDS", "seconds between checks (default 15, as az)"},
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto key = job_key(ctx, p, **store, "name");
  if (!key) return key.error();
  auto told = slurm_job_id_flag(p);
  if (!told) return told.error();
  auto interval = p.get_int("interval", 0, 86400);
  if (!interval) return interval.error();
  const auto pause = std::chrono::seconds(interval->value_or(15));
  std::optional<state::ExecutionState> last;
  // The first load records a told id; later ones find it recorded.
  for (std::optional<std::uint32_t> id = *told;; id.reset()) {
    auto job = load_job(ctx, **store, *key, id);
    if (!job) return job.error();
    if (job->state != last) {
      diag::note("job '" + key->job + "' is " + state::to_string(job->state));
      last = job->state;
    }
    if (is_final(*job)) {
      const int code = job->exit_code.value_or(-1);
      if (job->state == state::ExecutionState::failed) {
        diag::note("job '" + key->job + "' failed with exit code " + std::to_string(code));
        boost::system::error_code ec;
        auto errors = boost::json::parse(job->errors_json, ec);
        if (!ec && errors.is_array()) {
          for (const auto& e : errors.get_array()) {
            const auto& o = e.as_object();
            diag::note(std::string(o.at("code").as_string()) + ": " + std::string(o.at("message").as_string()));
          }
        }
      }
      // An exit status is 0..255: a job killed by a signal or never run
      // (-1) still ends non-zero.
      return code == 0 ? 0 : (code > 0 && code < 256 ? code : 1);
    }
    ctx.sleep(pause.count() ? std::chrono::milliseconds(pause) : std::chrono::milliseconds(200));
  }
}

}  // namespace

extern const Command kJobWait = {"job wait", "Wait for a job to end; exit with its exit code", kOptions, {}, run};

}  // namespace batchai::frontend
