// Workspaces and experiments as az printed them: ARM-shaped objects with
// an id under a fixed local subscription, so scripts that parse az's output
// (`--query id`, `-o tsv`) keep working.
#pragma once

#include <boost/json/value.hpp>
#include <span>
#include <string>
#include <vector>

#include "frontend/cli.h"
#include "frontend/output.h"
#include "frontend/state.h"

namespace batchai::frontend {

// "/subscriptions/local/resourceGroups/RG/providers/Microsoft.BatchAI/workspaces/WS";
// clusters, experiments and jobs append their own segments to it.
std::string arm_id(const state::WorkspaceKey& k);

boost::json::value to_json(const state::Workspace& w);
boost::json::value to_json(const state::Experiment& e);

// Writes workspaces or experiments (one, or a list) in ctx.format, with
// az's table columns: Name, Resource Group, Location for workspaces; Name,
// Resource Group, Workspace for experiments.
Status emit_workspaces(const Context& ctx, std::span<const state::Workspace> ws, bool as_list);
Status emit_experiments(const Context& ctx, std::span<const state::Experiment> es, bool as_list);

}  // namespace batchai::frontend
