#!/usr/bin/env bash
# netc sweep, for real: a 2x2 grid (a model parameter x a train setting) of a small
# dense model on a 2,000-image cut of Fashion-MNIST, 2 jobs at a time:
#   - the directory layout: DIR/sweep, DIR/bin/ (one trainer per distinct model), each
#     cell's cell, cmd, log, ckpt, ckpt.csv, eval.log, done, seconds;
#   - results.csv: one row per cell, its grid values, the parameter count (worked out
#     here from the layer sizes), epochs, best and final valid accuracy and the mixed one
#     (worked out here with awk from the cell's own ckpt.csv), the test accuracy (eval's
#     line in eval.log, and the trainer's own last line); --report prints the same table,
#     --sort orders it;
#   - a second run of the same command trains nothing (the done markers keep their mtime);
#   - SIGINT to a sweep in the middle: exit 130, each running trainer saves a checkpoint
#     (the signal reaches it once); kill -9 of the sweep in the middle of the next run:
#     its trainers still save (SIGTERM on the sweep's death); a last run finishes the
#     grid without redoing finished cells (done mtimes, cmd lines), resumes the
#     interrupted ones from their checkpoints (--resume in cmd, "resuming" in the log),
#     and a resumed cell's CSV equals an uninterrupted run's but for the seconds;
#   - over 2 MPI ranks (when mpirun is installed): rank r runs cells r, r + 2, rank 0's
#     table equals the one-process sweep's but for the seconds; SIGTERM to the ranks
#     stops them resumably and the same mpirun line finishes the grid;
#   - errors: an unknown axis (did-you-mean), a bad value of a setting axis and of a
#     parameter axis, each naming the axis; a different grid into the same directory.
# Needs ./netc and build/libnetcrt.a (make).  Run from the repository root.
. "$(dirname "$0")/lib.sh"
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}
NETC=${NETC:-$PWD/netc}

ROOT=$PWD
sweep_pid=
on_exit() { [ -n "$sweep_pid" ] && kill -9 "$sweep_pid" 2>/dev/null; sleep 0.5; }
cd "$tmp"

small_fashion small 2000 200
cat >tiny.net <<'EOF'
# The sweep test's model: a hidden layer whose width is a parameter.
model Tiny(hidden = 16, classes = 10) {
  input x[1, 28, 28]
  return x -> flatten() -> dense(hidden) -> relu() -> dense(classes) -> softmax()
  train {
    optimizer = adam
    batch = 50
    epochs = 3
    valid_split = 0.2
  }
}
EOF
params_of() { echo $((784 * $1 + $1 + $1 * 10 + 10)); }   # dense(784 -> h) and dense(h -> 10)
CELLS="hidden=8,lr=0.01 hidden=8,lr=0.001 hidden=16,lr=0.01 hidden=16,lr=0.001"

# ---- a 2x2 sweep, 2 jobs ----
"$NETC" sweep tiny.net --grid hidden=8,16 --grid lr=0.01,0.001 --jobs 2 -o sw --data small --eval-mixup 0.2 \
  >out 2>&1
rc=$?
[ $rc -eq 0 ] && ok "a 2x2 sweep with 2 jobs exits 0" || { cat out; fail "2x2 sweep: exit $rc"; }
grep -q '^sweep sw: 4 cells of 2 models, 4 to run; 2 at a time, 1 thread each$' out \
  && ok "the sweep's header line" || { cat out; fail "header line"; }
[ "$(ls sw/bin | sort | paste -sd' ')" = "trainer-hidden=16 trainer-hidden=8" ] \
  && ok "one trainer per distinct model in DIR/bin" || fail "DIR/bin holds $(ls sw/bin)"
layout=1
for c in $CELLS; do
  for f in cell cmd log ckpt ckpt.csv eval.log done seconds; do
    [ -s "sw/cell-$c/$f" ] || { layout=0; fail "sw/cell-$c/$f missing or empty"; }
  done
