#!/usr/bin/env bash
# Every network in models/ trains with its own recipe: `netc build` makes its trainer,
# which runs one short epoch with the train section as written (optimizer, schedule,
# augmentation, MixUp, early stopping, ...) on a few Fashion-MNIST images:
#   train --limit 200 --test-limit 100 --epochs 1
# and must exit 0 with a test accuracy.  A recipe `netc check` accepts but the trainer
# refuses (models/mixnet.net's early stopping without a validation set, once) fails
# here.  Each trains twice, on one thread and on two (NETC_NUM_THREADS), and the two
# checkpoints must be the same bytes: the kernels cut their work by shape, never by the
# thread count (runtime/kernels/kernel_util.h).  Needs ./netc, build/libnetcrt.a and the Fashion-MNIST files.
. "$(dirname "$0")/lib.sh"
need_fashion
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX} NETC_NO_REEXEC=1
n=0

for f in models/*.net; do
  m=$(basename "$f" .net)
  n=$((n + 1))
  if ! ./netc build -o "$tmp/$m" "$f" >"$tmp/$m.log" 2>&1; then
    fail "$m: netc build failed"; sed 's/^/    /' "$tmp/$m.log"; continue
  fi
  for t in 1 2; do
    NETC_NUM_THREADS=$t "$tmp/$m" train --quiet --limit 200 --test-limit 100 --epochs 1 --out "$tmp/$m.$t.ckpt" \
      >"$tmp/$m.out" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && grep -q '^test accuracy: [0-9.]*$' "$tmp/$m.out" && [ -f "$tmp/$m.$t.ckpt" ]; then
      echo "ok: $m trains with its recipe on $t thread(s) ($(grep '^test accuracy' "$tmp/$m.out"))"
    else
      fail "$m: train exited $rc on $t thread(s)"; sed 's/^/    /' "$tmp/$m.out"
    fi
  done
  if [ -f "$tmp/$m.1.ckpt" ] && [ -f "$tmp/$m.2.ckpt" ]; then
    cmp -s "$tmp/$m.1.ckpt" "$tmp/$m.2.ckpt" && echo "ok: $m: the same checkpoint on 1 and 2 threads" \
      || fail "$m: the checkpoints of 1 and 2 threads differ"
  fi
  rm -f "$tmp/$m" "$tmp/$m".*ckpt*
done

[ $fails -eq 0 ] && echo "t_models_train: all $n models train" || echo "t_models_train: $fails of $n failed"
exit $((fails > 0))
