#include "frontend/commands/resource_json.h"

#include <boost/json.hpp>

namespace batchai::frontend {
namespace {

// Batch AI reported provisioning states that no longer change here:
// creation is complete when the command returns.
constexpr const char* kSucceeded = "succeeded";

Status emit_all(const Context& ctx, boost::json::array rows, bool as_list, std::span<const Column> columns) {
  if (as_list) return emit(ctx, rows, columns);
  if (!rows.empty()) return emit(ctx, rows.front(), columns);
  return {};
}

}  // namespace

std::string arm_id(const state::WorkspaceKey& k) {
  return "/subscriptions/local/resourceGroups/" + k.group + "/providers/Microsoft.BatchAI/workspaces/" + k.workspace;
}

boost::json::value to_json(const state::Workspace& w) {
  boost::json::value location = nullptr;
  if (!w.location.empty()) location = w.location;
  return boost::json::object{
      {"creationTime", iso_time(static_cast<std::time_t>(w.created))},
      {"id", arm_id(w.key)},
      {"location", location},
      {"name", w.key.workspace},
      {"provisioningState", kSucceeded},
      {"provisioningStateTransitionTime", iso_time(static_cast<std::time_t>(w.created))},
      {"resourceGroup", w.key.group},
      {"type", "Microsoft.BatchAI/workspaces"},
  };
}

boost::json::value to_json(const state::Experiment& e) {
  return boost::json::object{
      {"creationTime", iso_time(static_cast<std::time_t>(e.created))},
      {"id", arm_id({e.key.group, e.key.workspace}) + "/experiments/" + e.key.experiment},
      {"name", e.key.experiment},
      {"provisioningState", kSucceeded},
      {"provisioningStateTransitionTime", iso_time(static_cast<std::time_t>(e.created))},
      {"resourceGroup", e.key.group},
      {"type", "Microsoft.BatchAI/workspaces/experiments"},
  };
}

Status emit_workspaces(const Context& ctx, std::span<const state::Workspace> ws, bool as_list) {
  static constexpr Column kColumns[] = {
      {"Name", "name"}, {"Resource Group", "resourceGroup"}, {"Location", "location"}};
  boost::json::array rows;
  for (const auto& w : ws) rows.push_back(to_json(w));
  return emit_all(ctx, std::move(rows), as_list, kColumns);
}

Status emit_experiments(const Context& ctx, std::span<const state::Experiment> es, bool as_list) {
  static constexpr Column kColumns[] = {
      {"Name", "name"}, {"Resource Group", "resourceGroup"}, {"Workspace", "workspace"}};
  boost::json::array rows;
  for (const auto& e : es) {
    // az's object has no workspace field (it is in the id); its table
    // transformer added one, and so does this for tables.
    auto row = to_json(e);
    if (ctx.format == OutputFormat::table) row.as_object()["workspace"] = e.key.workspace;
    rows.push_back(std::move(row));
  }
  return emit_all(ctx, std::move(rows), as_list, kColumns);
}

}  // namespace batchai::frontend
