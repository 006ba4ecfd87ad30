// Runs one batchai command line through the real entry point, as the CLI
// test fixtures do: stdin from /dev/null, so that confirmation prompts meet
// no terminal even when the tests run in one, and stderr captured.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <ostream>
#include <string>
#include <vector>

#include "frontend/cli.h"

namespace batchai::testing {

// The exit status; stderr in `err`.
inline int run_cli(const std::vector<std::string>& argv, frontend::Context& ctx, std::ostream& help,
                   std::string& err) {
  const int saved = ::dup(STDIN_FILENO);
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ::dup2(null, STDIN_FILENO);
  ::close(null);
  ::testing::internal::CaptureStderr();
  const int rc = frontend::run(argv, ctx, help);
  err = ::testing::internal::GetCapturedStderr();
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  return rc;
}

}  // namespace batchai::testing
