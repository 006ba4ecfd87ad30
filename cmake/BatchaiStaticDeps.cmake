# How the short-lived programs (batchai, batchai-prolog) link their C++
# dependencies.
#
# A `batchai job create` lasts about 5 ms, and with libstdc++, Boost.JSON and
# SQLite as shared libraries 0.7 ms of that was the dynamic loader resolving
# symbols (bench/job_create_vs_sbatch: 6.3 ms shared, 5.3 ms static, next to
# sbatch's 4.5 ms). With BATCHAI_STATIC_DEPS those three are linked from
# their archives where the system has them; libslurm, libc and MPI stay
# shared, as the site's Slurm and MPI must be the ones used.
#
# libyaml (for -o yaml) is C, so its archive needs no runtime of its own.
#
# Defines batchai::json, batchai::sqlite and batchai::yaml (the archive where found and
# wanted, else the usual imported target) and batchai_static_runtime(target).
option(BATCHAI_STATIC_DEPS
       "Link Boost.JSON, SQLite and libstdc++ statically into the CLI programs where archives exist" ON)

add_library(batchai_json INTERFACE)
add_library(batchai::json ALIAS batchai_json)
add_library(batchai_sqlite INTERFACE)
add_library(batchai::sqlite ALIAS batchai_sqlite)
add_library(batchai_yaml INTERFACE)
add_library(batchai::yaml ALIAS batchai_yaml)

set(_batchai_json_archive "")
set(_batchai_sqlite_archive "")
set(_batchai_yaml_archive "")
if(BATCHAI_STATIC_DEPS)
  # Next to the shared library the imported target names, so the archive is
  # the same build of the same version.
  get_target_property(_json_so Boost::json LOCATION)
  get_filename_component(_json_dir "${_json_so}" DIRECTORY)
  find_library(BATCHAI_BOOST_JSON_ARCHIVE NAMES libboost_json.a HINTS "${_json_dir}" NO_DEFAULT_PATH)
  find_library(BATCHAI_BOOST_CONTAINER_ARCHIVE NAMES libboost_container.a HINTS "${_json_dir}" NO_DEFAULT_PATH)
  get_filename_component(_sqlite_dir "${SQLite3_LIBRARY}" DIRECTORY)
  find_library(BATCHAI_SQLITE_ARCHIVE NAMES libsqlite3.a HINTS "${_sqlite_dir}" NO_DEFAULT_PATH)
  if(BATCHAI_BOOST_JSON_ARCHIVE AND BATCHAI_BOOST_CONTAINER_ARCHIVE)
    set(_batchai_json_archive "${BATCHAI_BOOST_JSON_ARCHIVE};${BATCHAI_BOOST_CONTAINER_ARCHIVE}")
  endif()
  if(BATCHAI_SQLITE_ARCHIVE)
    set(_batchai_sqlite_archive "${BATCHAI_SQLITE_ARCHIVE}")
  endif()
endif()

if(_batchai_json_archive)
  # The headers and definitions of Boost::json, the library from the archive.
  target_include_directories(batchai_json INTERFACE ${Boost_INCLUDE_DIRS})
  target_compile_definitions(batchai_json INTERFACE BOOST_JSON_NO_LIB BOOST_CONTAINER_NO_LIB)
  target_link_libraries(batchai_json INTERFACE ${_batchai_json_archive})
else()
  target_link_libraries(batchai_json INTERFACE Boost::json)
endif()
if(BATCHAI_STATIC_DEPS)
  # In the directory pkg-config names for yaml-0.1, so it is that build.
  find_library(BATCHAI_YAML_ARCHIVE NAMES libyaml.a HINTS ${YAML_LIBRARY_DIRS} NO_DEFAULT_PATH)
  if(BATCHAI_YAML_ARCHIVE)
    set(_batchai_yaml_archive "${BATCHAI_YAML_ARCHIVE}")
  endif()
endif()
if(_batchai_yaml_archive)
  target_include_directories(batchai_yaml INTERFACE ${YAML_INCLUDE_DIRS})
  target_link_libraries(batchai_yaml INTERFACE ${_batchai_yaml_archive})
else()
  target_link_libraries(batchai_yaml INTERFACE PkgConfig::YAML)
endif()
if(_batchai_sqlite_archive)
  target_include_directories(batchai_sqlite INTERFACE ${SQLite3_INCLUDE_DIRS})
  # The archive's own needs, which the shared library records for itself.
  target_link_libraries(batchai_sqlite INTERFACE ${_batchai_sqlite_archive} Threads::Threads ${CMAKE_DL_LIBS} m)
else()
  target_link_libraries(batchai_sqlite INTERFACE SQLite::SQLite3)
endif()

# libstdc++ and libgcc from their archives as well; only for programs whose
# every C++ dependency is static or C, or two copies of libstdc++ would meet.
function(batchai_static_runtime target)
  if(BATCHAI_STATIC_DEPS AND _batchai_json_archive AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang"
     AND NOT BATCHAI_SANITIZE)
    target_link_options(${target} PRIVATE -static-libstdc++ -static-libgcc)
  endif()
endfunction()

if(BATCHAI_STATIC_DEPS)
  message(STATUS "batchai: static Boost.JSON: ${_batchai_json_archive}")
  message(STATUS "batchai: static SQLite: ${_batchai_sqlite_archive}")
  message(STATUS "batchai: static libyaml: ${_batchai_yaml_archive}")
endif()
