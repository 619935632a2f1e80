#!/usr/bin/env bash
# Checks every network in models/ against the hand-written figures in
# tests/models.expected:
#   - `netc check FILE [-D ...]` exits 0 and prints no diagnostic at all (no warnings);
#   - `netc summary FILE [-D ...]` exits 0 and prints "LABEL: VALUE" for each expected
#     line of that file and -D set, and "Trainable params" equal to "Total params";
#   - every models/*.net, and every cell of the MixNet grid, has an expected count;
#   - SimpleNet's summary ends with exactly the four closing lines of the language spec.
# Run from the repository root (tests/run.sh does so).  Exits non-zero on any mismatch,
# saying what differed.
. "$(dirname "$0")/lib.sh"

NETC=./netc
EXPECTED=tests/models.expected
checks=0

if [ ! -x "$NETC" ]; then
  echo "t_models: $NETC not built (run make)"
  exit 1
fi
if [ ! -f "$EXPECTED" ]; then
  echo "t_models: $EXPECTED missing"
  exit 1
fi

# Reads the expected file into parallel arrays: the run (file and -D words), the
# value and the label.
runs=() values=() labels=()
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
  lineno=$((lineno + 1))
  case "$line" in ''|'#'*) continue ;; esac
  IFS=$'\t' read -r run value label <<<"$line"
  if [ -z "${run:-}" ] || [ -z "${value:-}" ]; then
    fail "$EXPECTED:$lineno: malformed line (want FILE [-D ...] TAB VALUE [TAB LABEL]): $line"
    continue
  fi
  runs+=("$run") values+=("$value") labels+=("${label:-Total params}")
done <"$EXPECTED"

