# `dshal conform --device nosuch:3` exits 2 and names the available devices.
execute_process(COMMAND ${DSHAL} conform --device nosuch:3 --report ${CMAKE_CURRENT_BINARY_DIR}/unused
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out)
if(NOT rc EQUAL 2)
  message(FATAL_ERROR "expected exit code 2, got ${rc}: ${err}")
endif()
if(NOT err MATCHES "available devices: .*cpu:0")
  message(FATAL_ERROR "the message does not list the available devices: ${err}")
endif()
execute_process(COMMAND ${DSHAL} devices --json RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "\"id\": \"cpu:0\"")
  message(FATAL_ERROR "dshal devices --json: rc ${rc}, output ${out}")
endif()
