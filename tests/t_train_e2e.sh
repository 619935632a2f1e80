#!/usr/bin/env bash
# End to end on real data: `netc build models/lenet_bn.net`, then ONE epoch on the real
# Fashion-MNIST with the model's own recipe (Adam, lr 0.001, batch 100, a seeded random 10% of
# the training set held out) must reach test accuracy >= 0.85.  Then, on its checkpoint:
# the epoch line and the CSV log are there; `eval` gives the same test accuracy as
# training printed, with a confusion matrix named by class; `predict` classifies an IDX
# item and a PGM made from the same image alike; `info` lists the sections.
# Needs ./netc and build/libnetcrt.a (make).  Run from the repository root.
. "$(dirname "$0")/lib.sh"
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}

for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  [ -f "$DATA/$f.gz" ] || [ -f "$DATA/$f" ] || { echo "FAIL: $DATA/$f(.gz) missing (Debian package dataset-fashion-mnist)"; exit 1; }
done

./netc build models/lenet_bn.net -o "$tmp/lenetbn" 2>"$tmp/build.err" || { cat "$tmp/build.err"; echo "FAIL: netc build"; exit 1; }
T="$tmp/lenetbn"

t0=$(date +%s.%N)
"$T" train --data "$DATA" --epochs 1 --out "$tmp/lb.ckpt" >"$tmp/train.out" 2>"$tmp/train.err"
rc=$?
t1=$(date +%s.%N)
cat "$tmp/train.out"
[ $rc -eq 0 ] || { cat "$tmp/train.err"; echo "FAIL: train exited $rc"; exit 1; }
acc=$(sed -n 's/^test accuracy: \([0-9.]*\)$/\1/p' "$tmp/train.out")
[ -n "$acc" ] || { echo "FAIL: no 'test accuracy:' line"; exit 1; }
if awk -v a="$acc" 'BEGIN { exit !(a >= 0.85) }'; then
  ok "1 epoch of LeNetBN on Fashion-MNIST: test accuracy $acc >= 0.85 ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s in all)"
else
  fail "test accuracy $acc < 0.85"
fi
grep -q '^epoch 1/1: train loss [0-9.]* acc [0-9.]* | valid loss [0-9.]* acc [0-9.]* | test acc [0-9.]* | lr 0.001 | [0-9.]*s$' "$tmp/train.out" \
  && ok "epoch line" || fail "epoch line not as documented"
grep -q '^data .*: 54000 train, 6000 valid, 10000 test; images 1x28x28$' "$tmp/train.out" \
  && ok "split: 54000 train, 6000 valid (valid_split 0.1, random), 10000 test" || fail "data line"
if [ "$(head -1 "$tmp/lb.ckpt.csv")" = "epoch,train_loss,train_acc,valid_loss,valid_acc,test_acc,lr,seconds" ] \
   && [ "$(wc -l <"$tmp/lb.ckpt.csv")" -eq 2 ] && grep -q "^1,.*,0.001,[0-9.]*$" "$tmp/lb.ckpt.csv"; then
  ok "CSV log: header and one epoch row"
else
  fail "CSV log:"; cat "$tmp/lb.ckpt.csv"
fi

"$T" eval --ckpt "$tmp/lb.ckpt" >"$tmp/eval.out" 2>&1 || { cat "$tmp/eval.out"; fail "eval"; }
eacc=$(sed -n 's/^accuracy: \([0-9.]*\)$/\1/p' "$tmp/eval.out")
[ "$eacc" = "$acc" ] && ok "eval accuracy $eacc = train's" || fail "eval accuracy '$eacc' != train's $acc"
grep -q '^ 9 Ankle boot' "$tmp/eval.out" && grep -q 'confusion matrix' "$tmp/eval.out" \
  && ok "confusion matrix with Fashion-MNIST class names" || { cat "$tmp/eval.out"; fail "confusion matrix"; }

# predict: item 0 of the test set, and the same image as a binary PGM
img="$DATA/t10k-images-idx3-ubyte.gz"
"$T" predict --ckpt "$tmp/lb.ckpt" --top 2 "$img:0" >"$tmp/p1.out" 2>&1 || { cat "$tmp/p1.out"; fail "predict IDX item"; }
{ printf 'P5\n28 28\n255\n'; gzip -dc "$img" | tail -c +17 | head -c 784; } >"$tmp/item0.pgm"
"$T" predict --ckpt "$tmp/lb.ckpt" --top 2 "$tmp/item0.pgm" >"$tmp/p2.out" 2>&1 || { cat "$tmp/p2.out"; fail "predict PGM"; }
cat "$tmp/p1.out" "$tmp/p2.out"
[ "$(tail -n +2 "$tmp/p1.out")" = "$(tail -n +2 "$tmp/p2.out")" ] && [ "$(wc -l <"$tmp/p1.out")" -eq 3 ] \
  && grep -q '(true class: 9 Ankle boot)' "$tmp/p1.out" \
  && ok "predict: IDX item and PGM of the same image agree, top 2 with names" || fail "predict outputs differ"

"$T" info --ckpt "$tmp/lb.ckpt" >"$tmp/info.out" 2>&1 && grep -q 'params *float32\[29034\]' "$tmp/info.out" \
  && ok "info lists the checkpoint's sections" || { cat "$tmp/info.out"; fail "info"; }

echo
[ $fails -eq 0 ] && echo "t_train_e2e: all checks passed" || echo "t_train_e2e: $fails check(s) failed"
[ $fails -eq 0 ]
