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
    file_servers::kNameOrIdsOption,
    kIdsOption,
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

void remove_directory(const state::FileServer& f) {
  if (!made_by_batchai(f)) {
    diag::note("kept " + f.path + ": batchai did not make it");
  } else if (::rmdir(f.path.c_str()) == 0 || errno == ENOENT) {
    // Removed, or already gone.
  } else if (errno == ENOTEMPTY || errno == EEXIST) {
    diag::note("kept " + f.path + ": it holds files");
  } else {
    diag::warning("kept " + f.path + ": " + std::strerror(errno));
  }
}

Result<int> run(Context& ctx, const args::Parsed& p) {
  auto store = ctx.store();
  if (!store) return store.error();
  // Every one is found before any is deleted, and confirmed once.
  auto found = file_servers::named(ctx, p, **store);
  if (!found) return found.error();
  if (auto s = confirm(p); !s) return s.error();
  for (const auto& f : *found) {
    if (auto s = (*store)->delete_file_server(f.key); !s) return s.error();
    remove_directory(f);
  }
  return 0;
}

}  // namespace

extern const Command kFileServerDelete = {"file-server delete",
                                          "Delete a file server (its directory only when batchai made it and it is "
                                          "empty)",
                                          kOptions, {}, run};

}  // namespace batchai::frontend
