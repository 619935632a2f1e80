#!/usr/bin/env bash
# Resume is exact, and no kill leaves a bad checkpoint.  On a small subset of
# Fashion-MNIST (--limit), with a model that has batch norm and dropout and a run that
# uses every random stream and per-step state (random split, shuffling, dropout,
# augmentation, MixUp, label smoothing, a per-step schedule: warm restarts after steps 10,
# 30, 70, so within epochs of 36 steps; 18 under SAN=1):
#   1. 3 epochs straight == 1 epoch, then --resume to 3 epochs: bit-identical
#      parameters, batch-norm statistics, optimizer state and RNG states (CRC32 of every
#      checkpoint section from `info`, and the exported .npz members byte for byte when
#      unzip is installed), and identical CSV rows but the seconds;
#   2. the same with SIGINT in the middle of epoch 2 (exit 130, "saved" message, the
#      checkpoint records a mid-epoch position), then --resume;
#   2b. the same with mixup_mode = pairs (its partner order is derived from the seed and
#      the epoch, not saved); two of its runs with one seed are the same bits;
#   3. SIGTERM exits 143 and leaves a checkpoint that resumes (into another --out, whose
#      CSV log carries on from the old one's);
#   4. kill -9 at random moments of a run that checkpoints after every step, 12 times,
#      each restart resuming the last checkpoint: the checkpoint always loads, and its
#      step never goes back;
#   4b. kill -9 five times at random moments of the 3-epoch run of 1 (checkpointing every
#      step), each restart resuming the last checkpoint, then a run to the end:
#      bit-identical to the uninterrupted run;
#   5. .npz round trip: export, train --init-from it for 0 epochs, export again: the same
#      parameters and statistics.
# Needs ./netc and build/libnetcrt.a (make).  Run from the repository root.
. "$(dirname "$0")/lib.sh"
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}

./netc build ${SAN_BUILD[@]+"${SAN_BUILD[@]}"} models/lenet_drop_bn.net -o "$tmp/ldb" 2>"$tmp/build.err" || { cat "$tmp/build.err"; echo "FAIL: netc build"; exit 1; }
T="$tmp/ldb"

# A small copy of Fashion-MNIST (3000 training, 500 test images), so that each start is
# quick; --limit then takes 2400 of the 3000 (1200 under SAN=1, whose trainers are about
# five times slower: the same checks on half the steps), 3/4 of them for training.
D="$tmp/data"
small_fashion "$D" 3000 500

# The state sections of a checkpoint with their CRC32s (not its timing or settings).
state_of() { "$T" info --ckpt "$1" | grep -E '^  (params|state|opt\.[a-z]+|train\.[a-z_]+|rng\.[a-z]+|early_stopping|lr) '; }
# The CSV without the seconds column.
rows_of() { cut -d, -f1-7 "$1"; }
same_npz() {  # same_npz A.ckpt B.ckpt: exported arrays identical byte for byte
  command -v unzip >/dev/null || return 0
  "$T" export --ckpt "$1" --npz "$tmp/x1.npz" >/dev/null && "$T" export --ckpt "$2" --npz "$tmp/x2.npz" >/dev/null \
    && cmp -s <(unzip -p "$tmp/x1.npz") <(unzip -p "$tmp/x2.npz")
}

LIMIT=$([ "${SAN:-0}" = 1 ] && echo 1200 || echo 2400) NTRAIN=$((LIMIT * 3 / 4))
RUN=(--data "$D" --limit $LIMIT --batch 50 --valid-split 0.25 --split random --seed 7
     --augment-shift 2 --augment-flip --augment-rotate 10 --augment-erase 0.3 --mixup 0.2 --label-smoothing 0.1
     --schedule warm_restarts --schedule-unit step --schedule-t-0 10 --schedule-t-mult 2 --quiet)

# 1. epoch boundary
"$T" train "${RUN[@]}" --epochs 3 --out "$tmp/a.ckpt" >"$tmp/a.out" 2>&1 || { cat "$tmp/a.out"; fail "uninterrupted run"; }
cat "$tmp/a.out"
"$T" train "${RUN[@]}" --epochs 1 --out "$tmp/b.ckpt" >"$tmp/b.out" 2>&1 || { cat "$tmp/b.out"; fail "1-epoch run"; }
"$T" train --resume "$tmp/b.ckpt" --epochs 3 --quiet >>"$tmp/b.out" 2>&1 || { cat "$tmp/b.out"; fail "resume to 3 epochs"; }
state_of "$tmp/a.ckpt" >"$tmp/a.state"
state_of "$tmp/b.ckpt" >"$tmp/b.state"
if [ -s "$tmp/a.state" ] && cmp -s "$tmp/a.state" "$tmp/b.state" && same_npz "$tmp/a.ckpt" "$tmp/b.ckpt"; then
  ok "3 epochs == 1 epoch + resume to 3: bit-identical ($(grep -c . "$tmp/a.state") sections: $(awk '{print $1}' "$tmp/a.state" | paste -sd' '))"
else
  fail "epoch-boundary resume differs:"; diff "$tmp/a.state" "$tmp/b.state"
