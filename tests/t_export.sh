#!/usr/bin/env bash
# netc export-c on every model in models/, each briefly trained (one epoch on the first
# 300 training images, so that the weights are not the initial ones):
#  - the exported files compile with gcc and clang at -std=c99 -pedantic -Wall -Wextra
#    -Werror -Wconversion (clang and NAME_NO_STDIO on each model's blob-mode file, the
#    same code without the weights' literals; clang also on lenet5's code-mode file), and the
#    objects call nothing but libm and memcpy/memset (no malloc, no stdio, no BLAS);
#  - tests/harness/export_check.c: the exported predict gives the trainer's top-1 class
#    on all 10,000 Fashion-MNIST test images, and its probabilities within 1e-5 relative;
#  - predict_mt (tests/harness/export_mt.c) on 1, 2 and 3 tasks of a pthread
#    parallel-for, on three models: the same bits as predict, within its workspace;
#  - blob mode on two models: the same results from NAME.weights, and a truncated, a
#    corrupted, a byte-flipped header and another model's blob refused with their codes;
#  - a checkpoint of another model, or of this one built with other -D values, is
#    refused with the trainer's message; so is a missing or corrupt weights file.
# Needs ./netc, build/libnetcrt.a (make) and the Debian Fashion-MNIST data.
set -eu
cd "$(dirname "$0")/.."
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX} OPENBLAS_NUM_THREADS=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
STRICT=(-std=c99 -O2 -march=native -Wall -Wextra -Werror -pedantic -Wconversion)
RTLIBS=(build/libnetcrt.a -lopenblas -lzip -lz -lpng -lm)
STRICT_TEXT="${STRICT[*]}" RTLIBS_TEXT="${RTLIBS[*]}"

train() {  # train MODEL: $tmp/MODEL.ckpt
  local m=$1
  ./netc build "models/$m.net" -o "$tmp/$m.trainer" 2>"$tmp/$m.log" &&
    "$tmp/$m.trainer" train --epochs 1 --limit 300 --test-limit 100 --early-stopping 0 --out "$tmp/$m.ckpt" >>"$tmp/$m.log" 2>&1
}

# Only libm's functions and memcpy/memset may be undefined in the exported objects.
check_symbols() {  # check_symbols OBJ...
  local bad defined
  defined=$(mktemp "$tmp/defined.XXXXXX")  # one per call: two models are checked at once
  nm --defined-only "$@" | awk 'NF == 3 {print $3}' | sort -u >"$defined"
  bad=$(nm -u "$@" | awk 'NF == 2 {print $2}' | sort -u | comm -23 - "$defined" |
        grep -v -E '^(memcpy|memset|memmove|expf|exp|tanhf|expm1f|sqrtf|logf|fmaxf|fminf)$' || true)
  if [ -n "$bad" ]; then echo "FAIL: exported code needs: $bad"; return 1; fi
}

