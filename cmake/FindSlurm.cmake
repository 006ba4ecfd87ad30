# FindSlurm: libslurm and its headers.
#
# Debian's libslurm-dev ships no pkg-config file, so look for the header and
# library directly; SLURM_ROOT (or Slurm_ROOT) points at a non-system install.
# Defines Slurm::slurm and Slurm_VERSION (from slurm_version.h).
find_path(Slurm_INCLUDE_DIR slurm/slurm.h HINTS ${SLURM_ROOT} ENV SLURM_ROOT PATH_SUFFIXES include)
find_library(Slurm_LIBRARY slurm HINTS ${SLURM_ROOT} ENV SLURM_ROOT PATH_SUFFIXES lib lib64)

if(Slurm_INCLUDE_DIR AND EXISTS "${Slurm_INCLUDE_DIR}/slurm/slurm_version.h")
  file(STRINGS "${Slurm_INCLUDE_DIR}/slurm/slurm_version.h" _slurm_ver
       REGEX "^#define SLURM_VERSION_NUMBER 0x[0-9a-fA-F]+")
  string(REGEX REPLACE ".*0x([0-9a-fA-F][0-9a-fA-F])([0-9a-fA-F][0-9a-fA-F])([0-9a-fA-F][0-9a-fA-F]).*"
         "\\1;\\2;\\3" _slurm_parts "${_slurm_ver}")
  list(GET _slurm_parts 0 _major)
  list(GET _slurm_parts 1 _minor)
  list(GET _slurm_parts 2 _micro)
  math(EXPR _major "0x${_major}")
  math(EXPR _minor "0x${_minor}")
  math(EXPR _micro "0x${_micro}")
  if(_minor LESS 10)
    set(_minor "0${_minor}")  # Slurm spells it 22.05.8
  endif()
  set(Slurm_VERSION "${_major}.${_minor}.${_micro}")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Slurm
  REQUIRED_VARS Slurm_LIBRARY Slurm_INCLUDE_DIR
  VERSION_VAR Slurm_VERSION)

if(Slurm_FOUND AND NOT TARGET Slurm::slurm)
  add_library(Slurm::slurm UNKNOWN IMPORTED)
  set_target_properties(Slurm::slurm PROPERTIES
    IMPORTED_LOCATION "${Slurm_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${Slurm_INCLUDE_DIR}")
endif()
mark_as_advanced(Slurm_INCLUDE_DIR Slurm_LIBRARY)