# Every model file and every MixNet cell must have an expected total.
have_total() {  # have_total RUN
  local i
  for i in "${!runs[@]}"; do
    [ "${runs[$i]}" = "$1" ] && [ "${labels[$i]}" = "Total params" ] && return 0
  done
  return 1
}
for f in models/*.net; do
  have_total "${f#models/}" || fail "${f#models/}: no expected \"Total params\" in $EXPECTED"
done
for c in 2 3 4; do
  for d in 0 1 2; do
    have_total "mixnet.net -D n_conv=$c -D n_dense=$d" ||
      fail "mixnet.net -D n_conv=$c -D n_dense=$d: no expected total in $EXPECTED"
  done
done
have_total "resnet_small.net -D channels=3 -D size=32" ||
  fail "resnet_small.net -D channels=3 -D size=32: no expected total in $EXPECTED"

# The distinct runs: each model file as it is, plus every -D set in the expected file.
declare -A seen=()
distinct=()
for f in models/*.net; do
  r=${f#models/}
  [ -n "${seen[$r]:-}" ] || { seen[$r]=1; distinct+=("$r"); }
done
for r in "${runs[@]}"; do
  [ -n "${seen[$r]:-}" ] || { seen[$r]=1; distinct+=("$r"); }
done

# Runs netc for each distinct run once; keeps summary output in $tmp/N.out.
declare -A outfile=()
n=0
for r in "${distinct[@]}"; do
  read -r -a words <<<"$r"
  file=models/${words[0]}
  args=("${words[@]:1}")
  n=$((n + 1))
  if [ ! -f "$file" ]; then
    fail "$r: $file does not exist"
    continue
  fi

  # netc check: exit 0, nothing on stdout or stderr that looks like a diagnostic.
  "$NETC" check "$file" "${args[@]}" >"$tmp/$n.check" 2>&1
  rc=$?
  checks=$((checks + 1))
  if [ $rc -ne 0 ]; then
    fail "netc check $file ${args[*]}: exit $rc, want 0"
    sed 's/^/    /' "$tmp/$n.check" | head -n 30
  elif grep -Eq '(error|warning|note):' "$tmp/$n.check"; then
    fail "netc check $file ${args[*]}: diagnostics printed, want none"
    sed 's/^/    /' "$tmp/$n.check" | head -n 30
  fi

  # netc summary: exit 0, no diagnostics.
  "$NETC" summary "$file" "${args[@]}" >"$tmp/$n.out" 2>"$tmp/$n.err"
  rc=$?
  checks=$((checks + 1))
  outfile[$r]=$tmp/$n.out
  if [ $rc -ne 0 ]; then
    fail "netc summary $file ${args[*]}: exit $rc, want 0"
    sed 's/^/    /' "$tmp/$n.err" | head -n 30
    continue
  fi
  if [ -s "$tmp/$n.err" ]; then
    fail "netc summary $file ${args[*]}: printed on stderr, want nothing"
    sed 's/^/    /' "$tmp/$n.err" | head -n 30
  fi

  # Trainable params must equal Total params (the language has no frozen parameters).
  total=$(sed -n 's/^Total params: //p' "$tmp/$n.out")
  trainable=$(sed -n 's/^Trainable params: //p' "$tmp/$n.out")
  checks=$((checks + 1))
  if [ -z "$total" ] || [ "$total" != "$trainable" ]; then
    fail "netc summary $file ${args[*]}: Total params '$total' vs Trainable params '$trainable'"
  fi
done

# The expected figures.
for i in "${!runs[@]}"; do
  r=${runs[$i]} want=${values[$i]} label=${labels[$i]}
  out=${outfile[$r]:-}
  [ -n "$out" ] && [ -f "$out" ] || continue   # already reported above
  checks=$((checks + 1))
  got=$(sed -n "s/^$label: //p" "$out")
  if [ -z "$got" ]; then
    fail "netc summary models/$r: no line \"$label: ...\" (want \"$label: $want\")"
    tail -n 6 "$out" | sed 's/^/    /'
  elif [ "$got" != "$want" ]; then
    fail "netc summary models/$r: \"$label: $got\", want \"$label: $want\""
  fi
done

# SimpleNet's summary ends with exactly the spec's four closing lines.
if [ -n "${outfile[simplenet.net]:-}" ] && [ -f "${outfile[simplenet.net]}" ]; then
  checks=$((checks + 1))
  want_tail='Total params: 1,677,290
Trainable params: 1,677,290
Non-trainable state: 1,024
Forward FLOPs per sample: 39,799,808'
  got_tail=$(tail -n 4 "${outfile[simplenet.net]}")
  if [ "$got_tail" != "$want_tail" ]; then
    fail "netc summary models/simplenet.net: last four lines differ"
    diff <(printf '%s\n' "$want_tail") <(printf '%s\n' "$got_tail") | sed 's/^/    /'
  fi
fi

# Every complete example in docs/language.md (a fenced block with a line starting
# "model " and no "{ ... }" elision) must check cleanly, so the reference stays true.
if [ -f docs/language.md ]; then
  awk -v dir="$tmp" '
    /^```/ { if (inblk) { close(f); inblk = 0 } else { inblk = 1; n++; f = dir "/doc" n ".net"; printf "" > f }; next }
    inblk { print >> f }
  ' docs/language.md
  ndoc=0
  for f in "$tmp"/doc*.net; do
    [ -f "$f" ] || continue
    grep -q '^model ' "$f" || continue
    grep -qF '{ ... }' "$f" && continue
    ndoc=$((ndoc + 1))
    checks=$((checks + 1))
    "$NETC" check "$f" >"$f.log" 2>&1
    rc=$?
    if [ $rc -ne 0 ] || grep -Eq '(error|warning|note):' "$f.log"; then
      fail "docs/language.md: example $(basename "$f" .net) (exit $rc) does not check cleanly:"
      sed -n '1,3p' "$f" | sed 's/^/    | /'
      sed 's/^/    /' "$f.log" | head -n 20
    fi
  done
  if [ "$ndoc" -eq 0 ]; then
    fail "docs/language.md: no complete model examples found"
  fi
fi

echo "t_models: $checks checks over ${#distinct[@]} runs, $fails failed"
[ "$fails" -eq 0 ]
