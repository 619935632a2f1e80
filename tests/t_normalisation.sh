#!/usr/bin/env bash
# Input normalisation from the training set and per channel, through built trainers on
# data made here (pixels chosen so the statistics are known by hand):
#   - mean = auto, std = auto on IDX images: the checkpoint's settings hold the pixel
#     mean and standard deviation of the training split only (valid_split 0.5, tail:
#     the held-out half is all white and must not count): a quarter of the training
#     pixels are 255, so mean = 0.25 and std = sqrt(0.25 * 0.75) = sqrt(3)/4, printed
#     0.4330127018922193; and a run given those numbers trains exactly as the auto run;
#   - per channel on CIFAR-10 batches: channels 1/2, 1/4 and 3/4 white give mean
#     0.5,0.25,0.75 and std 0.5,sqrt(3)/4,sqrt(3)/4 with auto, and the lists written in
#     the .net file train exactly as auto; --mean with 2 values for 3 channels, a std of
#     0 in a list and a list that is not one are refused;
#   - export-c of the per-channel checkpoint bakes the three values, compiles cleanly,
#     and agrees with the trainer on the test images (tests/harness/export_check.c);
#     export-c from an .npz of a model whose normalisation is auto is refused.
# Needs ./netc, build/libnetcrt.a (make) and python3 (to write the data files).
. "$(dirname "$0")/lib.sh"
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX} OPENBLAS_NUM_THREADS=1 NETC_NO_REEXEC=1
SQRT3_4=0.4330127018922193

python3 - "$tmp" <<'PY'
import os, struct, sys
d = sys.argv[1]
def idx_images(path, images, h, w):
    with open(path, "wb") as f:
        f.write(struct.pack(">IIII", 2051, len(images), h, w) + b"".join(bytes(i) for i in images))
def idx_labels(path, labels):
    with open(path, "wb") as f:
        f.write(struct.pack(">II", 2049, len(labels)) + bytes(labels))
def white(count, n):  # n pixels, the first `count` of every 4 white (255)
    return [255 if i % 4 < count else 0 for i in range(n)]
os.makedirs(d + "/idx")
# 8 training images of 4x4: the first 4 (kept for training) a quarter white, the last 4
# (held out) all white; 2 test images.
idx_images(d + "/idx/train-images-idx3-ubyte", [white(1, 16)] * 4 + [white(4, 16)] * 4, 4, 4)
idx_labels(d + "/idx/train-labels-idx1-ubyte", [0, 1, 2, 3, 4, 5, 6, 7])
idx_images(d + "/idx/t10k-images-idx3-ubyte", [white(2, 16), white(3, 16)], 4, 4)
idx_labels(d + "/idx/t10k-labels-idx1-ubyte", [8, 9])
# CIFAR-10: 5 batches of 2 records and a test batch of 4; channel 0 half white, 1 a
# quarter, 2 three quarters, each image's pixels rotated so that the images differ.
os.makedirs(d + "/cifar")
def record(label, k):
    px = []
    for count in (2, 1, 3):
        px += white(count, 1024)[k % 4:] + white(count, 1024)[:k % 4]
    return bytes([label]) + bytes(px)
for b in range(5):
    with open("%s/cifar/data_batch_%d.bin" % (d, b + 1), "wb") as f:
        f.write(record(2 * b, 4 * b) + record(2 * b + 1, 4 * b + 1))
with open(d + "/cifar/test_batch.bin", "wb") as f:
    f.write(b"".join(record(k, k) for k in range(4)))
PY
[ $? -eq 0 ] || { echo "t_normalisation: cannot write the data"; exit 1; }

build() {  # build NAME: the trainer $tmp/NAME of $tmp/NAME.net
  ./netc build "$tmp/$1.net" -o "$tmp/$1" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; echo "FAIL: netc build $1"; exit 1; }
}
setting() {  # setting TRAINER CKPT KEY: the value of KEY in the checkpoint's settings
  "$tmp/$1" info --ckpt "$2" | sed -n "s/^  $3=//p"
}
losses() { cut -d, -f2 "$1.csv" | tail -n +2 | paste -sd' '; }
train() {  # train TRAINER CKPT OPTIONS...: two epochs
  local t=$1 out=$2; shift 2
  "$tmp/$t" train --quiet --epochs 2 --out "$out" "$@" >"$tmp/train.log" 2>&1 || { cat "$tmp/train.log"; fail "$t train $*"; }
}

# ---- auto on IDX images ----
cat >"$tmp/g.net" <<NET
model G {
  input x[1, 4, 4]
  return x -> flatten() -> dense(10) -> softmax()
  train { data = "$tmp/idx"; format = mnist; valid_split = 0.5; split = tail; batch = 2; mean = auto; std = auto }
}
NET
build g
train g "$tmp/g.ckpt"
got="$(setting g "$tmp/g.ckpt" mean) $(setting g "$tmp/g.ckpt" std)"
[ "$got" = "0.25 $SQRT3_4" ] && ok "auto on the training split: mean and std $got" \
  || fail "auto: mean and std '$got', want '0.25 $SQRT3_4'"
