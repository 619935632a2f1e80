#!/usr/bin/env bash
# Runs every test: each unit test program in build/tests (and its ASan/UBSan twin in
# build-san/tests), then each tests/t_*.sh script, then the trainer tests named in
# SAN_TRAINER_TESTS (default: t_train_errors, _features, _resume, _best) with SAN=1: on trainers that
# `netc build --sanitize` links with build-san/'s runtime.  Prints one line per test and the
# closing line "N passed, N failed"; exits non-zero if anything failed.
cd "$(dirname "$0")/.."
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
pass=0 fail=0 failed=()
SAN_TRAINER_TESTS=${SAN_TRAINER_TESTS:-t_train_errors.sh t_train_features.sh t_train_resume.sh t_train_best.sh}
run() {  # run NAME CMD...
  local name=$1; shift
  local log; log=$(mktemp)
  local t0=$SECONDS
  if "$@" >"$log" 2>&1; then
    pass=$((pass+1)); printf 'PASS %-40s %3ds\n' "$name" $((SECONDS-t0))
  else
    fail=$((fail+1)); failed+=("$name"); printf 'FAIL %-40s %3ds\n' "$name" $((SECONDS-t0))
    tail -n 40 "$log" | sed 's/^/    /'
  fi
  rm -f "$log"
}
for t in build/tests/test_*; do [ -x "$t" ] && run "unit/${t##*/}" "$t"; done
for t in build-san/tests/test_*; do [ -x "$t" ] && run "san/${t##*/}" "$t"; done
for t in tests/t_*.sh; do [ -f "$t" ] && run "${t##*/}" bash "$t"; done
# The cheapest trainer tests again on trainers built with --sanitize (ASan + UBSan).
for t in $SAN_TRAINER_TESTS; do [ -f "build-san/libnetcrt.a" ] && run "san/$t" env SAN=1 bash "tests/$t"; done
echo
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
