// batchai file-server show: one file server, as az's FileServer object.
#include "frontend/commands/file_server_common.h"
#include "frontend/commands/resource_args.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {kResourceGroupOption, kWorkspaceOption, file_servers::kNameOrIdsOption,
                                     kIdsOption};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto found = file_servers::named(ctx, p, **store);
  if (!found) return found.error();
  // Several ids show a list, as az does; one shows the object.
  if (auto s = file_servers::emit(ctx, *found, found->size() != 1); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kFileServerShow = {"file-server show", "Show a file server", kOptions, {}, run};

}  // namespace batchai::frontend
