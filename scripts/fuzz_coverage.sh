#!/usr/bin/env bash
# Line coverage of the sources a fuzz target reaches under its corpus.
#
#     scripts/fuzz_coverage.sh NAME [SOURCE...]
#
# Builds tests/fuzz/fuzz_NAME.c with clang's source-based coverage (no sanitizers)
# against every source of the compiler and the runtime (compiled once, into
# build-fuzz/coverage/obj/, for every target), runs each file of its corpora
# once (build-fuzz/corpus/NAME/, what `make fuzz` found, and the seeds in
# tests/fuzz/corpus/NAME/), and prints llvm-cov's report for the SOURCE files (default:
# every file the target reached).  Needs `make` first (the generated parser, scanner and
# embedded inference code under build/cc/).  The figures go into docs/reliability.md.
set -eu
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: scripts/fuzz_coverage.sh NAME [SOURCE...]" >&2; exit 2; }
name=$1
shift
target=tests/fuzz/fuzz_$name.c
[ -f "$target" ] || { echo "fuzz_coverage: no $target" >&2; exit 2; }
for f in build/cc/parser.tab.c build/cc/lexer.yy.c build/cc/infer_embed.c; do
  [ -f "$f" ] || { echo "fuzz_coverage: $f missing (run make)" >&2; exit 2; }
done
out=build-fuzz/coverage/$name
objs=build-fuzz/coverage/obj   # shared by the targets: each source compiled once
mkdir -p "$out" "$objs"
flags="-std=c11 -D_GNU_SOURCE -O1 -g -march=native -w -fprofile-instr-generate -fcoverage-mapping"
srcs=$(ls compiler/*.c compiler/ops/*.c common/*.c runtime/{core,kernels,io,plot,trainer,infer}/*.c | grep -v '^compiler/main.c$')
list=()
for s in $srcs build/cc/parser.tab.c build/cc/lexer.yy.c build/cc/infer_embed.c; do
  o=$objs/$(printf '%s' "$s" | tr / _).o
  [ "$o" -nt "$s" ] || clang $flags -fsanitize=fuzzer-no-link -Icompiler -Ibuild/cc -Iruntime -c -o "$o" "$s"
  list+=("$o")
done
clang $flags -fsanitize=fuzzer -Icompiler -Ibuild/cc -Iruntime -o "$out/fuzz_$name" "$target" "${list[@]}" \
  -lopenblas -lzip -lz -lpng -lplplot -lm -lpthread
corpora=()
for d in build-fuzz/corpus/$name tests/fuzz/corpus/$name; do [ -d "$d" ] && corpora+=("$d"); done
rm -f "$out"/*.profraw
LLVM_PROFILE_FILE="$out/%p.profraw" "$out/fuzz_$name" -runs=0 "${corpora[@]}" >"$out/run.log" 2>&1 || true
llvm-profdata merge -o "$out/fuzz.profdata" "$out"/*.profraw
echo "fuzz_coverage: $name: $(find "${corpora[@]}" -type f | wc -l) inputs of ${corpora[*]}"
llvm-cov report "$out/fuzz_$name" -instr-profile="$out/fuzz.profdata" "$@"
