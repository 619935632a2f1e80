#!/usr/bin/env bash
# Finite-difference gradient check of every op and both losses, through generated code:
# each tests/gradcheck/*.net is compiled by netc, built with tests/harness/gradcheck.c
# against the runtime (plain and ASan/UBSan builds), and run.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CFLAGS="-std=c11 -O1 -g -Wall -Wextra -Werror -Iruntime -I$tmp"
for net in tests/gradcheck/*.net; do
  name=$(basename "$net" .net)
  ./netc compile "$net" --name "$name" --batch 5 -o "$tmp"
  for variant in build build-san; do
    [ -f "$variant/libnetcrt.a" ] || continue
    san=""
    [ "$variant" = build-san ] && san="-fsanitize=address,undefined -fno-sanitize-recover=all"
    cc $CFLAGS $san -DMODEL="${name}_model" -o "$tmp/$name-$variant" tests/harness/gradcheck.c "$tmp/$name.c" \
       "$variant/libnetcrt.a" -lopenblas -lzip -lz -lm
    echo "== $name ($variant)"
    "$tmp/$name-$variant"
  done
done
