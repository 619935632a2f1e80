#!/usr/bin/env bash
# Runs every libFuzzer target briefly: each tests/fuzz/fuzz_NAME.c, built as
# build-fuzz/fuzz/fuzz_NAME by `make FUZZ=1 fuzz-targets` (built here if missing), must
#   - have a seed corpus, tests/fuzz/corpus/NAME/, of at least one file;
#   - run every file of that corpus (the seeds, and each crash ever found, kept there
#     as its regression test) without a crash, a sanitizer report or a time-out;
#   - then fuzz for FUZZ_TEST_SECONDS (default 3) from that corpus, the new inputs going
#     to a temporary directory, again without any of those.
# The long runs are `make fuzz` (FUZZ_SECONDS each, default 600); docs/reliability.md
# gives their figures.
. "$(dirname "$0")/lib.sh"
export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
secs=${FUZZ_TEST_SECONDS:-3}

srcs=(tests/fuzz/fuzz_*.c)
[ -f "${srcs[0]}" ] || { echo "t_fuzz_targets: no tests/fuzz/fuzz_*.c"; exit 1; }
bins=()
for s in "${srcs[@]}"; do n=${s##*/}; bins+=("build-fuzz/fuzz/${n%.c}"); done
missing=0
for b in "${bins[@]}"; do [ -x "$b" ] || missing=1; done
if [ $missing -eq 1 ]; then
  echo "t_fuzz_targets: building the fuzz targets with make FUZZ=1 fuzz-targets"
  make --no-print-directory FUZZ=1 fuzz-targets >"$tmp/build.log" 2>&1 || { tail -n 30 "$tmp/build.log"; echo "t_fuzz_targets: cannot build the targets"; exit 1; }
fi

for b in "${bins[@]}"; do
  name=${b##*/fuzz_}
  corpus=tests/fuzz/corpus/$name
  files=("$corpus"/*)
  if [ ! -f "${files[0]}" ]; then
    fail "$name: no seed corpus in $corpus/"
    continue
  fi
  "$b" -timeout=20 "${files[@]}" >"$tmp/$name.replay" 2>&1 ||
    { fail "$name: a corpus file fails"; grep -v '^Running:\|^Executed' "$tmp/$name.replay" | tail -n 30; }
  mkdir -p "$tmp/new_$name"
  "$b" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$tmp/$name-" \
    "$tmp/new_$name" "$corpus" >"$tmp/$name.log" 2>&1 || { fail "$name: fuzzing for $secs s failed"; tail -n 40 "$tmp/$name.log"; }
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$name.log")
  echo "t_fuzz_targets: $name: ${#files[@]} corpus files replayed, ${runs:-0} inputs in $secs s"
done
finish
