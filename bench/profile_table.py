"""The tables of bench/profile_steps.sh, from bench/prof_steps.c's lines (standard library only).

  python3 profile_table.py STEPS EPOCH_SECONDS IMAGES CLOCK

STEPS: `step SECONDS CALLS MEDIAN LABEL` lines (LABEL: the step's comment in the generated C, e.g.
`step 4: conv2d_2 = maxpool2d_1 -> conv2d(32, 5, pad = 2) -> [n, 32, 14, 14]  file:13:12`,
`step 16: backward of conv2d_2`, `step 21: optimizer over all 29034 parameters`, or
`zero the gradients`, `data and loop (between train_steps)`); EPOCH_SECONDS the epoch's wall
time from the trainer's log; CLOCK the name of the clock the steps were timed with.  Prints
a line with the epoch's throughput, then two Markdown tables: per kind of work (an op's
forward, its backward, the loss, the optimizer, zeroing the gradients, the data and loop),
then per step; the median and the mean ms per batch, and the share of the medians' sum.
Steps that take no time (views) are left out."""
import re, sys

STEP = re.compile(r"step \d+: (\w+) = .*?-> ((\w+)\([^)]*\))")
BACKWARD = re.compile(r"step \d+: backward of (\w+)")


def main():
    epoch, images, clock = float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    steps = []
    for line in open(sys.argv[1]):
        total, calls, median, label = line.rstrip("\n").split(" ", 4)[1:]
        steps.append((float(median), float(total) / int(calls), int(calls), label))
    batches = max(c for _, _, c, _ in steps)
    op_of, rows, kinds = {}, [], {}
    for median, mean, _, label in steps:
        fwd, bwd = STEP.match(label), BACKWARD.match(label)
        if fwd:
            op_of[fwd.group(1)] = fwd.group(3)
            kind, name = f"{fwd.group(3)} forward", f"{fwd.group(1)} = {fwd.group(2)}"
        elif bwd:
            kind, name = f"{op_of.get(bwd.group(1), '?')} backward", f"backward of {bwd.group(1)}"
        elif label.startswith("step") and "loss" in label:
            kind = name = "loss (softmax cross-entropy and its gradient)"
        elif "optimizer" in label:
            kind = name = "optimizer (Adam)"
        else:
            kind = name = label
        k = kinds.setdefault(kind, [0.0, 0.0])
        k[0] += median
        k[1] += mean
        rows.append((name, median, mean))
    per_batch = sum(m for _, m, _ in rows)

    def cells(median, mean):
        return f"{1000 * median:.3f} | {1000 * mean:.3f} | {100 * median / per_batch:.1f}%"

    print(f"epoch {epoch:.2f} s (wall clock) for {images} images in {batches} batches: {images / epoch:,.0f} img/s;"
          f" a batch's medians ({clock} time) add up to {1000 * per_batch:.2f} ms.")
    print()
    print(f"| work | median ms per batch ({clock}) | mean ms | share (medians) |")
    print("|---|---:|---:|---:|")
    for kind, (median, mean) in sorted(kinds.items(), key=lambda kv: -kv[1][0]):
        if mean >= 1e-6:
            print(f"| {kind} | {cells(median, mean)} |")
    print()
    print(f"| step | median ms per batch ({clock}) | mean ms | share (medians) |")
    print("|---|---:|---:|---:|")
    for name, median, mean in rows:
        if mean >= 1e-6:
            print(f"| {name} | {cells(median, mean)} |")


if __name__ == "__main__":
    main()
