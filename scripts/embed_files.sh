#!/usr/bin/env bash
# Writes, on stdout, a C file that defines
#   const char *const netc_infer_files[][2] = { {"NAME", "CONTENTS"}, ..., {NULL, NULL} };
# holding each FILE given (its base name, and its text as string literals, one per
# line, with \ " and ? escaped, the last so no "??x" trigraph forms), so that netc can
# write the inference amalgamation without finding its source tree.
# Usage: scripts/embed_files.sh build/netc_infer.h build/netc_infer.c > infer_embed.c
set -eu
echo '/* infer_embed.c -- written by scripts/embed_files.sh from the files it names; do not edit. */'
echo '#include <stddef.h>'
echo
echo 'extern const char *const netc_infer_files[][2];'
echo 'const char *const netc_infer_files[][2] = {'
for f in "$@"; do
  printf '    {"%s",\n' "$(basename "$f")"
  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/\t/\\t/g' -e 's/^/     "/' -e 's/$/\\n"/' "$f"
  echo '    },'
done
echo '    {NULL, NULL}'
echo '};'
