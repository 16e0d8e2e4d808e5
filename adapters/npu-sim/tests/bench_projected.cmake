# adapters/npu-sim/tests/bench_projected.cmake: `dshal bench` on npu-sim shows throughput projected by
# the cost model for GEMMs the cube runs (bf16), and none for one that runs as a host fallback (fp8
# weights, which npu-sim does not take).
# Usage: cmake -DDSHAL=<dshal> -P bench_projected.cmake
execute_process(COMMAND ${DSHAL} bench --device npu-sim:0 --json --shapes 16x512x512 --dtypes bf16,fp8
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "dshal bench exited ${rc}:\n${out}\n${err}")
endif()
foreach(i 0 1)
  string(JSON dtype GET "${out}" gemm ${i} dtype)
  string(JSON type TYPE "${out}" gemm ${i} projected_gflops)
  set(want NUMBER)
  if(dtype STREQUAL "fp8")
    set(want NULL)
  endif()
  if(NOT type STREQUAL want)
    message(FATAL_ERROR "bench ${dtype}: projected_gflops is ${type}, expected ${want}:\n${out}")
  endif()
endforeach()
string(JSON projected GET "${out}" gemm 0 projected_gflops)
string(JSON host GET "${out}" gemm 0 gflops)
message(STATUS "bf16 16x512x512: ${host} GFLOP/s on the host, projected ${projected} GFLOP/s")
if(NOT projected GREATER host)
  message(FATAL_ERROR "the projection (${projected}) should exceed what the host simulation does (${host})")
endif()
