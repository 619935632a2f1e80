#!/usr/bin/env bash
# Training speed and memory of netc's trainer program against the peers users pick today,
# side by side on this CPU: PyTorch 2.x from PyPI in three modes (eager, channels_last,
# torch.compile: bench/torch_train.py) and Keras 3 on TensorFlow with and without XLA
# (bench/keras_train.py).  Not a test (not in make test): figures, no verdicts.
#
#   bench/run_bench.sh [--rounds R] [--models "lenet_bn mnist_cnn lenet_deep simplenet"]
#                      [--batches "100 250"] [--images N] [--threads T]
#                      [--torch-modes "eager channels_last compile"] [--keras-modes "keras keras_jit"]
#                      [--bf16]
#
# --bf16 adds netc's trainer with --precision bf16 (mode netc_bf16) and PyTorch under
# torch.autocast bf16 (modes autocast, autocast_cl), compared in a table of their own
# (bench/bench_table.py): bf16 against bf16, and netc_bf16's fp32-equivalent FLOP/s as a
# fraction of the fp32 FMA peak.
#
# The work, the same on every side: one epoch over the first N (default 12,000) Fashion-MNIST
# training images, held in memory, at batch B, Adam lr 1e-3, cross-entropy.  netc: the
# program `netc build models/M.net` makes, run as `train --epochs 1 --limit N --batch B`
# with the model's other settings neutralised (bench/train_args.sh: no validation split,
# augmentation or schedule; its end-of-epoch evaluation is of one image); its img/s is N
# over the epoch's seconds of its log (data batching and the shuffle included; its first
# step too: netc has no warm-up to skip).  The peers: after 10 warm-up steps (compilation
# included), N over the seconds of the epoch's loop.  Each measurement is a fresh process
# under /usr/bin/time, whose maximum resident set size is the run's peak RSS.
#
# The host is shared and noisy, so each round runs every configuration on every side one
# after another, and what counts is the ratio of each round: netc / the best peer of that
# configuration (the mode with the highest median img/s), whose median [min, max] over the
# rounds is printed, with the 1-minute load average of every measurement.  The FMA peak of
# the host is measured in the same run (bench/fma_peak.sh), before the rounds and after,
# and netc's training FLOP/s (FLOPs per image: bench/torch_train.py --flops, counted
# exactly on the PyTorch twin, checked against `netc summary`'s forward count) is printed
# as a fraction of the peak at netc's thread count.
#
# Threads: netc every online CPU (its default), PyTorch 2 (torch.set_num_threads), Keras 2
# intra-op and 1 inter-op; --threads T gives each side T (netc: NETC_NUM_THREADS and
# OPENBLAS_NUM_THREADS).  Both sides run with OPENBLAS_CORETYPE=SkylakeX (Debian's
# OpenBLAS otherwise picks its AVX2 kernels here) and the glibc malloc tunables of the
# reference's peers.md (the fairer bar for PyTorch; netc allocates once).  The venvs are
# made on first use by bench/venv.sh (build/bench-venv, build/keras-venv, from PyPI).
# Output: a '#' header (date, CPU, load, versions), one line per measurement, then two
# Markdown tables (speed; peak RSS).
set -u
cd "$(dirname "$0")/.."

ROUNDS=2
MODELS="lenet_bn mnist_cnn lenet_deep simplenet"
BATCHES="100 250"
IMAGES=12000
THREADS=
TORCH_MODES="eager channels_last compile"
KERAS_MODES="keras keras_jit"
NETC_MODES=netc
BF16=0
usage() {
  echo "usage: $0 [--rounds R] [--models LIST] [--batches LIST] [--images N] [--threads T]" \
       "[--torch-modes LIST] [--keras-modes LIST] [--bf16]" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  if [ "$1" = --bf16 ]; then
    BF16=1
    shift
    continue
  fi
  [ $# -ge 2 ] || usage
  case $1 in
    --rounds) ROUNDS=$2 ;;
    --models) MODELS=$2 ;;
    --batches) BATCHES=$2 ;;
    --images) IMAGES=$2 ;;
    --threads) THREADS=$2 ;;
    --torch-modes) TORCH_MODES=$2 ;;
    --keras-modes) KERAS_MODES=$2 ;;
    *) usage ;;
  esac
  shift 2
done
[ "$BF16" = 1 ] && NETC_MODES="netc netc_bf16" TORCH_MODES="$TORCH_MODES autocast autocast_cl"
export OPENBLAS_CORETYPE=SkylakeX
# torch.compile's cache of its own (warm after the first round and the first run), not the
# one every user of the host shares in /tmp: a compile killed half-way leaves a broken
# entry there that fails later runs ("file too short").
export TORCHINDUCTOR_CACHE_DIR=${TORCHINDUCTOR_CACHE_DIR:-$PWD/build/torchinductor}
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=1073741824
CC=${CC:-cc}
NTHREADS=${THREADS:-$(nproc)}
PEER_THREADS=${THREADS:-2}
[ -n "$THREADS" ] && export NETC_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS

# The PyTorch and Keras name of each model (torch_train.py, keras_train.py --net).
peer_name() {
  case $1 in
    lenet_bn) echo LeNetBN ;;
    mnist_cnn) echo KerasCNN ;;
    lenet_deep) echo LeNetDeep ;;
    simplenet) echo SimpleNet ;;
    *) echo "" ;;
  esac
}
for m in $MODELS; do
  [ -n "$(peer_name "$m")" ] || { echo "run_bench: no peer twin for $m (lenet_bn mnist_cnn lenet_deep simplenet)" >&2; exit 2; }
