// chainerSettings: a Python script run by every MPI rank (ChainerMN).
#include "io/toolkits.h"

namespace batchai::jobspec {

ChainerSettings parse_chainer(JsonReader& r, const boost::json::object& o, const std::string& p) {
  r.check_keys(o, p, {"pythonScriptFilePath", "pythonInterpreterPath", "commandLineArgs", "processCount"});
  return ChainerSettings{r.text(o, p, "pythonScriptFilePath", true), r.text(o, p, "pythonInterpreterPath"),
                         r.text(o, p, "commandLineArgs"), r.count(o, p, "processCount")};
}

}  // namespace batchai::jobspec
