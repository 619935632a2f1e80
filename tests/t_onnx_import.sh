#!/usr/bin/env bash
# netc import FILE.onnx, against the goldens of tests/golden/onnx/ (made by
# make_onnx_golden.py with PyTorch: the seed networks and three small nets that bring in
# the other ops, briefly trained, exported by torch.onnx.export, with PyTorch's
# probabilities on the first 200 Fashion-MNIST test images and its top-1 class on all
# 10,000):
#  - each imports to a .net and an .npz; the .net builds; `train --epochs 0 --init-from`
#    the .npz, then `predict --split test` gives PyTorch's probabilities within 1e-5
#    absolute on the first 200 images and its top-1 class on all 10,000 (but where its two
#    best probabilities are within 1e-5, counted apart);
#  - netc -> ONNX -> netc: three models of models/ (fashion_cnn3: pad and a
#    normalisation; resnet_small: add, batchnorm, global average pooling;
#    inception_small: concat, average pooling with padding) briefly trained, exported
#    with export-onnx, imported back: the trainer's predictions on all 10,000 test
#    images, digit for digit;
#  - an op netc has not (HardSwish) is refused with the node's name and op type;
#  - the file cut at 40 places, and with bytes overwritten at 40 others, is refused with
#    a message (exit 1), never a crash; so are an empty file and a missing one.
# Needs ./netc, build/libnetcrt.a (make) and the Debian Fashion-MNIST data.
set -u
cd "$(dirname "$0")/.."
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX} OPENBLAS_NUM_THREADS=1
G=tests/golden/onnx
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# compare CSV PROBS: the trainer's predictions against PyTorch's probabilities (one line
# of 10 an image, for the first images of the split); prints a verdict, fails on a mismatch.
compare() {
  awk -v tol=1e-5 '
    FNR == NR { n++; for (j = 1; j <= NF; j++) want[n - 1, j - 1] = $j; k = NF; next }
    FNR == 1 { next }
    { split($0, f, ","); i = f[1]; if (i >= n) next
      rows++; got_top = f[3]; best = 0
      for (j = 1; j < k; j++) if (want[i, j] > want[i, best]) best = j
      if (got_top != best) wrong++
      for (c = 3; c <= 2 * k + 2; c += 2) { d = f[c + 1] - want[i, f[c]]; if (d < 0) d = -d; if (d > worst) worst = d } }
    END { ok = rows == n && !wrong && worst <= tol
          printf "%s: %d of %d images, %d with another top-1 class, largest probability difference %.2g (tolerance %g absolute)\n",
                 ok ? "ok" : "FAIL", rows, n, wrong, worst, tol
          exit !ok }' "$2" "$1"
}

# top1 CSV TOP1: the trainer's top-1 class on every test image against PyTorch's (a line
# "class margin" an image, margin = PyTorch's best probability minus its second), where
# the two best are more than 1e-5 apart (closer ones may swap by rounding: counted apart).
top1() {
  awk -v tol=1e-5 '
    FNR == NR { n++; cls[n - 1] = $1; margin[n - 1] = $2; next }
    FNR == 1 { next }
    { split($0, f, ","); i = f[1]; rows++
      if (f[3] != cls[i]) { if (margin[i] > tol) wrong++; else ties++ } }
    END { ok = rows == n && !wrong
          printf "%s: top-1 on %d of %d test images, %d with another class (and %d where the best two are within %g)\n",
                 ok ? "ok" : "FAIL", rows, n, wrong, ties, tol
          exit !ok }' "$2" "$1"
}

import_and_predict() {  # import_and_predict ONNX DIR: DIR/net.net, DIR/trainer, DIR/predict.csv
  local onnx=$1 d=$2
  mkdir -p "$d"
  ./netc import "$onnx" -o "$d/net.net" --weights-out "$d/net.npz" >"$d/log" 2>&1 &&
    ./netc build "$d/net.net" -o "$d/trainer" >>"$d/log" 2>&1 &&
    "$d/trainer" train --epochs 0 --init-from "$d/net.npz" --out "$d/ckpt" >>"$d/log" 2>&1 &&
    "$d/trainer" predict --ckpt "$d/ckpt" --split test --top 10 -o "$d/predict.csv" >>"$d/log" 2>&1
}

golden() {  # golden NAME: touches $tmp/NAME.ok when netc import gives PyTorch's predictions
  local m=$1 d=$tmp/$1
  if ! import_and_predict "$G/$m.onnx" "$d"; then
    echo "FAIL: $m: import, build or predict failed:"; tail -5 "$d/log" | sed 's/^/    /'; return 0
  fi
  local verdict
  verdict="$m: $(compare "$d/predict.csv" "$G/$m.probs"); $(top1 "$d/predict.csv" "$G/$m.top1")"
  echo "$verdict"
  case "$verdict" in *FAIL*) ;; *) touch "$tmp/$m.ok" ;; esac
}

