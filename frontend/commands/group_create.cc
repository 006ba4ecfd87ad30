// batchai group create: the tutorial's `az group create`. A resource group
// here is a namespace that exists with its first workspace, so there is
// nothing to store; the name is checked and echoed as az did.
#include <boost/json.hpp>

#include "frontend/commands/resource_args.h"
#include "io/job_spec.h"
#include "frontend/output.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    args::required({"name", 'n', "NAME", "the resource group"}),
    {"location", 'l', "LOCATION", "accepted for az scripts and echoed"},
};

Result<int> run(Context& ctx, const args::Parsed& p) {
  const auto name = p.get("name");  // required
  if (auto ok = jobspec::validate_resource_group_name(*name, "--name"); !ok) return ok.error();
  boost::json::object group{{"name", *name},
                            {"location", p.get("location").value_or("")},
                            {"properties", boost::json::object{{"provisioningState", "Succeeded"}}}};
  static constexpr Column kColumns[] = {{"Name", "name"}, {"Location", "location"}};
  if (auto s = emit(ctx, group, kColumns); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kGroupCreate = {
    "group create", "Name a resource group (az group create); it holds workspaces from the first one on", kOptions,
    {}, run};

}  // namespace batchai::frontend
