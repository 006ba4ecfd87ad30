#include "slurm/client.h"

namespace batchai::slurm {

const char* to_string(JobState state) {
  switch (state) {
    case JobState::pending: return "PENDING";
    case JobState::running: return "RUNNING";
    case JobState::suspended: return "SUSPENDED";
    case JobState::completing: return "COMPLETING";
    case JobState::completed: return "COMPLETED";
    case JobState::cancelled: return "CANCELLED";
    case JobState::failed: return "FAILED";
    case JobState::timeout: return "TIMEOUT";
    case JobState::node_fail: return "NODE_FAIL";
    case JobState::preempted: return "PREEMPTED";
    case JobState::boot_fail: return "BOOT_FAIL";
    case JobState::deadline: return "DEADLINE";
    case JobState::out_of_memory: return "OUT_OF_MEMORY";
    case JobState::requeued: return "REQUEUED";
  }
  return "UNKNOWN";
}

bool is_final(JobState state) {
  switch (state) {
    case JobState::pending:
    case JobState::running:
    case JobState::suspended:
    case JobState::completing:
    case JobState::requeued:
      return false;
    default:
      return true;
  }
}

}  // namespace batchai::slurm
