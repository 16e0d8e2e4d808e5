# The plugin loader skips each unusable manifest with one line in `dshal devices` and still lists
# the other devices: a wrong abi_version, a missing library, a library without the entry point, a
# name already taken and a manifest that is not valid YAML. Also: DSHAL_ADAPTERS_DISABLE and
# selecting a skipped plugin's device (exit 2 with the reason).
# Inputs: DSHAL (the CLI), NO_ENTRY (a shared library without dshal_adapter_negotiate), OUT.
file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT})
file(WRITE ${OUT}/a_future.yaml "name: future\nlibrary: libfuture.so\nabi_version: 99\nvendor: Test\ndescription: built for another ABI\n")
file(WRITE ${OUT}/b_missing.yaml "name: missing\nlibrary: libnot-there.so\nabi_version: 1\n")
file(WRITE ${OUT}/c_noentry.yaml "name: noentry\nlibrary: ${NO_ENTRY}\nabi_version: 1\n")
file(WRITE ${OUT}/d_taken.yaml "name: cpu\nlibrary: libcpu-again.so\nabi_version: 1\n")
file(WRITE ${OUT}/e_broken.yaml "name: [unclosed\n")

execute_process(COMMAND ${CMAKE_COMMAND} -E env DSHAL_ADAPTER_PATH=/nonexistent:${OUT} ${DSHAL} devices
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "dshal devices exited ${rc}: ${out}${err}")
endif()
foreach(want "cpu:0 " "future:-.*abi_version 99 is not the ABI this dshal speaks"
             "missing:-.*cannot load .*libnot-there.so" "noentry:-.*has no entry point dshal_adapter_negotiate"
             "cpu:-.*an adapter named 'cpu' is already loaded" "e_broken:-.*not valid YAML")
  string(REGEX MATCHALL "${want}[^\n]*" hits "${out}")
  list(LENGTH hits n)
  if(NOT n EQUAL 1)
    message(FATAL_ERROR "expected one line matching '${want}', found ${n}:\n${out}${err}")
  endif()
endforeach()
if(NOT err STREQUAL "")
  message(FATAL_ERROR "a skipped manifest should be one line in the listing, not also on stderr:\n${err}")
endif()

execute_process(COMMAND ${CMAKE_COMMAND} -E env DSHAL_ADAPTER_PATH=${OUT} DSHAL_ADAPTERS_DISABLE=op*,vulk* ${DSHAL} devices
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "opencl:-[^\n]*disabled by DSHAL_ADAPTERS_DISABLE" OR NOT out MATCHES "cpu:0 ")
  message(FATAL_ERROR "DSHAL_ADAPTERS_DISABLE: exit ${rc}:\n${out}${err}")
endif()

execute_process(COMMAND ${CMAKE_COMMAND} -E env DSHAL_ADAPTER_PATH=${OUT} ${DSHAL} conform --device future:0 --tier core
                        --report ${OUT}/report
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 2 OR NOT "${out}${err}" MATCHES "abi_version 99")
  message(FATAL_ERROR "--device future:0 should exit 2 with the manifest's problem; exit ${rc}:\n${out}${err}")
endif()
