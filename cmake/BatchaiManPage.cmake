# batchai_install_man(TARGET SECTION): installs TARGET's manual page, which
# the program prints from its own option table with --man, as
# share/man/man<SECTION>/<TARGET>.<SECTION>.
function(batchai_install_man target section)
  install(CODE "
    set(_dir \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_MANDIR}/man${section}\")
    file(MAKE_DIRECTORY \"\${_dir}\")
    execute_process(COMMAND \"$<TARGET_FILE:${target}>\" --man OUTPUT_FILE \"\${_dir}/${target}.${section}\"
                    RESULT_VARIABLE _rc)
    if(NOT _rc EQUAL 0)
      message(FATAL_ERROR \"${target} --man failed: \${_rc}\")
    endif()
    message(STATUS \"Installing: \${_dir}/${target}.${section}\")")
endfunction()
