#include "slurm/client.h"

namespace batchai::slurm {

const char* to_string(NodeState state) {
  switch (state) {
    case NodeState::idle: return "IDLE";
    case NodeState::allocated: return "ALLOCATED";
    case NodeState::mixed: return "MIXED";
    case NodeState::down: return "DOWN";
    case NodeState::future: return "FUTURE";
    case NodeState::error: return "ERROR";
    case NodeState::unknown: return "UNKNOWN";
  }
  return "UNKNOWN";
}

std::optional<NodeState> parse_node_state(std::string_view text) {
  using S = NodeState;
  for (S s : {S::idle, S::allocated, S::mixed, S::down, S::future, S::error, S::unknown}) {
    if (text == to_string(s)) return s;
  }
  return std::nullopt;
}

}  // namespace batchai::slurm
