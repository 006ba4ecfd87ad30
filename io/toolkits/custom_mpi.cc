// customMpiSettings: a command line run by every MPI rank.
#include "io/toolkits.h"

namespace batchai::jobspec {

CustomMpiSettings parse_custom_mpi(JsonReader& r, const boost::json::object& o, const std::string& p) {
  r.check_keys(o, p, {"commandLine", "processCount"});
  return CustomMpiSettings{r.text(o, p, "commandLine", true), r.count(o, p, "processCount")};
}

}  // namespace batchai::jobspec
