#!/usr/bin/env bash
# Robustness of netc's front end on hostile input: every run must end with exit
# status 0, 1 or 2, with 1 exactly when an error was printed -- never a signal, a
# time-out (5 s) or a sanitizer report.
#
#   1. truncation sweep: every models/*.net and tests/errors/*.net file cut at every
#      byte offset (except cuts two or more bytes into a comment, which give the same
#      tokens as the cut just after its '#'), each run through the check pipeline
#      (parse, elaborate, summary, dot) in a forked child of tests/fuzz/cuts.c built
#      against build/libnetcc.a (+ libnetc_infer.a, libnetcrt.a, protobuf-c) -- all of them
#      with the plain build and every 10th under ASan/UBSan (the same driver against
#      build-san/libnetcc.a);
#   2. a sample of those cuts through the binaries themselves: `netc check` (every
#      60th cut) and `build-san/netc check` (every 240th), under `timeout`;
#   3. 300 files of random bytes, 300 random token soups (sequences of the language's
#      tokens, half of them inside a model with an input, so they reach the parser's
#      deeper states and the elaborator) and 150 mutants of the models (words deleted,
#      doubled, swapped or replaced by tokens), each through both binaries under
#      `timeout`.
# Sampled and generated inputs come from a seeded generator, so runs are reproducible;
# FUZZ_SEED picks another set, FUZZ_JOBS (default 2) the number of parallel workers.
# A failure names the input (file and offset, or a generated file kept under
# tests/fuzz/failures/).  NETC and NETC_SAN override the two binaries.
set -u
cd "$(dirname "$0")/.."
export LC_ALL=C
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

NETC=${NETC:-./netc}
NETC_SAN=${NETC_SAN:-build-san/netc}
CC=${CC:-cc}
JOBS=${FUZZ_JOBS:-2}
SEED=${FUZZ_SEED:-20261123}
SAN_EVERY=10 BIN_EVERY=60 BIN_SAN_EVERY=240
NRANDOM=300 NSOUP=300 NMUTANT=150

if [ ! -x "$NETC" ] || [ ! -f build/libnetcc.a ]; then
  echo "t_fuzz: $NETC or build/libnetcc.a not built (run make)"
  exit 1
fi
if [ ! -x "$NETC_SAN" ] || [ ! -f build-san/libnetcc.a ]; then
  echo "t_fuzz: $NETC_SAN missing; building it with make SAN=1 build-san/netc"
  make --no-print-directory SAN=1 build-san/netc >/dev/null || { echo "t_fuzz: cannot build $NETC_SAN"; exit 1; }
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=tests/fuzz/failures
t_start=$SECONDS

# The in-process sweep driver, plain and with the sanitizers of `make SAN=1`.  The op
# table's ONNX writers bring in export-onnx's code: the trainer's weight readers (the
# runtime) and protobuf-c.
libs=(-lprotobuf-c -lopenblas -lzip -lz -lpng -lplplot -lm)
"$CC" -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Icompiler -o "$tmp/cuts" tests/fuzz/cuts.c \
  build/libnetcc.a build/libnetc_infer.a build/libnetcrt.a "${libs[@]}" ||
  { echo "t_fuzz: cannot build tests/fuzz/cuts.c"; exit 1; }
"$CC" -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror -fsanitize=address,undefined -fno-sanitize-recover=all \
  -fno-omit-frame-pointer -Icompiler -o "$tmp/cuts_san" tests/fuzz/cuts.c build-san/libnetcc.a build-san/libnetc_infer.a \
  build-san/libnetcrt.a "${libs[@]}" ||
  { echo "t_fuzz: cannot build tests/fuzz/cuts.c with the sanitizers"; exit 1; }

# ---- the seeded generator: a 31-bit LCG (no 64-bit overflow in bash arithmetic) ----
rng=$SEED
rand() {  # rand N: sets r to a number in [0, N)
  rng=$(((rng * 1103515245 + 12345) & 0x7fffffff))
  r=$(((rng >> 8) % $1))
}

