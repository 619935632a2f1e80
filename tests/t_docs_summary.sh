#!/usr/bin/env bash
# The summaries shown in docs/language.md are what `netc summary` prints today.
#
# Each example is a fenced block right after a marker line naming the command:
#   <!-- netc summary models/lenet5.net [-D name=value ...] -->
# The block's lines must equal the command's standard output exactly, so the doc
# cannot drift from the code.  There must be at least one marker, each followed by a
# fence.  Exits non-zero on any difference, with a diff (- doc, + netc).
set -u
cd "$(dirname "$0")/.."
NETC=${NETC:-./netc}
DOC=docs/language.md
[ -x "$NETC" ] || { echo "t_docs_summary: $NETC not built (run make)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Writes each block to $tmp/block.N and its command's arguments to $tmp/args.N.
awk -v dir="$tmp" '
  /^<!-- netc summary .* -->$/ { n++; a = $0; sub(/^<!-- netc summary /, "", a); sub(/ -->$/, "", a)
                                 print a > (dir "/args." n); want = 1; next }
  want == 1 { if ($0 != "```") { print "marker " n " is not followed by a fence" > "/dev/stderr"; exit 1 }
              want = 2; printf "" > (dir "/block." n); next }
  want == 2 { if ($0 == "```") { want = 0; next } print > (dir "/block." n) }
  END { if (want) { print "block " n " is not closed" > "/dev/stderr"; exit 1 } }
' "$DOC" || exit 1

fails=0 n=0
for args in "$tmp"/args.*; do
  [ -f "$args" ] || break
  i=${args##*.}
  n=$((n + 1))
  read -r -a a <"$args"
  if ! "$NETC" summary "${a[@]}" >"$tmp/got.$i" 2>"$tmp/err.$i"; then
    echo "FAIL: netc summary $(cat "$args") failed:"; sed 's/^/    /' "$tmp/err.$i"
    fails=$((fails + 1))
  elif ! cmp -s "$tmp/block.$i" "$tmp/got.$i"; then
    echo "FAIL: $DOC's block for 'netc summary $(cat "$args")' differs (- doc, + netc):"
    diff -u --label doc --label netc "$tmp/block.$i" "$tmp/got.$i" | tail -n +3 | sed 's/^/    /'
    fails=$((fails + 1))
  fi
done
if [ "$n" -eq 0 ]; then
  echo "t_docs_summary: no '<!-- netc summary ... -->' marker in $DOC"
  exit 1
fi
echo "t_docs_summary: $n summary block(s) of $DOC checked, $fails failed"
[ "$fails" -eq 0 ]
