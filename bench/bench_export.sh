#!/usr/bin/env bash
# Batch-1 latency of `netc export-c`'s C against ONNX Runtime and against the trainer's
# own generated code, for every seed net with a PyTorch twin in the reference
# (torch_peer.py), in one run.  Not a test (not in make test): figures, no verdicts.
#
#   bench/bench_export.sh [--rounds R] [--models "lenet_bn simplenet ..."] [--rev REV]
#
# netc itself (compiler, runtime, models/, bench_train.c) is the working tree's, built
# with make; --rev REV builds a clean copy of git revision REV instead (git archive into
# a temporary folder), so that a committed state is measured whatever is being edited.
#
# Per model: a checkpoint from the trainer (1 epoch on 300 images: the weights' values
# do not change the work), exported as C under the prefix `net` and built with
# gcc -O3 -march=native against bench/export_latency.c, run on 1 thread (net_predict)
# and on 2 (net_predict_mt on the file's spinning pthread pool: the exported C has no
# threads of its own); the trainer-side code of `netc compile --batch 1` built with
# bench/bench_train.c, run as `infer 1` with one netc
# and one OpenBLAS thread; ONNX Runtime on the PyTorch twin (bench/ort_export.py),
# intra-op threads 1 and 2.  The three run one after another per model, ROUNDS times
# (the host is shared and noisy); the table gives each figure's median over the rounds
# and the median of the rounds' ratios export / ORT-1.  First, the host's FMA peak
# (bench/fma_peak.sh) so figures can be read as fractions of it.
#
# Latencies in microseconds: export and ORT, the median of 3000 individually timed calls
# after 300 warm-up calls; trainer-side, the mean of 3000 calls after 300 (bench_train
# times the whole loop), 1e6 / its img/s.
#
# Python: the venv BENCH_VENV of bench/venv.sh (default build/bench-venv: PyPI's torch,
# numpy, onnxruntime, onnx and onnxscript), made when missing.
# REFERENCE names the folder of torch_peer.py and fma_peak.c (default
# /work/shared/reference).
set -u
cd "$(dirname "$0")/.."

ROUNDS=3
MODELS="lenet lenet_bn mnist_cnn fashion_cnn1 lenet_deep simplenet"
REV=
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --models) MODELS=$2; shift 2 ;;
    --rev) REV=$2; shift 2 ;;
    *) echo "usage: $0 [--rounds R] [--models LIST] [--rev REV]" >&2; exit 2 ;;
  esac
done
REFERENCE=${REFERENCE:-/work/shared/reference}
CC=${CC:-gcc}
CALLS=3000
WARMUP=300
export OPENBLAS_CORETYPE=SkylakeX

# The PyTorch twin of each model (torch_peer.py's NETS).  mnist_cnn (notebook 002) and
# fashion_cnn1 (notebook 004 model1) are both the Keras CNN; fashion_cnn1 without the
# dropout, which inference skips, and with the trained normalisation.
torch_name() {
  case $1 in
    lenet) echo LeNet ;;
    lenet_bn) echo LeNetBN ;;
    lenet_deep) echo LeNetDeep ;;
    simplenet) echo SimpleNet ;;
    mnist_cnn|fashion_cnn1) echo KerasCNN ;;
    *) echo "" ;;
  esac
}
for m in $MODELS; do
  [ -n "$(torch_name "$m")" ] || { echo "bench_export: no PyTorch twin for $m" >&2; exit 2; }
done