# ---- 1: every cut in process, plain; every SAN_EVERY-th under ASan ----
sweep_files=(models/*.net tests/errors/*.net)
rand $SAN_EVERY
san_start=$r
for ((w = 0; w < JOBS; w++)); do
  "$tmp/cuts" -t 5 -e "$JOBS" -o "$w" "${sweep_files[@]}" >"$tmp/sweep.plain.$w" 2>&1 &
  "$tmp/cuts_san" -t 10 -e $((SAN_EVERY * JOBS)) -o $((san_start + w * SAN_EVERY)) "${sweep_files[@]}" \
    >"$tmp/sweep.asan.$w" 2>&1 &
done

# check_run KIND WHAT RC ERRFILE: judges one run of a binary; on failure appends to
# $tmp/fail.$w (w: the worker) and returns 1.
check_run() {
  local kind=$1 what=$2 rc=$3 err=$4 out="" why=""
  IFS= read -r -d '' out <"$err"
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    why="timed out (exit $rc)"
  elif [ "$rc" -gt 2 ]; then
    why="exit $rc"
  elif [[ $out == *"runtime error"* || $out == *Sanitizer* ]]; then
    why="sanitizer report"
  elif [ "$rc" -eq 1 ] && [[ $out != *": error: "* ]]; then
    why="exit 1 without an error"
  elif [ "$rc" -ne 1 ] && [[ $out == *": error: "* ]]; then
    why="an error but exit $rc"
  fi
  [ -z "$why" ] && return 0
  printf '%s %s: %s\n' "$kind" "$what" "$why" >>"$tmp/fail.$w"
  printf '%s\n' "$out" | head -n 12 | cut -c1-160 | sed 's/^/      /' >>"$tmp/fail.$w"
  return 1
}

run_workers() {  # run_workers FUNCTION: JOBS copies in parallel, given the worker number
  local w
  for ((w = 0; w < JOBS; w++)); do "$1" $w & done
  wait
}

# ---- 2: a sample of the cuts through the binaries ----
rand $BIN_EVERY
"$tmp/cuts" -l -e $BIN_EVERY -o $r "${sweep_files[@]}" >"$tmp/bincuts.plain"
rand $BIN_SAN_EVERY
"$tmp/cuts" -l -e $BIN_SAN_EVERY -o $r "${sweep_files[@]}" >"$tmp/bincuts.asan"
nbin=$(($(wc -l <"$tmp/bincuts.plain") + $(wc -l <"$tmp/bincuts.asan")))

bin_cut_worker() {  # runs the W-th share of both samples
  local w=$1 i=0 f off rc t=$tmp/bincut$w.net e=$tmp/bincut$w.err
  : >"$tmp/fail.$w"
  while read -r f off; do
    i=$((i + 1)); [ $(((i - 1) % JOBS)) -eq "$w" ] || continue
    head -c "$off" "$f" >"$t"
    timeout 5 "$NETC" check "$t" >/dev/null 2>"$e"
    rc=$?
    check_run "$NETC" "cut of $f at byte $off (head -c $off $f)" $rc "$e"
  done <"$tmp/bincuts.plain"
  i=0
  while read -r f off; do
    i=$((i + 1)); [ $(((i - 1) % JOBS)) -eq "$w" ] || continue
    head -c "$off" "$f" >"$t"
    timeout 10 "$NETC_SAN" check "$t" >/dev/null 2>"$e"
    rc=$?
    check_run "$NETC_SAN" "cut of $f at byte $off (head -c $off $f)" $rc "$e"
  done <"$tmp/bincuts.asan"
}

# ---- 3: generated inputs, written to $tmp/gen/ ----
mkdir -p "$tmp/gen"
# Random bytes: 1 to 400 of them, a third of the files printable ASCII only.
for ((k = 0; k < NRANDOM; k++)); do
  rand 400; len=$((r + 1))
  rand 3; ascii=$r
  s=""
  for ((j = 0; j < len; j++)); do
    if [ $ascii -eq 0 ]; then rand 95; r=$((r + 32)); else rand 256; fi
    printf -v h '\\x%02x' $r
    s+=$h
  done
  printf "$s" >"$tmp/gen/random_$k.net"
done

# Token soups: the language's tokens, and names and values it gives meaning to.
vocab=(model block input return for in if else train true false
  '->' '..' '==' '!=' '<=' '>=' '&&' '||' '+' '-' '*' '/' '%' '<' '>' '=' '!'
  '(' ')' '{' '}' '[' ']' ',' ';' '(' ')' '{' '}' ',' ','
  x h y i M b c k conv2d maxpool2d avgpool2d global_avgpool batchnorm dropout dropout2d
  relu leaky_relu elu sigmoid tanh dense linear flatten pad add concat softmax
  out kernel stride bias name p eps momentum slope alpha same valid
  optimizer lr batch epochs schedule cosine step t_max augment rotate adam sgd
  0 1 2 3 5 10 28 -1 0.5 1e-3 .5 2147483647 2147483648 9223372036854775807
  99999999999999999999 1e308 1e999 '"fc"' '"a b"' '"' '#' '@' $'\t' $'\n')
nv=${#vocab[@]}
for ((k = 0; k < NSOUP; k++)); do
  rand 150; len=$((r + 5))
  s=""
  if [ $((k % 2)) -eq 0 ]; then s=$'model M {\n  input x[1, 28, 28]\n  h = x'; fi
  for ((j = 0; j < len; j++)); do
    rand "$nv"
    s+=" ${vocab[$r]}"
  done
  [ $((k % 2)) -eq 0 ] && s+=$'\n}\n'
  printf '%s' "$s" >"$tmp/gen/soup_$k.net"
done

# Mutants: a model without its comments, as words, with 1 to 3 words deleted,
# doubled, swapped with another or replaced by a token.
models=(models/*.net)
for ((k = 0; k < NMUTANT; k++)); do
  rand ${#models[@]}
  read -r -d '' -a words < <(sed 's/#.*//' "${models[$r]}")
  nw=${#words[@]}
  rand 3
  for ((m = 0; m <= r; m++)); do
    rand "$nw"; a=$r
    rand "$nw"; b=$r
    rand 4
    case $r in
      0) words[a]="" ;;
      1) words[a]="${words[a]} ${words[a]}" ;;
      2) tmpw=${words[a]}; words[a]=${words[b]}; words[b]=$tmpw ;;
      3) rand "$nv"; words[a]=${vocab[$r]} ;;
    esac
  done
  printf '%s\n' "${words[*]}" >"$tmp/gen/mutant_$k.net"
