#!/usr/bin/env python3
"""forge_ckpt.py CKPT OUTDIR: writes OUTDIR/NAME.ckpt, one forged checkpoint per case
below, and prints the case names, one a line.  forge_ckpt.py --tiny PATH writes a valid
checkpoint of the tiny model of tests/fuzz/fuzz_ckpt.c (the fuzz corpus's seed).

Each forgery is structurally valid where the case does not say otherwise -- the
header's size and the trailing CRC-32 are recomputed, so ckpt.c's checks pass -- but
holds hostile contents: sections missing or mistyped, impossible sizes and counts,
random streams that can never advance, steps that overflow, a data order that is no
permutation of the training split, a data shape no model takes, settings that do not
parse, NaN weights.  The case "control" is CKPT parsed and written back unchanged: it
must load, which shows the forger writes the format right.  The format is
docs/checkpoint.md; this script follows it on its own (it shares no code with
ckpt.c), with only the standard library (struct, zlib)."""
import math
import os
import struct
import sys
import zlib

DTYPES = {1: "B", 2: "i", 3: "I", 4: "q", 5: "Q", 6: "f", 7: "d"}
SIZES = {1: 1, 2: 4, 3: 4, 4: 8, 5: 8, 6: 4, 7: 8}


class Section:
    def __init__(self, name, dtype, dims, data):
        self.name, self.dtype, self.dims, self.data = name, dtype, list(dims), data

    def values(self):
        n = len(self.data) // SIZES[self.dtype]
        return list(struct.unpack("<%d%s" % (n, DTYPES[self.dtype]), self.data))

    def set_values(self, vals):
        self.data = struct.pack("<%d%s" % (len(vals), DTYPES[self.dtype]), *vals)
        if self.dims:
            self.dims = [len(vals)] if len(self.dims) == 1 else self.dims


def parse(blob):
    assert blob[:8] == b"NETCCKPT"
    nsec, = struct.unpack_from("<I", blob, 12)
    mhash, = struct.unpack_from("<Q", blob, 24)
    mlen, = struct.unpack_from("<H", blob, 32)
    model = blob[34:34 + mlen]
    off = 34 + mlen
    secs = []
    for _ in range(nsec):
        nlen, = struct.unpack_from("<H", blob, off)
        name = blob[off + 2:off + 2 + nlen].decode()
        off += 2 + nlen
        dtype, ndim = blob[off], blob[off + 1]
        off += 2
        dims = list(struct.unpack_from("<%dQ" % ndim, blob, off))
        off += 8 * ndim
        nbytes, = struct.unpack_from("<Q", blob, off)
        off += 8
        off += (8 - off % 8) % 8
        secs.append(Section(name, dtype, dims, blob[off:off + nbytes]))
        off += nbytes
    return model, mhash, secs


def record(s, off, nbytes=None, ndim=None, dims=None, dtype=None):
    """One section record placed at file offset off: header, padding, data."""
    name = s.name.encode()
    dims = s.dims if dims is None else dims
    rec = struct.pack("<H", len(name)) + name
    rec += bytes([s.dtype if dtype is None else dtype, len(dims) if ndim is None else ndim])
    rec += b"".join(struct.pack("<Q", d) for d in dims)
    rec += struct.pack("<Q", len(s.data) if nbytes is None else nbytes)
    pad = (8 - (off + len(rec)) % 8) % 8
    return rec + bytes(pad) + s.data


def write(path, model, mhash, secs, nsec=None, raw_records=None, tail=b""):
    body = b""
    off = 34 + len(model)
    if raw_records is None:
        for s in secs:
            r = record(s, off)
            body += r
            off += len(r)
    else:
        body = raw_records(off)
    body += tail
    total = 34 + len(model) + len(body) + 4
    head = b"NETCCKPT" + struct.pack("<IIQQH", 1, len(secs) if nsec is None else nsec, total, mhash, len(model))
    blob = head + model + body
    with open(path, "wb") as f:
        f.write(blob + struct.pack("<I", zlib.crc32(blob) & 0xFFFFFFFF))


