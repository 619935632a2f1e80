#!/usr/bin/env bash
# The inference layer (runtime/infer/) is standalone C99 that builds anywhere:
#  1. its files include only <stddef.h> <stdint.h> <string.h> <math.h> (and the SIMD
#     intrinsics headers) and each other, never another runtime header;
#  2. each file and the amalgamation build/netc_infer.c compile warning-free with gcc and
#     clang at -std=c99 -pedantic -Wall -Wextra -Wconversion -Werror, for AVX-512
#     (-march=native here), AVX2 + FMA, plain x86-64 and NETC_INFER_PORTABLE;
#  3. the objects reference no symbol but libm's and memcpy/memset (no malloc, printf,
#     cblas...) and define no writable data (no mutable global or static state);
#  4. tests/unit/test_infer.c, built against the amalgamation for each SIMD path (and by
#     clang for AVX-512), passes (gcc's portable build must give the references' bits:
#     -DNETC_TEST_EXACT);
#  5. build/cc/infer_embed.c compiles, and the files it holds equal the amalgamation;
#  6. with aarch64-linux-gnu-gcc and qemu-aarch64: test_infer, cross-built with the
#     runtime's reference kernels (runtime/kernels/*_ref.c), passes under qemu, NEON
#     and portable (exact) paths;
#  7. with arm-none-eabi-gcc: the amalgamation compiles for a Cortex-M4 (hard float,
#     freestanding) with the same warnings, and references the same few symbols.
# Steps 6 and 7 print SKIP when their tools are missing.  Needs make (build/).
set -u
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
STRICT=(-std=c99 -O2 -Wall -Wextra -Werror -pedantic -Wconversion)
AMAL=build/netc_infer.c
REFS=(runtime/kernels/{conv,dense,pool,batchnorm,activation,shape,loss}_ref.c)
[ -f "$AMAL" ] && [ -f build/netc_infer.h ] && [ -f build/cc/infer_embed.c ] ||
  { echo "FAIL: build/netc_infer.{c,h} or build/cc/infer_embed.c missing (run make)"; exit 1; }

