#!/usr/bin/env bash
# The best checkpoint, checkpoint name patterns and evaluation on transformed data, on
# a LeNet-BN trainer and a few hundred Fashion-MNIST images:
#   - CKPT.best holds the epoch the run's own CSV says is best by the monitored metric
#     (lowest valid_loss; highest valid_acc, the first of equals), read from the CSV
#     here and compared with `info --ckpt CKPT.best`;
#   - a run stopped and resumed keeps the same best (its weights' checksum);
#   - restore_best ends the run with the best epoch's weights in CKPT;
#   - --out 'DIR/epoch{epoch:02d}.ckpt' writes one checkpoint per epoch, each at its
#     epoch, the log and best beside them without the field;
#   - eval --augment-rotate 25 gives another, lower accuracy than plain eval and the
#     same one when run again; eval --mixup likewise repeats, and another --seed
#     differs (on the first 2000 test images: eval --limit, which counts as many and
#     agrees with predict --split test --limit); eval, export, predict and netc export-c
#     take CKPT.best;
#   - train --eval-mixup adds the mixed-validation accuracy to the epoch lines and CSV.
# Needs ./netc, build/libnetcrt.a and the Fashion-MNIST files.
. "$(dirname "$0")/lib.sh"
need_fashion
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX} NETC_NO_REEXEC=1

./netc build ${SAN_BUILD[@]+"${SAN_BUILD[@]}"} -o "$tmp/lb" models/lenet_bn.net >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; echo "t_train_best: build failed"; exit 1; }
T=$tmp/lb
# A small noisy run: few images and a high learning rate, so the best is rarely the last.
run() { "$T" train --quiet --limit 600 --test-limit 200 --valid-split 0.25 --lr 0.05 "$@" 2>/dev/null; }
epochs_of() { "$T" info --ckpt "$1" | sed -n 's/^checkpoint .*, \([0-9]*\) epochs done.*/\1/p'; }
params_of() { "$T" info --ckpt "$1" | awk '$1 == "params" {print $3}'; }
# best_in CSV COLUMN min|max: the epoch of the first best value of COLUMN.
best_in() {
  awk -F, -v col="$2" -v way="$3" 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == col) c = i; next}
    NR == 2 || (way == "min" ? $c < b : $c > b) {b = $c; e = $1} END {print e}' "$1"
}

# ---- CKPT.best by valid_loss (the default) and by valid_acc ----
for mon in valid_loss valid_acc; do
  way=$([ $mon = valid_loss ] && echo min || echo max)
  run --epochs 6 --early-stopping-monitor $mon --out "$tmp/$mon.ckpt" >"$tmp/$mon.out" || fail "$mon: train failed"
  want=$(best_in "$tmp/$mon.ckpt.csv" $mon $way)
  got=$(epochs_of "$tmp/$mon.ckpt.best")
  if [ -n "$want" ] && [ "$got" = "$want" ]; then
    ok "$mon: CKPT.best is epoch $got, the CSV's best (last epoch $(epochs_of "$tmp/$mon.ckpt"))"
  else
    fail "$mon: CKPT.best is epoch '$got', the CSV's best is '$want'"; cat "$tmp/$mon.ckpt.csv"
  fi
done

