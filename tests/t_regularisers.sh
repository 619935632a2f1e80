#!/usr/bin/env bash
# The per-layer regularisers (conv2d's and dense's l2, l1, bias_l2, bias_l1) through
# generated code.  One model compiled twice: every regulariser off, and five terms on
# (l2 and bias_l1 on the convolution, l1, l2 and bias_l2 on the dense layer).  With
# them off, the generated C has no penalty call at all; with them on,
# tests/harness/penalty_check.c holds train_step's loss, its gradients and evaluate's
# loss to the plain model's plus the terms it computes by hand from the weights, and
# checks that the structure hash is the same.  Then through the trainers (when the
# Fashion-MNIST files are there): the regularised model trains one short epoch; the
# unregularised trainer evaluates its checkpoint (the hash lets it) with the same
# accuracy and a test loss lower by exactly the terms, computed here in Python from the
# checkpoint's exported weights; and `netc export-c` writes the same inference code for
# both models from that checkpoint.  (Their finite-difference check is
# tests/gradcheck/regularisers.net, run by t_gradcheck.sh; their diagnostics are in
# tests/errors/.)  Exits non-zero on any failure.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/reg.net" <<'EOF'
model RegLoss(conv_l2 = 0, conv_bias_l1 = 0, dense_l1 = 0, dense_l2 = 0, dense_bias_l2 = 0) {
  input x[1, 28, 28]
  h = x -> conv2d(4, 3, l2 = conv_l2, bias_l1 = conv_bias_l1) -> relu() -> maxpool2d(2)
  return h -> flatten() -> dense(10, l1 = dense_l1, l2 = dense_l2, bias_l2 = dense_bias_l2) -> softmax()
}
EOF
./netc compile "$tmp/reg.net" --name plain --batch 6 -o "$tmp"
REG=(-D conv_l2=0.05 -D conv_bias_l1=0.02 -D dense_l1=0.003 -D dense_l2=1e-3 -D dense_bias_l2=0.1)
./netc compile "$tmp/reg.net" --name reg --batch 6 -o "$tmp" "${REG[@]}"
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

data=/usr/share/datasets/fashion-mnist
if [ ! -f "$data/t10k-images-idx3-ubyte.gz" ]; then
  echo "t_regularisers: no $data: the trainer checks are skipped"; exit 0
fi
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}
./netc build "$tmp/reg.net" "${REG[@]}" -o "$tmp/reg-trainer" >/dev/null
./netc build "$tmp/reg.net" -o "$tmp/plain-trainer" >/dev/null
"$tmp/reg-trainer" train --epochs 1 --limit 300 --test-limit 100 --early-stopping 0 --out "$tmp/reg.ckpt" \
  >"$tmp/train.log"
"$tmp/reg-trainer" export --ckpt "$tmp/reg.ckpt" --npz "$tmp/w.npz" >/dev/null
"$tmp/reg-trainer" eval --ckpt "$tmp/reg.ckpt" >"$tmp/eval-reg.log"
"$tmp/plain-trainer" eval --ckpt "$tmp/reg.ckpt" >"$tmp/eval-plain.log"
python3 - "$tmp" <<'EOF'
# The terms from the exported weights (Keras: l2 sum w^2, l1 sum |w|), against the
# difference of the two trainers' test losses (printed to 4 decimals each).
import ast, struct, sys, zipfile
tmp = sys.argv[1]
def arrays(path):
    out = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            b = z.read(name)
            size, start = ("<H", 10) if b[6] == 1 else ("<I", 12)
            hlen = struct.unpack(size, b[8:start])[0]
            header = ast.literal_eval(b[start:start + hlen].decode())
            assert header["descr"] == "<f4", header
            data = b[start + hlen:]
            out[name[:-4]] = struct.unpack("<%df" % (len(data) // 4), data)
    return out
def result(log):
    lines = dict(l.strip().split(": ", 1) for l in open(log) if l.startswith(("loss: ", "accuracy: ")))
    return float(lines["loss"]), float(lines["accuracy"])
w = arrays(tmp + "/w.npz")
l2 = lambda t: sum(v * v for v in w[t])
l1 = lambda t: sum(abs(v) for v in w[t])
terms = (0.05 * l2("conv2d_1.weight") + 0.02 * l1("conv2d_1.bias") + 0.003 * l1("dense_1.weight")
         + 1e-3 * l2("dense_1.weight") + 0.1 * l2("dense_1.bias"))
(loss_reg, acc_reg), (loss_plain, acc_plain) = result(tmp + "/eval-reg.log"), result(tmp + "/eval-plain.log")
print("trainers: test loss %.4f with the regularisers, %.4f without (its checkpoint); terms by hand %.5f"
      % (loss_reg, loss_plain, terms))
if not (acc_reg == acc_plain and terms > 0.01 and abs(loss_reg - loss_plain - terms) <= 2e-4):
    sys.exit("FAIL: want the same accuracy (%s, %s) and losses %.5f apart" % (acc_reg, acc_plain, terms))
EOF
for m in reg plain; do
  defs=()
  [ $m = reg ] && defs=("${REG[@]}")
  ./netc export-c "$tmp/reg.net" "${defs[@]}" --weights "$tmp/reg.ckpt" -n ex -o "$tmp/export-$m" 2>/dev/null
  grep -v '/\* step [0-9]*: ' "$tmp/export-$m/ex.c" >"$tmp/export-$m.c"   # the calls' comments show the factors
done
if ! cmp -s "$tmp/export-reg.c" "$tmp/export-plain.c" || ! cmp -s "$tmp/export-reg/ex.h" "$tmp/export-plain/ex.h"; then
  echo "FAIL: export-c writes other inference code for the regularised model:"
  diff "$tmp/export-plain.c" "$tmp/export-reg.c" | head -20; exit 1
fi
echo "t_regularisers: loss, gradients, evaluate, the trainers' losses, checkpoints and export-c hold"
