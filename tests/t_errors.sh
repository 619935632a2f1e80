#!/usr/bin/env bash
# Checks netc's diagnostics against the corpus of broken files in tests/errors/.
#
# Each tests/errors/*.net file is about one mistake and carries its expected
# diagnostics as comment annotations, written by hand from what netc should say:
#   # expect: LINE:COL: KIND: MESSAGE     a located diagnostic (KIND error, warning, note)
#   # expect: TEXT                        any other line netc prints (e.g. "netc: ...")
#   # args: -D name=value ...             extra arguments for `netc check`
#   # exit: N                             expected exit status (default 1)
# (a CR ending an annotation line, in a file with CRLF line ends, is not part of it).
# For each file, `netc check [ARGS] FILE` must
#   - print exactly the expected lines, in order, on standard error (nothing else,
#     and nothing on standard output);
#   - follow each located diagnostic with the source line ("%5d | TEXT", the file's
#     line without the CR of a CRLF line end, control bytes shown as '?') and a caret
#     line whose '^' sits under column COL, a column per byte (tabs count as one
#     column and are copied so the caret lines up), followed by '~'s only;
#   - exit with the expected status.
# Then the same corpus runs under the ASan/UBSan build (build-san/netc, built with
# `make SAN=1 build-san/netc` if missing), which must print the same and never report
# a sanitizer error or die of a signal.
# Run from anywhere; NETC and NETC_SAN override the two binaries.  Exits non-zero on
# any mismatch, with a diff of expected against actual lines.
. "$(dirname "$0")/lib.sh"
export LC_ALL=C   # columns and string offsets in bytes

NETC=${NETC:-./netc}
NETC_SAN=${NETC_SAN:-build-san/netc}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if [ ! -x "$NETC" ]; then
  echo "t_errors: $NETC not built (run make)"
  exit 1
fi
if [ ! -x "$NETC_SAN" ]; then
  echo "t_errors: $NETC_SAN missing; building it with make SAN=1 build-san/netc"
  make --no-print-directory SAN=1 build-san/netc >/dev/null || { echo "t_errors: cannot build $NETC_SAN"; exit 1; }
fi

