#!/usr/bin/env bash
# What the trainer does besides the plain loop, through built programs on a small
# subset of Fashion-MNIST (cut here with printf/gzip/head):
#   - each learning-rate schedule's per-epoch lr in the CSV log equals PyTorch's
#     (StepLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, CyclicLR per step);
#   - a model whose input is larger than the images (36x36 on 28x28) trains on them
#     padded centred, and predict takes 28x28 and 36x36 images;
#   - a flat model (softmax regression, input [784]) trains and predicts;
#   - predict --split test -o FILE: a CSV row per test image whose top-1 accuracy is
#     eval's, reading the images file once (counted with strace, when installed); eval and
#     predict on a directory holding only the test files, and a clear error for the
#     train and valid splits there;
#   - the run's header names augmentation, MixUp and early stopping when they are on;
#   - class names: digits for an IDX directory not named "fashion", Fashion-MNIST's with
#     --format fashion-mnist;
#   - the progress bar is drawn on a terminal (via script(1), when installed) and not
#     on a pipe;
#   - --help of the program and of every command exits 0.
# Needs ./netc and build/libnetcrt.a (make).  Run from the repository root.
. "$(dirname "$0")/lib.sh"
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}

build() {  # build NAME MODEL-FILE: the trainer $tmp/NAME
  ./netc build ${SAN_BUILD[@]+"${SAN_BUILD[@]}"} "$2" -o "$tmp/$1" 2>"$tmp/build.err" || { cat "$tmp/build.err"; echo "FAIL: netc build $2"; exit 1; }
}
build sr models/softmax_regression.net
sed 's/input x\[1, 28, 28\]/input x[1, 36, 36]/; s/^model LeNetBN(/model LeNetBN36(/' models/lenet_bn.net >"$tmp/lenet36.net"
build l36 "$tmp/lenet36.net"

D="$tmp/small"
small_fashion "$D" 500 100

# ---- schedules: the lr column (the lr of the epoch's last step, printed %.9g) ----
lrs_of() { cut -d, -f7 "$1" | tail -n +2 | paste -sd' '; }
schedule() {  # schedule NAME "WANT LRS" OPTIONS...
  local name=$1 want=$2; shift 2
  "$tmp/sr" train --data "$D" --valid-split 0 --batch 100 --lr 0.01 --quiet --out "$tmp/s.ckpt" "$@" >"$tmp/out" 2>&1 \
    || { cat "$tmp/out"; fail "schedule $name"; return; }
  local got; got=$(lrs_of "$tmp/s.ckpt.csv")
  [ "$got" = "$want" ] && ok "schedule $name: lr by epoch $got" || fail "schedule $name: lr by epoch '$got', want '$want'"
}
schedule "step(step_size 2, gamma 0.5)" "0.01 0.01 0.005 0.005 0.0025" --epochs 5 --schedule step --schedule-step-size 2 --schedule-gamma 0.5
schedule "cosine(t_max 4)" "0.01 0.00853553391 0.005 0.00146446609 0" --epochs 5 --schedule cosine --schedule-t-max 4
schedule "cosine, t_max = epochs" "0.01 0.0075 0.0025" --epochs 3 --schedule cosine
schedule "warm_restarts(t_0 2, t_mult 2)" "0.01 0.005 0.01 0.00853553391 0.005 0.00146446609 0.01" \
  --epochs 7 --schedule warm_restarts --schedule-t-0 2 --schedule-t-mult 2
# 5 steps an epoch: the epoch's last step is 4, 9, 14
schedule "cyclic(0.001, 0.006, step_size 4)" "0.006 0.00225 0.0035" \
  --epochs 3 --schedule cyclic --schedule-base-lr 0.001 --schedule-max-lr 0.006 --schedule-step-size 4

# ---- a 36x36 model on 28x28 images ----
"$tmp/l36" train --data "$D" --epochs 1 --augment-pad-crop 2 --out "$tmp/l36.ckpt" >"$tmp/out" 2>&1
if [ $? -eq 0 ] && grep -q 'images 1x28x28, padded to 36x36' "$tmp/out"; then ok "36x36 model trains on 28x28 images padded centred"
else cat "$tmp/out"; fail "36x36 model on 28x28 data"; fi
{ printf 'P5\n28 28\n255\n'; tail -c 784 "$D/t10k-images-idx3-ubyte"; } >"$tmp/i28.pgm"
{ printf 'P2\n36 36\n255\n'; for _ in $(seq 1 1296); do echo 0; done; } >"$tmp/i36.pgm"
"$tmp/l36" predict --ckpt "$tmp/l36.ckpt" --top 1 "$tmp/i28.pgm" "$tmp/i36.pgm" >"$tmp/out" 2>&1 \
  && ok "predict on the 36x36 model takes a 28x28 and a 36x36 image" || { cat "$tmp/out"; fail "predict, padded model"; }

