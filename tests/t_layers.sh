#!/usr/bin/env bash
# The runtime's layers (runtime/netc_rt.h): each library needs only the layers below it,
# and a generated model needs only the core and kernel layers.
#  1. For each layer library, every rt_* symbol it uses but does not define must be
#     defined by a layer below it (core < kernels < io < plot < trainer).
#  2. Every model in models/ compiles and links with tests/harness/model_only.c against
#     build/libnetcrt_kernels.a build/libnetcrt_core.a -lopenblas -lm and nothing else,
#     and then trains (the harness checks that the loss falls).
# Needs ./netc and build/libnetcrt_*.a (make).
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
layers=(core kernels io plot trainer)
defined() { nm --defined-only -g "build/libnetcrt_$1.a" 2>/dev/null | awk 'NF==3 {print $3}'; }
for i in "${!layers[@]}"; do
  l=${layers[$i]}
  : >"$tmp/below"
  for ((j = 0; j <= i; j++)); do defined "${layers[$j]}" >>"$tmp/below"; done
  nm -u "build/libnetcrt_$l.a" | awk '{print $NF}' | grep '^rt_' | sort -u >"$tmp/used"
  missing=$(sort -u "$tmp/below" | comm -23 "$tmp/used" -)
  if [ -n "$missing" ]; then
    echo "FAIL: the $l layer uses symbols of a layer above it: $missing"
    fail=1
  else
    echo "ok: the $l layer needs only the layers below it"
  fi
done
n=0
for net in models/*.net; do
  name=$(basename "$net" .net)
  ./netc compile "$net" --name "$name" --batch 4 -o "$tmp" >/dev/null
  if ! cc -std=c11 -O2 -Wall -Wextra -Werror -Iruntime -I"$tmp" -DMODEL="${name}_model" \
       -o "$tmp/$name" tests/harness/model_only.c "$tmp/$name.c" \
       build/libnetcrt_kernels.a build/libnetcrt_core.a -lopenblas -lm 2>"$tmp/cc.log"; then
    echo "FAIL: $name does not link with the core and kernel layers alone:"
    sed 's/^/    /' "$tmp/cc.log" | head -n 20
    fail=1
    continue
  fi
  if ! OPENBLAS_NUM_THREADS=1 "$tmp/$name"; then fail=1; continue; fi
  n=$((n+1))
done
echo "$n models linked with -lnetcrt_kernels -lnetcrt_core -lopenblas -lm and trained"
exit $fail
