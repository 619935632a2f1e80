#!/usr/bin/env bash
# Every failure of a built trainer is one clear message naming the file and the
# problem, with a non-zero exit -- never a crash, never silence:
#   - bad data: missing file, truncated, wrong magic, image/label counts that differ,
#     a label out of range, images of the wrong size, trailing garbage;
#   - bad checkpoints: another model's, the same model built with another structure,
#     truncated, corrupted (checksum), not a checkpoint, missing -- through eval,
#     predict, export, info and train --resume;
#   - bad .npz for --init-from: another model's (missing arrays), wrong shapes;
#   - bad images for predict: wrong size, not an image, IDX item out of range;
#   - a NaN loss stops training naming epoch and step, and the last checkpoint stays;
#   - usage: unknown option (did you mean), batch above the program's maximum, --seed
#     changed on resume, --resume with --init-from;
#   - early stopping stops and says so;
#   - a second run into the --out of a running one is refused (the lock CKPT.lock).
# With SAN=1 the trainers are built with --sanitize (ASan + UBSan), and a sanitizer
# report fails a check (the NaN-loss run once hit undefined behaviour in exp_fast).
# The data are small IDX files cut from Fashion-MNIST with printf/gzip/head here.
# Needs ./netc and build/libnetcrt.a (make).  Run from the repository root.
. "$(dirname "$0")/lib.sh"
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}

build() {  # build NAME MODEL [netc options]: the trainer $tmp/NAME
  local name=$1 model=$2; shift 2
  ./netc build ${SAN_BUILD[@]+"${SAN_BUILD[@]}"} "$@" "$model" -o "$tmp/$name" 2>"$tmp/build.err" || { cat "$tmp/build.err"; echo "FAIL: netc build $model"; exit 1; }
}
build lenetbn models/lenet_bn.net
build lenetbn12 models/lenet_bn.net -D classes=12
build sr models/softmax_regression.net
T="$tmp/lenetbn"

# expect WHAT STATUS FRAGMENT CMD...: CMD exits STATUS and its stderr holds FRAGMENT.
expect() {
  local what=$1 want=$2 frag=$3; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ $rc -eq "$want" ] && grep -qF -- "$frag" "$tmp/err" && [ $(grep -c . "$tmp/err") -le 2 ]; then
    echo "ok: $what -> exit $rc: $(tail -1 "$tmp/err")"
  else
    fail "$what: exit $rc (want $want), stderr lacks '$frag':"; cat "$tmp/err"
  fi
}

# ---- data: small IDX files ----
poke() { printf "\\x$(printf %02x "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }   # poke FILE OFFSET BYTE

good="$tmp/good"
small_fashion "$good" 600 200
variant() { rm -rf "$tmp/$1"; cp -r "$good" "$tmp/$1"; echo "$tmp/$1"; }
TRAIN=(train --epochs 1 --quiet --out "$tmp/x.ckpt")

d=$(variant missing); rm "$d/t10k-labels-idx1-ubyte"
expect "data: a missing file" 1 "$d: no t10k-labels-idx1-ubyte or t10k-labels-idx1-ubyte.gz" "$T" "${TRAIN[@]}" --data "$d"
expect "data: no such directory" 1 "$tmp/nowhere: no such data directory" "$T" "${TRAIN[@]}" --data "$tmp/nowhere"
expect "data: a file, not a directory" 1 "$good/train-images-idx3-ubyte: not a directory" "$T" "${TRAIN[@]}" --data "$good/train-images-idx3-ubyte"
d=$(variant truncated); head -c 100000 "$good/train-images-idx3-ubyte" >"$d/train-images-idx3-ubyte"
expect "data: truncated images" 1 "$d/train-images-idx3-ubyte: truncated" "$T" "${TRAIN[@]}" --data "$d"
d=$(variant magic); images "$DATA/train-labels-idx1-ubyte.gz" 1 1 600 >"$d/train-labels-idx1-ubyte"
expect "data: wrong magic (an image file as labels)" 1 "$d/train-labels-idx1-ubyte: not an IDX label file" "$T" "${TRAIN[@]}" --data "$d"
d=$(variant counts); labels "$DATA/train-labels-idx1-ubyte.gz" 599 >"$d/train-labels-idx1-ubyte"
expect "data: 600 images, 599 labels" 1 "has 600 images but $d/train-labels-idx1-ubyte has 599 labels" "$T" "${TRAIN[@]}" --data "$d"
d=$(variant label); poke "$d/t10k-labels-idx1-ubyte" $((8 + 5)) 10
expect "data: label 10 of 10 classes" 1 "label 10 of example 5 is out of range" "$T" "${TRAIN[@]}" --data "$d"
d=$(variant size)
images "$DATA/train-images-idx3-ubyte.gz" 600 32 32 >"$d/train-images-idx3-ubyte"
images "$DATA/t10k-images-idx3-ubyte.gz" 200 32 32 >"$d/t10k-images-idx3-ubyte"
expect "data: 32x32 images for a 28x28 model" 1 "$d: images are 1x32x32, larger than the 1x28x28 input of model LeNetBN" "$T" "${TRAIN[@]}" --data "$d"
d=$(variant garbage); printf 'xyz' >>"$d/train-labels-idx1-ubyte"
expect "data: trailing garbage" 1 "$d/train-labels-idx1-ubyte: trailing garbage" "$T" "${TRAIN[@]}" --data "$d"

