#!/usr/bin/env bash
# netc against PyTorch on this CPU, side by side: for each model, netc compiles it, the
# generated C is built with bench/bench_train.c against build/libnetcrt.a, and each
# configuration (train at batch 100 and 250, inference at batch 256) is timed for netc
# and then for PyTorch (the peer script torch_peer.py), alternating, ROUNDS times.  The
# host is noisy (+-25% between runs), so what counts is the ratio netc / PyTorch of each
# round, whose median (with min and max) is printed per model and configuration.
#
#   bench/run_bench.sh [--rounds R] [--models "lenet_bn simplenet mnist_cnn"]
#                      [--configs "train100 train250 infer256"] [--threads T]
#                      [--before LIB] [--no-torch]
#
# Work timed per measurement, the same on both sides: train = 100 optimizer steps (Adam,
# lr 1e-3) after 15 warm-up steps; infer = 10,000 images in batches of 256 after a
# warm-up.  PyTorch: torch_peer.py train --mode batches --reps 1 (5 + 10 warm-up batches,
# then 100), infer --reps 1 (a warm-up pass, then the 10k test set at batch 256; its
# batch-1 latency part is not used).  Both sides run with OPENBLAS_CORETYPE=SkylakeX
# (Debian's OpenBLAS otherwise picks its AVX2 kernels here; PyTorch uses its own
# MKL-DNN and BLAS) and the glibc malloc tunables of peers.md (the fairer bar for
# PyTorch; netc allocates once).  Threads: PyTorch 2 (the script's default), netc all
# online CPUs (its default); --threads T gives both sides T (torch --threads T; netc
# NETC_NUM_THREADS=T and, since with one thread netc leaves OpenBLAS's own threading
# alone, OPENBLAS_NUM_THREADS=T).  NETC_LIB names another build of the runtime library
# to time in place of build/libnetcrt.a; --before REV times a second build too: the
# runtime of git revision REV (git archive, built with the Makefile's flags) or a
# library file, linked with the same generated code, run just before netc in each round,
# with its ratio to PyTorch beside netc's.
# Needs make (./netc, build/libnetcrt.a), /usr/bin/python3 with torch and the Fashion-MNIST
# files; TORCH_PEER names the script (default /work/shared/reference/torch_peer.py).
set -u
cd "$(dirname "$0")/.."

ROUNDS=3
MODELS="lenet_bn simplenet mnist_cnn"
CONFIGS="train100 train250 infer256"
TORCH=1
THREADS=
BEFORE=
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --models) MODELS=$2; shift 2 ;;
    --configs) CONFIGS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --before) BEFORE=$2; shift 2 ;;
    --no-torch) TORCH=0; shift ;;
    *) echo "usage: $0 [--rounds R] [--models LIST] [--configs LIST] [--threads T] [--before LIB] [--no-torch]" >&2
       exit 2 ;;
  esac
done
TORCH_PEER=${TORCH_PEER:-/work/shared/reference/torch_peer.py}
export OPENBLAS_CORETYPE=SkylakeX
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=1073741824
CC=${CC:-cc}
LIB=${NETC_LIB:-build/libnetcrt.a}
TORCH_THREADS=(--threads 2)
if [ -n "$THREADS" ]; then
  export NETC_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
  TORCH_THREADS=(--threads "$THREADS")
fi

# The PyTorch name of each model (torch_peer.py --net).
torch_name() {
  case $1 in
    lenet) echo LeNet ;;
    lenet_bn) echo LeNetBN ;;
    simplenet) echo SimpleNet ;;
    mnist_cnn) echo KerasCNN ;;
    *) echo "" ;;
  esac
}