# 1. includes
allowed='^#include (<(stddef|stdint|string|math|immintrin|arm_neon)\.h>|"(netc_infer|infer_simd)\.h")$'
if others=$(grep -h '^[[:space:]]*#[[:space:]]*include' runtime/infer/* | grep -Ev "$allowed"); then
  bad "runtime/infer/ includes something else: $others"
else
  echo "ok: runtime/infer/ includes only the four C headers, intrinsics and itself"
fi

# 3. the symbols an object needs and the data it defines (a file may call another
# file's netc_ function: the fused convolution and pooling calls netc_maxpool2d; the
# amalgamation must then define it, which its own check sees)
allowed_syms=' memcpy memset expf expm1f tanhf sqrtf '
check_syms() {  # check_syms NM OBJ LABEL
  local u
  for u in $("$1" -u "$2" | awk '{print $NF}' | sort -u); do
    case "$u:$3" in *:*netc_infer.c | *:*amalgamation) ;; netc_*) continue ;; esac
    case "$allowed_syms" in *" $u "*) ;; *) bad "$3 references $u" ;; esac
  done
  if "$1" "$2" | awk '$2 ~ /^[dDbBgGsSC]$/' | grep -q .; then
    bad "$3 defines writable data: $("$1" "$2" | awk '$2 ~ /^[dDbBgGsSC]$/ {print $3}' | tr '\n' ' ')"
  fi
}

# 2. compilers x flavours, each file and the amalgamation
flavours=("native:-march=native" "avx2:-mavx2 -mfma" "x86-64:" "portable:-DNETC_INFER_PORTABLE")
n=0 total=0
for cc in gcc clang; do
  command -v $cc >/dev/null || { bad "$cc not found"; continue; }
  for fl in "${flavours[@]}"; do
    name=${fl%%:*} flags=${fl#*:}
    for f in runtime/infer/*.c "$AMAL"; do
      o="$tmp/$cc-$name-$(basename "$f" .c).o"
      total=$((total + 1))
      # shellcheck disable=SC2086
      if ! $cc "${STRICT[@]}" $flags -c -o "$o" "$f" 2>"$tmp/log"; then
        bad "$cc $flags $f:"; sed 's/^/    /' "$tmp/log" | head -20
        continue
      fi
      check_syms nm "$o" "$cc $name $(basename "$f")"
      n=$((n + 1))
    done
  done
done
echo "$n of $total compilations (gcc, clang x native/avx2/x86-64/portable x files + amalgamation) clean"

# 4. the kernel test against the amalgamation, per SIMD path (and clang's native build,
#    which contracts a*b + c into fused multiply-adds)
for fl in "native:-march=native" "avx2:-mavx2 -mfma" "x86-64:" "exact:-DNETC_INFER_PORTABLE -DNETC_TEST_EXACT" \
          "clang-native:-march=native"; do
  name=${fl%%:*} flags=${fl#*:} cc=gcc
  case $name in clang-*) cc=clang ;; esac
  # shellcheck disable=SC2086
  if ! $cc -std=c99 -O2 -Wall -Wextra -Werror $flags -Iruntime -Ibuild -Itests/unit -o "$tmp/ti-$name" \
       tests/unit/test_infer.c "$AMAL" build/libnetcrt.a -lopenblas -lm -lpthread 2>"$tmp/log"; then
    bad "test_infer ($name) does not build:"; sed 's/^/    /' "$tmp/log" | head -20
  elif "$tmp/ti-$name" >"$tmp/out" 2>&1; then
    echo "ok: test_infer on the amalgamation, $name: $(head -1 "$tmp/out"); $(tail -1 "$tmp/out")"
  else
    bad "test_infer ($name) failed:"; grep -v '^  ' "$tmp/out" | head -20 | sed 's/^/    /'
  fi
done

# 5. the embedded copy
if ! gcc -std=c11 -O0 -Wall -Wextra -Werror -o "$tmp/dump" tests/harness/infer_embed_dump.c \
     build/cc/infer_embed.c 2>"$tmp/log"; then
  bad "build/cc/infer_embed.c does not compile:"; sed 's/^/    /' "$tmp/log" | head
else
  mkdir -p "$tmp/embed"
  "$tmp/dump" "$tmp/embed" >/dev/null || bad "infer_embed_dump failed"
  for f in netc_infer.h netc_infer.c; do
    if cmp -s "$tmp/embed/$f" "build/$f"; then echo "ok: embedded $f equals build/$f"
    else bad "embedded $f differs from build/$f"; fi
  done
  [ "$(ls "$tmp/embed" | wc -l)" -eq 2 ] || bad "infer_embed.c holds $(ls "$tmp/embed" | wc -l) files, not 2"
fi

# 6. aarch64 under qemu
if command -v aarch64-linux-gnu-gcc >/dev/null && command -v qemu-aarch64 >/dev/null; then
  for fl in "neon:" "exact:-DNETC_INFER_PORTABLE -DNETC_TEST_EXACT"; do
    name=${fl%%:*} flags=${fl#*:}
    # shellcheck disable=SC2086
    if ! aarch64-linux-gnu-gcc "${STRICT[@]}" $flags -c -o "$tmp/a64-$name.o" "$AMAL" 2>"$tmp/log" ||
       ! aarch64-linux-gnu-gcc -std=c11 -O2 -Wall -Wextra -Werror $flags -Iruntime -Ibuild -Itests/unit \
         -o "$tmp/ti-a64-$name" tests/unit/test_infer.c "$tmp/a64-$name.o" "${REFS[@]}" -lm 2>"$tmp/log"; then
      bad "aarch64 build ($name):"; sed 's/^/    /' "$tmp/log" | head -20
      continue
    fi
    check_syms aarch64-linux-gnu-nm "$tmp/a64-$name.o" "aarch64 $name amalgamation"
    if qemu-aarch64 -L /usr/aarch64-linux-gnu "$tmp/ti-a64-$name" 60 >"$tmp/out" 2>&1; then
      echo "ok: aarch64 under qemu, $name: $(head -1 "$tmp/out"); $(tail -1 "$tmp/out")"
    else
      bad "aarch64 test_infer ($name) failed under qemu:"; grep -v '^  ' "$tmp/out" | head -20 | sed 's/^/    /'
    fi
  done
else
  echo "SKIP: aarch64-linux-gnu-gcc or qemu-aarch64 missing (Debian: gcc-aarch64-linux-gnu qemu-user)"
fi

# 7. Cortex-M4
if command -v arm-none-eabi-gcc >/dev/null; then
  m4=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -ffreestanding)
  if arm-none-eabi-gcc "${STRICT[@]}" "${m4[@]}" -c -o "$tmp/m4.o" "$AMAL" 2>"$tmp/log"; then
    check_syms arm-none-eabi-nm "$tmp/m4.o" "Cortex-M4 amalgamation"
    echo "ok: Cortex-M4 build, $(arm-none-eabi-size "$tmp/m4.o" | awk 'NR==2 {print "text " $1 " B, data " $2 " B, bss " $3 " B"}')"
  else
    bad "Cortex-M4 build:"; sed 's/^/    /' "$tmp/log" | head -20
  fi
else
  echo "SKIP: arm-none-eabi-gcc missing (Debian: gcc-arm-none-eabi)"
fi

[ $fail -eq 0 ] && echo "t_infer_build: all passed"
exit $fail