# ---- checkpoints ----
"$T" train --data "$good" --epochs 1 --quiet --out "$tmp/good.ckpt" >/dev/null 2>&1 || fail "training on the good data"
"$tmp/sr" train --data "$good" --epochs 0 --quiet --out "$tmp/sr.ckpt" >/dev/null 2>&1 || fail "softmax regression run"
"$tmp/lenetbn12" train --data "$good" --epochs 0 --quiet --out "$tmp/l12.ckpt" >/dev/null 2>&1 || fail "12-class run"
size=$(stat -c %s "$tmp/good.ckpt")
head -c $((size - 100)) "$tmp/good.ckpt" >"$tmp/trunc.ckpt"
cp "$tmp/good.ckpt" "$tmp/corrupt.ckpt"; poke "$tmp/corrupt.ckpt" $((size / 2)) 255; poke "$tmp/corrupt.ckpt" $((size / 2 + 1)) 0
echo "not a checkpoint at all" >"$tmp/text.ckpt"
ckpt_case() {  # ckpt_case WHAT CKPT FRAGMENT: every command that reads a checkpoint refuses it
  expect "checkpoint, $1: eval" 1 "$3" "$T" eval --ckpt "$2" --data "$good"
  expect "checkpoint, $1: predict" 1 "$3" "$T" predict --ckpt "$2" "$good/t10k-images-idx3-ubyte:0"
  expect "checkpoint, $1: export" 1 "$3" "$T" export --ckpt "$2" --npz "$tmp/never.npz"
  expect "checkpoint, $1: info" 1 "$3" "$T" info --ckpt "$2"
  expect "checkpoint, $1: train --resume" 1 "$3" "$T" train --resume "$2" --out "$tmp/never.ckpt"
}
ckpt_case "another model's" "$tmp/sr.ckpt" "was written by model 'SoftmaxRegression' (hash"
ckpt_case "another structure" "$tmp/l12.ckpt" "was written by a different structure of model 'LeNetBN'"
ckpt_case "truncated" "$tmp/trunc.ckpt" "$tmp/trunc.ckpt: truncated: $((size - 100)) bytes, the header says $size"
ckpt_case "corrupted" "$tmp/corrupt.ckpt" "$tmp/corrupt.ckpt: corrupted: checksum mismatch"
ckpt_case "not a checkpoint" "$tmp/text.ckpt" "$tmp/text.ckpt: not a netc checkpoint (bad magic)"
expect "checkpoint missing" 1 "$tmp/none.ckpt: cannot open: No such file or directory" "$T" eval --ckpt "$tmp/none.ckpt"
[ ! -e "$tmp/never.npz" ] && [ ! -e "$tmp/never.ckpt" ] && echo "ok: no output file written by the refused commands" \
  || fail "a refused command wrote its output"

# ---- --init-from ----
"$tmp/sr" export --ckpt "$tmp/sr.ckpt" --npz "$tmp/sr.npz" >/dev/null || fail "export sr"
"$tmp/lenetbn12" export --ckpt "$tmp/l12.ckpt" --npz "$tmp/l12.npz" >/dev/null || fail "export 12 classes"
expect "init-from: another model's arrays" 1 "$tmp/sr.npz: no array 'conv2d_1.weight' (the archive has: " "$T" "${TRAIN[@]}" --data "$good" --init-from "$tmp/sr.npz"
expect "init-from: wrong shape" 1 "$tmp/l12.npz: array 'fc.weight' has shape (12, 1568), expected (10, 1568)" "$T" "${TRAIN[@]}" --data "$good" --init-from "$tmp/l12.npz"
expect "init-from: not a zip" 1 "$tmp/text.ckpt: cannot open" "$T" "${TRAIN[@]}" --data "$good" --init-from "$tmp/text.ckpt"

# ---- predict ----
{ printf 'P5\n32 32\n255\n'; head -c 1024 /dev/zero; } >"$tmp/big.pgm"
expect "predict: a 32x32 image" 1 "$tmp/big.pgm: the image is 32x32, model LeNetBN takes 28x28 images" "$T" predict --ckpt "$tmp/good.ckpt" "$tmp/big.pgm"
expect "predict: not an image" 1 "$tmp/out: not a PGM (P2/P5) or PNG image" "$T" predict --ckpt "$tmp/good.ckpt" "$tmp/out"
expect "predict: IDX item out of range" 1 "no item 200: the file holds 200 images" "$T" predict --ckpt "$tmp/good.ckpt" "$good/t10k-images-idx3-ubyte:200"
"$T" predict --ckpt "$tmp/good.ckpt" "$tmp/big.pgm" "$good/t10k-images-idx3-ubyte:3" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "t10k-images-idx3-ubyte:3 (true class" "$tmp/out" && echo "ok: predict goes on past a bad file, then exits 1" \
  || fail "predict with one bad file of two"

