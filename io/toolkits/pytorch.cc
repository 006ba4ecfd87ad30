// pyTorchSettings: a Python script; communicationBackend is passed on to
// it, and "MPI" changes how its processes start (slurm/toolkits/pytorch.cc).
#include "io/toolkits.h"

namespace batchai::jobspec {

PyTorchSettings parse_pytorch(JsonReader& r, const boost::json::object& o, const std::string& p) {
  r.check_keys(o, p, {"pythonScriptFilePath", "pythonInterpreterPath", "commandLineArgs", "processCount",
                      "communicationBackend"});
  return PyTorchSettings{r.text(o, p, "pythonScriptFilePath", true), r.text(o, p, "pythonInterpreterPath"),
                         r.text(o, p, "commandLineArgs"), r.count(o, p, "processCount"),
                         r.text(o, p, "communicationBackend")};
}

}  // namespace batchai::jobspec
