# Run at every build (cmake -P), not at configure time: writes the git
# revision header, touching it only when the revision changed, so --version
# never reports a commit older than the build and nothing recompiles when
# nothing changed.
#   cmake -DSOURCE_DIR=... -DOUTPUT=... -DGIT_EXECUTABLE=... -P BatchaiGitRevision.cmake
cmake_minimum_required(VERSION 3.25)  # script mode starts with no policies set
set(BATCHAI_GIT_REVISION "unknown")
if(GIT_EXECUTABLE AND EXISTS "${SOURCE_DIR}/.git")
  execute_process(COMMAND "${GIT_EXECUTABLE}" describe --always --dirty --abbrev=12
                  WORKING_DIRECTORY "${SOURCE_DIR}"
                  OUTPUT_VARIABLE _rev OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
                  RESULT_VARIABLE _rc)
  if(_rc EQUAL 0 AND _rev)
    set(BATCHAI_GIT_REVISION "${_rev}")
  endif()
endif()
file(CONFIGURE OUTPUT "${OUTPUT}" CONTENT "// Generated at build time by cmake/BatchaiGitRevision.cmake; do not edit.
#pragma once

namespace batchai::build {
inline constexpr const char* kGitRevision = \"@BATCHAI_GIT_REVISION@\";
}  // namespace batchai::build
" @ONLY)
