#include "frontend/commands/site.h"

#include <filesystem>
#include <system_error>

#ifndef BATCHAI_SYSCONFDIR
#define BATCHAI_SYSCONFDIR "/etc"
#endif

namespace batchai::frontend {
namespace {

// batchai-prolog beside this program: installed, bin/../libexec/batchai;
// in a build tree, frontend/../slurm. Empty when neither exists.
std::string prolog_beside_me() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  const auto dir = self.parent_path();
  for (const auto& candidate : {dir / "../libexec/batchai/batchai-prolog", dir / "../slurm/batchai-prolog"}) {
    // /proc/self/exe is already resolved, so ".." can go lexically, without
    // a system call per component on every command.
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate.lexically_normal().string();
  }
  return "";
}

}  // namespace

Result<site::SiteConfig> read_site_config(const Context& ctx) {
  const auto conf = ctx.getenv("BATCHAI_CONF");
  const auto home = ctx.getenv("HOME").value_or("/");
  auto site = site::load_site_config(conf ? conf->c_str() : nullptr, BATCHAI_SYSCONFDIR "/batchai/site.json", home);
  if (site && site->prolog_program.empty()) site->prolog_program = prolog_beside_me();
  return site;
}

}  // namespace batchai::frontend