done
gen=("$tmp"/gen/*.net)

gen_worker() {  # every JOBS-th generated input, through both binaries
  local w=$1 i=0 f e=$tmp/gen$w.err rc
  for f in "${gen[@]}"; do
    i=$((i + 1)); [ $(((i - 1) % JOBS)) -eq "$w" ] || continue
    timeout 5 "$NETC" check "$f" >/dev/null 2>"$e"
    rc=$?
    check_run "$NETC" "${f##*/}" $rc "$e" || { mkdir -p "$failures"; cp "$f" "$failures/"; }
    timeout 10 "$NETC_SAN" check "$f" >/dev/null 2>"$e"
    rc=$?
    check_run "$NETC_SAN" "${f##*/}" $rc "$e" || { mkdir -p "$failures"; cp "$f" "$failures/"; }
  done
}

# The sweep drivers run in the background while the inputs below are generated.
wait
nsweep=0 nsweep_san=0
sweep_fail=0
for out in "$tmp"/sweep.*; do
  summary=$(grep '^cuts: ' "$out")
  if [ -z "$summary" ]; then
    echo "FAIL: the sweep driver ${out##*/sweep.} did not finish:"
    tail -n 20 "$out" | sed 's/^/    /'
    sweep_fail=$((sweep_fail + 1))
    continue
  fi
  read -r _ n _ <<<"$summary"
  case $out in *asan*) nsweep_san=$((nsweep_san + n)) ;; *) nsweep=$((nsweep + n)) ;; esac
  nf=$(grep -c '^FAIL' "$out")
  if [ "$nf" -gt 0 ]; then
    sweep_fail=$((sweep_fail + nf))
    echo "FAIL: ${out##*/sweep.} build:"
    grep -A 12 '^FAIL' "$out" | head -n 120 | cut -c1-200 | sed 's/^/    /'
  fi
done
t_sweep=$((SECONDS - t_start))

bin_worker() { bin_cut_worker "$1"; gen_worker "$1"; }
t0=$SECONDS
run_workers bin_worker
t_bin=$((SECONDS - t0))
cat "$tmp"/fail.* >"$tmp/failures" 2>/dev/null
bin_fail=$(grep -c '^[^ ]' "$tmp/failures")
if [ "$bin_fail" -gt 0 ]; then
  echo "FAIL: $bin_fail inputs made a netc binary misbehave:"
  head -n 200 "$tmp/failures"
  [ -d "$failures" ] && echo "generated inputs that failed are kept in $failures/"
fi

nfail=$((sweep_fail + bin_fail))
echo "t_fuzz: seed $SEED: in process, $nsweep cuts (plain) and $nsweep_san (ASan) of ${#sweep_files[@]} files" \
  "in ${t_sweep}s; through the binaries, $nbin cuts and ${#gen[@]} generated inputs ($NRANDOM random," \
  "$NSOUP token soups, $NMUTANT mutants) x 2 builds in ${t_bin}s;" \
  "$((nsweep + nsweep_san + nbin + 2 * ${#gen[@]})) runs in all, $nfail failed"
[ "$nfail" -eq 0 ]
