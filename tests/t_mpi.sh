#!/usr/bin/env bash
# Data-parallel training over MPI (runtime/trainer/train_shards.c, train_mpi.c; docs/mpi.md):
# R ranks give the bits of one process computing the batch as the same number of shards.
# On a small copy of Fashion-MNIST (600 training images, 100 test: 480 train + 120 valid,
# batch 100, so every epoch ends on a partial batch of 80 whose shards are 40 + 40, and
# a batch of 100 splits 50 + 50), with LeNetDropBN (batch norm and dropout2d) and a run
# that also draws augmentation and MixUp:
#   1. mpirun -np 2 train (2 shards by default) == one process with --shards 2 (at the
#      default thread count, while each rank has one thread): every state section of the
#      final checkpoint (CRC32 from `info`: parameters, batch-norm statistics, optimizer
#      moments, position, order, random streams), the exported .npz byte for byte, and
#      the CSV rows but the seconds;
#   2. only rank 0 prints and writes: one header and one result line, one checkpoint,
#      no files of its own from rank 1;
#   3. a resume under MPI: 1 epoch on 2 ranks, then --resume to 2 epochs on 2 ranks ==
#      1; and a resume of that 1-epoch MPI checkpoint by one process == 1;
#   3b. SIGTERM to rank 1 alone stops both ranks after the same step, rank 0 saving, and
#      the resume under MPI == 1;
#   4. --shards 3 on 2 ranks is refused with its reason.
# A trainer started without mpirun behaves as before: the other trainer tests check that.
# Skips (exit 0 with "SKIP: no mpirun") only where Open MPI is not installed, which the
# install script prevents.  Needs ./netc and build/libnetcrt.a (make).
. "$(dirname "$0")/lib.sh"
if ! command -v mpirun >/dev/null || [ ! -s build/mpi.flags ] || ! grep -q lmpi build/mpi.flags; then
  echo "SKIP: no mpirun (Open MPI is not installed, or the runtime was built without it)"
  exit 0
fi
export OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}
# Open MPI as root in a container, on this machine only: shared memory between the ranks.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --bind-to none --mca btl self,vader
        --mca btl_vader_single_copy_mechanism none -x NETC_NUM_THREADS=1 -x OPENBLAS_NUM_THREADS
        -x OPENBLAS_CORETYPE -np 2)

./netc build models/lenet_drop_bn.net -o "$tmp/ldb" 2>"$tmp/build.err" || { cat "$tmp/build.err"; echo "FAIL: netc build"; exit 1; }
T="$tmp/ldb"

D="$tmp/data"
small_fashion "$D" 600 100

RUN=(--data "$D" --batch 100 --seed 7 --split random --mixup 0.4 --augment-rotate 10 --augment-flip)
state_of() { "$T" info --ckpt "$1" | grep -E '^  (params|state|opt\.[a-z]+|train\.[a-z_]+|rng\.[a-z]+|early_stopping|lr) '; }
rows_of() { cut -d, -f1-7 "$1"; }
same_run() {  # same_run A.ckpt B.ckpt WHAT: every state section, the .npz and the CSV rows
  local a=$1 b=$2 what=$3
  if [ -z "$(state_of "$a")" ] || ! cmp -s <(state_of "$a") <(state_of "$b"); then
    fail "$what: the checkpoints' state sections differ"; diff <(state_of "$a") <(state_of "$b") | head -n 8; return
  fi
  "$T" export --ckpt "$a" --npz "$tmp/a.npz" >/dev/null && "$T" export --ckpt "$b" --npz "$tmp/b.npz" >/dev/null
  if command -v unzip >/dev/null && ! cmp -s <(unzip -p "$tmp/a.npz") <(unzip -p "$tmp/b.npz"); then
    fail "$what: the exported arrays differ"; return
  fi
  if ! cmp -s <(rows_of "$a.csv") <(rows_of "$b.csv"); then
    fail "$what: the CSV rows differ"; diff <(rows_of "$a.csv") <(rows_of "$b.csv"); return
  fi
  ok "$what: the same parameters, statistics, optimizer state, streams and log"
}

# 1. One process, two shards; two ranks.
(cd "$tmp" && "$T" train "${RUN[@]}" --epochs 2 --shards 2 --out one.ckpt --quiet >one.out 2>&1) || { cat "$tmp/one.out"; fail "one process --shards 2"; }
mkdir "$tmp/m"
(cd "$tmp/m" && "${MPIRUN[@]}" "$T" train "${RUN[@]}" --epochs 2 --out two.ckpt >two.out 2>&1) || { cat "$tmp/m/two.out"; fail "mpirun -np 2"; }
same_run "$tmp/one.ckpt" "$tmp/m/two.ckpt" "2 MPI ranks == 1 process with --shards 2"
# Another thread count changes nothing either (the kernels' cuts depend on shapes only).
(cd "$tmp" && NETC_NUM_THREADS=1 "$T" train "${RUN[@]}" --epochs 2 --shards 2 --out one1.ckpt --quiet >/dev/null 2>&1)
same_run "$tmp/one.ckpt" "$tmp/one1.ckpt" "--shards 2 on 1 thread == on the default threads"
# And the shards are a different computation from one batch (they must be: batch norm).
(cd "$tmp" && "$T" train "${RUN[@]}" --epochs 2 --out plain.ckpt --quiet >/dev/null 2>&1)
if cmp -s <("$T" info --ckpt "$tmp/plain.ckpt" | grep '^  params ') <("$T" info --ckpt "$tmp/one.ckpt" | grep '^  params '); then
  fail "--shards 2 gives the parameters of --shards 1: the shards are not used"
