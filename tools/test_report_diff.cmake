# `dshal report diff`: v2_before -> v2_full lists the five regressions and exits 1; identical
# reports exit 0; --json is parseable and agrees; bad input exits 2 naming the file and the field.
# Inputs: DSHAL, FIXTURES (tools/report_fixtures).
set(before ${FIXTURES}/v2_before.json)
set(full ${FIXTURES}/v2_full.json)

execute_process(COMMAND ${DSHAL} report diff ${before} ${full} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 1)
  message(FATAL_ERROR "diff before -> full: expected exit 1 (regressions), got ${rc}: ${out} ${err}")
endif()
set(regressions
    "ops/Attention.MatchesReference/absorbed_decode_bf16_128heads: \\(new case\\) -> xpass"
    "ops/GemmQuant.MatchesReference/fp8_blocks_32x64: passed -> claims-support-but-fails"
    "ops/GroupedGemm.MatchesReference/bf16_padded: \\(new case\\) -> timeout"
    "ops/MoeRoute.MatchesReference/ds_v3_noaux_tc_256: passed -> crashed"
    "ops/RmsNorm.MatchesReference/f32_4x64: passed -> failed")
foreach(line "REGRESSIONS \\(5\\)" ${regressions} "RESULT: 5 regression\\(s\\)" "rope: native -> fallback"
        "core/Gemm.MatchesFp64Reference/bf16_square_tn: 0.1 -> 0.4")
  if(NOT out MATCHES "${line}")
    message(FATAL_ERROR "diff before -> full does not list '${line}':\n${out}")
  endif()
endforeach()

# The other way round: softmax f16 (skipped in v2_full, failed in v2_before) regresses; three are fixed.
execute_process(COMMAND ${DSHAL} report diff ${full} ${before} RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 1 OR NOT out MATCHES "REGRESSIONS \\(1\\)\n  ops/Softmax.MatchesReference/f16: skipped -> failed"
   OR NOT out MATCHES "FIXES \\(3\\)" OR NOT out MATCHES "MoeRoute.MatchesReference/ds_v3_noaux_tc_256: crashed -> passed")
  message(FATAL_ERROR "diff full -> before: expected exit 1, one regression and three fixes, got ${rc}:\n${out}")
endif()

foreach(same ${before} ${full})
  execute_process(COMMAND ${DSHAL} report diff ${same} ${same} RESULT_VARIABLE rc OUTPUT_VARIABLE out)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "No differences")
    message(FATAL_ERROR "diff of ${same} with itself: expected exit 0 and no differences, got ${rc}:\n${out}")
  endif()
endforeach()

execute_process(COMMAND ${DSHAL} report diff --json ${before} ${full} RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 1)
  message(FATAL_ERROR "diff --json: expected exit 1, got ${rc}: ${out}")
endif()
string(JSON has ERROR_VARIABLE e GET "${out}" has_regressions)
if(e OR NOT has STREQUAL "ON")
  message(FATAL_ERROR "diff --json: has_regressions should be true (${e}):\n${out}")
endif()
string(JSON n LENGTH "${out}" regressions)
string(JSON old_path GET "${out}" old)
if(NOT n EQUAL 5 OR NOT old_path STREQUAL before)
  message(FATAL_ERROR "diff --json: expected 5 regressions and old = ${before}, got ${n} and ${old_path}")
endif()
execute_process(COMMAND ${DSHAL} report diff --json ${full} ${full} RESULT_VARIABLE rc OUTPUT_VARIABLE out)
string(JSON has GET "${out}" has_regressions)
string(JSON n LENGTH "${out}" regressions)
if(NOT rc EQUAL 0 OR NOT has STREQUAL "OFF" OR NOT n EQUAL 0)
  message(FATAL_ERROR "diff --json of identical reports: rc ${rc}, has_regressions ${has}, ${n} regressions")
endif()

function(expect_bad label expected_message)
  execute_process(COMMAND ${DSHAL} report diff ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "${label}: expected exit 2, got ${rc}: ${out} ${err}")
  endif()
  if(NOT err MATCHES "${expected_message}")
    message(FATAL_ERROR "${label}: the message does not match '${expected_message}': ${err}")
  endif()
endfunction()
expect_bad("garbage new" "garbage.json: not valid JSON" ${before} ${FIXTURES}/garbage.json)
expect_bad("wrong schema old" "wrong_schema.json: field 'schema_version' is 99" ${FIXTURES}/wrong_schema.json ${full})
expect_bad("bad field" "bad_field.json: field 'cases\\[1\\].status' should be a string, is number"
           ${before} ${FIXTURES}/bad_field.json)
expect_bad("missing" "nosuch.json: cannot open" ${before} ${FIXTURES}/nosuch.json)
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/report-diff-overflow.json "{\"schema_version\": 2, \"cases\": [], \"seconds\": 1e999}")
expect_bad("number overflow" "report-diff-overflow.json: not valid JSON" ${before} ${CMAKE_CURRENT_BINARY_DIR}/report-diff-overflow.json)
expect_bad("one file" "OLD_NEW" ${before})