export_and_check() {  # export_and_check MODEL [blob]
  local m=$1 mode=${2:-code} d=$tmp/$1-${2:-code}
  local STRICT RTLIBS
  read -r -a STRICT <<<"$STRICT_TEXT"
  read -r -a RTLIBS <<<"$RTLIBS_TEXT"
  mkdir -p "$d"
  ./netc compile "models/$m.net" --name tr -o "$d" >/dev/null
  if ! ./netc export-c "models/$m.net" --weights "$tmp/$m.ckpt" -n ex -o "$d" --weights-in "$mode" 2>"$d/export.log"; then
    echo "FAIL: $m: export-c failed:"; sed 's/^/    /' "$d/export.log"; return 1
  fi
  if ! cmp -s "$d/netc_infer.c" "$tmp/infer/netc_infer.c"; then
    echo "FAIL: $m: export-c wrote another netc_infer.c than the first model's"; return 1
  fi
  # gcc builds the object the check links.  clang, and gcc without stdio, check the blob
  # mode's file: the same functions as code mode's, without the weights' literals (tens
  # of megabytes for simplenet); code mode's literals get clang's check on lenet5, below.
  local syn=$d/ex.c
  if [ "$mode" = code ]; then
    syn=$d/syntax/ex.c
    mkdir -p "$d/syntax"
    ./netc export-c "models/$m.net" --weights "$tmp/$m.ckpt" -n ex -o "$d/syntax" --weights-in blob 2>>"$d/export.log" ||
      { echo "FAIL: $m: export-c --weights-in blob failed:"; sed 's/^/    /' "$d/export.log"; return 1; }
  fi
  if ! gcc "${STRICT[@]}" -c -o "$d/ex.o" "$d/ex.c" 2>"$d/cc.log" ||
     ! clang "${STRICT[@]}" -fsyntax-only "$syn" 2>>"$d/cc.log" ||
     ! gcc "${STRICT[@]}" -DEX_NO_STDIO -fsyntax-only "$syn" 2>>"$d/cc.log"; then
    echo "FAIL: $m ($mode): the exported C does not compile cleanly:"; head -20 "$d/cc.log"; return 1
  fi
  if [ "$mode" = code ]; then check_symbols "$d/ex.o" "$tmp/infer/infer.o" || return 1; fi
  cc -std=c11 -D_GNU_SOURCE -O2 -march=native -Wall -Wextra -Werror -Iruntime -I"$d" -o "$d/check" \
    tests/harness/export_check.c "$d/tr.c" "$d/ex.o" "$tmp/infer/infer.o" "${RTLIBS[@]}"
  if [ "$mode" = blob ]; then
    "$d/check" "$tmp/$m.ckpt" --blob "$d/ex.weights"
  else
    "$d/check" "$tmp/$m.ckpt"
  fi
}

# The kernels every export ships, compiled once (gcc builds, clang checks).
train lenet5 || { echo "FAIL: lenet5: training failed:"; tail -5 "$tmp/lenet5.log"; exit 1; }
mkdir -p "$tmp/infer"
./netc export-c models/lenet5.net --weights "$tmp/lenet5.ckpt" -o "$tmp/infer" 2>/dev/null
gcc "${STRICT[@]}" -c -o "$tmp/infer/infer.o" "$tmp/infer/netc_infer.c"
clang "${STRICT[@]}" -fsyntax-only "$tmp/infer/netc_infer.c" "$tmp/infer/lenet5.c"
gcc "${STRICT[@]/-march=native/-mno-avx2}" -DNETC_INFER_PORTABLE -fsyntax-only "$tmp/infer/netc_infer.c"

