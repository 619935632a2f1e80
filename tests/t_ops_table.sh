#!/usr/bin/env bash
# Where the op table's entries live: each line OP(ID, "name", entry) /* FILE */ of
# compiler/ops.def names a family file compiler/ops/FILE, which defines `entry` (the
# op's OpRules, everything about the op); no other compiler source defines it; every
# entry a family file defines is on a line of ops.def; every family file holds at
# least one op.  (tests/unit/test_ops.c checks that each entry is complete.)
# Exits non-zero on any mismatch, saying which.
. "$(dirname "$0")/lib.sh"

ops=0

declare -A listed    # entry -> its family file, from ops.def
declare -A used      # family file -> 1
while IFS= read -r line; do
  [[ $line =~ ^OP\(([A-Z0-9_]+),\ *\"[a-z0-9_]+\",\ *([a-z0-9_]+)\)\ */\*\ *([a-z0-9_]+\.c)\ *\*/$ ]] || {
    [[ $line == OP\(* ]] && fail "ops.def: cannot read '$line' (want OP(ID, \"name\", entry) /* file.c */)"
    continue
  }
  entry=${BASH_REMATCH[2]} file=${BASH_REMATCH[3]}
  ops=$((ops + 1))
  [ -n "${listed[$entry]:-}" ] && fail "ops.def: entry $entry is listed twice"
  listed[$entry]=$file used[$file]=1
  if [ ! -f "compiler/ops/$file" ]; then
    fail "ops.def: $entry: no family file compiler/ops/$file"
    continue
  fi
  defs=$(grep -l "^const OpRules $entry = " compiler/*.c compiler/ops/*.c)
  [ "$defs" = "compiler/ops/$file" ] || fail "$entry is defined in [${defs//$'\n'/ }], ops.def says compiler/ops/$file"
done <compiler/ops.def

for src in compiler/ops/*.c; do
  file=${src##*/}
  [ "$file" = ops.c ] && continue
  [ -n "${used[$file]:-}" ] || fail "$src holds no op of ops.def"
  for entry in $(sed -n 's/^const OpRules \([a-z0-9_]*\) = .*/\1/p' "$src"); do
    [ "${listed[$entry]:-}" = "$file" ] || fail "$src defines $entry, which ops.def does not list as in $file"
  done
done

[ "$ops" -gt 0 ] || fail "ops.def: no op lines read"
[ "$fails" -eq 0 ] || exit 1
echo "t_ops_table: $ops ops, each entry in the family file ops.def names"
