#!/usr/bin/env bash
# The README's first command: installs whatever is missing (Debian packages, as root),
# builds netc, builds the trainer of models/lenet_bn.net and trains it on Fashion-MNIST,
# ending with its test accuracy.  EPOCHS=N overrides the model's 10 epochs.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
make
./netc build models/lenet_bn.net -o build/lenetbn
mkdir -p out
build/lenetbn train --epochs "${EPOCHS:-10}" --out out/lenetbn.ckpt