# ---- the header names augmentation, MixUp and early stopping when they are on ----
"$tmp/l36" train --data "$D" --epochs 1 --valid-split 0.2 --augment-shift-fraction 0.05 --augment-crop 0.8 \
  --augment-crop-max 1.2 --mixup 0.2 --mixup-mode pairs --early-stopping 2 --out "$tmp/h.ckpt" >"$tmp/out" 2>&1
rc=$?
want='augment crop 0.8, crop_max 1.2, shift_fraction 0.05; mixup 0.2 (pairs: a lambda an image, partners from a second shuffle); early stopping patience 2 by valid_loss'
if [ $rc -eq 0 ] && grep -qxF "$want" "$tmp/out" && ! grep -q '^augment\|mixup\|early stopping' <("$tmp/l36" train --data "$D" --epochs 0 --out "$tmp/h0.ckpt" 2>&1); then
  ok "the header names augmentation, MixUp (pairs) and early stopping when on, and only then"
else
  cat "$tmp/out"; fail "header line of augmentation, MixUp, early stopping"
fi

# ---- a flat model, and class names ----
"$tmp/sr" train --data "$D" --epochs 1 --quiet --out "$tmp/sr.ckpt" >"$tmp/out" 2>&1 || { cat "$tmp/out"; fail "flat model"; }
"$tmp/sr" predict --ckpt "$tmp/sr.ckpt" --top 1 "$tmp/i28.pgm" >"$tmp/out" 2>&1 && grep -qE '^  [01]\.[0-9]{4}  [0-9] [0-9]$' "$tmp/out" \
  && ok "flat model predicts a 28x28 image; digit class names for an IDX directory not named fashion" || { cat "$tmp/out"; fail "flat predict"; }
"$tmp/sr" train --data "$D" --format fashion-mnist --epochs 0 --quiet --out "$tmp/sr2.ckpt" >/dev/null 2>&1
"$tmp/sr" eval --ckpt "$tmp/sr2.ckpt" >"$tmp/out" 2>&1 && grep -q '^ 9 Ankle boot' "$tmp/out" \
  && ok "--format fashion-mnist gives Fashion-MNIST class names" || { cat "$tmp/out"; fail "class names"; }

# ---- bulk predict, and eval/predict on a directory holding only the test files ----
T10K="$tmp/t10k"
mkdir -p "$T10K"
ln -s "$DATA"/t10k-images-idx3-ubyte.gz "$DATA"/t10k-labels-idx1-ubyte.gz "$T10K"/
opens=-
if command -v strace >/dev/null && strace -f -qq -e trace=openat -o "$tmp/strace" true 2>/dev/null; then
  strace -f -qq -e trace=openat -o "$tmp/strace" "$tmp/sr" predict --ckpt "$tmp/sr.ckpt" --data "$T10K" --split test \
    --top 2 -o "$tmp/preds.csv" >"$tmp/out" 2>&1
  rc=$?
  opens=$(grep -c 't10k-images-idx3-ubyte' "$tmp/strace")
else
  "$tmp/sr" predict --ckpt "$tmp/sr.ckpt" --data "$T10K" --split test --top 2 -o "$tmp/preds.csv" >"$tmp/out" 2>&1
  rc=$?
fi
"$tmp/sr" eval --ckpt "$tmp/sr.ckpt" --data "$T10K" --split test >"$tmp/eval.out" 2>&1 || { cat "$tmp/eval.out"; fail "eval on a directory of test files only"; }
want=$(sed -n 's/^accuracy: //p' "$tmp/eval.out")
# From the CSV: rows, indices 0.. in order, labels as the label file's, probabilities in
# [0, 1] most likely first, and the top-1 accuracy.
gzip -dc "$DATA/t10k-labels-idx1-ubyte.gz" | tail -c +9 | od -An -v -tu1 | tr -s ' ' '\n' | grep . >"$tmp/labels"
got=$(tail -n +2 "$tmp/preds.csv" | paste -d, - "$tmp/labels" | awk -F, '
  NF != 7 || $1 != NR - 1 || $2 != $7 || $4 < $6 || $4 > 1 || $6 < 0 {bad++}
  {right += $2 == $3} END {printf "%d %d %.4f", NR, bad, right / NR}')
if [ $rc -eq 0 ] && [ "$(head -1 "$tmp/preds.csv")" = "index,label,class1,prob1,class2,prob2" ] && [ "$got" = "10000 0 $want" ]; then
  ok "predict --split test -o: 10000 rows, labels and order right, top-1 accuracy $want = eval's, on a directory of test files only"
else
  cat "$tmp/out"; head -3 "$tmp/preds.csv"; fail "bulk predict: rows, bad rows, accuracy '$got', want '10000 0 $want'"
fi
case $opens in
  -) echo "skip: no strace; that predict reads the images file once is not checked" ;;
  1) ok "predict --split test opens the test images file once" ;;
  *) fail "predict --split test opened the test images file $opens times" ;;
