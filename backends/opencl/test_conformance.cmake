# The whole suite on opencl:0 through `dshal conform`, twice with one fresh program cache:
#  - run 1 compiles the kernels, exits 0 and report.json lists no host fallback;
#  - run 2 (the same suite) compiles nothing: every program comes from the cache.
# Arguments: DSHAL (the CLI), OUT (a scratch folder).
file(REMOVE_RECURSE ${OUT})
set(ENV{DSHAL_OPENCL_CACHE_DIR} ${OUT}/program-cache)
set(ENV{POCL_CACHE_DIR} ${OUT}/pocl-cache)  # PoCL's own kernel cache starts cold too
set(ENV{DSHAL_LOG_LEVEL} 1)  # the adapter's "compiled ..." lines are info

function(conform run)
  string(TIMESTAMP start "%s")
  execute_process(COMMAND ${DSHAL} conform --device opencl:0 --tier all --report ${OUT}/${run}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(TIMESTAMP end "%s")
  math(EXPR seconds "${end} - ${start}")
  # Only the fixed prefix: the rest of the line holds '; ', which would split the CMake list.
  string(REGEX MATCHALL "dshal\\[opencl\\]: compiled " compiled "${err}")
  list(LENGTH compiled n)
  message(STATUS "${run}: exit ${rc}, ${seconds} s, ${n} program(s) compiled")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${run}: dshal conform --device opencl:0 exited ${rc}:\n${out}\n${err}")
  endif()
  file(READ ${OUT}/${run}/report.json json)
  string(JSON fallbacks LENGTH "${json}" fallbacks)
  string(JSON failed GET "${json}" summary failed)
  if(NOT fallbacks EQUAL 0 OR NOT failed EQUAL 0)
    message(FATAL_ERROR "${run}: ${failed} failed, ${fallbacks} op(s) fell back to the host:\n${out}")
  endif()
  set(compiled_count ${n} PARENT_SCOPE)
endfunction()

conform(first)
if(compiled_count EQUAL 0)
  message(FATAL_ERROR "the first run with an empty program cache compiled nothing: is the cache dir honoured?")
endif()
conform(second)
if(NOT compiled_count EQUAL 0)
  message(FATAL_ERROR "the second run compiled ${compiled_count} program(s): the program cache was not used")
endif()
