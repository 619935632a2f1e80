#!/usr/bin/env bash
# bench/conv_compare.sh [REV] [REPS] -- the convolution kernels of git revision REV
# (default HEAD) against the working tree's, fp32 and bf16, on the models' shapes
# (bench/conv_compare.c says what is timed).  Not a test: figures, on whatever threads NETC_NUM_THREADS gives
# (one thread is the figure a second job on the host barely moves).  Needs make's
# build/libnetcrt.a for the rest of the runtime.
#
#   NETC_NUM_THREADS=1 bench/conv_compare.sh 38520eb
set -eu
cd "$(dirname "$0")/.."
rev=${1:-HEAD} reps=${2:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OPENBLAS_CORETYPE=SkylakeX
# Each version compiles against its own headers: the old one in REV's runtime/ tree.
mkdir -p "$tmp/old"
git archive "$rev" runtime | tar -x -C "$tmp/old"
cp "$tmp/old/runtime/kernels/conv.c" "$tmp/conv_old.c"
cp runtime/kernels/conv.c "$tmp/conv_new.c"
flags=(-std=c11 -D_GNU_SOURCE -O3 -march=native -fno-math-errno)
for v in old new; do
  inc=runtime
  [ $v = old ] && inc=$tmp/old/runtime
  gcc "${flags[@]}" -I"$inc" -I"$inc/kernels" -Drt_conv2d_forward=${v}_conv2d_forward \
    -Drt_conv2d_backward=${v}_conv2d_backward -Drt_conv2d_workspace_floats=${v}_conv2d_workspace_floats \
    -Drt_bf16_available=${v}_bf16_available -c "$tmp/conv_$v.c" -o "$tmp/$v.o"
done
# Whether the old version's functions take the precision argument (from 3a67f3d on).
old_prec=0
grep -q 'const rt_conv_desc \*d, rt_precision prec)' "$tmp/conv_old.c" && old_prec=1
gcc "${flags[@]}" -Wno-deprecated-non-prototype -DOLD_PREC=$old_prec -Iruntime -o "$tmp/conv_compare" bench/conv_compare.c "$tmp/old.o" "$tmp/new.o" build/libnetcrt.a \
  -lopenblas -lm -lpthread
echo "# $(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) CPUs  load $(cut -d' ' -f1-3 /proc/loadavg)  threads ${NETC_NUM_THREADS:-default}  old $rev  new $(git rev-parse --short HEAD)$(git diff --quiet -- runtime/kernels || echo '+changes')"
"$tmp/conv_compare" "$reps"
