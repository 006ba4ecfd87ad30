// The unit tests that compare batchai with the Python az runs on (json,
// jmespath, knack): a script run by python3 over a JSON file of cases, its
// stdout one JSON document. Strings only come back, so nothing Python
// printed is re-read as a number on the way.
#pragma once

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "unit/temp_dir.h"

namespace batchai::testing {

// What `python3 SCRIPT CASES ARGS` printed, parsed; or why it failed
// (the exit status, stdout and stderr) as an error for the test to report.
inline boost::json::value run_python(const std::string& script, const boost::json::value& cases,
                                     const std::string& args, std::string& error) {
  TempDir dir;
  if (!dir.ok()) {
    error = "cannot make a temporary directory";
    return nullptr;
  }
  // Not "<module>.py": a script named after a module it imports would
  // shadow it.
  std::ofstream(dir.file("oracle_script.py")) << script;
  std::ofstream(dir.file("cases.json")) << boost::json::serialize(cases);
  const std::string command = "python3 " + dir.file("oracle_script.py") + " " + dir.file("cases.json") + " " +
                              args + " 2>" + dir.file("stderr");
  std::string text;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) {
    error = "cannot run python3";
    return nullptr;
  }
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) text.append(buf, n);
  const int status = ::pclose(p);
  std::stringstream err;
  err << std::ifstream(dir.file("stderr")).rdbuf();
  if (status != 0) {
    error = "python3 exited with status " + std::to_string(status) + ":\n" + text + err.str();
    return nullptr;
  }
  std::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec) error = "python3 printed no JSON:\n" + text + err.str();
  return v;
}

}  // namespace batchai::testing