done
[ $layout = 1 ] && [ -f sw/sweep ] && ok "each cell's directory has cell, cmd, log, ckpt, ckpt.csv, eval.log, done, seconds"
grep -q "^NETC_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 sw/bin/trainer-hidden=8 train --out sw/cell-hidden=8,lr=0.001/ckpt --data=small --eval-mixup=0.2 --lr=0.001$" \
  "sw/cell-hidden=8,lr=0.001/cmd" && ok "cmd holds the cell's exact command line" \
  || { cat "sw/cell-hidden=8,lr=0.001/cmd"; fail "cmd line"; }
# The command line in cmd, run by hand into another checkpoint, trains the same run.
line=$(head -1 "sw/cell-hidden=8,lr=0.001/cmd" | sed "s|--out sw/cell-hidden=8,lr=0.001/ckpt|--out byhand.ckpt|")
eval "$line" >/dev/null 2>&1
[ "$(cut -d, -f1-7 byhand.ckpt.csv)" = "$(cut -d, -f1-7 "sw/cell-hidden=8,lr=0.001/ckpt.csv")" ] \
  && ok "the cmd line run by hand gives the cell's CSV (but for the seconds)" || fail "cmd line by hand differs"

# results.csv against each cell's own files
[ "$(head -1 sw/results.csv)" = "cell,hidden,lr,params,epochs,best_valid_acc,final_valid_acc,valid_mixup_acc,test_acc,seconds,status" ] \
  && ok "results.csv header" || fail "results.csv header: $(head -1 sw/results.csv)"
