#!/usr/bin/env bash
# Runs every test: each unit test program in build/tests (and its ASan/UBSan twin in
# build-san/tests), then each tests/t_*.sh script, then the trainer tests named in
# SAN_TRAINER_TESTS (default: t_train_errors, _features, _resume, _best) with SAN=1: on trainers that
# `netc build --sanitize` links with build-san/'s runtime.
#
# TEST_JOBS tests run at once (default: one per CPU), each with its output in a log of
# its own; the slowest known tests start first, so the last to finish is a short one.
# Prints one line per test as it ends (with the tail of its log when it failed) and the
# closing line "N passed, N failed in M min S s"; exits non-zero if anything failed.  TEST_JOBS=1 runs
# them one after another in the listed order.  The tests make their files in mktemp
# directories of their own, so any two can run side by side.
cd "$(dirname "$0")/.."
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
SAN_TRAINER_TESTS=${SAN_TRAINER_TESTS:-t_train_errors.sh t_train_features.sh t_train_resume.sh t_train_best.sh}
jobs_max=${TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
# The slowest tests (tens of seconds to minutes on 2 cores), started first when jobs_max > 1.
slow=(t_export.sh t_onnx.sh san/t_train_resume.sh t_infer_build.sh t_export_cross.sh san/t_train_best.sh
      t_train_resume.sh t_fuzz.sh t_onnx_import.sh t_mpi.sh t_sweep.sh)

names=() cmds=()
add() { names+=("$1"); shift; cmds+=("$(printf '%q ' "$@")"); }  # add NAME CMD...
for t in build/tests/test_*; do [ -x "$t" ] && add "unit/${t##*/}" "$t"; done
for t in build-san/tests/test_*; do [ -x "$t" ] && add "san/${t##*/}" "$t"; done
for t in tests/t_*.sh; do [ -f "$t" ] && add "${t##*/}" bash "$t"; done
# The cheapest trainer tests again on trainers built with --sanitize (ASan + UBSan).
for t in $SAN_TRAINER_TESTS; do [ -f "build-san/libnetcrt.a" ] && add "san/$t" env SAN=1 bash "tests/$t"; done

order=()  # indexes into names, in the order they start
if [ "$jobs_max" -gt 1 ]; then
  declare -A is_slow
  for s in "${slow[@]}"; do
    for i in "${!names[@]}"; do [ "${names[$i]}" = "$s" ] && order+=("$i") && is_slow[$i]=1; done
  done
  for i in "${!names[@]}"; do [ -n "${is_slow[$i]:-}" ] || order+=("$i"); done
else
  order=("${!names[@]}")
fi

logs=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$logs"' EXIT
pass=0 fail=0 failed=()
declare -A running   # pid -> index
declare -A started   # index -> $SECONDS at its start

start() {  # start INDEX: the test in the background, its status into $logs/INDEX.rc
  local i=$1
  started[$i]=$SECONDS
  ( eval "${cmds[$i]}" >"$logs/$i.log" 2>&1; echo $? >"$logs/$i.rc" ) &
  running[$!]=$i
}

finish() {  # finish PID: report the test that PID ran
  local i=${running[$1]}
  unset "running[$1]"
  local secs=$((SECONDS - started[$i]))
  if [ "$(cat "$logs/$i.rc" 2>/dev/null)" = 0 ]; then
    pass=$((pass+1)); printf 'PASS %-40s %3ds\n' "${names[$i]}" "$secs"
  else
    fail=$((fail+1)); failed+=("${names[$i]}"); printf 'FAIL %-40s %3ds\n' "${names[$i]}" "$secs"
    tail -n 40 "$logs/$i.log" | sed 's/^/    /'
  fi
}

reap() {  # wait for any test to end, and report every one that has
  wait -n 2>/dev/null
  for pid in "${!running[@]}"; do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; finish "$pid"; }
  done
}

for i in "${order[@]}"; do
  while [ ${#running[@]} -ge "$jobs_max" ]; do reap; done
  start "$i"
done
while [ ${#running[@]} -gt 0 ]; do reap; done
echo
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed in $((SECONDS / 60)) min $((SECONDS % 60)) s"
[ "$fail" -eq 0 ]
