// Running a shell command from an integration test: its exit status and its
// output (stdout and stderr together), as a user at a terminal sees them.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace batchai::testing {

struct Outcome {
  int status;
  std::string out;
};

inline Outcome run_command(const std::string& command) {
  Outcome r{0, ""};
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  std::array<char, 4096> buf;
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) r.out.append(buf.data(), n);
  int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace batchai::testing
