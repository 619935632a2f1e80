#!/usr/bin/env python3
"""make_weights.py OUT.npz: weights for tests/fuzz/weights_model.net, written with the
standard library only (.npy format 1.0, '<f4', stored), for netc export-c to turn into
the weights blob that fuzz_weights.c's seed is.  Values are fixed and small; the
running variances are positive."""
import struct
import sys
import zipfile

TENSORS = [("conv2d_1.weight", (2, 1, 3, 3)), ("conv2d_1.bias", (2,)), ("batchnorm_1.weight", (2,)),
           ("batchnorm_1.bias", (2,)), ("fc.weight", (3, 18)), ("fc.bias", (3,)),
           ("batchnorm_1.running_mean", (2,)), ("batchnorm_1.running_var", (2,))]


def npy(shape, values):
    dims = "(%s)" % "".join("%d, " % d for d in shape) if len(shape) != 1 else "(%d,)" % shape[0]
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % dims
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + struct.pack(
        "<%df" % len(values), *values)


with zipfile.ZipFile(sys.argv[1], "w") as z:
    for k, (name, shape) in enumerate(TENSORS):
        n = 1
        for d in shape:
            n *= d
        vals = [((i * 7 + k) % 11 - 5) / 8.0 for i in range(n)]
        if name.endswith("running_var"):
            vals = [0.5 + i for i in range(n)]
        z.writestr(name + ".npy", npy(shape, vals))
