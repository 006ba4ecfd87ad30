// batchai slurm submit: a batch script straight to Slurm through libslurm.
// Plumbing for checking a site's Slurm; users submit job.json files instead.
#include <boost/json.hpp>
#include <filesystem>

#include "frontend/commands/slurm_common.h"
#include "base/files.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    {"job-name", 'J', "NAME", "job name (default: the script's file name)"},
    {"partition", 'p', "NAME", "partition (default: the cluster's default)"},
    {"nodes", 'N', "N", "number of whole nodes, allocated together (default 1)"},
    {"ntasks", 'n', "N", "total number of tasks"},
    {"ntasks-per-node", 0, "N", "tasks on each node"},
    {"time", 't', "MINUTES", "time limit in minutes"},
    {"chdir", 'D', "DIR", "working directory on the nodes (default: the current one)"},
    {"stdout", 0, "PATH", "stdout file; %j is the job id (default: DIR/slurm-%j.out)"},
    {"stderr", 0, "PATH", "stderr file (default: with stdout)"},
    {"exclusive", 0, "", "do not share the nodes with other jobs"},
    {"wait", 0, "", "wait for the job to end and exit with its exit code"},
};
constexpr args::Positional kPositionals[] = {
    {"SCRIPT", "batch script to run; must start with #!"},
};

Result<std::string> read_script(const std::string& path) {
  auto text = read_text_file(path, "SCRIPT");
  if (text && !text->starts_with("#!")) {
    return Error{"SCRIPT: '" + path + "' does not start with '#!' (Slurm needs an interpreter line)"};
  }
  return text;
}

Result<slurm::SubmitRequest> build_request(const Context& ctx, const args::Parsed& p) {
  const std::string& path = p.positionals()[0];
  auto script = read_script(path);
  if (!script) return script.error();

  slurm::SubmitRequest r;
  r.script = std::move(*script);
  r.name = p.get("job-name").value_or(std::filesystem::path(path).filename().string());
  r.partition = p.get("partition").value_or("");
  auto nodes = p.get_int("nodes", 1, 100000);
  auto tasks = p.get_int("ntasks", 1, 10000000);
  auto per_node = p.get_int("ntasks-per-node", 1, 65000);
  auto time = p.get_int("time", 1, 100000000);
  for (const auto* e : {&nodes, &tasks, &per_node, &time}) {
    if (!*e) return e->error();
  }
  r.nodes = static_cast<std::uint32_t>(nodes->value_or(1));
  if (*tasks) r.tasks = static_cast<std::uint32_t>(**tasks);
  if (*per_node) r.tasks_per_node = static_cast<std::uint16_t>(**per_node);
  if (*time) r.time_limit_minutes = static_cast<std::uint32_t>(**time);
  std::error_code ec;
  r.work_dir = p.get("chdir").value_or(std::filesystem::current_path(ec).string());
  r.std_out = p.get("stdout").value_or(r.work_dir + "/slurm-%j.out");
  r.std_err = p.get("stderr").value_or("");
  r.exclusive = p.has("exclusive");
  r.environment = ctx.environment;
  return r;
}

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto request = build_request(ctx, p);
  if (!request) return request.error();
  auto client = ctx.slurm();
  if (!client) return client.error();
  auto id = (*client)->submit(*request);
  if (!id) return id.error();
  if (!p.has("wait")) {
    if (auto s = emit(ctx, boost::json::object{{"jobId", *id}}, std::array{Column{"JobId", "jobId"}}); !s) {
      return s.error();
    }
    return 0;
  }
  auto job = wait_for_job(ctx, **client, *id, std::chrono::milliseconds(500), std::chrono::seconds(0));
  if (!job) return job.error();
  if (auto s = emit(ctx, to_json(*job), job_columns()); !s) return s.error();
  return exit_status_of(*job);
}

}  // namespace

extern const Command kSlurmSubmit = {
    "slurm submit", "Submit a batch script to Slurm through libslurm (plumbing)", kOptions, kPositionals, run};

}  // namespace batchai::frontend
