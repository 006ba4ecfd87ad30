// caffe2Settings: a Python script; one process per node.
#include "io/toolkits.h"

namespace batchai::jobspec {

Caffe2Settings parse_caffe2(JsonReader& r, const boost::json::object& o, const std::string& p) {
  r.check_keys(o, p, {"pythonScriptFilePath", "pythonInterpreterPath", "commandLineArgs"});
  return Caffe2Settings{r.text(o, p, "pythonScriptFilePath", true), r.text(o, p, "pythonInterpreterPath"),
                        r.text(o, p, "commandLineArgs")};
}

}  // namespace batchai::jobspec
