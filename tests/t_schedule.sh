#!/usr/bin/env bash
# Schedules that step per batch, through a built trainer:
#   1. `PROG schedule` prints, for every case of tests/golden/schedules.txt (PyTorch's
#      schedulers stepped after every batch: warm restarts, cosine, cyclic triangular,
#      triangular2 and exp_range, step), the lr PyTorch uses at each step, to 1e-6
#      relative, given the case's settings as options;
#   2. a schedule counting epochs prints a line per epoch, at each epoch's first step;
#   3. training applies the schedule the command prints: on 500 images, the lr of
#      each epoch's last step in the CSV log is the command's (its steps per epoch taken
#      from the same data), for per-step warm restarts and for a per-step cosine whose
#      t_max defaults to the run's steps (saved in the checkpoint's settings);
#   4. a wrong unit, mode or --steps-per-epoch is refused.
# Needs ./netc and build/libnetcrt.a (make).  Run from the repository root.
. "$(dirname "$0")/lib.sh"
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}
GOLDEN=tests/golden/schedules.txt

./netc build models/softmax_regression.net -o "$tmp/sr" 2>"$tmp/build.err" || { cat "$tmp/build.err"; echo "FAIL: netc build"; exit 1; }
T="$tmp/sr"

# 1. every golden case through the command line
cases=0
while read -r _ name steps settings; do
  opts=()
  for kv in $settings; do
    key=${kv%%=*}
    opts+=("--$(echo "$key" | tr '._' '--')" "${kv#*=}")
  done
  awk -v n="$name" '$1 == "case" { on = $2 == n; next } on && $1 !~ /^#/' "$GOLDEN" >"$tmp/want"
  if ! "$T" schedule --epochs 1 --steps-per-epoch "$steps" "${opts[@]}" >"$tmp/got" 2>&1; then
    fail "$name: schedule ${opts[*]}: $(cat "$tmp/got")"; continue
  fi
  tail -n +2 "$tmp/got" | cut -d, -f3 >"$tmp/got.lr"
  verdict=$(paste -d' ' "$tmp/got.lr" "$tmp/want" | awk -v n="$steps" '
    { d = $1 - $2; if (d < 0) d = -d; r = d / ($2 > 0 ? $2 : 1e-300); if (r > w) { w = r; at = NR } }
    END { if (NR != n) print "lines " NR " of " n; else if (w > 1e-6) print "step " at - 1 " off by " w; else print "ok " w + 0 }')
  case $verdict in
    ok*) ok "$name: $steps steps match PyTorch (worst relative ${verdict#ok })" ;;
    *) fail "$name: $verdict" ;;
  esac
  cases=$((cases + 1))
done < <(grep '^case ' "$GOLDEN")
[ $cases -ge 7 ] || fail "only $cases golden cases"

# 2. per epoch: warm restarts of 2, 4 epochs (CosineAnnealingWarmRestarts stepped per epoch)
got=$("$T" schedule --epochs 7 --steps-per-epoch 5 --lr 0.01 --schedule warm_restarts --schedule-t-0 2 --schedule-t-mult 2 \
  | tail -n +2 | paste -sd' ')
want="1,1,0.01 2,6,0.005 3,11,0.01 4,16,0.00853553391 5,21,0.005 6,26,0.00146446609 7,31,0.01"
[ "$got" = "$want" ] && ok "per epoch: a line per epoch: $got" || fail "per epoch: '$got', want '$want'"

# 3. training applies it: 400 training images (the first 500, a fifth held out) in batches of
# 50 = 8 steps an epoch
lr_column() {  # lr_column CSV: the lr of each epoch, by the header's name
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "lr") c = i; next } { print $c }' "$1" | paste -sd' '
}
trained() {  # trained NAME OPTIONS...: CSV lrs == the schedule's at steps 8, 16, 24
  local name=$1; shift
  local run=(--data "$DATA" --limit 500 --test-limit 100 --valid-split 0.2 --batch 50 --epochs 3 --lr 0.01 "$@")
  "$T" train "${run[@]}" --quiet --out "$tmp/$name.ckpt" >"$tmp/train.out" 2>&1 || { cat "$tmp/train.out"; fail "$name: train"; return; }
  "$T" schedule "${run[@]}" >"$tmp/sched.csv" 2>&1 || { cat "$tmp/sched.csv"; fail "$name: schedule"; return; }
  local want got
  want=$(awk -F, '$2 == 8 || $2 == 16 || $2 == 24 { print $3 }' "$tmp/sched.csv" | paste -sd' ')
  got=$(lr_column "$tmp/$name.ckpt.csv")
  [ -n "$want" ] && [ "$got" = "$want" ] && [ "$(tail -n +2 "$tmp/sched.csv" | wc -l)" -eq 24 ] \
    && ok "$name: training's lr by epoch $got = the schedule's at steps 8, 16, 24" \
    || fail "$name: training's lr by epoch '$got', the schedule's '$want'"
}
trained warm_restarts --schedule warm_restarts --schedule-unit step --schedule-t-0 5 --schedule-t-mult 2
trained cosine --schedule cosine --schedule-unit step
"$T" info --ckpt "$tmp/cosine.ckpt" | grep -q 'schedule.t_max=24' && ok "cosine per step: t_max defaults to the run's 24 steps, saved" \
  || { "$T" info --ckpt "$tmp/cosine.ckpt"; fail "cosine per step: t_max=24 not in the checkpoint's settings"; }

# 4. refused
"$T" schedule --steps-per-epoch 2 --schedule warm_restarts --schedule-t-0 2 --schedule-unit steps >"$tmp/e1" 2>&1
rc1=$?
"$T" schedule --steps-per-epoch 2 --schedule cyclic --schedule-base-lr 0 --schedule-max-lr 1 --schedule-step-size 2 \
  --schedule-mode triangle >"$tmp/e2" 2>&1
rc2=$?
"$T" schedule --steps-per-epoch 0 >"$tmp/e3" 2>&1
rc3=$?
if [ $rc1 -eq 2 ] && grep -q "'schedule.unit' must be one of: epoch step; got 'steps'; did you mean 'step'?" "$tmp/e1" \
   && [ $rc2 -eq 2 ] && grep -q "did you mean 'triangular'?" "$tmp/e2" \
   && [ $rc3 -eq 1 ] && grep -q -- "--steps-per-epoch must be a whole number >= 1, got '0'" "$tmp/e3"; then
  ok "a wrong unit, mode or --steps-per-epoch is refused, with a did-you-mean"
else
  cat "$tmp/e1" "$tmp/e2" "$tmp/e3"; fail "errors (exits $rc1 $rc2 $rc3)"
fi

echo
finish
