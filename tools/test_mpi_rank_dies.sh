#!/bin/bash
# A rank that dies in the middle of `mpirun -np 4 dshal run --ep mpi`: the job ends within a
# timeout, non-zero, naming the rank that died, and no rank is left behind waiting for it. Run
# twice: a serving rank (2) and the home rank (0) are killed with SIGKILL while tokens are decoded.
# Usage: test_mpi_rank_dies.sh DSHAL MPIEXEC OUT_DIR CONFIG_JSON
set -u
dshal=$1 mpiexec=$2 out=$3 config=$4
rm -rf "$out" && mkdir -p "$out/cfg"
# A golden config with room for a long decode, so the run is still going when the rank is killed.
sed 's/"max_position_embeddings": [0-9]*/"max_position_embeddings": 65536/' "$config" > "$out/cfg/config.json"
"$dshal" make-model --config "$out/cfg/config.json" --out "$out/model" --dtype f32 2>/dev/null || exit 1

fail() { echo "FAIL: $*"; exit 1; }

# The pid of the rank with the given number in the job whose command line names $out/model.
rank_pid() {
  for p in $(pgrep -f "run --ep mpi --model $out/model"); do
    if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1"; then echo "$p"; return; fi
  done
}

for victim in 2 0; do
  log=$out/rank$victim.log
  "$mpiexec" --allow-run-as-root --oversubscribe --timeout 300 -np 4 "$dshal" run --ep mpi --model "$out/model" \
    --device cpu --dtype f32 --prompt-ids "1 2 3" --max-new-tokens 60000 > "$log" 2>&1 &
  job=$!
  # Every rank running, loaded (rank 0 prints the end of its load), and decoding for a moment.
  for _ in $(seq 1 200); do
    grep -q "loading weights: .* / .* MB" "$log" && [ -n "$(rank_pid 3)" ] && break
    sleep 0.1
  done
  sleep 2
  pid=$(rank_pid $victim)
  [ -n "$pid" ] || { kill $job; fail "rank $victim is not running (did the run end early?): $(cat "$log")"; }
  kill -KILL "$pid"
  start=$(date +%s)
  # The job has 60 s to notice and end; Open MPI stops the other ranks itself.
  for _ in $(seq 1 600); do kill -0 $job 2>/dev/null || break; sleep 0.1; done
  if kill -0 $job 2>/dev/null; then kill -KILL $job; fail "rank $victim killed: mpirun still running after 60 s"; fi
  wait $job
  rc=$?
  elapsed=$(( $(date +%s) - start ))
  [ $rc -ne 0 ] || fail "rank $victim killed: mpirun exited 0: $(cat "$log")"
  grep -q "rank $victim .*exited on signal 9" "$log" || fail "rank $victim killed: the output does not name it: $(cat "$log")"
  left=$(pgrep -f "run --ep mpi --model $out/model")
  [ -z "$left" ] || fail "rank $victim killed: ranks still running: $left"
  echo "rank $victim killed while decoding: mpirun exited $rc after ${elapsed} s, no rank left running"
done