esac
one=$("$tmp/sr" predict --ckpt "$tmp/sr.ckpt" --top 1 "$T10K/t10k-images-idx3-ubyte.gz:1234" 2>&1 | awk 'NR == 2 {print $2}')
[ -n "$one" ] && [ "$one" = "$(awk -F, 'NR == 1236 {print $3}' "$tmp/preds.csv")" ] \
  && ok "predict IDXFILE:1234 gives row 1234's class ($one)" || fail "predict IDXFILE:1234 says '$one', the CSV $(sed -n 1236p "$tmp/preds.csv")"
for split in train valid; do
  "$tmp/sr" eval --ckpt "$tmp/sr.ckpt" --data "$T10K" --split $split >"$tmp/out" 2>&1
  rc=$?
  [ $rc -eq 1 ] && grep -q "split $split: $T10K: no train-images-idx3-ubyte" "$tmp/out" \
    && ok "eval --split $split without the training files: exit 1, names the file" || { cat "$tmp/out"; fail "eval --split $split, no training files (exit $rc)"; }
done
"$tmp/sr" predict --ckpt "$tmp/sr.ckpt" --split valid --data "$T10K" -o "$tmp/v.csv" >"$tmp/out" 2>&1
[ $? -eq 1 ] && grep -q "no train-images-idx3-ubyte" "$tmp/out" && ok "predict --split valid without the training files: names the file" \
  || { cat "$tmp/out"; fail "predict --split valid, no training files"; }
"$tmp/sr" predict --ckpt "$tmp/sr.ckpt" --split train --data "$D" --top 1 >"$tmp/v.csv" 2>"$tmp/out"
[ $? -eq 0 ] && [ "$(tail -n +2 "$tmp/v.csv" | wc -l)" -eq 500 ] && ok "predict --split train to standard output: 500 rows" \
  || { cat "$tmp/out"; fail "predict --split train to stdout: $(wc -l <"$tmp/v.csv") lines"; }
"$tmp/sr" predict --ckpt "$tmp/sr.ckpt" --split test "$tmp/i28.pgm" >"$tmp/out" 2>&1
[ $? -eq 2 ] && ok "predict: FILEs with --split is a usage error" || fail "predict FILE --split: not a usage error"

# ---- the progress bar: on a terminal only ----
"$tmp/sr" train --data "$D" --epochs 1 --batch 10 --quiet --out "$tmp/p.ckpt" >"$tmp/pipe.out" 2>&1
if grep -q 'img/s' "$tmp/pipe.out"; then fail "a progress bar was drawn on a pipe"; else ok "no progress bar on a pipe"; fi
if command -v script >/dev/null; then
  script -qc "'$tmp/sr' train --data '$D' --epochs 1 --batch 10 --quiet --out '$tmp/p.ckpt'" /dev/null >"$tmp/tty.out" 2>&1
  grep -qE 'epoch 1/1 \[[=> ]+\] [0-9]+/50 loss [0-9.]+ [0-9]+ img/s ETA [0-9]+:[0-9]{2}' "$tmp/tty.out" \
    && ok "progress bar on a terminal: $(tr '\r' '\n' <"$tmp/tty.out" | grep -m1 -oE 'epoch 1/1 \[.*ETA [0-9:]+')" \
    || { cat -v "$tmp/tty.out"; fail "no progress bar on a terminal"; }
  script -qc "'$tmp/sr' predict --ckpt '$tmp/sr.ckpt' --data '$T10K' --split test -o '$tmp/tty.csv'" /dev/null >"$tmp/tty.out" 2>&1
  grep -qE 'predict \[[=> ]+\] [0-9]+/[0-9]+ loss [0-9.]+ ' "$tmp/tty.out" && ! grep -q 'loss 0.0000' "$tmp/tty.out" \
    && ok "predict --split draws its progress bar on a terminal" || { cat -v "$tmp/tty.out"; fail "no predict progress bar on a terminal"; }
else
  echo "skip: no script(1); the progress bar on a terminal is not checked"
fi

# ---- help ----
for c in "" train eval predict export info; do
  "$tmp/sr" $c --help >"$tmp/out" 2>&1 && grep -q '^usage: sr ' "$tmp/out" || fail "'sr $c --help'"
done
grep -q -- '--schedule-t-max N' <("$tmp/sr" train --help) && ok "--help of the program and each command; train lists the settings" \
  || fail "train --help lacks the settings"

echo
finish