files=(tests/errors/*.net)
if [ ${#files[@]} -lt 45 ] || [ ! -f "${files[0]}" ]; then
  echo "t_errors: expected at least 45 files in tests/errors, found ${#files[@]}"
  exit 1
fi

ndiag=0

# check_output FILE ERRFILE: turns netc's standard error into the list of lines
# compared with the annotations (located diagnostics lose the file name), checking
# the source and caret lines under each located diagnostic on the way.  Writes the
# list to $tmp/got and any layout problem to $tmp/layout.
check_output() {
  local f=$1 err=$2
  local -a out src
  mapfile -t out <"$err"
  # The file's lines as netc shows them: without the CR of a CRLF line end, and
  # control bytes other than tab as '?'.
  mapfile -t src < <(sed 's/\r$//' "$f" | tr '\000-\010\013-\037' '?')
  : >"$tmp/got"
  : >"$tmp/layout"
  local i=0 n=${#out[@]} re="^${f//./\\.}:([0-9]+):([0-9]+): (error|warning|note): "
  while [ $i -lt $n ]; do
    local line=${out[$i]}
    if [[ $line =~ $re ]]; then
      local l=${BASH_REMATCH[1]} c=${BASH_REMATCH[2]}
      printf '%s\n' "${line#"$f":}" >>"$tmp/got"
      ndiag=$((ndiag + 1))
      local want_src want_pre
      printf -v want_src '%5d | %s' "$l" "${src[$((l - 1))]-}"
      if [ "${out[$((i + 1))]-}" != "$want_src" ]; then
        printf '%s\n    want source line: %s\n    got:              %s\n' "$line" \
          "$want_src" "${out[$((i + 1))]-<none>}" >>"$tmp/layout"
      fi
      # The caret line: "      | ", then one blank (or the source's tab) per column
      # before COL, then '^' and '~'s.
      local text=${src[$((l - 1))]-} pre="" k
      for ((k = 0; k < c - 1; k++)); do
        if [ "${text:$k:1}" = $'\t' ]; then pre+=$'\t'; else pre+=' '; fi
      done
      local caret=${out[$((i + 2))]-}
      if [ $((c - 1)) -gt ${#text} ] || [[ $caret != "      | $pre^"* ]] ||
         [[ ${caret#"      | $pre^"} == *[!~]* ]]; then
        printf '%s\n    caret line wants ^ at column %d: "      | %s^"\n    got: "%s"\n' "$line" "$c" \
          "$pre" "$caret" >>"$tmp/layout"
      fi
      i=$((i + 3))
    else
      printf '%s\n' "$line" >>"$tmp/got"
      i=$((i + 1))
    fi
  done
}

for f in "${files[@]}"; do
  sed -n 's/\r$//; s/^# expect: //p' "$f" >"$tmp/want"
  read -r -a args <<<"$(sed -n 's/\r$//; s/^# args: //p' "$f" | head -n 1)"
  want_rc=$(sed -n 's/\r$//; s/^# exit: //p' "$f" | head -n 1)
  want_rc=${want_rc:-1}
  if [ ! -s "$tmp/want" ] && [ "$want_rc" != 0 ]; then
    fail "$f: no '# expect:' annotation"
    continue
  fi

  "$NETC" check "${args[@]}" "$f" >"$tmp/stdout" 2>"$tmp/stderr"
  rc=$?
  check_output "$f" "$tmp/stderr"
  bad=0
  if [ "$rc" != "$want_rc" ]; then
    fail "$f: exit status $rc, want $want_rc"
    bad=1
  fi
  if [ -s "$tmp/stdout" ]; then
    fail "$f: netc check printed on standard output"
    bad=1
  fi
  if ! cmp -s "$tmp/want" "$tmp/got"; then
    fail "$f: diagnostics differ (- expected, + netc)"
    diff -u --label expected --label netc "$tmp/want" "$tmp/got" | tail -n +3 | sed 's/^/    /'
    bad=1
  fi
  if [ -s "$tmp/layout" ]; then
    fail "$f: source or caret line wrong"
    sed 's/^/    /' "$tmp/layout"
    bad=1
  fi
  if [ $bad -ne 0 ]; then
    echo "    netc's output:"
    head -n 40 "$tmp/stderr" | cut -c1-200 | sed 's/^/      /'
  fi
  cp "$tmp/stderr" "$tmp/plain.$(basename "$f")"
  echo "$rc" >"$tmp/plain.$(basename "$f").rc"
done

# The same corpus under ASan/UBSan: no sanitizer report, no signal, same output.
nsan=0
for f in "${files[@]}"; do
  read -r -a args <<<"$(sed -n 's/\r$//; s/^# args: //p' "$f" | head -n 1)"
  "$NETC_SAN" check "${args[@]}" "$f" >"$tmp/san.out" 2>&1
  rc=$?
  nsan=$((nsan + 1))
  if [ $rc -ge 128 ] || grep -aqE 'runtime error|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer' "$tmp/san.out"; then
    fail "$f: $NETC_SAN check exit $rc with a sanitizer report or signal"
    head -n 30 "$tmp/san.out" | cut -c1-200 | sed 's/^/    /'
    continue
  fi
  b=$tmp/plain.$(basename "$f")
  if [ "$rc" != "$(cat "$b.rc")" ] || ! cmp -s "$tmp/san.out" "$b"; then
    fail "$f: $NETC_SAN check differs from $NETC check (exit $rc vs $(cat "$b.rc"))"
    diff "$b" "$tmp/san.out" | head -n 20 | cut -c1-200 | sed 's/^/    /'
  fi
done

echo "t_errors: ${#files[@]} files, $ndiag located diagnostics checked, $nsan sanitizer runs, $fails failed"
[ "$fails" -eq 0 ]