# ---- NaN: inputs scaled to infinity make softmax regression's loss NaN ----
"$tmp/sr" train --data "$good" --epochs 1 --quiet --out "$tmp/nan.ckpt" >/dev/null 2>&1 || fail "sr run"
before=$("$tmp/sr" info --ckpt "$tmp/nan.ckpt" | grep '^  params ')
expect "NaN loss" 1 "the loss is NaN at epoch 2, step 20 (batch 1 of the epoch, lr 0.001): training stopped; the last good checkpoint is $tmp/nan.ckpt" \
  "$tmp/sr" train --resume "$tmp/nan.ckpt" --epochs 2 --std 1e-45
[ "$before" = "$("$tmp/sr" info --ckpt "$tmp/nan.ckpt" | grep '^  params ')" ] && echo "ok: the last good checkpoint is untouched" \
  || fail "the checkpoint changed after the NaN"

# ---- usage ----
expect "unknown option" 2 "unknown option '--learning-rate' (see lenetbn train --help)" "$T" train --learning-rate 0.1
expect "misspelt option" 2 "unknown option '--wieght-decay'; did you mean '--weight-decay'?" "$T" train --wieght-decay 0.1
expect "bad value" 2 "--lr: 'lr' must be a number, got 'fast'" "$T" train --lr fast
expect "batch above the maximum" 1 "batch 1000 is larger than this program's maximum batch 256: pass --batch 256 or less" "$T" train --batch 1000
expect "seed changed on resume" 1 "--seed 9: a resumed run keeps the seed it started with (1234)" "$T" train --resume "$tmp/good.ckpt" --seed 9 --epochs 2
expect "--resume with --init-from" 2 "--resume and --init-from do not go together" "$T" train --resume "$tmp/good.ckpt" --init-from "$tmp/sr.npz"
expect "unknown command" 2 "unknown command 'trian'; did you mean 'train'?" "$T" trian
expect "eval --limit not a number" 2 "eval: --limit must be a whole number >= 0, got '-5'" "$T" eval --ckpt "$tmp/good.ckpt" --limit -5
expect "predict --top 0" 2 "predict: --top must be a whole number >= 1, got '0'" "$T" predict --ckpt "$tmp/good.ckpt" --top 0 x.pgm
expect "predict --limit with files" 2 "image files and --split/--data/--output/--limit do not go together" \
  "$T" predict --ckpt "$tmp/good.ckpt" --limit 5 x.pgm

# ---- two runs, one --out: the second is refused while the first holds CKPT.lock ----
"$tmp/sr" train --data "$good" --epochs 100000 --quiet --out "$tmp/busy.ckpt" >/dev/null 2>&1 &
first=$!
for _ in $(seq 100); do [ -s "$tmp/busy.ckpt.csv" ] && break; sleep 0.1; done
expect "a second run into the same --out" 1 "$tmp/busy.ckpt is being written by another training run (it holds $tmp/busy.ckpt.lock)" \
  "$tmp/sr" train --data "$good" --epochs 1 --quiet --out "$tmp/busy.ckpt"
kill -TERM $first 2>/dev/null
wait $first
[ $? -eq 143 ] && echo "ok: the first run goes on, and stops on SIGTERM (exit 143)" || fail "the first run did not stop with 143"
"$tmp/sr" train --resume "$tmp/busy.ckpt" --epochs 1 --quiet --out "$tmp/busy.ckpt" >/dev/null 2>&1 \
  && echo "ok: once it has ended, the lock is free" || fail "the lock outlives its run"
[ ! -e "$tmp/busy.ckpt.lock" ] && echo "ok: a run removes its lock file when it ends" || fail "$tmp/busy.ckpt.lock left behind"

# ---- early stopping: lr 0 never improves the validation loss ----
"$tmp/sr" train --data "$good" --epochs 5 --lr 0 --valid-split 0.2 --early-stopping 1 --quiet --out "$tmp/es.ckpt" >"$tmp/out" 2>&1
if [ $? -eq 0 ] && grep -q "^early stopping: no better validation loss for 1 epochs (best .* at epoch 1); stopped$" "$tmp/out" \
   && [ "$(grep -c '^epoch ' "$tmp/out")" -eq 2 ] && grep -q '^test accuracy: ' "$tmp/out"; then
  echo "ok: early stopping after 2 of 5 epochs, and says so"
else
  cat "$tmp/out"; fail "early stopping"
fi
"$tmp/sr" train --resume "$tmp/es.ckpt" --quiet >"$tmp/out" 2>&1
[ $? -eq 0 ] && grep -q "training stopped early at epoch 2" "$tmp/out" && echo "ok: resuming an early-stopped run does nothing and says so" \
  || { cat "$tmp/out"; fail "resume after early stopping"; }

echo
finish
