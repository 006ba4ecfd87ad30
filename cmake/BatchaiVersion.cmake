# The version header: release number, git revision and the build's features,
# so `--version` says exactly what a site is running.
# The git revision is written at build time (BatchaiGitRevision.cmake), so
# it follows commits made after configuring.
find_package(Git QUIET)
set(BATCHAI_GIT_REVISION_HEADER "${PROJECT_BINARY_DIR}/generated/base/git_revision.h")
add_custom_target(batchai_git_revision
  COMMAND "${CMAKE_COMMAND}" "-DSOURCE_DIR=${PROJECT_SOURCE_DIR}" "-DOUTPUT=${BATCHAI_GIT_REVISION_HEADER}"
          "-DGIT_EXECUTABLE=${GIT_EXECUTABLE}" -P "${PROJECT_SOURCE_DIR}/cmake/BatchaiGitRevision.cmake"
  BYPRODUCTS "${BATCHAI_GIT_REVISION_HEADER}"
  VERBATIM)

# "Open MPI v4.1.4, package: ..." -> "Open MPI v4.1.4"
string(REGEX REPLACE ",.*" "" BATCHAI_MPI_VERSION "${MPI_CXX_LIBRARY_VERSION_STRING}")
string(STRIP "${BATCHAI_MPI_VERSION}" BATCHAI_MPI_VERSION)
if(BATCHAI_CUDA_ENABLED)
  set(BATCHAI_CUDA_VERSION "${CUDAToolkit_VERSION}")
else()
  set(BATCHAI_CUDA_VERSION "")
endif()
foreach(_v BATCHAI_CUDA_ENABLED BATCHAI_NCCL_ENABLED)
  if(${_v})
    set(${_v}_INT 1)
  else()
    set(${_v}_INT 0)
  endif()
endforeach()

configure_file("${PROJECT_SOURCE_DIR}/base/version.h.in" "${PROJECT_BINARY_DIR}/generated/base/version.h" @ONLY)
