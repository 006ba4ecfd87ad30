// A slurm::Client that records what it is asked and answers from a script,
// for unit tests of the frontend. The real adapter is tested against real
// daemons in tests/integration.
#pragma once

#include <deque>
#include <map>

#include "slurm/client.h"

namespace batchai::testing {

class FakeSlurm : public slurm::Client {
 public:
  std::vector<slurm::SubmitRequest> submitted;
  std::vector<slurm::JobId> cancelled;
  std::vector<slurm::JobId> released;
  // Successive answers to job(id); the last one repeats.
  std::map<slurm::JobId, std::deque<slurm::JobInfo>> job_answers;
  // What accounting holds; a job missing here is not accounted.
  std::map<slurm::JobId, slurm::JobInfo> accounted;
  std::optional<std::string> accounting_fails_with;
  std::vector<slurm::NodeInfo> node_list;
  std::vector<slurm::PartitionInfo> partition_list;
  std::optional<std::string> fail_with;      // every call fails with this message
  std::optional<std::string> refuse_submit;  // only submit fails with this message
  slurm::JobId next_id = 100;

  Result<slurm::JobId> submit(const slurm::SubmitRequest& r) override {
    if (fail_with) return Error{*fail_with};
    if (refuse_submit) return Error{*refuse_submit};
    submitted.push_back(r);
    return next_id++;
  }
  Result<std::optional<slurm::JobInfo>> job(slurm::JobId id) override {
    if (fail_with) return Error{*fail_with};
    auto it = job_answers.find(id);
    if (it == job_answers.end() || it->second.empty()) return std::optional<slurm::JobInfo>{};
    slurm::JobInfo info = it->second.front();
    if (it->second.size() > 1) it->second.pop_front();
    return std::optional<slurm::JobInfo>{info};
  }
  Result<std::optional<slurm::JobInfo>> accounted_job(slurm::JobId id) override {
    if (fail_with) return Error{*fail_with};
    if (accounting_fails_with) return Error{*accounting_fails_with};
    auto it = accounted.find(id);
    if (it == accounted.end()) return std::optional<slurm::JobInfo>{};
    return std::optional<slurm::JobInfo>{it->second};
  }
  Status cancel(slurm::JobId id) override {
    if (fail_with) return Error{*fail_with};
    cancelled.push_back(id);
    return {};
  }
  Status release(slurm::JobId id) override {
    if (fail_with) return Error{*fail_with};
    released.push_back(id);
    return {};
  }
  Result<std::vector<slurm::NodeInfo>> nodes() override {
    if (fail_with) return Error{*fail_with};
    return node_list;
  }
  Result<std::vector<slurm::PartitionInfo>> partitions() override {
    if (fail_with) return Error{*fail_with};
    return partition_list;
  }
};

inline slurm::JobInfo job_in(slurm::JobId id, slurm::JobState state, int exit_code = 0, int signal = 0) {
  slurm::JobInfo j;
  j.id = id;
  j.name = "job" + std::to_string(id);
  j.state = state;
  j.exit_code = exit_code;
  j.signal = signal;
  j.node_count = 4;
  j.nodes = "node[1-4]";
  j.node_names = {"node1", "node2", "node3", "node4"};
  return j;
}

}  // namespace batchai::testing
