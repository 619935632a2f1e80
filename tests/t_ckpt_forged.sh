#!/usr/bin/env bash
# Forged checkpoints are refused by every command that reads one.
#
# tests/harness/forge_ckpt.py rewrites a real checkpoint into ~70 forgeries that are
# structurally valid (size and CRC-32 recomputed) but hostile: sections missing,
# mistyped or miscounted; a random stream stuck at zero; opt.t = INT64_MAX; a position
# past the epoch; a data order with a duplicate, an example out of range or one of the
# validation split; a data shape of (-1, -1, -1); settings that do not parse; NaN
# weights; and so on (the script lists them).  Each goes through train --resume, eval,
# predict, export, info and `netc export-c --weights`; each run must exit 1 with a
# message on stderr naming the file, within 20 s (a hang is a failure), never by a
# signal.  The unforged round trip ("control") must pass all six: the forger itself
# writes the format right.  With SAN=1 the trainer is built with --sanitize, and any
# sanitizer report fails too.
# Needs ./netc and build/libnetcrt.a (make).  Run from the repository root.
. "$(dirname "$0")/lib.sh"
export OPENBLAS_NUM_THREADS=1 ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1}
./netc build ${SAN_BUILD[@]+"${SAN_BUILD[@]}"} models/lenet_bn.net -o "$tmp/lenet" 2>"$tmp/build.err" || { cat "$tmp/build.err"; echo "FAIL: netc build"; exit 1; }
T=$tmp/lenet

D=$tmp/data
small_fashion "$D" 300 100
# With a random validation split, so that an order can take a validation example.
"$T" train --data "$D" --epochs 1 --batch 50 --valid-split 0.2 --split random --quiet \
  --out "$tmp/real.ckpt" >/dev/null 2>"$tmp/train.err" || { cat "$tmp/train.err"; echo "FAIL: training the real checkpoint"; exit 1; }
python3 tests/harness/forge_ckpt.py "$tmp/real.ckpt" "$tmp/forged" >"$tmp/cases" || { echo "FAIL: forge_ckpt.py"; exit 1; }

# run WHAT CKPT CMD...: exit status and stderr of CMD under a 20 s timeout, into $rc, $tmp/err.
run() {
  timeout -s KILL 20 "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  rc=$?
}
commands() {  # commands CKPT: the six readers, one a line as "NAME<TAB>argv..."
  printf 'resume\t%s\n' "$T train --resume $1 --data $D --epochs 2 --quiet --out $tmp/resumed.ckpt"
  printf 'eval\t%s\n' "$T eval --ckpt $1 --data $D"
  printf 'predict\t%s\n' "$T predict --ckpt $1 $D/t10k-images-idx3-ubyte:0"
  printf 'export\t%s\n' "$T export --ckpt $1 --npz $tmp/out.npz"
  printf 'info\t%s\n' "$T info --ckpt $1"
  printf 'export-c\t%s\n' "./netc export-c models/lenet_bn.net --weights $1 -o $tmp/exported"
}
ncases=0 refused=0
while read -r c; do
  f=$tmp/forged/$c.ckpt
  ncases=$((ncases + 1))
  while IFS=$'\t' read -r what cmd; do
    run $cmd
    san=$(grep -cE 'runtime error|AddressSanitizer|UndefinedBehaviorSanitizer' "$tmp/err")
    if [ "$c" = control ]; then
      [ $rc -eq 0 ] && [ "$san" -eq 0 ] || { fail "control through $what: exit $rc"; cat "$tmp/err"; }
      continue
    fi
    if [ $rc -eq 1 ] && [ "$san" -eq 0 ] && grep -qF "$f" "$tmp/err"; then
      refused=$((refused + 1))
    elif [ $rc -eq 137 ]; then
      fail "$c through $what: no answer in 20 s (killed)"
    else
      fail "$c through $what: exit $rc (want 1, a message naming $f, no sanitizer report):"; head -5 "$tmp/err"
    fi
  done < <(commands "$f")
  [ "$c" = control ] || echo "ok: $c: $(head -1 "$tmp/err" | cut -c1-150)"
done <"$tmp/cases"
echo "$((ncases - 1)) forged checkpoints, $refused refusals of 6 readers each"
[ $fails -eq 0 ] && echo "t_ckpt_forged: all passed" || echo "t_ckpt_forged: $fails failed"
[ $fails -eq 0 ]
