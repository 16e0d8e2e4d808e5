# `dshal run` on the t-v2lite golden: a good run exits 0 with transformers' greedy ids and writes
# every logits row; bad input exits 2 with a message naming the file and the tensor or field.
file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT})
set(prompt "1 17 42 99 3 200 255")
file(READ ${GOLDEN}/golden.json golden)
string(JSON n_gen LENGTH "${golden}" generated_ids)
set(want "")
math(EXPR last "${n_gen} - 1")
foreach(i RANGE ${last})
  string(JSON id GET "${golden}" generated_ids ${i})
  string(APPEND want " ${id}")
endforeach()

function(expect_exit2 what pattern)
  execute_process(COMMAND ${DSHAL} run ${ARGN} RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "${what}: expected exit code 2, got ${rc}: ${err}")
  endif()
  if(NOT err MATCHES "${pattern}")
    message(FATAL_ERROR "${what}: the message does not match '${pattern}': ${err}")
  endif()
endfunction()

foreach(attn naive absorb)
  execute_process(COMMAND ${DSHAL} run --model ${GOLDEN} --device cpu:0 --dtype f32 --attn ${attn} --prompt-ids ${prompt}
                          --max-new-tokens ${n_gen} --logits-out ${OUT}/logits.npy
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "generated ids:${want}\n")
    message(FATAL_ERROR "good run (${attn}): rc ${rc}, expected ids${want}: ${out} ${err}")
  endif()
  file(SIZE ${OUT}/logits.npy npy_bytes)
  math(EXPR rows_bytes "(7 + ${n_gen} - 1) * 256 * 4")
  if(npy_bytes LESS rows_bytes)
    message(FATAL_ERROR "logits.npy has ${npy_bytes} bytes, below ${rows_bytes} for [7 + ${n_gen} - 1, 256] f32")
  endif()
endforeach()

expect_exit2("prompt id >= vocab_size" "token id 256 .*vocab_size = 256"
             --model ${GOLDEN} --device cpu:0 --prompt-ids "1 256" --max-new-tokens 1)

# A truncated safetensors file.
file(COPY ${GOLDEN}/ DESTINATION ${OUT}/truncated)
execute_process(COMMAND head -c 5000 ${GOLDEN}/model.safetensors OUTPUT_FILE ${OUT}/truncated/model.safetensors)
expect_exit2("truncated safetensors" "truncated/model\\.safetensors"
             --model ${OUT}/truncated --device cpu:0 --prompt-ids "1 2" --max-new-tokens 1)

# An inconsistent config.
file(COPY ${GOLDEN}/ DESTINATION ${OUT}/badconfig)
file(READ ${GOLDEN}/config.json config)
string(REPLACE "\"num_experts_per_tok\": 2" "\"num_experts_per_tok\": 9" config "${config}")
file(WRITE ${OUT}/badconfig/config.json "${config}")
expect_exit2("num_experts_per_tok > n_routed_experts" "config\\.json: num_experts_per_tok = 9"
             --model ${OUT}/badconfig --device cpu:0 --prompt-ids "1 2" --max-new-tokens 1)

expect_exit2("missing folder" "nosuch" --model ${OUT}/nosuch --device cpu:0 --prompt-ids "1" --max-new-tokens 1)

# A make-model checkpoint stores each projection's experts at one stride: on the cpu every weight
# is used in place from the mapping (nothing copied), in every weight format.
foreach(dtype f32 bf16 fp8)
  execute_process(COMMAND ${DSHAL} make-model --config ${GOLDEN}/config.json --out ${OUT}/made-${dtype} --dtype ${dtype}
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "make-model --dtype ${dtype}: rc ${rc}: ${err}")
  endif()
  execute_process(COMMAND ${DSHAL} run --model ${OUT}/made-${dtype} --device cpu:0 --prompt-ids ${prompt} --max-new-tokens 3 --json
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "run on make-model ${dtype}: rc ${rc}: ${err}")
  endif()
  string(JSON copied GET "${out}" weights copied_bytes)
  string(JSON in_place GET "${out}" weights in_place_bytes)
  string(JSON n_ids LENGTH "${out}" generated_ids)
  if(NOT copied EQUAL 0 OR in_place EQUAL 0 OR NOT n_ids EQUAL 3)
    message(FATAL_ERROR "run on make-model ${dtype}: expected 3 ids and every weight in place: ${out}")
  endif()
endforeach()