. bench/venv.sh
. bench/fma_peak.sh
bench_venv_torch || exit 1
VENV=$BENCH_VENV
tmp=$(mktemp -d /tmp/netc_bench_export.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# SRC: the tree whose netc is measured.
SRC=.
VERSION="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- runtime compiler models || echo ' + uncommitted changes')"
if [ -n "$REV" ]; then
  SRC=$tmp/src
  mkdir -p "$SRC"
  git archive "$REV" | tar -x -C "$SRC" || { echo "bench_export: no revision $REV" >&2; exit 2; }
  VERSION="$(git rev-parse --short "$REV") (clean copy)"
fi
make -s -C "$SRC" -j"$(nproc)" netc build/libnetcrt.a >/dev/null || { echo "bench_export: make failed" >&2; exit 1; }

echo "# $(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) CPUs  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)" \
     " load $(cut -d' ' -f1-3 /proc/loadavg)  rounds $ROUNDS  netc $VERSION"
echo "# $("$CC" --version | head -n 1)"

# The FMA peak (bench/fma_peak.sh), before the rounds and after them: other jobs on the
# host only ever lower it (a loop of several milliseconds shares its core with them; the
# median of 60-600 µs calls mostly does not), so the best repetition of either counts.
fma_peak_init "$tmp" || exit 1
fma_peak_measure "$tmp" before

# quiet CMD...: run CMD, showing its output only when it fails.
quiet() {
  "$@" >"$tmp/cmd.log" 2>&1 || { cat "$tmp/cmd.log" >&2; echo "bench_export: failed: $*" >&2; return 1; }
}

# Build everything per model first, so the rounds time only.
for m in $MODELS; do
  d=$tmp/$m
  mkdir -p "$d/export" "$d/gen"
  quiet "$SRC/netc" build "$SRC/models/$m.net" -o "$d/trainer" || exit 1
  quiet "$d/trainer" train --epochs 1 --limit 300 --early-stopping 0 --out "$d/$m.ckpt" || exit 1
  quiet "$SRC/netc" export-c "$SRC/models/$m.net" --weights "$d/$m.ckpt" -o "$d/export" -n net || exit 1
  quiet "$CC" -std=c11 -O3 -march=native -Wall -Wextra -pthread -I"$d/export" -o "$d/export_lat" \
    bench/export_latency.c "$d/export/net.c" "$d/export/netc_infer.c" -lm || exit 1
  quiet "$SRC/netc" compile "$SRC/models/$m.net" --name "$m" --batch 1 -o "$d/gen" || exit 1
  quiet "$CC" -std=c11 -D_GNU_SOURCE -O2 -march=native -Wall -Wextra -I"$SRC/runtime" -I"$d/gen" -DMODEL="${m}_model" \
    -o "$d/train_lat" "$SRC/bench/bench_train.c" "$d/gen/$m.c" "$SRC/build/libnetcrt.a" \
    -lopenblas -lzip -lz -lpng -lm -lpthread || exit 1
done

# One line per model and round: model twin round export_us export2_us trainer_us ort1_us
# ort2_us flops workspace_bytes
results=$tmp/results.txt
: >"$results"
for r in $(seq 1 "$ROUNDS"); do
  for m in $MODELS; do
    d=$tmp/$m
    e=$("$d/export_lat" "$CALLS" "$WARMUP")
    w=$(echo "$e" | sed -n 's/.*workspace=\([0-9]*\).*/\1/p')
    e=$(echo "$e" | sed -n 's/.*median_us=\([0-9.]*\).*/\1/p')
    e2=$("$d/export_lat" "$CALLS" "$WARMUP" 2 | sed -n 's/.*median_us=\([0-9.]*\).*/\1/p')
    t=$(NETC_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$d/train_lat" infer 1 "$CALLS" "$WARMUP" \
        | sed -n 's/.*img_per_s=\([0-9.]*\).*/\1/p')
    [ -n "$t" ] && t=$(awk -v r="$t" 'BEGIN { printf "%.1f", 1e6 / r }')
    o=$("$VENV/bin/python" bench/ort_export.py --net "$(torch_name "$m")" --threads 1,2 \
        --runs "$CALLS" --warmup "$WARMUP" 2>"$d/ort.err")
    [ "$r" = 1 ] && echo "# $m: $(echo "$o" | head -n 1)"
    o1=$(echo "$o" | sed -n 's/^threads=1 median_us=\([0-9.]*\).*/\1/p')
    o2=$(echo "$o" | sed -n 's/^threads=2 median_us=\([0-9.]*\).*/\1/p')
    f=$(echo "$o" | sed -n 's/^threads=1 .*flops=\([0-9]*\).*/\1/p')
    [ -n "$o1" ] || { echo "bench_export: ONNX Runtime failed on $m:" >&2; tail -n 5 "$d/ort.err" >&2; }
    echo "$m $(torch_name "$m") $r ${e:-nan} ${e2:-nan} ${t:-nan} ${o1:-nan} ${o2:-nan} ${f:-nan} ${w:-nan}" \
      | tee -a "$results"
  done
done

fma_peak_measure "$tmp" after
PEAK1=$(fma_peak_best "$tmp" 1)
echo "# FMA peak used below: 1 thread $PEAK1 GFLOP/s (the best of before and after)"
python3 - "$results" "$PEAK1" <<'PY'
import math, statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
peak1 = float(sys.argv[2] or "nan") * 1e9
def med(v):
    v = [x for x in v if not math.isnan(x)]
    return statistics.median(v) if v else float("nan")
def us(v):
    return "-" if math.isnan(v) else f"{v:,.1f}"
def ratio(sel, a, b):  # the rounds' figure a / figure b: median [min, max]
    q = [s[a] / s[b] for s in sel if not math.isnan(s[a] / s[b])]
    return f"{statistics.median(q):.2f} [{min(q):.2f}, {max(q):.2f}]" if q else "-"
def pct(flops, t):
    return "-" if math.isnan(flops * t) else f"{100 * flops / (t * 1e-6) / peak1:.0f}%"
print()
print("| net | netc export µs | netc export, 2 threads µs | netc trainer-side evaluate µs | ORT 1 thread µs"
      " | ORT 2 threads µs | export / ORT-1 | export-2 / ORT-2 | export % of 1-core peak | ORT-1 % of 1-core peak"
      " | export workspace KiB |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
models = []
for r in rows:
    if r[0] not in models:
        models.append(r[0])
for m in models:
    sel = [[float(x) for x in r[3:]] for r in rows if r[0] == m]
    twin = next(r[1] for r in rows if r[0] == m)
    e, e2, t, o1, o2, f, w = (med([s[i] for s in sel]) for i in range(7))
    print(f"| {twin} ({m}) | {us(e)} | {us(e2)} | {us(t)} | {us(o1)} | {us(o2)} | {ratio(sel, 0, 3)}"
          f" | {ratio(sel, 1, 4)} | {pct(f, e)} | {pct(f, o1)} | {us(w / 1024)} |")
print()
print("(medians over the rounds; export / ORT-1, export-2 / ORT-2: median [min, max] of the rounds' ratios;"
      " % of peak: forward FLOPs of conv and dense / latency / the 1-thread FMA peak)")
PY
