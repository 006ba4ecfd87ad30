// customToolkitSettings: a command line run once, on the first node. Batch
// AI let it be empty (a job that only runs its jobPreparation).
#include "io/toolkits.h"

namespace batchai::jobspec {

CustomToolkitSettings parse_custom_toolkit(JsonReader& r, const boost::json::object& o, const std::string& p) {
  r.check_keys(o, p, {"commandLine"});
  return CustomToolkitSettings{r.text(o, p, "commandLine")};
}

}  // namespace batchai::jobspec
