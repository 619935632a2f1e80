#!/usr/bin/env bash
# Every train setting, through both front doors, with one verdict.
# tests/harness/settings_cases.c, compiled against common/settings.def, lists the cases
# (each number at its bounds and just past them, a fraction for an int, a word for a
# number, every word of a word setting and a word it does not take, each call without
# each argument it needs), so a new setting is covered without editing this script.
# Each case goes
#   - into a .net file's train section, checked by `netc check` (exit 0: accepted), and
#   - onto the command line of a trainer built once (`netc build --batch 65536`, so that
#     every batch the language allows fits), `train --data /nonexistent/... OPTIONS`: the
#     settings are checked before the data is read, so an accepted case fails only on
#     the missing data (exit 1, naming the directory), a rejected one on the setting.
# Both verdicts must be the case's (accept at a bound, reject past it), so both agree.
# Not compared, as the front doors cannot both express them: a value of the wrong type
# for a string (an option's value is always text); limit and test_limit (trainer only);
# booleans written 1/0/yes/no (the trainer's options take them, a .net file takes only
# true and false); an argument of another call (settings text carries every argument).
# Needs ./netc and build/libnetcrt.a (make).
. "$(dirname "$0")/lib.sh"
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX} NETC_NO_REEXEC=1
n=0

"${CC:-cc}" -std=c11 -D_GNU_SOURCE -O1 -Wall -Wextra -Werror -o "$tmp/cases" tests/harness/settings_cases.c \
  common/settings.c common/suggest.c -lm || { echo "t_settings: cannot build tests/harness/settings_cases.c"; exit 1; }
"$tmp/cases" >"$tmp/cases.tsv" || { echo "t_settings: the case generator failed"; exit 1; }

model() {  # model BODY: a small classifier with BODY as its train section
  printf 'model S {\n  input x[1, 4, 4]\n  return x -> flatten() -> dense(3) -> softmax()\n  train {\n    %s\n  }\n}\n' "$1"
}
model "" >"$tmp/s.net"
./netc build --batch 65536 -o "$tmp/s" "$tmp/s.net" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; echo "t_settings: netc build failed"; exit 1; }
nodata=/nonexistent/netc-settings

net_verdict() {  # net_verdict BODY -> accept | reject | "odd: ..."
  model "$1" >"$tmp/c.net"
  ./netc check "$tmp/c.net" >"$tmp/net.out" 2>&1
  case $? in
    0) echo accept ;;
    1) echo reject ;;
    *) echo "odd: exit $? from netc check" ;;
  esac
}

cli_verdict() {  # cli_verdict OPTIONS... -> accept | reject | "odd: ..."
  "$tmp/s" train --quiet --out "$tmp/x.ckpt" --data=$nodata "$@" >"$tmp/cli.out" 2>&1
  local rc=$?
  if [ $rc -eq 1 ] && grep -q "$nodata" "$tmp/cli.out" && ! grep -q "'.*' must\|needs\|larger than" "$tmp/cli.out"; then
    echo accept
  elif [ $rc -eq 2 ] || [ $rc -eq 1 ]; then
    echo reject
  else
    echo "odd: exit $rc"
  fi
}

keys=()
while IFS=$'\t' read -r want label net cli; do
  n=$((n + 1))
  keys+=("${label%% *}")
  if [ "$net" != "-" ]; then
    got=$(net_verdict "$net")
    [ "$got" = "$want" ] || { fail "$label: netc check: $got, want $want"; sed 's/^/    /' "$tmp/c.net"; sed 's/^/    /' "$tmp/net.out"; }
  fi
  if [ "$cli" != "-" ]; then
    read -r -a opts <<<"$cli"
    got=$(cli_verdict "${opts[@]}")
    [ "$got" = "$want" ] || { fail "$label: trainer $cli: $got, want $want"; sed 's/^/    /' "$tmp/cli.out"; }
  fi
done <"$tmp/cases.tsv"

# No string can inject a setting (issue 10): a newline in a string setting is refused by
# netc check and by the trainer's option, and a '\' in the model's data path reaches the
# built trainer as written (the settings text escapes it, and reads it back).
inject='data = "data/fmnist\nlr=9\nepochs=3"'
[ "$(net_verdict "$inject")" = reject ] && grep -q "'data' holds a control character" "$tmp/net.out" ||
  { fail "netc check accepts $inject"; sed 's/^/    /' "$tmp/net.out"; }
"$tmp/s" train --quiet --out "$tmp/x.ckpt" --data $'/x\nlr=9' >"$tmp/cli.out" 2>&1
[ $? -eq 2 ] && grep -q "'data' holds a control character (byte 0x0a at offset 2)" "$tmp/cli.out" ||
  { fail "the trainer accepts a newline in --data"; sed 's/^/    /' "$tmp/cli.out"; }
model 'data = "/nonexistent/a\\b\\x0a"' >"$tmp/bs.net"
./netc build -o "$tmp/bs" "$tmp/bs.net" >"$tmp/build.log" 2>&1 || { fail "netc build of a data path with '\\'"; cat "$tmp/build.log"; }
"$tmp/bs" train --quiet --out "$tmp/x.ckpt" >"$tmp/cli.out" 2>&1
[ $? -eq 1 ] && grep -qF '/nonexistent/a\b\x0a' "$tmp/cli.out" ||
  { fail "a data path with '\\' does not reach the trainer as written"; sed 's/^/    /' "$tmp/cli.out"; }

# Every key of the list was tried (the generator cannot drop one silently): the keys
# `netc check --help` lists, plus the trainer-only ones its `train --help` adds.
./netc check --help | awk '/^train section settings:/ {on = 1; next} on && NF && $2 != "group" {print $1}' >"$tmp/net_keys"
printf '%s\n' "${keys[@]}" | sort -u >"$tmp/tried"
for k in $(cat "$tmp/net_keys") limit test_limit; do
  grep -qx "$k" "$tmp/tried" || fail "setting $k has no case"
done
[ "$(wc -l <"$tmp/net_keys")" -ge 30 ] || fail "netc check --help lists only $(wc -l <"$tmp/net_keys") settings"

echo "t_settings: $n cases, $(sort -u "$tmp/tried" | wc -l) settings, through netc check and the trainer's options"
finish
