# `dshal report html`: renders the fixtures into self-contained pages with every section and every
# report string escaped; bad input (missing, not JSON, unknown schema, a field of the wrong type,
# an unwritable output) exits 2 naming the file and the field.
# Inputs: DSHAL, FIXTURES (tools/report_fixtures), OUT (scratch folder).
file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT})

foreach(name v2_full v2_before)
  execute_process(COMMAND ${DSHAL} report html ${FIXTURES}/${name}.json -o ${OUT}/${name}.html
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT EXISTS ${OUT}/${name}.html)
    message(FATAL_ERROR "report html ${name}.json exited ${rc}: ${out} ${err}")
  endif()
  file(READ ${OUT}/${name}.html page)
  foreach(id environment summary failures matrix graph errors perf cases)
    if(NOT page MATCHES "<section id=\"${id}\">")
      message(FATAL_ERROR "${name}.html lacks the section '${id}'")
    endif()
  endforeach()
  # Self-contained: no script, no external resource, no URL at all.
  foreach(forbidden "<script" "<img" "<link" "<iframe" "http://" "https://" "url(")
    string(FIND "${page}" "${forbidden}" at)
    if(NOT at EQUAL -1)
      message(FATAL_ERROR "${name}.html contains '${forbidden}' at ${at}: not self-contained or not escaped")
    endif()
  endforeach()
endforeach()

# v2_full: the fingerprint, tier reached, hostile strings escaped, repro commands, projected device GFLOP/s.
file(READ ${OUT}/v2_full.html page)
foreach(expected
        "NPU-sim 910B-class card 0" "npu-sim 0.3 \\(cost model: 910b.yaml\\)" "/opt/dshal/adapters.d/npu-sim.yaml"
        "/opt/dshal/adapters.d/npu-sim.expectations.yaml" "<th>ABI version</th><td>1</td>" "0.6.0"
        "tier reached <b>core</b>" "&lt;script&gt;alert\\(&#39;x&#39;\\)&lt;/script&gt;"
        "&lt;img src=x onerror=&quot;console.error\\(1\\)&quot;&gt;"
        "<code class=\"repro\">DSHAL_ADAPTER_PATH=/opt/dshal/adapters.d dshal conform --device npu-sim:0 --filter &#39;ops/MoeRoute.MatchesReference/ds_v3_noaux_tc_256&#39;"
        "Failures \\(5\\)" "device time" "2.35e\\+05" "rope <small>0 native · 16 fallback</small>")
  if(NOT page MATCHES "${expected}")
    message(FATAL_ERROR "v2_full.html lacks '${expected}'")
  endif()
endforeach()

# A perf entry with device_seconds but no device_gflops: the page derives it (2e9 flop / 1 ms = 2000 GFLOP/s).
file(WRITE ${OUT}/device_time.json [=[{"schema_version": 2, "cases": [], "perf": [{"name": "gemm bf16 sim", "op": "gemm",
  "dtype": "bf16", "m": 1000, "n": 1000, "k": 1000, "flop": 2e9, "wall_seconds": 0.5, "device_seconds": 0.001,
  "gflops": 4.0}]}]=])
execute_process(COMMAND ${DSHAL} report html ${OUT}/device_time.json -o ${OUT}/device_time.html RESULT_VARIABLE rc
                ERROR_VARIABLE err)
file(READ ${OUT}/device_time.html page)
if(NOT rc EQUAL 0 OR NOT page MATCHES "<td class=\"num\">2e\\+03</td></tr>" OR NOT page MATCHES "device GFLOP/s, from device time")
  message(FATAL_ERROR "device_time.json: exit ${rc} ${err}, or no device GFLOP/s derived from device_seconds")
endif()

# Without -o the page goes next to the report.
file(COPY ${FIXTURES}/v2_before.json DESTINATION ${OUT}/beside)
execute_process(COMMAND ${DSHAL} report html ${OUT}/beside/v2_before.json RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT EXISTS ${OUT}/beside/report.html)
  message(FATAL_ERROR "report html without -o exited ${rc} or wrote no ${OUT}/beside/report.html: ${err}")
endif()

# Bad input: exit 2, and the message names the file and what is wrong with it.
function(expect_bad label expected_message)
  execute_process(COMMAND ${DSHAL} report html ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "${label}: expected exit 2, got ${rc}: ${out} ${err}")
  endif()
  if(NOT err MATCHES "${expected_message}")
    message(FATAL_ERROR "${label}: the message does not match '${expected_message}': ${err}")
  endif()
endfunction()
expect_bad("missing file" "${OUT}/nosuch.json: cannot open" ${OUT}/nosuch.json -o ${OUT}/x.html)
expect_bad("garbage" "garbage.json: not valid JSON" ${FIXTURES}/garbage.json -o ${OUT}/x.html)
file(WRITE ${OUT}/overflow.json "{\"schema_version\": 2, \"cases\": [], \"seconds\": 1e999}")
expect_bad("number overflow" "overflow.json: not valid JSON .*number overflow" ${OUT}/overflow.json -o ${OUT}/x.html)
expect_bad("wrong schema" "wrong_schema.json: field 'schema_version' is 99" ${FIXTURES}/wrong_schema.json -o ${OUT}/x.html)
expect_bad("bad field" "bad_field.json: field 'cases\\[1\\].status' should be a string, is number"
           ${FIXTURES}/bad_field.json -o ${OUT}/x.html)
expect_bad("unwritable output" "cannot write report file '${OUT}/no/such/dir/x.html'"
           ${FIXTURES}/v2_full.json -o ${OUT}/no/such/dir/x.html)
if(EXISTS ${OUT}/x.html)
  message(FATAL_ERROR "bad input still wrote ${OUT}/x.html")
endif()