def tiny(path):
    """A valid checkpoint of fuzz_ckpt.c's tiny model: 1x2x2 inputs, 2 classes, 10
    parameters, 2 state values, 4 training examples (no validation split)."""
    def sec(name, fmt, vals, scalar=False):
        dtype = {v: k for k, v in DTYPES.items()}[fmt]
        return Section(name, dtype, [] if scalar else [len(vals)], struct.pack("<%d%s" % (len(vals), fmt), *vals))
    text = lambda name, b: Section(name, 1, [len(b)], b)
    secs = [text("config", b"valid_split=0\n"), text("class_names", b"zero\none\n"),
            sec("data.shape", "i", [1, 2, 2]), sec("data.sizes", "Q", [4, 2]),
            sec("params", "f", [0.1 * i for i in range(10)]), sec("state", "f", [0.0, 1.0]),
            sec("opt.m", "f", [0.01] * 10), sec("opt.v", "f", [0.001] * 10), sec("opt.t", "q", [3], True),
            sec("train.position", "Q", [1, 2, 3]), sec("train.order", "I", [3, 1, 0, 2]),
            sec("train.epoch_sums", "d", [0.5, 1.0, 2.0, 0.1]), sec("early_stopping", "d", [math.inf, 0.0, 0.0]),
            sec("lr", "d", [0.01]), sec("rng.data", "Q", [12345, 5]), sec("rng.dropout", "Q", [6789, 7]),
            sec("rng.augment", "Q", [42, 9])]
    write(path, b"fuzz", 0x66757A7A, secs)


