#include "frontend/commands/site.h"

#include <filesystem>
#include <system_error>

#ifndef BATCHAI_SYSCONFDIR
#define BATCHAI_SYSCONFDIR "/etc"
#endif

namespace batchai::frontend {
namespace {

// A file beside this program: installed, bin/../<installed>; in a build
// tree, frontend/../<built>. Empty when neither exists.
std::string beside_me(const std::string& installed, const std::string& built) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  const auto dir = self.parent_path();
  for (const auto& candidate : {dir / ".." / installed, dir / ".." / built}) {
    // /proc/self/exe is already resolved, so ".." can go lexically, without
    // a system call per component on every command.
    if (std::filesystem::exists(candidate, ec)) return candidate.lexically_normal().string();
  }
  return "";
}

}  // namespace

Result<site::SiteConfig> read_site_config(const Context& ctx) {
  const auto conf = ctx.getenv("BATCHAI_CONF");
  const auto home = ctx.getenv("HOME").value_or("/");
  auto site = site::load_site_config(conf ? conf->c_str() : nullptr, BATCHAI_SYSCONFDIR "/batchai/site.json", home);
  if (site && site->prolog_program.empty()) {
    site->prolog_program = beside_me("libexec/batchai/batchai-prolog", "slurm/batchai-prolog");
  }
  // The job runtime's versions, installed with batchai or in the build tree.
  if (site && site->job_runtime_dir.empty()) {
    site->job_runtime_dir = beside_me("share/batchai/runtime", "share/batchai/runtime");
  }
  return site;
}

}  // namespace batchai::frontend
