# Warning and sanitizer flags travel on one interface target that every
# batchai target links privately, so nothing leaks into CMAKE_CXX_FLAGS or
# into projects that embed us.
add_library(batchai_flags INTERFACE)
add_library(batchai::flags ALIAS batchai_flags)

target_compile_options(batchai_flags INTERFACE
  $<$<COMPILE_LANGUAGE:C,CXX>:-Wall -Wextra>
  $<$<AND:$<COMPILE_LANGUAGE:C,CXX>,$<BOOL:${BATCHAI_WERROR}>>:-Werror>
  $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra>
  $<$<AND:$<COMPILE_LANGUAGE:CUDA>,$<BOOL:${BATCHAI_WERROR}>>:-Werror=all-warnings>)

if(BATCHAI_SANITIZE)
  list(JOIN BATCHAI_SANITIZE "," _san)
  # Host code only: nvcc cannot instrument device code, and the CUDA files
  # are compiled but never run on the machines that use sanitizers.
  target_compile_options(batchai_flags INTERFACE
    $<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=${_san} -fno-omit-frame-pointer -fno-sanitize-recover=all>)
  target_link_options(batchai_flags INTERFACE -fsanitize=${_san})
  message(STATUS "batchai: sanitizers ${_san}")
endif()
