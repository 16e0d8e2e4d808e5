# adapters/npu-sim/tests/bad_spec.cmake: a bad card spec (a missing field, a negative number, text
# where a number belongs, a file that does not exist) leaves npu-sim without devices: `dshal devices`
# still exits 0, lists template:0, and gives npu-sim one line naming the file and the field; asking
# for npu-sim:0 is a clear error with exit status 2.
# Usage: cmake -DDSHAL=<dshal> -DGOOD=<a good spec> -DOUT=<dir> -P bad_spec.cmake
file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT})
file(READ ${GOOD} good)

# name|spec text|what the message must contain (a regex)
string(REGEX REPLACE "\n  bf16: [0-9.]+" "" missing "${good}")
string(REGEX REPLACE "\nhbm_gbps: [0-9.]+" "\nhbm_gbps: -5" negative "${good}")
string(REGEX REPLACE "\npcie_gbps: [0-9.]+" "\npcie_gbps: fast" text "${good}")
foreach(case missing negative text)
  file(WRITE ${OUT}/${case}.yaml "${${case}}")
endforeach()
set(expect_missing "field 'tflops.bf16' is missing")
set(expect_negative "field 'hbm_gbps' must be > 0, got -5")
set(expect_text "field 'pcie_gbps' is not a number")
set(expect_absent "no such spec file")

foreach(case missing negative text absent)
  set(spec ${OUT}/${case}.yaml)
  set(ENV{DSHAL_NPU_SIM_SPEC} ${spec})
  execute_process(COMMAND ${DSHAL} devices RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${case}: dshal devices exited ${rc}: ${out} ${err}")
  endif()
  string(REGEX MATCHALL "[^\n]*npu-sim[^\n]*" lines "${out}\n${err}")
  list(LENGTH lines count)
  string(FIND "${lines}" "${spec}: ${expect_${case}}" at)
  if(NOT count EQUAL 1 OR at EQUAL -1)
    message(FATAL_ERROR "${case}: expected one npu-sim line with '${spec}: ${expect_${case}}', got:\n${out}\n${err}")
  endif()
  if(NOT out MATCHES "template:0")
    message(FATAL_ERROR "${case}: the other adapters should still be listed:\n${out}")
  endif()
  execute_process(COMMAND ${DSHAL} conform --device npu-sim:0 --tier core --report ${OUT}/report-${case}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(FIND "${err}" "${spec}: ${expect_${case}}" at)
  if(NOT rc EQUAL 2 OR at EQUAL -1)
    message(FATAL_ERROR "${case}: conform on npu-sim:0 should exit 2 naming the spec and field, got ${rc}:\n${out}\n${err}")
  endif()
endforeach()
