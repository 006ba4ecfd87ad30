#include "frontend/debug_client.h"

#include <chrono>
#include <string>

#include "base/diag.h"

namespace batchai::frontend {
namespace {

using Clock = std::chrono::steady_clock;

std::string elapsed(Clock::time_point since) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - since).count();
  return " (" + std::to_string(us) + " us)";
}

template <typename T>
std::string outcome(const Result<T>& r) {
  return r ? "ok" : "error: " + diag::one_line(r.error().message);
}

std::string job_outcome(const Result<std::optional<slurm::JobInfo>>& r) {
  if (!r) return outcome(r);
  if (!*r) return "not found";
  return std::string("state ") + slurm::to_string((*r)->state) + ", partition " + (*r)->partition + ", nodes '" +
         diag::one_line((*r)->nodes) + "'";
}

}  // namespace

Result<slurm::JobId> DebugClient::submit(const slurm::SubmitRequest& r) {
  std::string what = "slurm: submit name=" + diag::one_line(r.name) + " partition=" +
                     (r.partition.empty() ? "(default)" : r.partition) + " nodes=" + std::to_string(r.nodes);
  if (r.tasks) what += " tasks=" + std::to_string(*r.tasks);
  if (r.tasks_per_node) what += " tasks-per-node=" + std::to_string(*r.tasks_per_node);
  if (r.time_limit_minutes) what += " time=" + std::to_string(*r.time_limit_minutes) + "min";
  if (!r.gpus_per_node.empty()) what += " gpus-per-node=" + r.gpus_per_node;
  if (!r.qos.empty()) what += " qos=" + r.qos;
  if (r.exclusive) what += " exclusive";
  if (r.hold) what += " hold";
  what += " env-vars=" + std::to_string(r.environment.size()) + " script=" + std::to_string(r.script.size()) +
          " bytes, first line '" + diag::one_line(r.script.substr(0, r.script.find('\n'))) + "'";
  diag::debug(what);
  const auto start = Clock::now();
  auto id = inner_.submit(r);
  diag::debug("slurm: submit -> " + (id ? "job " + std::to_string(*id) : outcome(id)) + elapsed(start));
  return id;
}

Result<std::optional<slurm::JobInfo>> DebugClient::job(slurm::JobId id) {
  const auto start = Clock::now();
  auto r = inner_.job(id);
  diag::debug("slurm: job " + std::to_string(id) + " -> " + job_outcome(r) + elapsed(start));
  return r;
}

Result<std::optional<slurm::JobInfo>> DebugClient::accounted_job(slurm::JobId id) {
  const auto start = Clock::now();
  auto r = inner_.accounted_job(id);
  diag::debug("slurm: accounting for job " + std::to_string(id) + " -> " + job_outcome(r) + elapsed(start));
  return r;
}

Status DebugClient::cancel(slurm::JobId id) {
  const auto start = Clock::now();
  auto r = inner_.cancel(id);
  diag::debug("slurm: cancel job " + std::to_string(id) + " -> " + outcome(r) + elapsed(start));
  return r;
}

Status DebugClient::release(slurm::JobId id) {
  const auto start = Clock::now();
  auto r = inner_.release(id);
  diag::debug("slurm: release job " + std::to_string(id) + " -> " + outcome(r) + elapsed(start));
  return r;
}

Result<std::vector<slurm::NodeInfo>> DebugClient::nodes() {
  const auto start = Clock::now();
  auto r = inner_.nodes();
  diag::debug("slurm: nodes -> " + (r ? std::to_string(r->size()) + " nodes" : outcome(r)) + elapsed(start));
  return r;
}

Result<std::vector<slurm::PartitionInfo>> DebugClient::partitions() {
  const auto start = Clock::now();
  auto r = inner_.partitions();
  diag::debug("slurm: partitions -> " + (r ? std::to_string(r->size()) + " partitions" : outcome(r)) +
              elapsed(start));
  return r;
}

}  // namespace batchai::frontend