# ---- the best survives a resume: 2 epochs, then on to 6, as one run of 6 ----
run --epochs 2 --early-stopping-monitor valid_acc --out "$tmp/part.ckpt" >/dev/null || fail "part run failed"
"$T" train --quiet --resume "$tmp/part.ckpt" --epochs 6 >/dev/null 2>&1 || fail "resume failed"
"$T" train --quiet --resume "$tmp/part.ckpt" --epochs 6 --out "$tmp/other.ckpt" >/dev/null 2>&1 || fail "resume into another file failed"
a=$(params_of "$tmp/valid_acc.ckpt.best") b=$(params_of "$tmp/part.ckpt.best") c=$(params_of "$tmp/other.ckpt.best")
[ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" = "$c" ] && ok "a resumed run keeps the same best ($a)" \
  || fail "best after resume: one run $a, resumed $b, resumed into another file $c"

# ---- restore_best: CKPT ends with the best epoch's weights ----
run --epochs 6 --early-stopping-monitor valid_acc --early-stopping-restore-best --out "$tmp/rb.ckpt" >"$tmp/rb.out" || fail "restore_best run failed"
best=$(best_in "$tmp/rb.ckpt.csv" valid_acc max)
[ "$(params_of "$tmp/rb.ckpt")" = "$(params_of "$tmp/rb.ckpt.best")" ] && [ "$(epochs_of "$tmp/rb.ckpt")" = "$best" ] \
  && ok "restore_best: CKPT holds the best epoch ($best)" || { fail "restore_best: CKPT is not the best epoch $best"; cat "$tmp/rb.out"; }

# ---- a name pattern: one checkpoint per epoch ----
mkdir "$tmp/ck"
run --epochs 3 --out "$tmp/ck/epoch{epoch:02d}.ckpt" >/dev/null || fail "pattern run failed"
good=1
for e in 1 2 3; do
  f=$tmp/ck/epoch0$e.ckpt
  [ -f "$f" ] && [ "$(epochs_of "$f")" = $e ] || { good=0; fail "pattern: $f missing or not at epoch $e"; }
done
n=$(ls "$tmp/ck" | grep -c '^epoch0[0-9]\.ckpt$')
[ $good = 1 ] && [ "$n" = 3 ] && [ -f "$tmp/ck/epoch.ckpt.best" ] && [ "$(wc -l <"$tmp/ck/epoch.ckpt.csv")" = 4 ] \
  && ok "pattern: epoch01..03.ckpt, log and best beside them" || { fail "pattern: files are"; ls "$tmp/ck"; }
"$T" train --quiet --out "$tmp/ck/epoch{epoch:x}.ckpt" --epochs 1 >"$tmp/bad.out" 2>&1
[ $? = 1 ] && grep -q "the epoch field must be" "$tmp/bad.out" && ok "a malformed pattern is refused" \
  || { fail "a malformed pattern"; cat "$tmp/bad.out"; }

# ---- eval on transformed data (the first 2000 test images: --limit) ----
B=$tmp/valid_loss.ckpt.best
acc_of() { sed -n 's/^accuracy: //p' "$1"; }
"$T" eval --ckpt "$B" --limit 2000 >"$tmp/plain" || fail "eval CKPT.best failed"
# --limit: 2000 images, as many in the confusion matrix, and the accuracy predict's rows give
"$T" predict --ckpt "$B" --split test --limit 2000 --top 1 -o "$tmp/p.csv" >/dev/null 2>&1 || fail "predict --limit failed"
counted=$(awk '/^confusion/ {on = 1; getline; next} on {for (i = NF - 9; i <= NF; i++) s += $i} END {print s}' "$tmp/plain")
rows_acc=$(awk -F, 'NR > 1 {n++; r += $2 == $3} END {printf "%.4f %d", r / n, n}' "$tmp/p.csv")
grep -q ': 2000 images$' "$tmp/plain" && [ "$counted" = 2000 ] && [ "$rows_acc" = "$(acc_of "$tmp/plain") 2000" ] \
  && ok "eval and predict --limit 2000: 2000 images, the same accuracy ($rows_acc)" \
  || fail "--limit 2000: eval counted '$counted', predict's rows give '$rows_acc', eval: $(acc_of "$tmp/plain")"
"$T" eval --ckpt "$B" --limit 2000 --augment-rotate 25 >"$tmp/rot1" || fail "eval --augment-rotate failed"
"$T" eval --ckpt "$B" --limit 2000 --augment-rotate 25 >"$tmp/rot2"
p=$(acc_of "$tmp/plain") r=$(acc_of "$tmp/rot1")
awk -v p="$p" -v r="$r" 'BEGIN {exit !(r < p)}' && ok "rotated accuracy $r < plain $p" || fail "rotated accuracy $r, plain $p"
cmp -s "$tmp/rot1" "$tmp/rot2" && ok "eval --augment-rotate 25 repeats exactly" || fail "eval --augment-rotate differs between runs"
"$T" eval --ckpt "$B" --limit 2000 --mixup 0.4 >"$tmp/mix1" && "$T" eval --ckpt "$B" --limit 2000 --mixup 0.4 >"$tmp/mix2" \
  && "$T" eval --ckpt "$B" --limit 2000 --mixup 0.4 --seed 9 >"$tmp/mix3" || fail "eval --mixup failed"
m=$(acc_of "$tmp/mix1")
cmp -s "$tmp/mix1" "$tmp/mix2" && ! cmp -s "$tmp/mix1" "$tmp/mix3" && [ "$m" != "$p" ] \
  && ok "eval --mixup 0.4: accuracy $m, repeats, another seed differs" || fail "eval --mixup: $m (plain $p)"
"$T" eval --ckpt "$B" --mixup 0 >/dev/null 2>&1
[ $? = 2 ] && ok "eval --mixup 0 is a usage error" || fail "eval --mixup 0 accepted"
"$T" export --ckpt "$B" --npz "$tmp/best.npz" >/dev/null && "$T" predict --ckpt "$B" "$DATA/t10k-images-idx3-ubyte.gz:0" >/dev/null \
  && ./netc export-c -w "$B" -o "$tmp/c" models/lenet_bn.net >/dev/null 2>&1 && [ -n "$(ls "$tmp/c"/*.c 2>/dev/null)" ] \
  && ok "export, predict and netc export-c take CKPT.best" || fail "export, predict or export-c of CKPT.best"

# ---- train --eval-mixup: a column and a figure per epoch ----
run --epochs 2 --eval-mixup 0.4 --out "$tmp/em.ckpt" >"$tmp/em.out" || fail "train --eval-mixup failed"
head -1 "$tmp/em.ckpt.csv" | grep -q ',valid_mixup_acc$' && [ "$(grep -c 'mixed acc 0\.[0-9]*' "$tmp/em.out")" = 2 ] \
  && [ "$(awk -F, 'NR > 1 && $9 ~ /^0\.[0-9]+$/' "$tmp/em.ckpt.csv" | wc -l)" = 2 ] \
  && ok "train --eval-mixup: valid_mixup_acc in the epoch lines and the CSV" || { fail "train --eval-mixup"; cat "$tmp/em.out" "$tmp/em.ckpt.csv"; }

[ $fails -eq 0 ] && echo "t_train_best: all checks passed" || echo "t_train_best: $fails check(s) failed"
exit $((fails > 0))