make -s netc build/libnetcrt.a >/dev/null || { echo "run_bench: make failed" >&2; exit 1; }
tmp=$(mktemp -d /tmp/netc_bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# --before REV: the runtime library of that revision (generated code calls only kernels
# whose signatures have not changed).
BEFORE_NAME=$BEFORE
if [ -n "$BEFORE" ] && [ ! -f "$BEFORE" ]; then
  mkdir -p "$tmp/before"
  git archive "$BEFORE" runtime | tar -x -C "$tmp/before" || { echo "run_bench: no revision $BEFORE" >&2; exit 2; }
  # runtime/*.c before the runtime was split into layer folders, runtime/*/*.c after
  for f in $(find "$tmp/before/runtime" -name '*.c'); do
    "$CC" -std=c11 -D_GNU_SOURCE -O3 -march=native -I"$tmp/before/runtime" -c -o "${f%.c}.o" "$f" || exit 1
  done
  ar rcs "$tmp/before/libnetcrt.a" $(find "$tmp/before/runtime" -name '*.o')
  BEFORE=$tmp/before/libnetcrt.a
fi

for m in $MODELS; do
  if [ -z "$(torch_name "$m")" ]; then
    echo "run_bench: no PyTorch twin for $m (one of: lenet lenet_bn simplenet mnist_cnn)" >&2
    exit 2
  fi
  mkdir -p "$tmp/$m"
  ./netc compile "models/$m.net" --name "$m" --batch 256 -o "$tmp/$m" >/dev/null || exit 1
  "$CC" -std=c11 -D_GNU_SOURCE -O2 -march=native -Wall -Wextra -Werror -Iruntime -I"$tmp/$m" -DMODEL="${m}_model" \
    -o "$tmp/$m/bench" bench/bench_train.c "$tmp/$m/$m.c" "$LIB" \
    -lopenblas -lzip -lz -lpng -lm -lpthread || exit 1
  if [ -n "$BEFORE" ]; then
    "$CC" -std=c11 -D_GNU_SOURCE -O2 -march=native -Wall -Wextra -Werror -Iruntime -I"$tmp/$m" -DMODEL="${m}_model" \
      -o "$tmp/$m/bench_before" bench/bench_train.c "$tmp/$m/$m.c" "$BEFORE" \
      -lopenblas -lzip -lz -lpng -lm -lpthread || exit 1
  fi
done

# netc_run MODEL CONFIG [BINARY] -> img/s
netc_run() {
  local m=$1 cfg=$2 bin=$tmp/$1/${3:-bench}
  case $cfg in
    train*) "$bin" train "${cfg#train}" 100 15 ;;
    infer*) "$bin" infer "${cfg#infer}" 10000 2560 ;;
  esac | sed -n 's/.*img_per_s=\([0-9.]*\).*/\1/p'
}

# torch_run MODEL CONFIG -> img/s
torch_run() {
  local net; net=$(torch_name "$1")
  local cfg=$2 out
  case $cfg in
    train*) out=$(/usr/bin/python3 "$TORCH_PEER" train --net "$net" --bs "${cfg#train}" --mode batches \
                  --reps 1 "${TORCH_THREADS[@]}" 2>/dev/null | tail -n 1)
            echo "$out" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["img_per_s"]["median"])' ;;
    infer*) [ "${cfg#infer}" = 256 ] || { echo "run_bench: PyTorch infers at batch 256 only" >&2; return 1; }
            out=$(/usr/bin/python3 "$TORCH_PEER" infer --net "$net" --reps 1 --lat-threads 1 \
                  "${TORCH_THREADS[@]}" 2>/dev/null | tail -n 1)
            echo "$out" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["bs256_img_per_s"]["median"])' ;;
  esac
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) CPUs  load $(cut -d' ' -f1-3 /proc/loadavg)  rounds $ROUNDS" \
     " library $LIB${BEFORE:+  before $BEFORE_NAME}  threads ${THREADS:-default}"
results=$tmp/results.txt
: >"$results"
# One line per measurement: model config round netc torch before ("-" where not run).
for r in $(seq 1 "$ROUNDS"); do
  for m in $MODELS; do
    for cfg in $CONFIGS; do
      c=-
      [ -n "$BEFORE" ] && c=$(netc_run "$m" "$cfg" bench_before)
      a=$(netc_run "$m" "$cfg")
      b=-
      [ "$TORCH" = 1 ] && b=$(torch_run "$m" "$cfg")
      echo "$m $cfg $r ${a:-nan} ${b:-nan} ${c:-nan}" | tee -a "$results"
    done
  done
done

# The table: medians of img/s, and the median, min and max of the per-round ratios.
/usr/bin/python3 - "$results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def num(v):
    try:
        return float(v)
    except ValueError:
        return None
keys = []
for r in rows:
    if (r[0], r[1]) not in keys:
        keys.append((r[0], r[1]))
print()
print(f"{'model':10s} {'config':9s} {'netc':>8s} {'torch':>8s} {'netc/torch':>21s} {'before':>8s} {'before/torch':>21s}")
for m, c in keys:
    sel = [r for r in rows if r[0] == m and r[1] == c]
    def col(i):
        return [num(r[i]) for r in sel if num(r[i]) is not None]
    def ratio(i):
        q = [num(r[i]) / num(r[4]) for r in sel if num(r[i]) and num(r[4])]
        return f"{statistics.median(q):5.2f} [{min(q):.2f}, {max(q):.2f}]" if q else "-"
    def med(i):
        v = col(i)
        return f"{statistics.median(v):8.0f}" if v else f"{'-':>8s}"
    print(f"{m:10s} {c:9s} {med(3)} {med(4)} {ratio(3):>21s} {med(5)} {ratio(5):>21s}")
print("(img/s: medians over the rounds; ratios: median [min, max] of each round's ratio)")
PY
