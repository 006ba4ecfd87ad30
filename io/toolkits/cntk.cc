// cntkSettings: BrainScript takes a config file, Python a script, as Batch
// AI required; an absent languageType is read from which one is given.
#include "io/toolkits.h"

namespace batchai::jobspec {

CntkSettings parse_cntk(JsonReader& r, const boost::json::object& o, const std::string& p) {
  r.check_keys(o, p, {"languageType", "configFilePath", "pythonScriptFilePath", "pythonInterpreterPath",
                      "commandLineArgs", "processCount"});
  CntkSettings s{r.text(o, p, "languageType"), r.text(o, p, "configFilePath"), r.text(o, p, "pythonScriptFilePath"),
                 r.text(o, p, "pythonInterpreterPath"), r.text(o, p, "commandLineArgs"), r.count(o, p, "processCount")};
  if (!s.language_type.empty() && s.language_type != "BrainScript" && s.language_type != "Python") {
    r.error(p + ".languageType", "expected \"BrainScript\" or \"Python\", got \"" + s.language_type + "\"");
  }
  const bool python = s.language_type == "Python" || (s.language_type.empty() && !s.python_script_file_path.empty());
  if (python && !s.config_file_path.empty()) r.error(p + ".configFilePath", "only for languageType BrainScript");
  if (!python && !s.python_script_file_path.empty()) {
    r.error(p + ".pythonScriptFilePath", "only for languageType Python");
  }
  if (!python && !s.python_interpreter_path.empty()) {
    r.error(p + ".pythonInterpreterPath", "only for languageType Python");
  }
  if (python && s.python_script_file_path.empty()) r.error(p + ".pythonScriptFilePath", "required for Python");
  if (!python && s.config_file_path.empty()) r.error(p + ".configFilePath", "required for BrainScript");
  return s;
}

}  // namespace batchai::jobspec
