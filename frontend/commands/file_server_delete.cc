// batchai file-server delete: forgets the file server. Its directory goes
// only when batchai made it and it is empty: the files are the users', as
// `group delete` keeps job outputs, and a site's directory is the admin's.
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <unistd.h>

#include "base/diag.h"
#include "frontend/commands/file_server_common.h"
#include "frontend/commands/resource_args.h"

namespace batchai::frontend {
namespace {

constexpr args::Option kOptions[] = {
    kResourceGroupOption,
    kWorkspaceOption,
    file_servers::kNameOption,
    kYesOption,
    {"no-wait", 0, "", "accepted for az scripts; deletion is immediate here"},
};

bool made_by_batchai(const state::FileServer& f) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(f.properties_json, ec);
  if (ec || !v.is_object()) return false;
  const auto* made = v.as_object().if_contains("directoryCreated");
  return !f.site_mapped && made && made->is_bool() && made->as_bool();
}

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
  if (auto s = confirm(p); !s) return s.error();
  if (auto s = (*store)->delete_file_server(*key); !s) return s.error();
  const state::FileServer& f = **found;
  if (!made_by_batchai(f)) {
    diag::note("kept " + f.path + ": batchai did not make it");
  } else if (::rmdir(f.path.c_str()) == 0 || errno == ENOENT) {
    // Removed, or already gone.
  } else if (errno == ENOTEMPTY || errno == EEXIST) {
    diag::note("kept " + f.path + ": it holds files");
  } else {
    diag::warning("kept " + f.path + ": " + std::strerror(errno));
  }
  return 0;
}

}  // namespace

extern const Command kFileServerDelete = {"file-server delete",
                                          "Delete a file server (its directory only when batchai made it and it is "
                                          "empty)",
                                          kOptions, {}, run};

}  // namespace batchai::frontend