done

. bench/venv.sh
. bench/fma_peak.sh
. bench/train_args.sh
make -s netc build/libnetcrt.a >/dev/null || { echo "run_bench: make failed" >&2; exit 1; }
bench_venv_torch || exit 1
[ -z "$KERAS_MODES" ] || bench_venv_keras || exit 1
tmp=$(mktemp -d /tmp/netc_bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

version() {  # VENV MODULE
  "$1/bin/python" -c "import $2; print($2.__version__)" 2>/dev/null
}
echo "# $(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) CPUs  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)" \
     " load $(cut -d' ' -f1-3 /proc/loadavg)  rounds $ROUNDS  images $IMAGES  threads ${THREADS:-default}"
echo "# netc $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- runtime compiler || echo ' + uncommitted changes')," \
     "torch $(version "$BENCH_VENV" torch), keras $(version "$KERAS_VENV" keras) on tensorflow $(version "$KERAS_VENV" tensorflow)"
fma_peak_init "$tmp" || exit 1
fma_peak_measure "$tmp" before

# Per model: the trainer, and its training FLOPs per image.
for m in $MODELS; do
  mkdir -p "$tmp/$m"
  ./netc build "models/$m.net" -o "$tmp/$m/trainer" 2>"$tmp/$m/build.log" \
    || { cat "$tmp/$m/build.log" >&2; exit 1; }
  f=$("$BENCH_VENV/bin/python" bench/torch_train.py --net "$(peer_name "$m")" --flops) || exit 1
  fwd=$(echo "$f" | sed -n 's/.*"forward_flops": \([0-9]*\).*/\1/p')
  echo "$f" | sed -n 's/.*"train_flops": \([0-9]*\).*/\1/p' >"$tmp/$m/flops"
  ours=$(./netc summary "models/$m.net" | sed -n 's/^Forward FLOPs per sample: //p' | tr -d ,)
  echo "# $m: training $(cat "$tmp/$m/flops") FLOPs per image (forward $fwd; netc summary: forward $ours)"
  [ "$fwd" = "$ours" ] || echo "# run_bench: WARNING: the twin's forward FLOPs differ from netc's on $m" >&2
done

# timed OUT CMD...: run CMD under /usr/bin/time; its peak RSS in kB into OUT.rss, its
# stdout into OUT, its stderr into OUT.err.
timed() {
  local out=$1
  shift
  /usr/bin/time -f %M -o "$out.rss" "$@" >"$out" 2>"$out.err"
}

# run_one MODEL BATCH MODE -> "img_per_s rss_kb", or nothing when the run failed.
run_one() {
  local m=$1 b=$2 mode=$3 o=$tmp/$1/run img
  case $mode in
    netc|netc_bf16)
      local prec=fp32
      [ "$mode" = netc_bf16 ] && prec=bf16
      rm -f "$tmp/$m/ckpt" "$tmp/$m/ckpt.csv"
      bench_train_args "$IMAGES" "$b"
      timed "$o" "$tmp/$m/trainer" train --quiet --out "$tmp/$m/ckpt" "${BENCH_TRAIN_ARGS[@]}" --precision $prec \
        || return
      img=$(awk -F, -v n="$IMAGES" 'NR == 2 { printf "%.1f", n / $8 }' "$tmp/$m/ckpt.csv") ;;
    keras|keras_jit)
      local jit=()
      [ "$mode" = keras_jit ] && jit=(--jit)
      timed "$o" "$KERAS_VENV/bin/python" bench/keras_train.py --net "$(peer_name "$m")" --bs "$b" \
        --images "$IMAGES" --threads "$PEER_THREADS" "${jit[@]}" || return
      img=$(sed -n 's/.*"img_s": \([0-9.]*\).*/\1/p' "$o") ;;
    *)
      timed "$o" "$BENCH_VENV/bin/python" -W ignore bench/torch_train.py --net "$(peer_name "$m")" --bs "$b" \
        --images "$IMAGES" --threads "$PEER_THREADS" --mode "$mode" || return
      img=$(sed -n 's/.*"img_s": \([0-9.]*\).*/\1/p' "$o") ;;
  esac
  [ -n "$img" ] && echo "$img $(cat "$o.rss")"
}

# One line per measurement: model batch round mode img_per_s rss_kb load1
results=$tmp/results.txt
: >"$results"
for r in $(seq 1 "$ROUNDS"); do
  for m in $MODELS; do
    for b in $BATCHES; do
      for mode in $NETC_MODES $TORCH_MODES $KERAS_MODES; do
        load=$(cut -d' ' -f1 /proc/loadavg)
        v=$(run_one "$m" "$b" "$mode")
        [ -n "$v" ] || { echo "run_bench: $m batch $b $mode failed:" >&2; tail -n 5 "$tmp/$m/run.err" >&2; }
        echo "$m $b $r $mode ${v:-nan nan} $load" | tee -a "$results"
      done
    done
  done
done

fma_peak_measure "$tmp" after
PEAK=$(fma_peak_best "$tmp" "$NTHREADS")
echo "# FMA peak used below: $NTHREADS threads ${PEAK:-unmeasured} GFLOP/s (the best of before and after)"
for m in $MODELS; do
  echo "$m $(cat "$tmp/$m/flops")"
done >"$tmp/flops.txt"
python3 bench/bench_table.py "$results" "$tmp/flops.txt" "${PEAK:-nan}"
