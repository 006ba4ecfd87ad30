// batchai-prolog: prepares a job's nodes (directories, share mounts, job
// preparation). It runs on compute nodes, so it links only io/ and the
// node-side code, never the login-node frontend. Today it only reports its
// build; the preparation steps arrive with the prolog issue.
#include <cstdio>
#include <string>
#include <vector>

#include "io/args.h"
#include "io/diag.h"
#include "io/version.h"

namespace {
using batchai::args::Option;

constexpr Option kOptions[] = {
    {"version", 0, "", "print version and exit"},
    {"help", 'h', "", "show this help and exit"},
};
}  // namespace

int main(int argc, char** argv) {
  batchai::diag::set_program("batchai-prolog");
  std::vector<std::string> argv_list(argv + 1, argv + argc);
  auto parsed = batchai::args::parse(argv_list, kOptions, {});
  if (!parsed) {
    batchai::diag::error(parsed.error().message + " (try --help)");
    return 2;
  }
  if (parsed->has("help")) {
    std::fputs(batchai::args::help("batchai-prolog [OPTIONS]", "Prepares a batchai job's nodes.", kOptions, {}).c_str(),
               stdout);
    return 0;
  }
  if (parsed->has("version")) {
    std::printf("batchai-prolog %s (%s)\n", batchai::build::kVersion, batchai::build::kGitRevision);
    return 0;
  }
  batchai::diag::error("no job to prepare: node preparation is not implemented in this build yet");
  return 2;
}