def main():
    if sys.argv[1] == "--tiny":
        tiny(sys.argv[2])
        return
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    with open(src, "rb") as f:
        model, mhash, base = parse(f.read())
    names = [s.name for s in base]
    cases = []

    def case(name, edit=None, **kw):
        secs = [Section(s.name, s.dtype, s.dims, s.data) for s in base]
        by = {s.name: s for s in secs}
        edited = edit(secs, by) if edit else None
        if edited is not None:
            secs = edited
        write(os.path.join(out, name + ".ckpt"), model, mhash, secs, **kw)
        cases.append(name)

    def setv(section, fn):
        def edit(secs, by):
            s = by[section]
            s.set_values(fn(s.values()))
        return edit

    def at(i, v):
        return lambda vals: vals[:i] + [v] + vals[i + 1:]

    def text(section, data):
        def edit(secs, by):
            by[section].data = data
            by[section].dims = [len(data)]
        return edit

    case("control")
    # -- structure (the table parses only with the right records) --
    case("no_sections", lambda secs, by: [])
    case("nsec_huge", nsec=0xFFFFFFFF)
    case("nsec_one_more", nsec=len(names) + 1)
    case("bytes_after_sections", tail=bytes(16))
    first = base[0]
    case("name_len_zero", raw_records=lambda off: b"\0\0" + record(first, off)[2:])
    case("dtype_unknown", raw_records=lambda off: record(first, off, dtype=9))
    case("ndim_nine", raw_records=lambda off: record(first, off, ndim=9))
    case("size_not_product", raw_records=lambda off: record(first, off, nbytes=len(first.data) + 1))
    case("dims_overflow", raw_records=lambda off: record(first, off, dims=[1 << 32, 1 << 32, 1 << 8]))
    case("size_past_end", raw_records=lambda off: record(first, off, dims=[1 << 40], nbytes=1 << 40))
    case("duplicate_section", lambda secs, by: secs + [by["lr"]])
    # -- sections missing, mistyped, miscounted --
    for n in names:
        case("missing_" + n.replace(".", "_"), lambda secs, by, n=n: [s for s in secs if s.name != n])

    def retype(section, dtype):
        def edit(secs, by):
            by[section].dtype = dtype
        return edit

    case("params_as_int32", retype("params", 2))
    case("params_short", setv("params", lambda v: v[:-1]))
    # -- random streams: PCG needs an odd increment --
    case("rng_data_zero", setv("rng.data", lambda v: [0, 0]))
    case("rng_dropout_even", setv("rng.dropout", lambda v: [v[0], v[1] & ~1]))
    case("rng_augment_even", setv("rng.augment", lambda v: [0, 2]))
    # -- optimizer step count and position --
    case("opt_t_int64_max", setv("opt.t", lambda v: [(1 << 63) - 1]))
    case("opt_t_negative", setv("opt.t", lambda v: [-1]))
    case("opt_t_not_step", setv("opt.t", lambda v: [v[0] + 1]))
    case("epoch_huge", setv("train.position", at(0, (1 << 64) - 1)))
    case("pos_past_epoch", setv("train.position", lambda v: [v[0], len(by_name(base, "train.order").values()) + 1, v[2]]))
    def step_huge(secs, by):
        by["train.position"].set_values(by["train.position"].values()[:2] + [1 << 62])
        by["opt.t"].set_values([1 << 62])
    case("step_huge", step_huge)
    # -- the data order: a permutation of the training split --
    order = by_name(base, "train.order").values()
    nexamples = by_name(base, "data.sizes").values()[0]
    held_out = min(set(range(nexamples)) - set(order)) if len(order) < nexamples else None
    case("order_duplicate", setv("train.order", at(1, order[0])))
    case("order_out_of_range", setv("train.order", at(0, nexamples + 5)))
    if held_out is not None:
        case("order_takes_validation", setv("train.order", at(0, held_out)))
    case("order_short", setv("train.order", lambda v: v[:-1]))
    case("order_empty", setv("train.order", lambda v: []))
    # -- the data --
    case("shape_minus_one", setv("data.shape", lambda v: [-1, -1, -1]))
    case("shape_zero", setv("data.shape", lambda v: [0, 0, 0]))
    case("shape_larger_than_input", setv("data.shape", lambda v: [v[0], v[1] + 1000, v[2]]))
    case("shape_channels", setv("data.shape", lambda v: [v[0] + 2, v[1], v[2]]))
    case("shape_huge", setv("data.shape", lambda v: [1, 1 << 30, 1 << 30]))
    case("sizes_zero", setv("data.sizes", lambda v: [0, v[1]]))
    case("sizes_huge", setv("data.sizes", lambda v: [(1 << 64) - 1, v[1]]))
    case("sizes_one_more", setv("data.sizes", lambda v: [v[0] + 1, v[1]]))
    # -- text --
    cfg = by_name(base, "config").data
    case("config_garbage", text("config", b"\x01\x02garbage=\xff\n"))
    case("config_nul", text("config", cfg[:5] + b"\0" + cfg[6:]))
    case("config_unknown_key", text("config", cfg + b"no_such_key=1\n"))
    case("config_lr_nan", text("config", cfg + b"lr=nan\n"))
    case("config_valid_split", text("config", cfg + b"valid_split=0.5\n"))
    case("config_batch_zero", text("config", cfg + b"batch=0\n"))
    case("names_escape", text("class_names", b"\x1b[2J\x1b[31mpwned\n" * 10))
    # -- numbers --
    case("params_nan", setv("params", at(0, math.nan)))
    case("params_inf", setv("params", lambda v: v[:-1] + [math.inf]))
    if "state" in names:
        case("state_nan", setv("state", at(0, math.nan)))
    case("opt_m_nan", setv("opt.m", at(0, math.nan)))
    case("opt_v_negative", setv("opt.v", at(0, -1.0)))
    case("lr_nan", setv("lr", lambda v: [math.nan]))
    case("lr_negative", setv("lr", lambda v: [-1.0]))
    case("epoch_sums_nan", setv("train.epoch_sums", at(0, math.nan)))
    case("early_stopping_nan", setv("early_stopping", at(0, math.nan)))
    case("best_epoch_future", setv("early_stopping", at(1, 1e9)))
    print("\n".join(cases))


def by_name(secs, name):
    return next(s for s in secs if s.name == name)


if __name__ == "__main__":
    main()
