#!/usr/bin/env bash
# Every model in models/ compiles to C that gcc and clang accept with
# -std=c11 -Wall -Wextra -Werror -pedantic, and the generated header's arena constant
# matches `netc plan`'s figure.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for net in models/*.net; do
  name=$(basename "$net" .net)
  ./netc compile "$net" --name "$name" --batch 100 -o "$tmp"
  for cc in gcc clang; do
    $cc -std=c11 -Wall -Wextra -Werror -pedantic -Iruntime -I"$tmp" -c "$tmp/$name.c" -o "$tmp/$name-$cc.o"
    n=$((n+1))
  done
  planned=$(./netc plan --batch 100 "$net" | sed -n 's/^Arena bytes: //p' | tr -d ,)
  macro=$(sed -n "s/^#define ${name^^}_ARENA_BYTES //p" "$tmp/$name.h")
  if [ "$planned" != "$macro" ]; then
    echo "FAIL $net: netc plan says $planned arena bytes, the header says $macro" >&2
    exit 1
  fi
done
echo "$n compilations of generated code clean (gcc and clang, -Werror -pedantic)"
