"""The tables of bench/profile_steps.sh, from bench/prof_steps.c's lines (standard library only).

  python3 profile_table.py STEPS EPOCH_SECONDS IMAGES

STEPS: `step SECONDS CALLS MEDIAN LABEL` lines (LABEL: the step's comment in the generated C, e.g.
`step 4: conv2d_2 = maxpool2d_1 -> conv2d(32, 5, pad = 2) -> [n, 32, 14, 14]  file:13:12`,
`step 16: backward of conv2d_2`, `step 21: optimizer over all 29034 parameters`) and one
`train_step SECONDS CALLS` line.  Prints a line with the epoch's seconds split into the
train_steps and the rest (batching the data, the loop), then two Markdown tables: per kind
of work (an op's forward, its backward, the loss, the optimizer, zeroing the gradients),
then per step; the median and the mean ms per batch, and the share of the medians' sum.
Steps that take no time (views) are left out."""
import re, sys

STEP = re.compile(r"step \d+: (\w+) = .*?-> ((\w+)\([^)]*\))")
BACKWARD = re.compile(r"step \d+: backward of (\w+)")


def main():
    epoch, images = float(sys.argv[2]), int(sys.argv[3])
    steps, batches, in_steps = [], 1, 0.0
    for line in open(sys.argv[1]):
        word, rest = line.split(" ", 1)
        if word == "train_step":
            in_steps, batches = float(rest.split()[0]), int(rest.split()[1])
            continue
        total, calls, median, label = rest.rstrip("\n").split(" ", 3)
        steps.append((float(median), float(total) / int(calls), label))
    op_of, rows, kinds = {}, [], {}
    for median, mean, label in steps:
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
    step_median = sum(m for m, _, _ in steps)

    def cells(median, mean):
        return f"{1000 * median:.3f} | {1000 * mean:.3f} | {100 * median / step_median:.1f}%"

    print(f"epoch {epoch:.2f} s for {images} images in {batches} batches ({images / epoch:,.0f} img/s):"
          f" train_step {in_steps:.2f} s ({100 * in_steps / epoch:.1f}%), data and loop"
          f" {epoch - in_steps:.2f} s ({100 * (epoch - in_steps) / epoch:.1f}%)."
          f" A train_step's median steps add up to {1000 * step_median:.2f} ms.")
    print()
    print("| work | median ms per batch | mean ms | share of train_step (medians) |")
    print("|---|---:|---:|---:|")
    for kind, (median, mean) in sorted(kinds.items(), key=lambda kv: -kv[1][0]):
        if mean >= 1e-6:
            print(f"| {kind} | {cells(median, mean)} |")
    print()
    print("| step | median ms per batch | mean ms | share of train_step (medians) |")
    print("|---|---:|---:|---:|")
    for name, median, mean in rows:
        if mean >= 1e-6:
            print(f"| {name} | {cells(median, mean)} |")


if __name__ == "__main__":
    main()
