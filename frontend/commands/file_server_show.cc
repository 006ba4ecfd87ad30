// batchai file-server show: one file server, as az's FileServer object.
#include "frontend/commands/file_server_common.h"
#include "frontend/commands/resource_args.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {kResourceGroupOption, kWorkspaceOption, file_servers::kNameOption};

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto key = file_servers::key(ctx, p, **store);
  if (!key) return key.error();
  auto found = (*store)->file_server(*key);
  if (!found) return found.error();
  if (!*found) {
    auto ws = (*store)->workspace({key->group, key->workspace});
    if (!ws) return ws.error();
    if (!*ws) return state::not_found(state::WorkspaceKey{key->group, key->workspace});
    return state::not_found(*key);
  }
  if (auto s = file_servers::emit(ctx, std::span(&**found, 1), false); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kFileServerShow = {"file-server show", "Show a file server", kOptions, {}, run};

}  // namespace batchai::frontend
