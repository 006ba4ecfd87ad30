// The site configuration as the commands load it: $BATCHAI_CONF, else the
// installation's etc/batchai/site.json, else the built-in defaults. Without
// a prologProgram, the batchai-prolog beside this program.
#pragma once

#include "frontend/cli.h"
#include "io/site_config.h"

namespace batchai::frontend {

Result<site::SiteConfig> read_site_config(const Context& ctx);

}  // namespace batchai::frontend
