# The version header: release number, git revision and the build's features,
# so `--version` says exactly what a site is running.
find_package(Git QUIET)
set(BATCHAI_GIT_REVISION "unknown")
if(GIT_FOUND AND EXISTS "${PROJECT_SOURCE_DIR}/.git")
  execute_process(COMMAND "${GIT_EXECUTABLE}" describe --always --dirty --abbrev=12
                  WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
                  OUTPUT_VARIABLE _rev OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
                  RESULT_VARIABLE _rc)
  if(_rc EQUAL 0 AND _rev)
    set(BATCHAI_GIT_REVISION "${_rev}")
  endif()
endif()

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

configure_file("${PROJECT_SOURCE_DIR}/io/version.h.in" "${PROJECT_BINARY_DIR}/generated/io/version.h" @ONLY)
