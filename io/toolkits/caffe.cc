// caffeSettings: a solver config for the caffe binary, or a Python script
// (pycaffe), never both, as Batch AI required.
#include "io/toolkits.h"

namespace batchai::jobspec {

CaffeSettings parse_caffe(JsonReader& r, const boost::json::object& o, const std::string& p) {
  r.check_keys(o, p, {"configFilePath", "pythonScriptFilePath", "pythonInterpreterPath", "commandLineArgs",
                      "processCount"});
  CaffeSettings s{r.text(o, p, "configFilePath"), r.text(o, p, "pythonScriptFilePath"),
                  r.text(o, p, "pythonInterpreterPath"), r.text(o, p, "commandLineArgs"),
                  r.count(o, p, "processCount")};
  if (s.config_file_path.empty() == s.python_script_file_path.empty()) {
    r.error(p, "give exactly one of configFilePath and pythonScriptFilePath");
  }
  if (!s.python_interpreter_path.empty() && s.python_script_file_path.empty()) {
    r.error(p + ".pythonInterpreterPath", "only with pythonScriptFilePath");
  }
  return s;
}

}  // namespace batchai::jobspec