roundtrip() {  # roundtrip MODEL: models/MODEL.net -> ONNX -> netc, the same predictions
  local m=$1 d=$tmp/rt-$1
  mkdir -p "$d"
  if ! ./netc build "models/$m.net" -o "$d/orig" >"$d/orig.log" 2>&1 ||
     ! "$d/orig" train --epochs 1 --limit 300 --test-limit 100 --early-stopping 0 --out "$d/orig.ckpt" >>"$d/orig.log" 2>&1 ||
     ! ./netc export-onnx "models/$m.net" --weights "$d/orig.ckpt" -o "$d/$m.onnx" >>"$d/orig.log" 2>&1 ||
     ! "$d/orig" predict --ckpt "$d/orig.ckpt" --split test --top 10 -o "$d/orig.csv" >>"$d/orig.log" 2>&1; then
    echo "FAIL: $m: training or exporting the original failed:"; tail -5 "$d/orig.log" | sed 's/^/    /'; return 0
  fi
  if ! import_and_predict "$d/$m.onnx" "$d/back"; then
    echo "FAIL: $m: importing its ONNX back failed:"; tail -5 "$d/back/log" | sed 's/^/    /'; return 0
  fi
  if cmp -s "$d/orig.csv" "$d/back/predict.csv"; then
    echo "ok: $m -> ONNX -> netc: the same predictions on all 10,000 test images"; touch "$tmp/rt-$m.ok"
  else
    echo "FAIL: $m -> ONNX -> netc: other predictions:"; diff "$d/orig.csv" "$d/back/predict.csv" | head -4
  fi
}
export -f compare top1 import_and_predict golden roundtrip
export tmp G

goldens=$(ls $G/*.probs | xargs -n 1 basename | sed 's/\.probs$//')
jobs=$(printf 'golden %s\n' $goldens; printf 'roundtrip %s\n' fashion_cnn3 resnet_small inception_small)
echo "$jobs" | xargs -P 2 -I{} bash -c '{}'
n=$(ls "$tmp"/*.ok 2>/dev/null | wc -l)
total=$(($(echo "$goldens" | wc -w) + 3))
echo "$n of $total imports give the predictions of the network they came from"
[ "$n" -eq "$total" ] || fail=1

refused() {  # refused FILE EXPECTED-MESSAGE: netc import FILE exits 1 with the message
  ./netc import "$1" -o "$tmp/refused.net" --weights-out "$tmp/refused.npz" >"$tmp/refused.log" 2>&1
  local rc=$?
  if [ $rc -ne 1 ] || ! grep -q -- "$2" "$tmp/refused.log"; then
    echo "FAIL: netc import $(basename "$1"): exit $rc, expected 1 with '$2'; got: $(head -3 "$tmp/refused.log")"
    return 1
  fi
}
refused "$G/unsupported_hardswish.onnx" "node '/1/HardSwish' (HardSwish): op type HardSwish is not one netc has" &&
  echo "ok: HardSwish refused: $(cat "$tmp/refused.log")" || fail=1
: >"$tmp/empty.onnx"
refused "$tmp/empty.onnx" "has no graph" && echo "ok: an empty file refused: $(cat "$tmp/refused.log")" || fail=1
refused "$tmp/missing.onnx" "cannot open" && echo "ok: a missing file refused" || fail=1

# Cut and damaged copies of a golden: each refused (exit 1, a message), none a crash.
src=$G/lenet_bn.onnx
bytes=$(stat -c %s "$src")
bad=0 cases=0
for i in $(seq 1 40); do
  cut=$((bytes * i / 41 + i))
  head -c "$cut" "$src" >"$tmp/cut.onnx"
  cp "$src" "$tmp/damaged.onnx"
  printf '\xff\xff\xff\xff\x0f' | dd of="$tmp/damaged.onnx" bs=1 seek=$((bytes * i / 43)) conv=notrunc status=none
  for f in cut damaged; do
    cases=$((cases + 1))
    ./netc import "$tmp/$f.onnx" -o "$tmp/x.net" --weights-out "$tmp/x.npz" >"$tmp/x.log" 2>&1
    rc=$?
    if [ $rc -ne 1 ] && { [ $f = cut ] || [ $rc -ne 0 ]; }; then
      echo "FAIL: $f copy ($cut bytes or byte $((bytes * i / 43))): exit $rc: $(head -3 "$tmp/x.log")"; bad=$((bad + 1))
    elif [ $rc -eq 1 ] && ! grep -q "^netc: $tmp/$f.onnx: " "$tmp/x.log"; then
      echo "FAIL: $f copy: refused without a message naming the file: $(head -3 "$tmp/x.log")"; bad=$((bad + 1))
    fi
  done
done
echo "cut and damaged copies: $cases tried, $bad crashed or refused without a message (a damaged copy that still parses may import)"
[ $bad -eq 0 ] || fail=1
exit $fail
