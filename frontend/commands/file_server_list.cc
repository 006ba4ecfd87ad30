// batchai file-server list: the workspace's file servers.
#include "frontend/commands/file_server_common.h"
#include "frontend/commands/resource_args.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {kResourceGroupOption, kWorkspaceOption};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto ws = workspace_key(ctx, p, **store);
  if (!ws) return ws.error();
  auto all = (*store)->file_servers(*ws);
  if (!all) return all.error();
  if (auto s = file_servers::emit(ctx, *all, true); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kFileServerList = {"file-server list", "List the file servers of a workspace", kOptions, {},
                                        run};

}  // namespace batchai::frontend
