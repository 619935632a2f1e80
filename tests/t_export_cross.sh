#!/usr/bin/env bash
# The exported C elsewhere than where it was made:
#  1. 64-bit ARM: a briefly trained LeNet5 and LeNetBN, exported, built with
#     aarch64-linux-gnu-gcc (the NEON path) with tests/harness/export_run.c, run under
#     qemu-aarch64 on the Fashion-MNIST test images (all 10,000 for LeNet5, the first
#     1,000 for LeNetBN: emulation is slow): the same top-1 class as the x86 build on
#     every image and probabilities within 1e-5 relative (1e-7 absolute);
#  2. Cortex-M4 (hard float): lenet5, fashion_cnn1 and softmax_regression linked with
#     arm-none-eabi-gcc into a minimal firmware (tests/harness/export_mcu.c); prints
#     flash (text + data) and RAM (data + bss) as arm-none-eabi-size reads them, and
#     whether they fit a 1 MiB-flash / 256 KiB-RAM part;
#  3. the x86 build under AddressSanitizer and UndefinedBehaviorSanitizer on 500 images.
# A missing cross tool fails the test: scripts/install-deps.sh installs them.
set -eu
cd "$(dirname "$0")/.."
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for tool in aarch64-linux-gnu-gcc qemu-aarch64 arm-none-eabi-gcc arm-none-eabi-size; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (scripts/install-deps.sh installs it)"; exit 1; }
done
gzip -dc /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz >"$tmp/images"

export_model() {  # export_model MODEL: $tmp/MODEL/ex.[ch] + netc_infer.[ch]
  ./netc build "models/$1.net" -o "$tmp/$1.trainer" 2>/dev/null
  "$tmp/$1.trainer" train --epochs 1 --limit 300 --test-limit 100 --early-stopping 0 --out "$tmp/$1.ckpt" >/dev/null 2>&1
  ./netc export-c "models/$1.net" --weights "$tmp/$1.ckpt" -n ex -o "$tmp/$1" 2>/dev/null
}

# Compares two export_run outputs: same class on every line, probabilities close.
compare() {  # compare A B WHAT
  awk -v what="$3" '
    NR == FNR { a[FNR] = $0; next }
    { split(a[FNR], x, " "); if (x[1] != $1) top++
      for (k = 2; k <= NF; k++) { d = x[k] - $k; if (d < 0) d = -d; r = d / (x[k] > 0 ? x[k] : 1e-30)
        if (d > 1e-7 && r > 1e-5) bad++; if (d > 1e-7 && r > worst) worst = r } }
    END { printf "%s: %d images, top-1 differs on %d, %d probabilities off by > 1e-5 relative (worst %.2g)\n",
          what, FNR, top, bad, worst; exit (top > 0 || bad > 0 || FNR != length(a)) }' "$1" "$2"
}

for m in lenet5 lenet_bn; do
  images=$([ "$m" = lenet5 ] && echo 10000 || echo 1000)
  export_model "$m"
  d=$tmp/$m
  gcc -std=c99 -O2 -march=native -I"$d" -o "$d/x86" tests/harness/export_run.c "$d/ex.c" "$d/netc_infer.c" -lm
  aarch64-linux-gnu-gcc -std=c99 -O2 -static -Wall -Wextra -Werror -pedantic -I"$d" -o "$d/arm64" \
    tests/harness/export_run.c "$d/ex.c" "$d/netc_infer.c" -lm
  "$d/x86" "$tmp/images" "$images" >"$d/x86.out"
  qemu-aarch64 "$d/arm64" "$tmp/images" "$images" >"$d/arm64.out"
  compare "$d/x86.out" "$d/arm64.out" "$m aarch64 (qemu) against x86" || fail=1
done

d=$tmp/lenet_bn
gcc -std=c99 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -I"$d" -o "$d/san" \
  tests/harness/export_run.c "$d/ex.c" "$d/netc_infer.c" -lm
"$d/san" "$tmp/images" 500 >"$d/san.out" || { echo "FAIL: the sanitizer build failed"; fail=1; }
head -500 "$d/x86.out" >"$d/x86-500.out"
compare "$d/x86-500.out" "$d/san.out" "lenet_bn under ASan/UBSan against the optimised build" || fail=1

MCU=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -ffreestanding -std=c99 -Os -Wall -Wextra -Werror)
for m in lenet5 fashion_cnn1 softmax_regression; do
  [ -d "$tmp/$m" ] || export_model "$m"
  d=$tmp/$m
  if ! arm-none-eabi-gcc "${MCU[@]}" -DEX_NO_STDIO -I"$d" --specs=nosys.specs -Wl,--gc-sections -ffunction-sections \
       -fdata-sections -o "$d/fw.elf" tests/harness/export_mcu.c "$d/ex.c" "$d/netc_infer.c" -lm 2>"$d/mcu.log"; then
    echo "FAIL: $m does not link for a Cortex-M4:"; head -20 "$d/mcu.log"; fail=1; continue
  fi
  arm-none-eabi-size "$d/fw.elf" | awk -v m="$m" 'NR == 2 {
    flash = $1 + $2; ram = $2 + $3
    printf "%s Cortex-M4: flash %d bytes, RAM %d bytes: %s a 1 MiB-flash / 256 KiB-RAM part\n", m, flash, ram,
           flash <= 1048576 && ram <= 262144 ? "fits" : "does not fit" }'
done
exit $fail