train g "$tmp/g2.ckpt" --mean 0.25 --std $SQRT3_4
[ "$(losses "$tmp/g.ckpt")" = "$(losses "$tmp/g2.ckpt")" ] && ok "auto trains as the numbers given: losses $(losses "$tmp/g.ckpt")" \
  || fail "auto and its numbers train differently: $(losses "$tmp/g.ckpt") vs $(losses "$tmp/g2.ckpt")"

# ---- per channel on CIFAR-10 batches ----
net3() {  # net3 NAME MEAN STD
  cat >"$tmp/$1.net" <<NET
model C3 {
  input x[3, 32, 32]
  return x -> conv2d(4, 3, stride = 2) -> relu() -> flatten() -> dense(10) -> softmax()
  train { data = "$tmp/cifar"; format = cifar10; valid_split = 0; batch = 4; mean = $2; std = $3 }
}
NET
}
net3 c auto auto
net3 c_list "[0.5, 0.25, 0.75]" "[0.5, $SQRT3_4, $SQRT3_4]"
build c
build c_list
train c "$tmp/c.ckpt"
got="$(setting c "$tmp/c.ckpt" mean) $(setting c "$tmp/c.ckpt" std)"
[ "$got" = "0.5,0.25,0.75 0.5,$SQRT3_4,$SQRT3_4" ] && ok "auto per channel: mean and std $got" \
  || fail "auto per channel: mean and std '$got', want '0.5,0.25,0.75 0.5,$SQRT3_4,$SQRT3_4'"
train c_list "$tmp/c_list.ckpt"
[ "$(losses "$tmp/c.ckpt")" = "$(losses "$tmp/c_list.ckpt")" ] && ok "the .net file's lists train as auto: losses $(losses "$tmp/c.ckpt")" \
  || fail "lists and auto train differently: $(losses "$tmp/c_list.ckpt") vs $(losses "$tmp/c.ckpt")"
refused() {  # refused WANT-MESSAGE OPTIONS...
  local want=$1; shift
  "$tmp/c" train --quiet --out "$tmp/x.ckpt" "$@" >"$tmp/out" 2>&1
  local rc=$?
  [ $rc -ne 0 ] && grep -qF "$want" "$tmp/out" && ok "train $* refused: $want" \
    || { cat "$tmp/out"; fail "train $*: exit $rc, want the message '$want'"; }
}
refused "'mean' has 2 values, one per channel, but the input of model C3 has 3 channels" --mean 0.5,0.4
refused "'std' must be greater than 0, got 0" --std 0.5,0,0.5
refused "'mean' must be a number, numbers separated by commas (one per channel) or auto, got '0.5;0.4'" --mean '0.5;0.4'

# ---- export-c bakes the three values and agrees with the trainer ----
d=$tmp/ex
mkdir -p "$d"
STRICT=(-std=c99 -O2 -Wall -Wextra -Werror -pedantic -Wconversion)
if ./netc compile "$tmp/c.net" --name tr -o "$d" >/dev/null 2>"$d/log" &&
   ./netc export-c "$tmp/c.net" --weights "$tmp/c.ckpt" -n ex -o "$d" >/dev/null 2>>"$d/log" &&
   grep -q 'static const float norm_mean\[3\] = { 0.5f, 0.25f, 0.75f };' "$d/ex.c" &&
   gcc "${STRICT[@]}" -c -o "$d/ex.o" "$d/ex.c" 2>>"$d/log" && clang "${STRICT[@]}" -fsyntax-only "$d/ex.c" 2>>"$d/log" &&
   gcc "${STRICT[@]}" -c -o "$d/infer.o" "$d/netc_infer.c" 2>>"$d/log" &&
   cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Iruntime -I"$d" -o "$d/check" tests/harness/export_check.c \
     "$d/tr.c" "$d/ex.o" "$d/infer.o" build/libnetcrt.a -lopenblas -lzip -lz -lpng -lm 2>>"$d/log" &&
   "$d/check" "$tmp/c.ckpt" >>"$d/log" 2>&1; then
  ok "export-c bakes the per-channel normalisation; the exported predict agrees with the trainer"
else
  sed 's/^/    /' "$d/log"; grep -n 'norm_' "$d/ex.c" 2>/dev/null | head -5; fail "export-c of a per-channel model"
fi
"$tmp/c" export --ckpt "$tmp/c.ckpt" --npz "$tmp/c.npz" >/dev/null 2>&1 || fail "export --npz"
./netc export-c "$tmp/c.net" --weights "$tmp/c.npz" -n ex -o "$tmp/ex2" >"$tmp/out" 2>&1
if [ $? -ne 0 ] && grep -qF "'mean' is auto, which only a training run computes" "$tmp/out"; then
  ok "export-c from an .npz of a model with auto is refused: $(cat "$tmp/out")"
else
  cat "$tmp/out"; fail "export-c from an .npz with auto"
fi

echo "t_normalisation: $fails failed"
[ "$fails" -eq 0 ]
