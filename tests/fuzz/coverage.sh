#!/usr/bin/env bash
# Line coverage of the runtime's readers under the fuzz corpora: each tests/fuzz/fuzz_*.c
# target (fuzz_weights aside: its reader is generated code) is rebuilt with clang's
# source-based coverage against the runtime compiled the same way, run once over every
# input of tests/fuzz/corpus/NAME and, when present, build-fuzz/corpus/NAME (what `make
# fuzz` found), and llvm-cov reports the reader files.  Prints llvm-cov's table.
#   bash tests/fuzz/coverage.sh [OUTDIR]     (default build-fuzz/coverage)
set -eu
cd "$(dirname "$0")/../.."
out=${1:-build-fuzz/coverage}
flags="-std=c11 -D_GNU_SOURCE -O0 -g -march=native -fprofile-instr-generate -fcoverage-mapping"
mkdir -p "$out/obj"
objs=()
for src in runtime/core/*.c runtime/kernels/*.c runtime/io/*.c runtime/plot/*.c runtime/trainer/*.c common/*.c; do
  o="$out/obj/$(echo "$src" | tr / _).o"
  [ "$o" -nt "$src" ] || clang $flags -c -o "$o" "$src" &
  objs+=("$o")
  [ $(jobs -r | wc -l) -lt 2 ] || wait -n
done
wait
rm -f "$out/librt.a"; ar rcs "$out/librt.a" "${objs[@]}"
profiles=()
for t in ckpt npz idx cifar image; do
  clang $flags -fsanitize=fuzzer -Iruntime -o "$out/fuzz_$t" "tests/fuzz/fuzz_$t.c" "$out/librt.a" \
    -lopenblas -lzip -lz -lpng -lplplot -lm
  dirs=("tests/fuzz/corpus/$t")
  [ -d "build-fuzz/corpus/$t" ] && dirs+=("build-fuzz/corpus/$t")
  LLVM_PROFILE_FILE="$out/$t.profraw" "$out/fuzz_$t" -runs=0 "${dirs[@]}" >"$out/$t.log" 2>&1
  profiles+=("$out/$t.profraw")
done
llvm-profdata merge -o "$out/all.profdata" "${profiles[@]}"
args=()
for t in npz idx cifar image; do args+=(-object "$out/fuzz_$t"); done
llvm-cov report "$out/fuzz_ckpt" "${args[@]}" -instr-profile="$out/all.profdata" \
  runtime/io/ckpt.c runtime/io/data.c runtime/io/npz.c runtime/io/image_read.c runtime/trainer/train_ckpt.c
