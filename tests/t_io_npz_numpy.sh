#!/usr/bin/env bash
# netc's .npz files against NumPy's own reader and writer, both ways:
#   - numpy.load reads the archive netc writes (test_npz --write-sample) with the right
#     array names, shapes, dtype float32 and exact values;
#   - netc reads the archives numpy.savez and numpy.savez_compressed write, exactly, and
#     refuses numpy's float64, int32, big-endian and Fortran-order arrays by name
#     (test_npz --read-sample).
# Uses /usr/bin/python3 (Debian's python3-numpy); skips, saying so, without numpy.
# Needs build/tests/test_npz (make unit).  Run from the repository root.
set -u
cd "$(dirname "$0")/.."

BIN=${BIN:-build/tests/test_npz}
PY=/usr/bin/python3
if [ ! -x "$BIN" ]; then
  echo "FAIL: $BIN not built (run make unit)"
  exit 1
fi
if ! "$PY" -c 'import numpy' 2>/dev/null; then
  echo "skip: $PY has no numpy (apt-get install python3-numpy); nothing checked"
  exit 0
fi

tmp=$(mktemp -d /tmp/netc_t_io_npz.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

"$BIN" --write-sample "$tmp/netc.npz" || { echo "FAIL: netc could not write $tmp/netc.npz"; exit 1; }

"$PY" - "$tmp" <<'EOF' || exit 1
import sys
import numpy as np

d = sys.argv[1]
# The sample arrays of tests/unit/test_npz.c: value i of array a is
# ((i % 97) - 48) * 0.125 + a, exact in float32.
sample = [("conv1.weight", (6, 1, 5, 5)), ("conv1.bias", (6,)), ("fc.w", (120, 84)), ("scalar", ())]

def values(a, shape):
    n = int(np.prod(shape)) if shape else 1
    i = np.arange(n)
    return (((i % 97) - 48) * 0.125 + a).astype(np.float32).reshape(shape)

bad = 0
with np.load(f"{d}/netc.npz") as z:
    names = sorted(z.files)
    want = sorted(n for n, _ in sample)
    if names != want:
        print(f"FAIL: numpy sees arrays {names}, expected {want}")
        bad += 1
    for a, (name, shape) in enumerate(sample):
        if name not in z.files:
            continue
        x = z[name]
        if x.dtype != np.float32 or x.shape != shape or not np.array_equal(x, values(a, shape)):
            print(f"FAIL: {name}: numpy reads dtype {x.dtype} shape {x.shape}, "
                  f"expected float32 {shape} and the sample values")
            bad += 1
        else:
            print(f"ok: numpy.load reads netc's {name}: float32 {shape}, values equal")

arrays = {name: values(a, shape) for a, (name, shape) in enumerate(sample)}
np.savez(f"{d}/np_savez.npz", **arrays)
np.savez_compressed(f"{d}/np_compressed.npz", **arrays)
m = np.arange(12, dtype=np.float32).reshape(3, 4)
np.savez(f"{d}/np_bad.npz", f64=m.astype(np.float64), i32=m.astype(np.int32),
         big=m.astype(">f4"), fortran=np.asfortranarray(m))
sys.exit(1 if bad else 0)
EOF

"$BIN" --read-sample "$tmp" || { echo "FAIL: netc could not read numpy's files"; exit 1; }
echo "t_io_npz_numpy: all checks passed"
