#!/usr/bin/env bash
# netc export-onnx on every model in models/, each briefly trained (one epoch on the first
# 300 training images, as t_export.sh does, so that the weights are not the initial ones):
#  - tests/harness/onnx_check.py: the file passes onnx.checker.check_model (full check),
#    has opset 17, a batch dimension "N", no Dropout, the model's batchnorms as
#    BatchNormalization in inference form, Sub/Div at the front exactly when the model
#    was trained with a normalisation, and a closing Softmax; ONNX Runtime gives the
#    trainer's top-1 class (`predict --split test`) on all 10,000 Fashion-MNIST test
#    images and its probabilities within 1e-5 absolute;
#  - refusals: no --weights, no -o, a checkpoint of another model (the trainer's
#    message, no file written).
# Python: a venv at ONNX_VENV (default build/onnx-venv) with PyPI's onnx, onnxruntime and
# numpy, made here when missing (small: no torch).  If it cannot be made (no network),
# the test FAILS: it never passes without having run ONNX Runtime.
# Needs ./netc, build/libnetcrt.a (make) and the Debian Fashion-MNIST data.
set -u
cd "$(dirname "$0")/.."
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX} OPENBLAS_NUM_THREADS=1
VENV=${ONNX_VENV:-build/onnx-venv}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

have_venv() { "$VENV/bin/python" -c 'import onnx, onnxruntime, numpy' 2>/dev/null; }
if ! have_venv; then
  echo "making $VENV (PyPI onnx, onnxruntime, numpy; log $VENV-install.log)"
  rm -rf "$VENV"
  { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q onnx onnxruntime numpy; } >"$VENV-install.log" 2>&1
  if ! have_venv; then
    echo "FAIL: cannot make the venv $VENV with onnx and onnxruntime (no network?); the last lines of its log:"
    tail -5 "$VENV-install.log" | sed 's/^/    /'
    exit 1
  fi
fi
"$VENV/bin/python" -c 'import onnx, onnxruntime; print("onnx", onnx.__version__, "onnxruntime", onnxruntime.__version__)'

one_model() {  # one_model MODEL: trains, exports, predicts, checks; touches $tmp/MODEL.ok on success
  local m=$1 d=$tmp/$1
  mkdir -p "$d"
  if ! ./netc build "models/$m.net" -o "$d/trainer" >"$d/log" 2>&1 ||
     ! "$d/trainer" train --epochs 1 --limit 300 --test-limit 100 --early-stopping 0 --out "$d/ckpt" >>"$d/log" 2>&1; then
    echo "FAIL: $m: training failed:"; tail -5 "$d/log"; return 0
  fi
  if ! ./netc export-onnx "models/$m.net" --weights "$d/ckpt" -o "$d/$m.onnx" 2>"$d/export.log"; then
    echo "FAIL: $m: export-onnx failed:"; sed 's/^/    /' "$d/export.log"; return 0
  fi
  if ! "$d/trainer" predict --ckpt "$d/ckpt" --split test --top 10 -o "$d/predict.csv" >>"$d/log" 2>&1; then
    echo "FAIL: $m: the trainer's predict failed:"; tail -5 "$d/log"; return 0
  fi
  local bn normalised=no
  bn=$(./netc summary "models/$m.net" | grep -c ' (batchnorm) ')
  grep -Eq '^\s*(mean|std)\s*=' "models/$m.net" && normalised=yes
  "$VENV/bin/python" tests/harness/onnx_check.py "$d/$m.onnx" "$d/predict.csv" --batchnorms "$bn" \
    --normalised "$normalised" && touch "$tmp/$m.ok"
}
export -f one_model
export tmp VENV
# two models at a time (the test machine has two cores)
ls models/*.net | xargs -n 1 basename | sed 's/\.net$//' | xargs -P 2 -I{} bash -c 'one_model {}'
n=$(ls "$tmp"/*.ok 2>/dev/null | wc -l)
total=$(ls models/*.net | wc -l)
echo "$n of $total models exported to ONNX and checked against the trainer with ONNX Runtime"
[ "$n" -eq "$total" ] || fail=1

refused() {  # refused EXPECTED-MESSAGE ARGS...: netc export-onnx ARGS fails, saying so, writing no file
  local want=$1; shift
  rm -f "$tmp/refused.onnx"
  if ./netc export-onnx "$@" >"$tmp/refused.log" 2>&1; then
    echo "FAIL: export-onnx $* was accepted"; fail=1
  elif ! grep -q -- "$want" "$tmp/refused.log"; then
    echo "FAIL: export-onnx $*: expected '$want', got: $(cat "$tmp/refused.log")"; fail=1
  elif [ -e "$tmp/refused.onnx" ]; then
    echo "FAIL: export-onnx $* was refused but wrote its file"; fail=1
  else
    echo "ok: refused: $want"
  fi
}
refused "--weights CKPT_OR_NPZ is required" models/lenet5.net -o "$tmp/refused.onnx"
refused "-o FILE.onnx is required" models/lenet5.net --weights "$tmp/lenet5/ckpt"
refused "model" models/lenet.net --weights "$tmp/lenet5/ckpt" -o "$tmp/refused.onnx"
refused "--weights-in to export-c" models/lenet5.net --weights "$tmp/lenet5/ckpt" --weights-in blob \
  -o "$tmp/refused.onnx"
exit $fail
