// Where a command's resource lives, as az resolved it: -g/--resource-group
// and -w/--workspace may be left out when a default is set. A flag wins,
// then $BATCHAI_DEFAULT_GROUP / $BATCHAI_DEFAULT_WORKSPACE, then what
// `batchai configure --defaults` stored. Every workspace, experiment,
// cluster and job command resolves them here, so they cannot disagree.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "frontend/cli.h"
#include "frontend/state.h"

namespace batchai::frontend {

inline constexpr args::Option kResourceGroupOption = {
    "resource-group", 'g', "NAME",
    "resource group (default: $BATCHAI_DEFAULT_GROUP, else batchai configure --defaults group=NAME)"};
inline constexpr args::Option kWorkspaceOption = {
    "workspace", 'w', "NAME",
    "workspace (default: $BATCHAI_DEFAULT_WORKSPACE, else batchai configure --defaults workspace=NAME)"};
// --ids on every show and delete: the `id` values we print, instead of -n
// and the -g/-w/-e that place the resource.
inline constexpr args::Option kIdsOption = args::many(
    {"ids", 0, "ID", "one or more resource ids (the `id` that show and list print), instead of -n and -g/-w/-e"});
inline constexpr args::Option kYesOption = {"yes", 'y', "", "do not ask for confirmation"};

// ctx.store(), or an error when this context has no state database.
Result<state::Store*> open_store(Context& ctx);

// The resource group from -g, the environment or the stored default; an
// error when none is set: "--resource-group: required (or set a default:
// batchai configure --defaults group=NAME)". Each source's value is checked
// as a resource name, and the error names that source.
Result<std::string> resource_group(const Context& ctx, const args::Parsed& p, state::Store& store);
// The same, with nullopt where nothing is set (`workspace list` lists all).
Result<std::optional<std::string>> resource_group_if_set(const Context& ctx, const args::Parsed& p,
                                                         state::Store& store);
// -g and -w.
Result<state::WorkspaceKey> workspace_key(const Context& ctx, const args::Parsed& p, state::Store& store);

// The value of a name flag (e.g. "name") that the command's table marks
// required, checked as a resource name.
Result<std::string> resource_name(const args::Parsed& p, std::string_view flag);

// The kinds of resource an id names, by the last type segment in it.
enum class ResourceType { workspace, experiment, cluster, file_server, job };

// One of our resource ids, taken apart:
// /subscriptions/SUB/resourceGroups/G/providers/Microsoft.BatchAI/workspaces/W
// [/experiments/E[/jobs/J] | /clusters/C | /fileServers/F]. Any subscription
// is accepted (we print "local"); type words match as in ARM, ignoring case.
struct ResourceId {
  ResourceType type = ResourceType::workspace;
  std::string group, workspace;
  std::string name;        // the experiment, cluster or file server; empty for a workspace
  std::string job;         // for a job
};

// Fails with one line naming the id and what it should look like when `id`
// is not such an id, or not of `type`; names are checked as -g/-n are.
Result<ResourceId> parse_resource_id(std::string_view id, ResourceType type);

// The ids a show or delete was given with --ids, parsed; nullopt without
// --ids (the command then reads -n and -g/-w/-e). --ids with -n, or with
// -g/-w/-e given as flags, is an error: the id says all of it.
Result<std::optional<std::vector<ResourceId>>> resource_ids(const args::Parsed& p, ResourceType type);

// az's confirmation for destructive commands: nothing to do with -y;
// otherwise asks "Are you sure you want to perform this operation? (y/n):"
// on the terminal, and refuses to ask when stdin is not one.
Status confirm(const args::Parsed& p);

}  // namespace batchai::frontend
