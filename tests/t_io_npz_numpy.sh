#!/usr/bin/env bash
# netc's .npz files against NumPy's own reader and writer, both ways:
#   - numpy.load reads the archive netc writes (test_npz --write-sample) with the right
#     array names, shapes, dtype float32 and exact values;
#   - netc reads the archives numpy.savez and numpy.savez_compressed write, exactly, and
#     refuses numpy's float64, int32, big-endian and Fortran-order arrays by name
#     (test_npz --read-sample);
#   - netc accepts exactly the .npy headers numpy.load accepts: 25 made headers (bytes
#     after the dict's '}', a NUL in descr, comments, line breaks, Python 2's 3L, an
#     overlong header, ...), each judged by numpy itself and by test_npz --load.
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
# ---- headers: netc's verdict is numpy's ----
"$PY" - "$tmp/headers" >"$tmp/verdicts" <<'EOF' || { echo "FAIL: making the headers"; exit 1; }
import os, struct, sys, zipfile
import numpy as np

d = sys.argv[1]
os.makedirs(d)
D = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
cases = {
    "padded_as_numpy": D + " " * 5 + "\n",
    "no_newline": D,
    "trailing_tab": D + "\t\n",
    "trailing_cr": D + "\r\n",
    "trailing_formfeed": D + "\f\n",
    "trailing_comment": D + "  # a note\n",
    "leading_space": "  " + D + "\n",
    "lines_inside": "{'descr': '<f4',\n 'fortran_order': False,\n 'shape': (2, 3)}\n",
    "garbage_after": D + " x\n",
    "second_dict_after": D + "{}\n",
    "comma_after": D + ",\n",
    "brace_after": D + "}\n",
    "vtab_after": D + "\v\n",
    "nul_after": D + "\0\n",
    "nul_padding": D + "\0" * 4 + "\n",
    "nul_in_descr": "{'descr': '<f4\0', 'fortran_order': False, 'shape': (2, 3), }\n",
    "nul_before_descr": "{'descr': '\0<f4', 'fortran_order': False, 'shape': (2, 3), }\n",
    "newline_in_descr": "{'descr': '<f4\n', 'fortran_order': False, 'shape': (2, 3), }\n",
    "unclosed": "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)\n",
    "extra_key": "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}\n",
    "missing_key": "{'descr': '<f4', 'shape': (2, 3)}\n",
    "fortran_as_int": "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}\n",
    "shape_python2_long": "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }\n",
    "shape_python2_long_v3": ("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }\n", 3),
    "header_over_10000": (D + " " * 10050 + "\n", 2),
}
data = np.arange(6, dtype="<f4").tobytes()
for name, h in cases.items():
    h, version = h if isinstance(h, tuple) else (h, 1)
    b = h.encode("latin1")
    size = struct.pack("<H", len(b)) if version == 1 else struct.pack("<I", len(b))
    path = f"{d}/{name}.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a.npy", b"\x93NUMPY" + bytes([version, 0]) + size + b + data)
    try:
        with np.load(path) as z:
            z["a"]
        verdict = "accepts"
    except Exception:
        verdict = "refuses"
    print(name, verdict)
EOF
bad=0
while read -r name numpy; do
  if "$BIN" --load "$tmp/headers/$name.npz" a >/dev/null 2>"$tmp/err"; then netc=accepts; else netc=refuses; fi
  if [ "$netc" = "$numpy" ]; then
    echo "ok: header $name: numpy and netc both ${numpy%s}"
  else
    echo "FAIL: header $name: numpy $numpy it, netc $netc it: $(cat "$tmp/err")"; bad=1
  fi
done <"$tmp/verdicts"
[ "$(wc -l <"$tmp/verdicts")" -ge 20 ] || { echo "FAIL: too few header cases"; bad=1; }
[ $bad -eq 0 ] || exit 1
echo "t_io_npz_numpy: all checks passed"
