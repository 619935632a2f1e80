#!/usr/bin/env bash
# The front end's limits, checked where they are cheap (issue 10, defect 9):
#   - a model name of 255 bytes, the most a checkpoint holds, passes check (256 bytes is
#     refused: tests/errors/limit_model_name.net);
#   - a source of 16 MiB passes; one over it is refused with its name, after reading no more than that:
#     `netc check /dev/zero` ends at once;
#   - a C prefix in the runtime's namespaces (rt, netc, setting; as is, or followed by
#     '_') is refused by compile, build and export-c with a clear error, and one that
#     only starts with the same letters (rtx) is not.
. "$(dirname "$0")/lib.sh"
NETC=${NETC:-./netc}

name=$(printf 'M%.0s' $(seq 255))
printf 'model %s {\n  input x[4]\n  return x -> dense(2) -> softmax()\n}\n' "$name" >"$tmp/long.net"
"$NETC" check "$tmp/long.net" 2>"$tmp/err" || { fail "a 255-byte model name is refused"; cat "$tmp/err"; }

for src in /dev/zero big; do
  [ "$src" = big ] && { head -c $((16 * 1024 * 1024 + 1)) /dev/zero >"$tmp/big.net"; src=$tmp/big.net; }
  rc=0; timeout 10 "$NETC" check "$src" >/dev/null 2>"$tmp/err" || rc=$?
  [ $rc -eq 2 ] && grep -qx "netc: $src: larger than 16 MiB, the most a .net source may be" "$tmp/err" ||
    { fail "netc check $src: exit $rc"; head -c 300 "$tmp/err"; }
done
head -c $((16 * 1024 * 1024 - $(wc -c <models/lenet.net))) /dev/zero | tr '\0' ' ' >"$tmp/edge.net"
cat models/lenet.net >>"$tmp/edge.net"   # exactly 16 MiB
"$NETC" check "$tmp/edge.net" 2>"$tmp/err" || { fail "a model of exactly 16 MiB is refused"; cat "$tmp/err"; }

m=models/softmax_regression.net
for prefix in rt rt_x netc netc_model setting RT; do
  lower=$(printf '%s' "$prefix" | tr A-Z a-z)
  ns=${lower%%_*}
  for cmd in compile build; do
    rc=0; "$NETC" $cmd -n "$prefix" -o "$tmp/out_$cmd" "$m" >/dev/null 2>"$tmp/err" || rc=$?
    [ $rc -eq 2 ] && grep -qx "netc: the C prefix '$lower' is reserved: the runtime's names begin with ${ns}_ (pass another --name)" \
      "$tmp/err" || { fail "netc $cmd -n $prefix: exit $rc"; cat "$tmp/err"; }
  done
done
rc=0; "$NETC" export-c -n rt -w /nonexistent.ckpt -o "$tmp/exp" "$m" >/dev/null 2>"$tmp/err" || rc=$?
[ $rc -eq 2 ] && grep -q "C prefix 'rt' is reserved" "$tmp/err" || { fail "netc export-c -n rt: exit $rc"; cat "$tmp/err"; }
"$NETC" compile -n rtx -o "$tmp/rtx" "$m" 2>"$tmp/err" && [ -s "$tmp/rtx/rtx.c" ] || { fail "netc compile -n rtx"; cat "$tmp/err"; }

finish
