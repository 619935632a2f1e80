#!/usr/bin/env bash
# The per-layer regularisers (conv2d's and dense's l2, l1, bias_l2, bias_l1) through
# generated code.  One model compiled twice: every regulariser off, and five terms on
# (l2 and bias_l1 on the convolution, l1, l2 and bias_l2 on the dense layer).  With
# them off, the generated C has no penalty call at all; with them on,
# tests/harness/penalty_check.c holds train_step's loss, its gradients and evaluate's
# loss to the plain model's plus the terms it computes by hand from the weights, and
# checks that the structure hash is the same.  (Their finite-difference check is
# tests/gradcheck/regularisers.net, run by t_gradcheck.sh; their diagnostics are in
# tests/errors/.)  Exits non-zero on any failure.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/reg.net" <<'EOF'
model RegLoss(conv_l2 = 0, conv_bias_l1 = 0, dense_l1 = 0, dense_l2 = 0, dense_bias_l2 = 0) {
  input x[1, 8, 8]
  h = x -> conv2d(4, 3, l2 = conv_l2, bias_l1 = conv_bias_l1) -> relu() -> maxpool2d(2)
  return h -> flatten() -> dense(10, l1 = dense_l1, l2 = dense_l2, bias_l2 = dense_bias_l2) -> softmax()
}
EOF
./netc compile "$tmp/reg.net" --name plain --batch 6 -o "$tmp"
./netc compile "$tmp/reg.net" --name reg --batch 6 -o "$tmp" -D conv_l2=0.05 -D conv_bias_l1=0.02 \
  -D dense_l1=0.003 -D dense_l2=1e-3 -D dense_bias_l2=0.1
if grep -q penalty "$tmp/plain.c"; then
  echo "FAIL: regularisers off, yet the generated code calls a penalty kernel"; exit 1
fi
[ "$(grep -c 'loss += rt_l[12]_penalty' "$tmp/reg.c")" -eq 10 ] || {
  echo "FAIL: want 5 penalty calls in each of train_step and evaluate:"; grep -n penalty "$tmp/reg.c"; exit 1; }
for variant in build build-san; do
  [ -f "$variant/libnetcrt.a" ] || continue
  san=""
  [ "$variant" = build-san ] && san="-fsanitize=address,undefined -fno-sanitize-recover=all"
  cc -std=c11 -O1 -g -Wall -Wextra -Werror -pedantic $san -Iruntime -I"$tmp" -DPLAIN=plain_model -DREG=reg_model \
     -o "$tmp/check-$variant" tests/harness/penalty_check.c "$tmp/plain.c" "$tmp/reg.c" "$variant/libnetcrt.a" \
     -lopenblas -lzip -lz -lpng -lm
  echo "== $variant"
  "$tmp/check-$variant" conv2d_1.weight l2 0.05 conv2d_1.bias l1 0.02 dense_1.weight l1 0.003 \
    dense_1.weight l2 1e-3 dense_1.bias l2 0.1
done