one_model() {  # one_model MODEL: trains, exports and checks; touches $tmp/MODEL.ok on success
  local m=$1
  if [ ! -f "$tmp/$m.ckpt" ] && ! train "$m"; then
    echo "FAIL: $m: training failed:"; tail -5 "$tmp/$m.log"; return 0
  fi
  export_and_check "$m" >"$tmp/$m.out" 2>&1 && touch "$tmp/$m.ok"
  cat "$tmp/$m.out"
}
export -f train check_symbols export_and_check one_model
export tmp STRICT_TEXT="${STRICT[*]}" RTLIBS_TEXT="${RTLIBS[*]}"
# two models at a time (the test machine has two cores)
ls models/*.net | xargs -n 1 basename | sed 's/\.net$//' | xargs -P 2 -I{} bash -c 'one_model {}'
n=$(ls "$tmp"/*.ok 2>/dev/null | wc -l)
total=$(ls models/*.net | wc -l)
echo "$n of $total models exported and checked against the trainer"
[ "$n" -eq "$total" ] || fail=1

# Blob mode, and blobs that must be refused.
for m in lenet5 lenet_bn; do
  export_and_check "$m" blob || fail=1
done
d=$tmp/lenet5-blob w=$d/ex.weights
bytes=$(stat -c %s "$w")
verdict() {  # verdict FILE EXPECTED-MESSAGE
  if "$d/check" "$tmp/lenet5.ckpt" --blob "$1" --limit 1 >"$d/v.log" 2>&1; then
    echo "FAIL: blob $(basename "$1") was accepted"; fail=1
  elif ! grep -q "$2" "$d/v.log"; then
    echo "FAIL: blob $(basename "$1"): expected '$2', got: $(cat "$d/v.log")"; fail=1
  else
    echo "ok: $(basename "$1") refused: $2"
  fi
}
head -c $((bytes - 1)) "$w" >"$tmp/truncated.weights"; verdict "$tmp/truncated.weights" "truncated"
cat "$w" <(printf x) >"$tmp/trailing.weights"; verdict "$tmp/trailing.weights" "bytes after its end"
cp "$w" "$tmp/payload.weights"; printf '\x55' | dd of="$tmp/payload.weights" bs=1 seek=$((bytes / 2)) conv=notrunc status=none
verdict "$tmp/payload.weights" "corrupted"
cp "$w" "$tmp/header.weights"; printf 'X' | dd of="$tmp/header.weights" bs=1 seek=3 conv=notrunc status=none
verdict "$tmp/header.weights" "not a netc weights blob"
head -c 10 "$w" >"$tmp/tiny.weights"; verdict "$tmp/tiny.weights" "truncated"

# predict_mt on 1, 2 and 3 tasks of a pthread parallel-for: predict's bits, alone and in
# batches (tests/harness/export_mt.c): the normalisation (fashion_cnn1), batchnorm folded
# in blob mode (lenet_bn), padded, strided and residual convolutions (resnet_small).
gzip -dc /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz >"$tmp/t10k-images"
for spec in fashion_cnn1:code:1 lenet_bn:blob:3 resnet_small:code:3; do
  IFS=: read -r m mode b <<<"$spec"
  d=$tmp/$m-mt-$mode
  mkdir -p "$d"
  if ! ./netc export-c "models/$m.net" --weights "$tmp/$m.ckpt" -n ex -o "$d" --batch "$b" --weights-in "$mode" \
       2>"$d/export.log" ||
     ! gcc "${STRICT[@]}" -c -o "$d/ex.o" "$d/ex.c" 2>"$d/cc.log" ||
     ! gcc "${STRICT[@]}" -D_POSIX_C_SOURCE=200809L -pthread -I"$d" -o "$d/mt" tests/harness/export_mt.c \
       "$d/ex.o" "$tmp/infer/infer.o" -lm 2>>"$d/cc.log" ||
     ! clang "${STRICT[@]}" -D_POSIX_C_SOURCE=200809L -pthread -I"$d" -fsyntax-only tests/harness/export_mt.c \
       2>>"$d/cc.log"; then
    echo "FAIL: $m: predict_mt's check does not build:"; cat "$d/export.log" "$d/cc.log" | head -20; fail=1
  elif "$d/mt" "$tmp/t10k-images" 100 "$d/ex.weights" >"$d/mt.log" 2>&1; then
    echo "ok: $m ($mode, batch $b): $(cat "$d/mt.log")"
  else
    echo "FAIL: $m ($mode, batch $b):"; head -20 "$d/mt.log"; fail=1
  fi
done

# Weights files export-c must refuse, with the trainer's messages.
refuse() {  # refuse EXPECTED-MESSAGE ARGS...
  local want=$1; shift
  if ./netc export-c "$@" -o "$tmp/refused" >"$tmp/r.log" 2>&1; then
    echo "FAIL: export-c $* succeeded"; fail=1
  elif ! grep -q "$want" "$tmp/r.log"; then
    echo "FAIL: export-c $*: expected '$want', got: $(cat "$tmp/r.log")"; fail=1
  else
    echo "ok: refused: $(head -1 "$tmp/r.log")"
  fi
}
refuse "written by model 'LeNetBN'" models/lenet5.net --weights "$tmp/lenet_bn.ckpt"
refuse "different structure of model 'MixNet'" models/mixnet.net -D n_conv=4 --weights "$tmp/mixnet.ckpt"
refuse "No such file" models/lenet5.net --weights "$tmp/missing.ckpt"
head -c 100 "$tmp/lenet5.ckpt" >"$tmp/cut.ckpt"; refuse "cut.ckpt" models/lenet5.net --weights "$tmp/cut.ckpt"
refuse "required" models/lenet5.net
"$tmp/lenet5.trainer" export --ckpt "$tmp/lenet5.ckpt" --npz "$tmp/lenet5.npz" >/dev/null
refuse "conv1" models/lenet_bn.net --weights "$tmp/lenet5.npz"
exit $fail
