# Expert parallelism across processes: `mpirun -np 2` and `-np 4 dshal run --ep mpi` produce the
# same ids and byte-identical fp32 logits as one process for every golden model, on cpu and on
# npu-sim; every rank holds fewer weight bytes than one process alone and together they hold each
# weight once; an expert count the ranks do not divide, and a bad prompt, exit 2 with one clear
# message.
file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT})
set(prompt "1 17 42 99 3 200 255")
# As root in CI; 4 ranks on 2 cores; Open MPI's own timeout stops a hung job.
set(mpirun ${MPIEXEC} --allow-run-as-root --oversubscribe --timeout 120)

# cpu stages the exchanges through MPI; npu-sim (a plugin) has its own transport across processes,
# which the ranks join with an id sent over MPI ("expert_exchange" in --json says which ran).
set(ENV{DSHAL_ADAPTER_PATH} ${ADAPTERS})
foreach(setup "cpu:0;cpu;mpi-staged" "npu-sim:0;npu-sim:0;device")
  list(GET setup 0 alone_device)
  list(GET setup 1 rank_device)
  list(GET setup 2 exchange)
  foreach(model t-v2lite t-v2group t-v3 t-v3-fp8)
    set(common --model ${GOLDEN_DIR}/${model} --dtype f32 --prompt-ids ${prompt} --max-new-tokens 4 --json)
    execute_process(COMMAND ${DSHAL} run ${common} --device ${alone_device} --logits-out ${OUT}/${model}-1.npy
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "${model} in one process on ${alone_device}: rc ${rc}: ${err}")
    endif()
    file(SHA256 ${OUT}/${model}-1.npy ref_hash)
    string(JSON ref_ids GET "${out}" generated_ids)
    string(JSON alone GET "${out}" devices 0 weight_bytes)
    foreach(ranks 2 4)
      set(npy ${OUT}/${model}-mpi${ranks}.npy)
      execute_process(COMMAND ${mpirun} -np ${ranks} ${DSHAL} run --ep mpi --device ${rank_device} ${common} --logits-out ${npy}
                      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
      if(NOT rc EQUAL 0)
        message(FATAL_ERROR "${model} on ${ranks} ranks of ${rank_device}: rc ${rc}: ${err}")
      endif()
      file(SHA256 ${npy} hash)
      string(JSON ids GET "${out}" generated_ids)
      if(NOT hash STREQUAL ref_hash OR NOT ids STREQUAL ref_ids)
        message(FATAL_ERROR "${model} on ${ranks} ranks of ${rank_device}: fp32 logits or ids differ from one process (sha256 ${hash} vs ${ref_hash}; ids ${ids} vs ${ref_ids})")
      endif()
      string(JSON used GET "${out}" expert_exchange)
      if(NOT used STREQUAL exchange)
        message(FATAL_ERROR "${model} on ${ranks} ranks of ${rank_device}: expert_exchange is '${used}', not '${exchange}'")
      endif()
      string(JSON listed LENGTH "${out}" devices)
      if(NOT listed EQUAL ranks)
        message(FATAL_ERROR "${model} on ${ranks} ranks: --json lists ${listed} ranks: ${out}")
      endif()
      set(sum 0)
      set(per_rank "")
      math(EXPR last "${ranks} - 1")
      foreach(r RANGE ${last})
        string(JSON bytes GET "${out}" devices ${r} weight_bytes)
        string(JSON rank GET "${out}" devices ${r} rank)
        string(JSON resident GET "${out}" devices ${r} resident_bytes)
        if(NOT rank EQUAL r OR NOT resident GREATER 0)
          message(FATAL_ERROR "${model} on ${ranks} ranks: entry ${r} is rank ${rank} with ${resident} resident bytes")
        endif()
        if(NOT bytes GREATER 0 OR NOT bytes LESS alone)
          message(FATAL_ERROR "${model} on ${ranks} ranks: rank ${r} holds ${bytes} weight bytes; one process holds ${alone}")
        endif()
        string(APPEND per_rank " ${bytes}")
        math(EXPR sum "${sum} + ${bytes}")
      endforeach()
      if(NOT sum EQUAL alone)
        message(FATAL_ERROR "${model} on ${ranks} ranks: the ranks hold ${sum} weight bytes together (${per_rank}), one process ${alone}")
      endif()
      message(STATUS "${model} on ${ranks} ranks of ${rank_device} (${exchange}): logits sha256 ${hash} as in one process; weight bytes per rank:${per_rank} (one process ${alone})")
    endforeach()
  endforeach()
endforeach()

function(expect_exit2 what pattern ranks)
  execute_process(COMMAND ${mpirun} -np ${ranks} ${DSHAL} run --ep mpi ${ARGN}
                  RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "${what}: expected exit code 2, got ${rc}: ${err}")
  endif()
  string(REGEX MATCHALL "dshal run: " lines "${err}")  # one rank speaks for all
  list(LENGTH lines n)
  if(NOT n EQUAL 1 OR NOT err MATCHES "dshal run: ${pattern}")
    message(FATAL_ERROR "${what}: expected one message matching '${pattern}': ${err}")
  endif()
endfunction()

set(g ${GOLDEN_DIR}/t-v2lite)  # 8 routed experts
expect_exit2("experts not divisible" "n_routed_experts = 8 is not divisible by the 3 MPI ranks" 3
             --model ${g} --device cpu --prompt-ids "1 2" --max-new-tokens 1)
expect_exit2("token id out of range" "token id 999 \\(at index 1\\) is outside" 2
             --model ${g} --device cpu --prompt-ids "1 999" --max-new-tokens 1)
set(ENV{DSHAL_CPU_DEVICES} 2)
expect_exit2("several devices per rank" "--ep mpi: --device lists 2 devices" 2
             --model ${g} --device cpu:0,cpu:1 --prompt-ids "1 2" --max-new-tokens 1)
