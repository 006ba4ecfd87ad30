// horovodSettings: a Python script run by every MPI rank.
#include "io/toolkits.h"

namespace batchai::jobspec {

HorovodSettings parse_horovod(JsonReader& r, const boost::json::object& o, const std::string& p) {
  r.check_keys(o, p, {"pythonScriptFilePath", "pythonInterpreterPath", "commandLineArgs", "processCount"});
  return HorovodSettings{r.text(o, p, "pythonScriptFilePath", true), r.text(o, p, "pythonInterpreterPath"),
                         r.text(o, p, "commandLineArgs"), r.count(o, p, "processCount")};
}

}  // namespace batchai::jobspec
