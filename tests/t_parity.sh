#!/usr/bin/env bash
# Whole-model parity with PyTorch through the committed goldens of tests/golden/ (see
# tests/golden/README.md): for each model, netc compiles models/M.net, the generated C is
# built with tests/harness/parity.c against build/libnetcrt.a, and the harness runs three
# Adam steps from the golden's starting point (steps 2 and 3 teacher-forced: each starts
# from PyTorch's state after the step before) and compares the loss, the probabilities,
# every gradient and every parameter and running statistic after each step with
# PyTorch's, within the tolerances stated in parity.c and tests/golden/README.md.
# Then the harness runs once more under ASan/UBSan against build-san/libnetcrt.a, when
# that library exists and is not older than the runtime sources.
# Needs ./netc and build/libnetcrt.a (make); no Python.  Run from anywhere; exits 0 if
# every model matches, 1 otherwise.
set -u
cd "$(dirname "$0")/.."

MODELS=(lenet_bn simplenet resnet_small)
BATCH=8          # the goldens' batch (BATCH in tests/golden/make_golden.py)
SAN_MODELS=(lenet_bn resnet_small simplenet)
CC=${CC:-cc}
CFLAGS=(-std=c11 -Wall -Wextra -Werror -Iruntime)
LIBS=(-lopenblas -lzip -lz -lm)

fail=0
for f in ./netc build/libnetcrt.a tests/harness/parity.c; do
  if [ ! -e "$f" ]; then
    echo "FAIL: $f is missing (run make)"
    exit 1
  fi
done

tmp=$(mktemp -d /tmp/netc_t_parity.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# build NAME LIBRARY FLAGS... : compiles models/NAME.net and the harness into $tmp/NAME/
build() {
  local m=$1 lib=$2 dir=$tmp/$m; shift 2
  mkdir -p "$dir"
  if ! ./netc compile "models/$m.net" -o "$dir" --name "$m" --batch "$BATCH" >"$dir/netc.log" 2>&1; then
    echo "FAIL: $m: netc compile models/$m.net failed:"
    sed 's/^/    /' "$dir/netc.log"
    return 1
  fi
  if ! "$CC" "${CFLAGS[@]}" "$@" -I"$dir" -DMODEL="${m}_model" -o "$dir/parity" \
      tests/harness/parity.c "$dir/$m.c" "$lib" "${LIBS[@]}" >"$dir/cc.log" 2>&1; then
    echo "FAIL: $m: the generated C or the harness does not build:"
    sed 's/^/    /' "$dir/cc.log" | head -n 30
    return 1
  fi
}

for m in "${MODELS[@]}"; do
  golden=tests/golden/$m.npz
  echo "== $m"
  if [ ! -f "$golden" ]; then
    echo "FAIL: $golden is missing (tests/golden/README.md says how to make it)"
    fail=1
    continue
  fi
  build "$m" build/libnetcrt.a -O2 || { fail=1; continue; }
  if "$tmp/$m/parity" "$golden"; then
    echo "PASS: $m"
  else
    echo "FAIL: $m does not match PyTorch (golden $golden)"
    fail=1
  fi
done

# The same harness under AddressSanitizer and UndefinedBehaviorSanitizer.
san=${NETC_SAN_LIB:-build-san/libnetcrt.a}   # NETC_SAN_LIB: another sanitizer build of the runtime
if [ ! -f "$san" ]; then
  echo "note: $san not built (make SAN=1); sanitizer run skipped"
elif [ -n "$(find runtime -newer "$san" \( -name '*.c' -o -name '*.h' \) 2>/dev/null | head -n 1)" ]; then
  echo "note: $san is older than runtime/ (make SAN=1 rebuilds it); sanitizer run skipped"
else
  for m in "${SAN_MODELS[@]}"; do
    [ -f "tests/golden/$m.npz" ] || continue
    echo "== $m under ASan/UBSan"
    rm -rf "${tmp:?}/$m"
    build "$m" "$san" -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
      -fno-omit-frame-pointer || { fail=1; continue; }
    if "$tmp/$m/parity" "tests/golden/$m.npz" >"$tmp/$m/san.log" 2>&1; then
      echo "PASS: $m under ASan/UBSan ($(tail -n 1 "$tmp/$m/san.log"))"
    else
      echo "FAIL: $m under ASan/UBSan:"
      tail -n 30 "$tmp/$m/san.log" | sed 's/^/    /'
      fail=1
    fi
  done
fi

[ "$fail" -eq 0 ] && echo "parity: all models match PyTorch" || echo "parity: FAILED"
exit "$fail"
