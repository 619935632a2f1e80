#!/usr/bin/env bash
# Writes the seeds of fuzz_onnx.c into tests/fuzz/corpus/onnx/: netc export-onnx of
# onnx_model.net and weights_model.net with their initial weights (a trainer's
# `train --epochs 0` checkpoint).  Needs ./netc and the Debian Fashion-MNIST data.
set -eu
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p tests/fuzz/corpus/onnx
./netc build tests/fuzz/onnx_model.net -o "$tmp/t" 2>/dev/null
"$tmp/t" train --epochs 0 --out "$tmp/t.ckpt" >/dev/null
./netc export-onnx tests/fuzz/onnx_model.net --weights "$tmp/t.ckpt" -o tests/fuzz/corpus/onnx/every_op.onnx
python3 tests/fuzz/make_weights.py "$tmp/w.npz"
./netc export-onnx tests/fuzz/weights_model.net --weights "$tmp/w.npz" -o tests/fuzz/corpus/onnx/small.onnx
