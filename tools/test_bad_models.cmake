# `dshal make-model` with a bad config exits 2 naming the file and the field, and leaves no output;
# a good config exits 0; a non-empty --out exits 2.
file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT})
set(good [=[{"model_type": "deepseek_v3", "vocab_size": 256, "hidden_size": 64, "intermediate_size": 96,
  "moe_intermediate_size": 32, "num_hidden_layers": 3, "first_k_dense_replace": 2, "num_attention_heads": 4,
  "n_routed_experts": 16, "n_shared_experts": 1, "num_experts_per_tok": 4, "n_group": 4, "topk_group": 2,
  "q_lora_rank": 48, "kv_lora_rank": 32, "qk_nope_head_dim": 16, "qk_rope_head_dim": 16, "v_head_dim": 24,
  "max_position_embeddings": 256}]=])
string(REPLACE "\"topk_group\": 2" "\"topk_group\": 5" bad "${good}")
file(WRITE ${OUT}/good.json "${good}")
file(WRITE ${OUT}/bad.json "${bad}")

execute_process(COMMAND ${DSHAL} make-model --config ${OUT}/bad.json --out ${OUT}/bad-model
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out)
if(NOT rc EQUAL 2)
  message(FATAL_ERROR "bad config: expected exit code 2, got ${rc}: ${err}")
endif()
if(NOT err MATCHES "bad\\.json: topk_group = 5 exceeds n_group = 4")
  message(FATAL_ERROR "bad config: the message does not name the file and the field: ${err}")
endif()
if(EXISTS ${OUT}/bad-model)
  message(FATAL_ERROR "bad config: ${OUT}/bad-model was created")
endif()

execute_process(COMMAND ${DSHAL} make-model --config ${OUT}/nosuch.json --out ${OUT}/x RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 2 OR NOT err MATCHES "nosuch\\.json")
  message(FATAL_ERROR "missing config: expected exit code 2 naming the file, got ${rc}: ${err}")
endif()

execute_process(COMMAND ${DSHAL} make-model --config ${OUT}/good.json --out ${OUT}/good-model --dtype fp8 --seed 3
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "good-model: [0-9]+ tensors" OR NOT EXISTS ${OUT}/good-model/model.safetensors)
  message(FATAL_ERROR "good config: rc ${rc}, stdout ${out}, stderr ${err}")
endif()

execute_process(COMMAND ${DSHAL} make-model --config ${OUT}/good.json --out ${OUT}/good-model
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 2 OR NOT err MATCHES "not an empty folder")
  message(FATAL_ERROR "non-empty --out: expected exit code 2, got ${rc}: ${err}")
endif()
file(REMOVE_RECURSE ${OUT})