[ "$(tail -n +2 sw/results.csv | wc -l)" = 4 ] && ok "results.csv has one row per cell" || fail "results.csv rows"
rows_ok=1
for c in $CELLS; do
  h=${c%%,*}; h=${h#hidden=}; lr=${c##*lr=}
  csv="sw/cell-$c/ckpt.csv"
  want=$(awk -F, -v c="$c" -v h="$h" -v lr="$lr" -v p="$(params_of "$h")" '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    { n++; v = $col["valid_acc"]; if (n == 1 || v > best) best = v; final = v; mix = $col["valid_mixup_acc"] }
    END { printf "\"cell-%s\",%s,%s,%s,%d,%.4f,%.4f,%.4f", c, h, lr, p, n, best, final, mix }' "$csv")
  acc=$(sed -n 's/^accuracy: //p' "sw/cell-$c/eval.log")
  trained=$(sed -n 's/^test accuracy: //p' "sw/cell-$c/log")
  row=$(grep -F "\"cell-$c\"," sw/results.csv)   # the cell's name is quoted: it holds a comma
  secs=$(echo "$row" | awk -F, '{ print $(NF - 1) }')
  if [ "${row%,*,*,*}" = "$want" ] && [ "$(echo "$row" | awk -F, '{ print $(NF - 2) }')" = "$acc" ] && [ "$acc" = "$trained" ] &&
     [ "${row##*,}" = done ] && awk -v s="$secs" -v f="$(cat "sw/cell-$c/seconds")" 'BEGIN { exit !(f > 0 && s >= 0 && s - f < 0.051 && f - s < 0.051) }'; then :
  else rows_ok=0; fail "results.csv row of $c: '$row', want '$want,$acc,SECONDS,done' (SECONDS the cell's seconds file, > 0, to 0.1)"; fi
done
[ $rows_ok = 1 ] && ok "every results.csv row: grid values, params, epochs, best/final/mixed valid accuracy from its CSV, test accuracy from its eval"
# the table printed, sorted by test accuracy, highest first
sorted=$(awk '/^ *hidden +lr/ { on = 1; next } on && NF == 10 { print $8 }' out | paste -sd' ')
[ "$sorted" = "$(tail -n +2 sw/results.csv | awk -F, '{ print $(NF - 2) }' | sort -r | paste -sd' ')" ] && [ -n "$sorted" ] \
  && ok "the table is sorted by test accuracy: $sorted" || { cat out; fail "table order: '$sorted'"; }
"$NETC" sweep --report sw --sort lr >rep 2>&1
[ "$(awk '/^ *hidden +lr/ { on = 1; next } on && NF == 10 { print $2 }' rep | paste -sd' ')" = "0.001 0.001 0.01 0.01" ] \
  && ok "--report DIR --sort lr" || { cat rep; fail "--report --sort lr"; }
"$NETC" sweep --report sw --sort test_ac >rep 2>&1
[ $? -eq 2 ] && grep -q "did you mean 'test_acc'" rep && ok "--sort of an unknown column: did-you-mean" || { cat rep; fail "--sort unknown"; }

# a second run: nothing to train, nothing touched
before=$(stat -c %Y.%n sw/cell-*/done | paste -sd' ')
"$NETC" sweep tiny.net --grid hidden=8,16 --grid lr=0.01,0.001 --jobs 2 -o sw --data small --eval-mixup 0.2 >out2 2>&1
[ $? -eq 0 ] && grep -q '4 cells of 2 models, 0 to run' out2 && [ "$(stat -c %Y.%n sw/cell-*/done | paste -sd' ')" = "$before" ] \
  && ! grep -q 'start' out2 && ok "running it again trains nothing and leaves the done markers" || { cat out2; fail "rerun of a finished sweep"; }

# ---- interrupted: SIGINT, then kill -9, then finished ----
LONG=(sweep tiny.net --grid hidden=8,16 --grid lr=0.01,0.001 --jobs 2 -o long --data small --epochs 300)
wait_for() {  # wait_for SECONDS CONDITION...: polls every 0.1 s
  local n=$(($1 * 10)); shift
  while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
  return 1
}
# trained_running DIR [GLOB]: a cell of DIR (matching GLOB) whose trainer is in its
# training loop (its lock is there, its log ends with an epoch line: it has installed
# its signal handlers) and not near its last epoch (so it is still running when signalled)
trained_running() {
  for l in "$1"/cell-${2:-*}/ckpt.lock; do
    [ -e "$l" ] && tail -n 1 "${l%/ckpt.lock}/log" 2>/dev/null | grep -qE '^epoch ([0-9]|[0-9][0-9]|1[0-9][0-9]|2[0-7][0-9])/300:' \
      && return 0
  done
  return 1
}
resumable() { trained_running long; }
some_done_and_running() { [ -n "$(ls long/cell-*/done 2>/dev/null)" ] && resumable; }
"$NETC" "${LONG[@]}" >int1 2>&1 &
sweep_pid=$!
if wait_for 60 some_done_and_running; then
  "$NETC" sweep --report long >rep 2>&1
  grep -q ' running$' rep && grep -q ' done$' rep && ok "--report during the sweep: done and running cells" \
    || { cat rep; fail "--report during the sweep"; }
  kill -INT $sweep_pid
  wait $sweep_pid
  rc=$?
  sweep_pid=
  stopped=$(grep -l 'interrupted (SIGINT)' long/cell-*/log | wc -l)
  twice=$(grep -c 'interrupted (SIGINT)' long/cell-*/log | awk -F: '$2 > 1' | wc -l)
  [ $rc -eq 130 ] && grep -q 'stopping .* running cell' int1 && [ "$stopped" -ge 1 ] && [ "$twice" = 0 ] \
    && ok "SIGINT: exit 130, each running trainer saved a checkpoint, signalled once ($stopped cells)" \
    || { cat int1; fail "SIGINT: exit $rc, $stopped trainers interrupted, $twice twice"; }
else
  cat int1; fail "the long sweep never had a finished and a running cell"
fi
done1=$(ls -d long/cell-*/done 2>/dev/null)
stamp1=$(stat -c %Y.%n $done1 | paste -sd' ')
"$NETC" "${LONG[@]}" >int2 2>&1 &
sweep_pid=$!
if wait_for 60 resumable; then
  kill -9 $sweep_pid
  wait $sweep_pid 2>/dev/null
  sweep_pid=
  ok "kill -9 of the sweep in the middle of its second run"
else
  cat int2; fail "the second run made no progress to kill"
fi
done2=$(ls -d long/cell-*/done 2>/dev/null)
stamp2=$(stat -c %Y.%n $done2 | paste -sd' ')
cmds2=$(for d in $done2; do wc -l <"${d%/done}/cmd"; done | paste -sd' ')
"$NETC" "${LONG[@]}" >int3 2>&1
rc=$?
[ $rc -eq 0 ] && [ "$(tail -n +2 long/results.csv | awk -F, '{ print $NF }' | sort -u)" = done ] \
  && [ "$(tail -n +2 long/results.csv | wc -l)" = 4 ] \
  && ok "the third run finishes the grid: 4 cells done in results.csv" || { cat int3; fail "third run: exit $rc"; }
redone=
for d in $done2; do n=${d#long/}; grep -qF "start   ${n%/done}" int3 && redone="$redone ${n%/done}"; done
[ "$(stat -c %Y.%n $done2 | paste -sd' ')" = "$stamp2" ] && [ -z "$redone" ] \
  && [ "$(for d in $done2; do wc -l <"${d%/done}/cmd"; done | paste -sd' ')" = "$cmds2" ] \
  && ok "finished cells are not redone (done mtimes, cmd files, no start line): $(echo $done2 | wc -w) of them" \
  || { cat int3; fail "finished cells redone:$redone"; }
echo "$stamp1" | tr ' ' '\n' | while read -r s; do [ -z "$s" ] || grep -qF "$s" <<<"$stamp2" || echo "changed: $s"; done >changed
[ ! -s changed ] && ok "cells finished before the SIGINT kept their done markers through both runs" || { cat changed; fail "done markers changed"; }
resumed=0
for d in long/cell-*; do
  if grep -q -- '--resume' "$d/cmd"; then
    resumed=$((resumed + 1))
    grep -q '^resuming ' "$d/log" || fail "$d: --resume in cmd, but its log says no 'resuming'"
    [ "$(cut -d, -f1 "$d/ckpt.csv" | tail -n +2 | paste -sd' ')" = "$(seq 1 300 | paste -sd' ')" ] \
      || fail "$d: the resumed CSV's epochs are not 1..120 once each"
  fi
done
[ $resumed -ge 1 ] && ok "$resumed interrupted cells resumed from their checkpoints (--resume in cmd, 'resuming' in the log)" \
  || fail "no cell was resumed"
grep -q '(SIGTERM) at epoch .*: saving a checkpoint' long/cell-*/log && ok "kill -9 of the sweep: its trainers got SIGTERM and saved" \
  || fail "no trainer saved on SIGTERM after the sweep's kill -9"
# a resumed cell trains what an uninterrupted run trains (the trainer's guarantee, through the sweep)
r=$(grep -l -- '--resume' long/cell-*/cmd | head -1)
r=${r%/cmd}
line=$(head -1 "$r/cmd" | sed "s|--out $r/ckpt|--out straight.ckpt|")
eval "$line" >/dev/null 2>&1
[ -n "$r" ] && [ "$(cut -d, -f1-7 straight.ckpt.csv)" = "$(cut -d, -f1-7 "$r/ckpt.csv")" ] \
  && ok "the resumed cell's CSV equals an uninterrupted run's but for the seconds (${r#long/})" \
  || fail "resumed cell $r differs from an uninterrupted run"

# ---- over 2 MPI ranks: rank r runs cells r, r + 2; rank 0 writes the table ----
if command -v mpirun >/dev/null; then
  timeout 300 mpirun --allow-run-as-root --oversubscribe -np 2 "$NETC" sweep tiny.net --grid hidden=8,16 --grid lr=0.01,0.001 \
    -o mp --data small --eval-mixup 0.2 >mpi 2>&1
  rc=$?
  no_seconds() { tail -n +2 "$1" | awk -F, -v OFS=, '{ $(NF - 1) = ""; print }' | sort; }
  [ $rc -eq 0 ] && [ "$(no_seconds mp/results.csv)" = "$(no_seconds sw/results.csv)" ] \
    && grep -q '^rank 1: \[0/2\] start   cell-hidden=8,lr=0.001$' mpi && grep -q '^rank 0: \[0/2\] start   cell-hidden=8,lr=0.01$' mpi \
    && [ "$(grep -c '^results of 4 cells' mpi)" = 1 ] \
    && ok "mpirun -np 2 netc sweep: the ranks share the cells, rank 0's table is the one-process sweep's but for the seconds" \
    || { cat mpi; fail "sweep over 2 MPI ranks: exit $rc"; }
  # SIGTERM to the ranks (as Slurm's scancel does) in the middle of a longer sweep: they
  # stop, their trainers save, rank 0 prints the table without waiting; the same mpirun
  # line again finishes the grid, resuming.
  mpirun --allow-run-as-root --oversubscribe -np 2 "$NETC" "${LONG[@]/#long/mpl}" >mpi1 2>&1 &
  mp=$!
  both_ranks() { trained_running mpl '*lr=0.01' && trained_running mpl '*lr=0.001'; }   # rank 0's cells, rank 1's
  if wait_for 60 both_ranks; then
    kill -TERM $(ps -o pid= --ppid $mp)
    wait $mp
    saved=$(grep -l '(SIGTERM) at epoch .*: saving a checkpoint' mpl/cell-*/log | wc -l)
    grep -q '^results of 4 cells' mpi1 && [ "$saved" -ge 1 ] \
      && ok "SIGTERM to the MPI ranks: $saved trainers saved, rank 0 printed the table" \
      || { cat mpi1; fail "SIGTERM to the MPI ranks"; }
  else
    kill -9 $mp; cat mpi1; fail "the MPI sweep never had a running cell"
  fi
  timeout 300 mpirun --allow-run-as-root --oversubscribe -np 2 "$NETC" "${LONG[@]/#long/mpl}" >mpi2 2>&1
  rc=$?
  [ $rc -eq 0 ] && [ "$(tail -n +2 mpl/results.csv | awk -F, '{ print $NF }' | sort -u)" = done ] \
    && grep -q 'start   .* (resuming its checkpoint)' mpi2 \
    && ok "the same mpirun line again finishes the grid, resuming the stopped cells" || { cat mpi2; fail "MPI resume: exit $rc"; }
else
  echo "skip: no mpirun (the sweep over MPI ranks)"
fi

# ---- errors name the axis ----
err() {  # err WANT-STATUS WANT-TEXT ARGS...
  local st=$1 want=$2; shift 2
  "$NETC" sweep tiny.net "$@" -o bad >eout 2>&1
  local rc=$?
  [ $rc -eq "$st" ] && grep -qF -- "$want" eout && ok "error: $want" || { cat eout; fail "want exit $st and '$want', got $rc"; }
}
err 2 "netc sweep: --grid hiden=8,16: 'hiden' is neither a parameter of model Tiny nor a train setting; did you mean 'hidden'?" --grid hiden=8,16
err 2 "netc sweep: --grid lr=0.01,fast: 'lr' must be a number, got 'fast'" --grid lr=0.01,fast
err 2 "netc sweep: --grid epochs=1..x: bad range '1..x'" --grid epochs=1..x
err 1 "netc sweep: --grid: model Tiny with hidden=0 does not compile (above)" --grid hidden=0,4
err 2 "netc sweep: --grid lr=0.1: lr is also given as the train option --lr=0.2" --grid lr=0.1 --lr 0.2
err 2 "netc sweep: unknown option '--epoch'; did you mean '--epochs'?" --grid lr=0.1 --epoch 3
"$NETC" sweep tiny.net --grid hidden=4 -o sw --data small >eout 2>&1
[ $? -eq 2 ] && grep -q 'sw holds another sweep' eout && ok "another grid into the same directory is refused" || { cat eout; fail "other grid, same DIR"; }
[ ! -e bad ] && ok "no directory is made for a refused sweep" || fail "a refused sweep made its directory"

echo
[ $fails -eq 0 ] && echo "t_sweep: all passed" || echo "t_sweep: $fails failed"
[ $fails -eq 0 ]
