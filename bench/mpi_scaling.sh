#!/usr/bin/env bash
# Data-parallel scaling on this machine (docs/mpi.md): one epoch of STEPS steps at batch
# 100 on Fashion-MNIST for each model, timed by the trainer's own CSV (the epoch's
# seconds: training plus evaluating 100 test images), in four configurations:
#   1x1      one process, one thread                      (NETC_NUM_THREADS=1)
#   1x1 s2   one process, one thread, --shards 2           (the arithmetic of 2x1)
#   2x1      mpirun -np 2, one thread a rank, 2 shards
#   1x2      one process, two threads                      (NETC_NUM_THREADS=2)
# usage: bench/mpi_scaling.sh [STEPS [MODEL...]]   (default 200 lenet_bn simplenet)
# Needs ./netc, build/ with MPI (make with libopenmpi-dev installed) and mpirun.
set -eu
cd "$(dirname "$0")/.."
steps=${1:-200}
shift || true
if [ $# -gt 0 ]; then models=("$@"); else models=(lenet_bn simplenet); fi
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX} OPENBLAS_NUM_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common=(--limit $((steps * 100)) --valid-split 0 --test-limit 100 --batch 100 --epochs 1 --quiet)
seconds() { tail -n 1 "$1.csv" | cut -d, -f8; }
printf '%-10s %8s %8s %8s %8s   (seconds for %d steps)\n' model 1x1 "1x1 s2" 2x1 1x2 "$steps"
for m in "${models[@]}"; do
  ./netc build "models/$m.net" -o "$tmp/$m" 2>/dev/null
  (cd "$tmp" && NETC_NUM_THREADS=1 "./$m" train "${common[@]}" --out a.ckpt >/dev/null)
  (cd "$tmp" && NETC_NUM_THREADS=1 "./$m" train "${common[@]}" --shards 2 --out b.ckpt >/dev/null)
  (cd "$tmp" && mpirun --oversubscribe --bind-to none --mca btl self,vader --mca btl_vader_single_copy_mechanism none \
      -x NETC_NUM_THREADS=1 -x OPENBLAS_NUM_THREADS -x OPENBLAS_CORETYPE -np 2 "./$m" train "${common[@]}" --out c.ckpt >/dev/null)
  (cd "$tmp" && NETC_NUM_THREADS=2 "./$m" train "${common[@]}" --out d.ckpt >/dev/null)
  printf '%-10s %8s %8s %8s %8s\n' "$m" "$(seconds "$tmp/a.ckpt")" "$(seconds "$tmp/b.ckpt")" \
    "$(seconds "$tmp/c.ckpt")" "$(seconds "$tmp/d.ckpt")"
done
