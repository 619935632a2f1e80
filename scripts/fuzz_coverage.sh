#!/usr/bin/env bash
# Line coverage of the sources that fuzz targets reach under their corpora.
#
#     scripts/fuzz_coverage.sh NAME... [SOURCE...]
#
# A word is a target's NAME (tests/fuzz/fuzz_NAME.c), a path is a SOURCE to report.
# Builds each target with clang's source-based coverage (no sanitizers) against every
# source of the compiler and the runtime (compiled once, into build-fuzz/coverage/obj/,
# for every target), runs each file of its corpora once (build-fuzz/corpus/NAME/, what
# `make fuzz` found, and the seeds in tests/fuzz/corpus/NAME/), merges the targets'
# profiles and prints llvm-cov's one report over all of them for the SOURCE files
# (default: every file a target reached).  Needs `make` first (the generated parser,
# scanner and embedded inference code under build/cc/).  The figures go into
# docs/reliability.md, e.g.
#     scripts/fuzz_coverage.sh netc compiler/*.c compiler/ops/*.c
#     scripts/fuzz_coverage.sh ckpt npz idx cifar image runtime/io/ckpt.c runtime/io/data.c \
#         runtime/io/npz.c runtime/io/image_read.c runtime/trainer/train_ckpt.c
set -eu
cd "$(dirname "$0")/.."
names=() sources=()
for a in "$@"; do
  case $a in */*|*.c|*.h) sources+=("$a") ;; *) names+=("$a") ;; esac
done
[ ${#names[@]} -ge 1 ] || { echo "usage: scripts/fuzz_coverage.sh NAME... [SOURCE...]" >&2; exit 2; }
for name in "${names[@]}"; do
  [ -f "tests/fuzz/fuzz_$name.c" ] || { echo "fuzz_coverage: no tests/fuzz/fuzz_$name.c" >&2; exit 2; }
done
for f in build/cc/parser.tab.c build/cc/lexer.yy.c build/cc/infer_embed.c build/cc/onnx.pb-c.c; do
  [ -f "$f" ] || { echo "fuzz_coverage: $f missing (run make)" >&2; exit 2; }
done
out=build-fuzz/coverage
objs=$out/obj   # shared by the targets: each source compiled once
mkdir -p "$objs"
flags="-std=c11 -D_GNU_SOURCE -O1 -g -march=native -w -fprofile-instr-generate -fcoverage-mapping"
srcs=$(ls compiler/*.c compiler/ops/*.c common/*.c runtime/{core,kernels,io,plot,trainer,infer}/*.c | grep -v -e '^compiler/main.c$' -e '^compiler/sweep.c$')   # the command line's files
list=()
for s in $srcs build/cc/parser.tab.c build/cc/lexer.yy.c build/cc/infer_embed.c build/cc/onnx.pb-c.c; do
  o=$objs/$(printf '%s' "$s" | tr / _).o
  [ "$o" -nt "$s" ] || clang $flags -fsanitize=fuzzer-no-link -Icompiler -Ibuild/cc -Iruntime -c -o "$o" "$s"
  list+=("$o")
done
objects=() profiles=()
for name in "${names[@]}"; do
  bin=$out/$name/fuzz_$name
  mkdir -p "$out/$name"
  clang $flags -fsanitize=fuzzer -Icompiler -Ibuild/cc -Iruntime -o "$bin" "tests/fuzz/fuzz_$name.c" \
    "${list[@]}" -lprotobuf-c -lopenblas -lzip -lz -lpng -lplplot -lm -lpthread
  corpora=()
  for d in build-fuzz/corpus/$name tests/fuzz/corpus/$name; do [ -d "$d" ] && corpora+=("$d"); done
  rm -f "$out/$name"/*.profraw
  LLVM_PROFILE_FILE="$out/$name/%p.profraw" "$bin" -runs=0 "${corpora[@]}" >"$out/$name/run.log" 2>&1 || true
  echo "fuzz_coverage: $name: $(find "${corpora[@]}" -type f | wc -l) inputs of ${corpora[*]}"
  objects+=(-object "$bin")
  profiles+=("$out/$name"/*.profraw)
done
llvm-profdata merge -o "$out/fuzz.profdata" "${profiles[@]}"
llvm-cov report "${objects[@]:1}" -instr-profile="$out/fuzz.profdata" "${sources[@]}"