else
  ok "--shards 2 is not --shards 1's arithmetic (documented in docs/mpi.md)"
fi

# 2. Rank 0 alone speaks and writes.
n_results=$(grep -c '^test accuracy: ' "$tmp/m/two.out")
files=$(cd "$tmp/m" && ls | sort | tr '\n' ' ')
if [ "$n_results" = 1 ] && [ "$files" = "two.ckpt two.ckpt.best two.ckpt.csv two.out " ]; then
  ok "only rank 0 prints and writes ($files)"
else
  fail "rank output: $n_results result lines, files: $files"; cat "$tmp/m/two.out"
fi
if grep -q '^data-parallel: each batch as 2 shards, 1 on each of 2 ranks' "$tmp/m/two.out" &&
   [ "$(grep -c '^model LeNetDropBN: ' "$tmp/m/two.out")" = 1 ]; then
  ok "one header, which says the run is data-parallel"
else
  fail "the header does not say once that the run is data-parallel"; head -n 8 "$tmp/m/two.out"
fi

# 3. Resume under MPI, and an MPI checkpoint resumed by one process.
(cd "$tmp/m" && "${MPIRUN[@]}" "$T" train "${RUN[@]}" --epochs 1 --out r.ckpt --quiet >r1.out 2>&1 &&
   cp r.ckpt r1.ckpt && cp r.ckpt.csv r1.ckpt.csv &&
   "${MPIRUN[@]}" "$T" train --resume r.ckpt --epochs 2 --quiet >r2.out 2>&1) || { cat "$tmp/m/r1.out" "$tmp/m/r2.out"; fail "resume under mpirun"; }
same_run "$tmp/one.ckpt" "$tmp/m/r.ckpt" "1 epoch on 2 ranks, --resume to 2 on 2 ranks == 2 epochs"
(cd "$tmp/m" && "$T" train --resume r1.ckpt --epochs 2 --quiet >r3.out 2>&1) || { cat "$tmp/m/r3.out"; fail "one process resuming an MPI checkpoint"; }
same_run "$tmp/one.ckpt" "$tmp/m/r1.ckpt" "1 epoch on 2 ranks, --resume to 2 in one process == 2 epochs"

# 3b. SIGTERM to rank 1 alone: shared in the next step, so both ranks stop after it, rank 0
#     saves there (exit 143), and the resume ends with the uninterrupted run's bits.
(cd "$tmp/m" && exec "${MPIRUN[@]}" "$T" train "${RUN[@]}" --epochs 2 --out k.ckpt --save-every 1 --quiet >k1.out 2>&1) &
mpi=$!
rank1=""
for _ in $(seq 600); do
  sleep 0.05
  [ -f "$tmp/m/k.ckpt" ] || continue   # a first step is done: both ranks are past their set-up
  for p in $(pgrep -P "$mpi"); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && rank1=$p
  done
  [ -n "$rank1" ] && break
done
[ -n "$rank1" ] && kill -TERM "$rank1"
wait "$mpi"
rc=$?
if [ -z "$rank1" ]; then
  fail "SIGTERM: rank 1 not found"
elif [ "$rc" = 0 ] && grep -q '^test accuracy' "$tmp/m/k1.out"; then
  echo "note: the run ended before SIGTERM reached it (a slow machine is not a failure)"
elif ! grep -q 'terminated (SIGTERM) at epoch' "$tmp/m/k1.out"; then
  fail "SIGTERM to rank 1: rank 0 did not stop and save (exit $rc)"; cat "$tmp/m/k1.out"
else
  (cd "$tmp/m" && "${MPIRUN[@]}" "$T" train --resume k.ckpt --quiet >k2.out 2>&1) || { cat "$tmp/m/k2.out"; fail "resume after SIGTERM"; }
  same_run "$tmp/one.ckpt" "$tmp/m/k.ckpt" "SIGTERM to rank 1 mid-run, then --resume on 2 ranks == 2 epochs"
fi

# 4. Shards the ranks do not divide.
if (cd "$tmp/m" && "${MPIRUN[@]}" "$T" train "${RUN[@]}" --epochs 1 --shards 3 --out bad.ckpt --quiet >bad.out 2>&1); then
  fail "--shards 3 on 2 ranks was accepted"
elif grep -q 'shards 3 (--shards) is not a multiple of the 2 MPI ranks' "$tmp/m/bad.out"; then
  ok "--shards 3 on 2 ranks refused, with its reason"
else
  fail "--shards 3 on 2 ranks: no reason given"; cat "$tmp/m/bad.out"
fi

[ "$fails" -eq 0 ] && echo "all MPI checks passed"
exit $(( fails > 0 ))
