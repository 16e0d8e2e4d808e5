# The Chromium check can fail: on a page whose script throws (tools/report_fixtures/console_error.html)
# check_html_in_chromium.cmake must exit non-zero reporting the uncaught error from the console.
# Inputs: FIXTURES, OUT (scratch folder), CHECK (check_html_in_chromium.cmake).
file(REMOVE_RECURSE ${OUT})
execute_process(COMMAND ${CMAKE_COMMAND} -DHTML=${FIXTURES}/console_error.html -DPNG=${OUT}/console_error.png
                        -DPROFILE=${OUT}/profile -P ${CHECK}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(out MATCHES "SKIP: chromium is not installed")
  message("${out}")
  return()
endif()
if(rc EQUAL 0)
  message(FATAL_ERROR "the check passed a page with a JavaScript error:\n${out}${err}")
endif()
# (CMake wraps the error message's lines, so the parts are matched one by one.)
if(NOT err MATCHES "console reported errors" OR NOT err MATCHES "Uncaught ReferenceError"
   OR NOT err MATCHES "functionThatDoesNotExist")
  message(FATAL_ERROR "the check failed, but not on the console error:\n${out}${err}")
endif()
message(STATUS "the check rejected the page, as it should:\n${err}")
