#!/usr/bin/env bash
# Writes the inference layer as one C file on stdout, SQLite-style: a banner, then
# runtime/infer/netc_infer.h, infer_simd.h and every runtime/infer/*.c in name order,
# each under a "/* ---- file ---- */" line, with the layer's own #include "..." lines
# removed (each header's text appears once, before the code that uses it).  The result
# compiles alone (cc -c netc_infer.c); netc_infer.h is shipped beside it for the
# model's own files.  Usage: scripts/amalgamate.sh > build/netc_infer.c
set -eu
cd "$(dirname "$0")/../runtime/infer"
cat <<'BANNER'
/* netc_infer.c -- netc's inference kernels as one file (an amalgamation of
 * runtime/infer/ in the netc source tree, written by scripts/amalgamate.sh; edit those
 * files, not this one).  C99, needs only <stddef.h>, <stdint.h>, <string.h>, <math.h>
 * and libm: compile it with the exported model, e.g. cc -std=c99 -O3 -march=native
 * -c netc_infer.c.  The API and its contracts: netc_infer.h, included below. */
BANNER
for f in netc_infer.h infer_simd.h *.c; do
  printf '\n/* ---- %s ---- */\n' "$f"
  grep -v '^#include "' "$f"
done
