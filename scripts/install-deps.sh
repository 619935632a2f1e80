#!/usr/bin/env bash
# Installs the Debian packages netc needs, if any is missing.
# As root it runs apt-get; otherwise it names what to install and fails.
set -eu
# The cross compilers and qemu-user build and run the exported inference C on 64-bit ARM
# and a Cortex-M4 (tests/t_infer_build.sh).
pkgs="build-essential flex bison libopenblas-dev zlib1g-dev libzip-dev libpng-dev dataset-fashion-mnist clang python3-numpy"
# libFuzzer (clang -fsanitize=fuzzer) for the fuzz targets of tests/fuzz/ (make fuzz).
pkgs="$pkgs libclang-rt-14-dev"
# PLplot with its cairo driver draws the trainer's plots (PNG, SVG; runtime/plot).
pkgs="$pkgs libplplot-dev plplot-driver-cairo fonts-dejavu-core"
# help2man writes the man pages netc(1) and netc-trainer(1) from --help (make install).
pkgs="$pkgs help2man"
# Open MPI: make builds the runtime with it, and netc build links every trainer with it,
# for data-parallel training under mpirun (runtime/trainer/train_mpi.c, docs/mpi.md).
pkgs="$pkgs libopenmpi-dev openmpi-bin"
# protobuf-c reads and writes ONNX files (netc export-onnx, netc import; compiler/onnx.proto).
pkgs="$pkgs libprotobuf-c-dev protobuf-c-compiler"
pkgs="$pkgs gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user gcc-arm-none-eabi libnewlib-arm-none-eabi"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "netc: missing Debian packages:$missing" >&2
  echo "netc: install them with: sudo apt-get install$missing" >&2
  exit 1
fi
echo "netc: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
