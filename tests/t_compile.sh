#!/usr/bin/env bash
# Every model in models/ compiles to C that gcc and clang accept with -std=c11
# -Wall -Wextra -Werror -pedantic -Wshadow, and the generated header's arena constant
# matches `netc plan`'s figure.  Then `compile -o DIR`: DIR and its missing parents
# are created, and a DIR that cannot be made or written says why, naming the path
# once (no doubled slash), with exit status 2.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for net in models/*.net; do
  name=$(basename "$net" .net)
  ./netc compile "$net" --name "$name" --batch 100 -o "$tmp"
  for cc in gcc clang; do
    $cc -std=c11 -Wall -Wextra -Werror -pedantic -Wshadow -Iruntime -I"$tmp" -c "$tmp/$name.c" -o "$tmp/$name-$cc.o"
    n=$((n+1))
  done
  planned=$(./netc plan --batch 100 "$net" | sed -n 's/^Arena bytes: //p' | tr -d ,)
  macro=$(sed -n "s/^#define ${name^^}_ARENA_BYTES //p" "$tmp/$name.h")
  if [ "$planned" != "$macro" ]; then
    echo "FAIL $net: netc plan says $planned arena bytes, the header says $macro" >&2
    exit 1
  fi
done
echo "$n compilations of generated code clean (gcc and clang, -Werror -pedantic -Wshadow)"

fail() { echo "FAIL compile -o: $*" >&2; exit 1; }
net=models/lenet_bn.net
./netc compile "$net" -o "$tmp/new/sub/dir/" 2>"$tmp/err" || fail "a missing DIR is not created: $(cat "$tmp/err")"
[ -f "$tmp/new/sub/dir/lenetbn.c" ] && [ -f "$tmp/new/sub/dir/lenetbn.h" ] || fail "no lenetbn.[ch] in the new DIR"
[ ! -s "$tmp/err" ] || fail "creating DIR printed: $(cat "$tmp/err")"
./netc compile "$net" -o "$tmp/new/sub/dir" 2>"$tmp/err" || fail "an existing DIR is refused: $(cat "$tmp/err")"
touch "$tmp/plain"
expect_error() {  # expect_error DIR MESSAGE: compile -o DIR exits 2 saying exactly MESSAGE
  local rc=0
  ./netc compile "$net" -o "$1" 2>"$tmp/err" || rc=$?
  [ "$rc" = 2 ] || fail "-o $1 exits $rc, not 2"
  [ "$(cat "$tmp/err")" = "$2" ] || fail "-o $1 says '$(cat "$tmp/err")', not '$2'"
}
expect_error "$tmp/plain/out" "netc: cannot create directory '$tmp/plain/out': '$tmp/plain' is not a directory"
expect_error "$tmp/plain" "netc: cannot create directory '$tmp/plain': '$tmp/plain' is not a directory"
expect_error "" "netc: cannot create directory '': empty name"
mkdir -p "$tmp/taken/lenetbn.h"
expect_error "$tmp/taken/" "netc: cannot write $tmp/taken/lenetbn.h: Is a directory"
echo "compile -o DIR: created when missing; clear errors when it cannot be made or written"

# build -o DIR/PROG: DIR is made when missing; a DIR that cannot be made is a clear
# error; neither leaves a temporary build directory behind.
# (in a TMPDIR of the test's own, so that other people's builds do not count)
export TMPDIR=$tmp/tmpdir
mkdir -p "$TMPDIR"
temps() { find "$TMPDIR" -maxdepth 1 -name 'netc-build-*' 2>/dev/null | sort; }
temps >"$tmp/temps.before"
./netc build models/softmax_regression.net -o "$tmp/built/sub/prog" 2>"$tmp/err" ||
  fail "build -o into a missing DIR: $(cat "$tmp/err")"
[ -x "$tmp/built/sub/prog" ] || fail "build -o DIR/PROG wrote no program"
rc=0; ./netc build models/softmax_regression.net -o "$tmp/plain/prog" 2>"$tmp/err" || rc=$?
[ "$rc" = 2 ] && grep -q "'$tmp/plain' is not a directory" "$tmp/err" || fail "build -o FILE/PROG: exit $rc, '$(cat "$tmp/err")'"
temps >"$tmp/temps.after"
cmp -s "$tmp/temps.before" "$tmp/temps.after" || fail "netc build left $(comm -13 "$tmp/temps.before" "$tmp/temps.after")"
rc=0; TMPDIR=$tmp/no-such-dir ./netc build models/softmax_regression.net -o "$tmp/built/p2" 2>"$tmp/err" || rc=$?
[ "$rc" = 2 ] && grep -q "cannot make a build directory $tmp/no-such-dir/netc-build-" "$tmp/err" ||
  fail "build with a TMPDIR that does not exist: exit $rc, '$(cat "$tmp/err")'"
echo "build -o DIR/PROG: DIR created when missing, refused clearly otherwise, no temporary directory left (in TMPDIR)"
unset TMPDIR
