// --debug: a slurm::Client that tells, on stderr through diag::debug, each
// call batchai makes to Slurm, what came back and how long it took, then
// passes it on. A submit is shown by its shape (partition, nodes, tasks,
// hold, QOS, the script's size and first line), never its environment:
// values there and in the script's data are the user's, secrets included.
#pragma once

#include "slurm/client.h"

namespace batchai::frontend {

class DebugClient final : public slurm::Client {
 public:
  explicit DebugClient(slurm::Client& inner) : inner_(inner) {}

  Result<slurm::JobId> submit(const slurm::SubmitRequest& request) override;
  Result<std::optional<slurm::JobInfo>> job(slurm::JobId id) override;
  Result<std::optional<slurm::JobInfo>> accounted_job(slurm::JobId id) override;
  Status cancel(slurm::JobId id) override;
  Status release(slurm::JobId id) override;
  Result<std::vector<slurm::NodeInfo>> nodes() override;
  Result<std::vector<slurm::PartitionInfo>> partitions() override;

 private:
  slurm::Client& inner_;
};

}  // namespace batchai::frontend
