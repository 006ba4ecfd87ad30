// batchai file-server show: one file server, as az's FileServer object.
#include "frontend/commands/file_server_common.h"
#include "frontend/commands/resource_args.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {kResourceGroupOption, kWorkspaceOption, file_servers::kNameOrIdsOption,
                                     kIdsOption};

// The file server, or the error that says which name is missing.
Result<state::FileServer> find(state::Store& store, const state::FileServerKey& key) {
  auto found = store.file_server(key);
  if (!found) return found.error();
  if (*found) return std::move(**found);
  auto ws = store.workspace({key.group, key.workspace});
  if (!ws) return ws.error();
  if (!*ws) return state::not_found(state::WorkspaceKey{key.group, key.workspace});
  return state::not_found(key);
}

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  auto keys = file_servers::keys(ctx, p, **store);
  if (!keys) return keys.error();
  std::vector<state::FileServer> found;
  for (const auto& key : *keys) {
    auto f = find(**store, key);
    if (!f) return f.error();
    found.push_back(std::move(*f));
  }
  // Several ids show a list, as az does; one shows the object.
  if (auto s = file_servers::emit(ctx, found, found.size() != 1); !s) return s.error();
  return 0;
}

}  // namespace

extern const Command kFileServerShow = {"file-server show", "Show a file server", kOptions, {}, run};

}  // namespace batchai::frontend
