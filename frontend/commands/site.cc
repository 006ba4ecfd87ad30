#include "frontend/commands/site.h"

#ifndef BATCHAI_SYSCONFDIR
#define BATCHAI_SYSCONFDIR "/etc"
#endif

namespace batchai::frontend {

Result<site::SiteConfig> read_site_config(const Context& ctx) {
  const auto conf = ctx.getenv("BATCHAI_CONF");
  const auto home = ctx.getenv("HOME").value_or("/");
  return site::load_site_config(conf ? conf->c_str() : nullptr, BATCHAI_SYSCONFDIR "/batchai/site.json", home);
}

}  // namespace batchai::frontend