fi
cmp -s <(rows_of "$tmp/a.ckpt.csv") <(rows_of "$tmp/b.ckpt.csv") && ok "CSV rows identical (but seconds)" \
  || { fail "CSV rows differ"; diff <(rows_of "$tmp/a.ckpt.csv") <(rows_of "$tmp/b.ckpt.csv"); }

# 2. SIGINT in the middle of epoch 2: wait for epoch 1's checkpoint, then a little.
sigint_mid_epoch() {  # sigint_mid_epoch NAME RUN-OPTIONS...: $tmp/NAME.ckpt stopped in epoch 2; sets pos, rc
  local name=$1 delay; shift
  pos=
  for delay in 0.3 0.15 0.5 0.05; do
    rm -f "$tmp/$name.ckpt" "$tmp/$name.ckpt.csv"
    "$T" train "$@" --epochs 3 --out "$tmp/$name.ckpt" >"$tmp/$name.out" 2>&1 &
    local pid=$!
    for _ in $(seq 1 600); do [ -f "$tmp/$name.ckpt" ] && break; sleep 0.05; done
    sleep "$delay"
    kill -INT $pid
    wait $pid
    rc=$?
    pos=$("$T" info --ckpt "$tmp/$name.ckpt" | sed -n 's/.*, 1 epochs done, \([0-9]*\) images into epoch 2.*/\1/p')
    if [ $rc -eq 130 ] && [ -n "$pos" ] && [ "$pos" -gt 0 ]; then return 0; fi
    echo "note: SIGINT after ${delay}s did not land mid-epoch (exit $rc, position '${pos}'); again"
  done
  return 1
}
if sigint_mid_epoch c "${RUN[@]}"; then
  grep -q "interrupted (SIGINT) at epoch 2, $pos/$NTRAIN images" "$tmp/c.out" && grep -q "saved $tmp/c.ckpt; continue with --resume" "$tmp/c.out" \
    && ok "SIGINT mid-epoch: exit 130, checkpoint at epoch 2, image $pos of $NTRAIN" || { cat "$tmp/c.out"; fail "SIGINT messages"; }
  "$T" train --resume "$tmp/c.ckpt" --quiet >>"$tmp/c.out" 2>&1 || { cat "$tmp/c.out"; fail "resume after SIGINT"; }
  state_of "$tmp/c.ckpt" >"$tmp/c.state"
  if cmp -s "$tmp/a.state" "$tmp/c.state" && same_npz "$tmp/a.ckpt" "$tmp/c.ckpt"; then
    ok "SIGINT mid-epoch + resume: bit-identical to the uninterrupted run"
  else
    fail "mid-epoch resume differs:"; diff "$tmp/a.state" "$tmp/c.state"
  fi
  cmp -s <(rows_of "$tmp/a.ckpt.csv") <(rows_of "$tmp/c.ckpt.csv") && ok "CSV rows identical after the mid-epoch resume" \
    || { fail "CSV rows differ after the mid-epoch resume"; diff <(rows_of "$tmp/a.ckpt.csv") <(rows_of "$tmp/c.ckpt.csv"); }
else
  fail "could not interrupt a run mid-epoch"
fi

# 2b. MixUp of pairs (a lambda an image, partners from a second shuffle of each epoch):
# two runs of one seed are the same bits, and differ from batch MixUp; a run stopped in
# epoch 2 and resumed is the same bits as the uninterrupted one.
PAIRS=("${RUN[@]}" --mixup-mode pairs)
"$T" train "${PAIRS[@]}" --epochs 3 --out "$tmp/p1.ckpt" >"$tmp/p1.out" 2>&1 || { cat "$tmp/p1.out"; fail "pairs run"; }
"$T" train "${PAIRS[@]}" --epochs 3 --out "$tmp/p2.ckpt" >"$tmp/p2.out" 2>&1 || { cat "$tmp/p2.out"; fail "pairs run again"; }
state_of "$tmp/p1.ckpt" >"$tmp/p1.state"
if [ -s "$tmp/p1.state" ] && cmp -s "$tmp/p1.state" <(state_of "$tmp/p2.ckpt") && ! cmp -s "$tmp/p1.state" "$tmp/a.state"; then
  ok "mixup_mode pairs: two runs of one seed are bit-identical, and not batch MixUp's"
else
  fail "mixup_mode pairs: two runs differ, or equal batch MixUp's"
fi
if sigint_mid_epoch pc "${PAIRS[@]}"; then
  "$T" train --resume "$tmp/pc.ckpt" --quiet >>"$tmp/pc.out" 2>&1 || { cat "$tmp/pc.out"; fail "pairs: resume after SIGINT"; }
  cmp -s "$tmp/p1.state" <(state_of "$tmp/pc.ckpt") && cmp -s <(rows_of "$tmp/p1.ckpt.csv") <(rows_of "$tmp/pc.ckpt.csv") \
    && ok "mixup_mode pairs: SIGINT at image $pos of epoch 2 + resume: bit-identical, the same CSV rows" \
    || { fail "mixup_mode pairs: mid-epoch resume differs"; diff "$tmp/p1.state" <(state_of "$tmp/pc.ckpt"); }
