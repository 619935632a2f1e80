#!/usr/bin/env bash
# Where the training time goes, per layer: the time of every forward and backward step of
# the generated train_step, of zeroing the gradients, of the optimizer, and of the trainer's
# data batching and loop between two train_steps, for each model.  Not a test: figures.
#
#   bench/profile_steps.sh [--models "lenet_bn mnist_cnn lenet_deep simplenet"] [--batch B]
#                          [--images N] [--threads T] [--clock cpu|wall] [--precision fp32|bf16]
#                          [--define NAME=VALUE ...]
#
# Per model: `netc compile --batch 256` (what netc build compiles), the C copied with a
# prof_mark call before each step's comment (bench/prof_steps.c says how the marks time),
# built as netc build builds the trainer (cc -O2 -march=native, build/libnetcrt.a, MPI when
# make found it: build/mpi.flags) with
# prof_steps.c's main around rt_trainer_main, and run as bench/run_bench.sh runs the
# trainer (bench/train_args.sh): one epoch of N (default 12,000) images at batch B
# (default 100), Adam 1e-3, no validation, augmentation or schedule.  Threads: the trainer's
# default (every CPU), or T (NETC_NUM_THREADS, OPENBLAS_NUM_THREADS).  Clock: cpu (the
# default: the process's CPU time, which on one thread is the work whatever else the host
# runs; on more threads it adds up the threads', waiting included) or wall.
# Prints per model the epoch's wall-clock img/s and two Markdown tables
# (bench/profile_table.py): per kind of work and per step, the median and mean ms per
# batch and the share of the medians' sum.
set -u
cd "$(dirname "$0")/.."

MODELS="lenet_bn mnist_cnn lenet_deep simplenet"
BATCH=100
IMAGES=12000
CLOCK=cpu
PRECISION=fp32
DEFINES=()   # -D NAME=VALUE of every model compiled (netc compile's)
usage() {
  echo "usage: $0 [--models LIST] [--batch B] [--images N] [--threads T] [--clock cpu|wall] [--precision fp32|bf16]" \
       "[--define NAME=VALUE ...]" >&2; exit 2
}
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage
  case $1 in
    --models) MODELS=$2 ;;
    --batch) BATCH=$2 ;;
    --images) IMAGES=$2 ;;
    --threads) export NETC_NUM_THREADS=$2 OPENBLAS_NUM_THREADS=$2 ;;
    --clock) CLOCK=$2 ;;
    --precision) PRECISION=$2 ;;
    --define) DEFINES+=(-D "$2") ;;
    *) usage ;;
  esac
  shift 2
done
export OPENBLAS_CORETYPE=SkylakeX
CC=${CC:-cc}
. bench/train_args.sh
bench_train_args "$IMAGES" "$BATCH"
make -s netc build/libnetcrt.a >/dev/null || { echo "profile_steps: make failed" >&2; exit 1; }
tmp=$(mktemp -d /tmp/netc_profile.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# instrument FILE.c PREFIX: the marks, inside PREFIX_train_step only.
instrument() {
  awk -v fn="$2_train_step(" '
    index($0, fn) == 7 && !/;$/ { inside = 1 }   # "float NAME_train_step(...)", the definition
    inside && /^    memset\(G, 0/ { print "    prof_mark(\"zero the gradients\");" }
    inside && /^    \/\* step [0-9]+: .* \*\/$/ {
      label = $0
      sub(/^    \/\* /, "", label); sub(/ \*\/$/, "", label)
      gsub(/\\/, "\\\\", label); gsub(/"/, "\\\"", label)
      print "    prof_mark(\"" label "\");"
    }
    inside && /^    return loss;/ { print "    prof_mark(0);" }
    inside && /^}/ { inside = 0 }
    { print }
  ' "$1"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) CPUs  load $(cut -d' ' -f1-3 /proc/loadavg)  batch $BATCH" \
     " images $IMAGES  threads ${NETC_NUM_THREADS:-default}  precision $PRECISION  netc $(git rev-parse --short HEAD)"
for m in $MODELS; do
  d=$tmp/$m
  mkdir -p "$d"
  ./netc compile "models/$m.net" ${DEFINES[@]+"${DEFINES[@]}"} --name "$m" --batch 256 -o "$d" >/dev/null || exit 1
  { echo "void prof_mark(const char *label);"; instrument "$d/$m.c" "$m"; } >"$d/prof.c"
  grep -q 'prof_mark("step 0' "$d/prof.c" || { echo "profile_steps: no step marks in $m's C" >&2; exit 1; }
  "$CC" -std=c11 -D_GNU_SOURCE -O2 -march=native -Wall -Wextra -Werror -Iruntime -I"$d" -DMODEL="${m}_model" -o "$d/trainer" \
    bench/prof_steps.c "$d/prof.c" build/libnetcrt.a -lopenblas -lzip -lz -lpng -lplplot -lm -lpthread \
    $(cat build/mpi.flags 2>/dev/null) || exit 1
  load=$(cut -d' ' -f1 /proc/loadavg)
  PROF_STEPS_OUT=$d/steps.txt PROF_STEPS_CLOCK=$CLOCK "$d/trainer" train --quiet --out "$d/ckpt" \
    "${BENCH_TRAIN_ARGS[@]}" --precision "$PRECISION" >"$d/train.log" 2>&1 || { cat "$d/train.log" >&2; exit 1; }
  epoch=$(awk -F, 'NR == 2 { print $8 }' "$d/ckpt.csv")
  echo
  echo "### $m${DEFINES[*]:+ (${DEFINES[*]})}, batch $BATCH (load $load at the start)"
  echo
  python3 bench/profile_table.py "$d/steps.txt" "$epoch" "$IMAGES" "$CLOCK"
done
