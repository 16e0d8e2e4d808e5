# report.html in a real browser: `dshal conform` on cpu:0 (core tier) writes report.html, and it and
# the rendered v2_full fixture (hostile strings in messages and adapter fields) open in headless
# Chromium with no console output and a full-size, non-blank screenshot (check_html_in_chromium.cmake).
# Inputs: DSHAL, FIXTURES, OUT (scratch folder), CHECK (check_html_in_chromium.cmake).
file(REMOVE_RECURSE ${OUT})
execute_process(COMMAND ${DSHAL} conform --device cpu:0 --tier core --report ${OUT}/conform
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "conform exited ${rc}: ${out} ${err}")
endif()
if(NOT out MATCHES "reports in ${OUT}/conform \\(report.html,")
  message(FATAL_ERROR "conform does not say where report.html went: ${out}")
endif()
execute_process(COMMAND ${DSHAL} report html ${FIXTURES}/v2_full.json -o ${OUT}/v2_full.html RESULT_VARIABLE rc
                ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "report html v2_full.json exited ${rc}: ${err}")
endif()
foreach(page conform/report.html v2_full.html)
  string(REPLACE "/" "_" name ${page})
  execute_process(COMMAND ${CMAKE_COMMAND} -DHTML=${OUT}/${page} -DPNG=${OUT}/${name}.png -DPROFILE=${OUT}/profile
                          -DMIN_PNG_BYTES=60000 -P ${CHECK}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the Chromium check failed on ${OUT}/${page}")
  endif()
endforeach()