else
  fail "could not interrupt a pairs run mid-epoch"
fi

# 3. SIGTERM
"$T" train "${RUN[@]}" --epochs 3 --out "$tmp/d.ckpt" >"$tmp/d.out" 2>&1 &
pid=$!
for _ in $(seq 1 600); do [ -f "$tmp/d.ckpt" ] && break; sleep 0.05; done
kill -TERM $pid
wait $pid
rc=$?
if [ $rc -eq 143 ] && grep -q "terminated (SIGTERM)" "$tmp/d.out" \
   && "$T" train --resume "$tmp/d.ckpt" --out "$tmp/d2.ckpt" --quiet >"$tmp/d2.out" 2>&1 \
   && cmp -s "$tmp/a.state" <(state_of "$tmp/d2.ckpt") && cmp -s <(rows_of "$tmp/a.ckpt.csv") <(rows_of "$tmp/d2.ckpt.csv"); then
  ok "SIGTERM: exit 143, then resume into another --out: same parameters, and its log continues the old one"
else
  cat "$tmp/d.out" "$tmp/d2.out" 2>/dev/null; fail "SIGTERM (exit $rc)"
fi

# 4. kill -9, repeatedly, while a checkpoint is written after every step
K="$tmp/k.ckpt"
kills=0 last=-1 bad=0
for i in $(seq 1 12); do
  if [ -f "$K" ]; then args=(--resume "$K"); else args=("${RUN[@]}" --batch 2 --epochs 1000 --out "$K"); fi
  "$T" train "${args[@]}" --save-every 1 --quiet >/dev/null 2>&1 &
  pid=$!
  sleep "0.$((RANDOM % 5 + 3))"
  kill -9 $pid 2>/dev/null && kills=$((kills + 1))
  wait $pid 2>/dev/null
  [ -f "$K" ] || continue
  if ! "$T" info --ckpt "$K" >"$tmp/k.info" 2>&1; then
    bad=$((bad + 1)); fail "after kill -9 #$i the checkpoint does not load: $(cat "$tmp/k.info")"; continue
  fi
  step=$(sed -n 's/.*, step \([0-9]*\)$/\1/p' "$tmp/k.info" | head -1)
  [ "$step" -ge "$last" ] || { bad=$((bad + 1)); fail "after kill -9 #$i the checkpoint went back from step $last to $step"; }
  last=$step
done
left=$(ls "$K".tmp.* 2>/dev/null | wc -l)
[ $bad -eq 0 ] && [ "$last" -gt 0 ] \
  && ok "kill -9 x$kills during per-step checkpointing: always loadable, step never went back (reached step $last; $left killed mid-write)" \
  || fail "kill -9 test (last step $last)"

# 4b. kill -9 several times during a 3-epoch run, resuming each time, then to its end:
# bit-identical to the uninterrupted run of 1.
K2="$tmp/k2.ckpt"
kills=0
for i in $(seq 1 5); do
  if [ -f "$K2" ]; then args=(--resume "$K2"); else args=("${RUN[@]}" --epochs 3); fi
  "$T" train "${args[@]}" --out "$K2" --save-every 1 --quiet >/dev/null 2>&1 &
  pid=$!
  sleep "0.$((RANDOM % 6 + 4))"
  kill -9 $pid 2>/dev/null && kills=$((kills + 1))
  wait $pid 2>/dev/null
done
if [ -f "$K2" ]; then args=(--resume "$K2"); else args=("${RUN[@]}" --epochs 3); fi
"$T" train "${args[@]}" --out "$K2" --quiet >"$tmp/k2.out" 2>&1 || { cat "$tmp/k2.out"; fail "the run after the kills"; }
if cmp -s "$tmp/a.state" <(state_of "$K2") && same_npz "$tmp/a.ckpt" "$K2"; then
  ok "kill -9 x$kills and resumed each time: bit-identical to the uninterrupted run"
else
  fail "kill -9 x$kills then resume differs from the uninterrupted run:"; diff "$tmp/a.state" <(state_of "$K2")
fi

# 5. .npz round trip
"$T" export --ckpt "$tmp/a.ckpt" --npz "$tmp/a.npz" >/dev/null || fail "export"
"$T" train --data "$D" --limit 500 --epochs 0 --init-from "$tmp/a.npz" --out "$tmp/r.ckpt" --quiet >"$tmp/r.out" 2>&1 \
  || { cat "$tmp/r.out"; fail "train --init-from"; }
"$T" export --ckpt "$tmp/r.ckpt" --npz "$tmp/r.npz" >/dev/null || fail "export again"
pa=$(state_of "$tmp/a.ckpt" | grep -E '^  (params|state) ')
pr=$(state_of "$tmp/r.ckpt" | grep -E '^  (params|state) ')
if [ -n "$pa" ] && [ "$pa" = "$pr" ] && { ! command -v unzip >/dev/null || cmp -s <(unzip -p "$tmp/a.npz") <(unzip -p "$tmp/r.npz"); }; then
  ok "npz round trip (export, --init-from, export): identical params and BN statistics"
else
  fail "npz round trip differs"; echo "$pa"; echo "$pr"
fi

echo
finish
