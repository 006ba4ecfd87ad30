# BATCHAI_CUDA=AUTO|ON|OFF decides whether the CUDA trainer backend is built.
#
# AUTO enables CUDA when an nvcc is found: CMAKE_CUDA_COMPILER if set, else
# nvcc on PATH, else the toolkit's usual prefixes (CUDA_HOME, /usr/local/cuda),
# the same places FindCUDAToolkit searches. Machines without a GPU still
# compile and link every CUDA source this way, so CI catches CUDA build breaks.
set(BATCHAI_CUDA_ENABLED OFF)
set(BATCHAI_NCCL_ENABLED OFF)

if(NOT BATCHAI_CUDA MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "BATCHAI_CUDA: expected AUTO, ON or OFF, got '${BATCHAI_CUDA}'")
endif()

if(NOT BATCHAI_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER)
    find_program(BATCHAI_NVCC nvcc HINTS ENV CUDA_HOME ENV CUDA_PATH /usr/local/cuda PATH_SUFFIXES bin)
    if(BATCHAI_NVCC)
      set(CMAKE_CUDA_COMPILER "${BATCHAI_NVCC}" CACHE FILEPATH "CUDA compiler")
    endif()
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(BATCHAI_CUDA_ENABLED ON)
  elseif(BATCHAI_CUDA STREQUAL "ON")
    message(FATAL_ERROR "BATCHAI_CUDA=ON but no nvcc was found: set CMAKE_CUDA_COMPILER or CUDA_HOME")
  else()
    message(STATUS "batchai: nvcc not found, building without CUDA (BATCHAI_CUDA=AUTO)")
  endif()
endif()

if(BATCHAI_CUDA_ENABLED)
  # sm_80 (A100) and sm_90 (H100/H200) as real code, plus compute_90 PTX that
  # the driver can JIT for newer GPUs.
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES "80-real;90-real;90-virtual")
  endif()
  enable_language(CUDA)
  set(CMAKE_CUDA_STANDARD 17)  # CMake 3.25 knows no C++20 dialect flags for nvcc
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  find_package(CUDAToolkit REQUIRED)
  if(BATCHAI_NCCL)
    find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} ENV NCCL_HOME PATH_SUFFIXES include)
    find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR} ENV NCCL_HOME PATH_SUFFIXES lib lib64)
    if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
      set(BATCHAI_NCCL_ENABLED ON)
      add_library(batchai_nccl INTERFACE)
      target_include_directories(batchai_nccl INTERFACE ${NCCL_INCLUDE_DIR})
      target_link_libraries(batchai_nccl INTERFACE ${NCCL_LIBRARY})
    else()
      message(FATAL_ERROR "BATCHAI_NCCL=ON but nccl.h/libnccl were not found: set NCCL_HOME or BATCHAI_NCCL=OFF")
    endif()
  endif()
endif()
