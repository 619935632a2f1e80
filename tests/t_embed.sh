#!/usr/bin/env bash
# examples/embed as the README builds it: a briefly trained LeNet5 exported with
# `netc export-c -n model -o DIR/model`, the example's Makefile and main.c copied beside
# it and built with make alone (no netc runtime, no BLAS: the Makefile links -lm only),
# then `classify` run on test images written as PGM.  Its top class must be the
# trainer's `predict` top class for the same file, on 20 images; a truncated PGM and a
# wrong-sized one must be refused with a message and a non-zero exit.
# Needs ./netc and build/libnetcrt.a (make) and the Debian Fashion-MNIST data.
set -eu
cd "$(dirname "$0")/.."
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
images=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
./netc build models/lenet5.net -o "$tmp/lenet5" 2>/dev/null
"$tmp/lenet5" train --epochs 1 --limit 2000 --test-limit 100 --out "$tmp/l5.ckpt" >/dev/null 2>&1
mkdir -p "$tmp/embed"
cp examples/embed/Makefile examples/embed/main.c "$tmp/embed/"
./netc export-c models/lenet5.net --weights "$tmp/l5.ckpt" -n model -o "$tmp/embed/model" 2>/dev/null
make -s -C "$tmp/embed" >"$tmp/make.log" 2>&1 || { echo "FAIL: the example does not build:"; cat "$tmp/make.log"; exit 1; }
if ldd "$tmp/embed/classify" | grep -E -q 'openblas|zip|png|libz'; then
  echo "FAIL: classify links more than libc and libm:"; ldd "$tmp/embed/classify"; exit 1
fi
gzip -dc "$images" >"$tmp/images"
pgm() {  # pgm INDEX FILE: test image INDEX as a binary PGM
  { printf 'P5\n28 28\n255\n'; tail -c +$((17 + $1 * 784)) "$tmp/images" | head -c 784; } >"$2"
}
fail=0 agree=0
for i in $(seq 0 19); do
  pgm "$i" "$tmp/$i.pgm"
  ours=$("$tmp/embed/classify" "$tmp/$i.pgm" | head -1 | awk '{$NF=""; sub(/ +$/, ""); print}')
  theirs=$("$tmp/lenet5" predict --ckpt "$tmp/l5.ckpt" --top 1 "$tmp/$i.pgm" | sed -n 2p | sed 's/^ *[0-9.]* *[0-9]* //')
  if [ "$ours" = "$theirs" ]; then agree=$((agree+1)); else echo "FAIL: image $i: classify says '$ours', the trainer '$theirs'"; fail=1; fi
done
echo "classify agrees with the trainer's predict on $agree of 20 images"
head -c 500 "$tmp/0.pgm" >"$tmp/cut.pgm"
printf 'P5\n32 32\n255\n' >"$tmp/big.pgm"; head -c 1024 /dev/zero >>"$tmp/big.pgm"
for bad in cut big; do
  if "$tmp/embed/classify" "$tmp/$bad.pgm" >"$tmp/out" 2>&1; then
    echo "FAIL: classify accepted $bad.pgm"; fail=1
  else
    echo "ok: $bad.pgm refused: $(cat "$tmp/out")"
  fi
done
exit $fail
