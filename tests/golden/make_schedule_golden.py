#!/usr/bin/env python3
"""make_schedule_golden.py -- tests/golden/schedules.txt: per-step learning-rate schedules.

Each case is a PyTorch scheduler stepped after every batch, as notebook 001 steps
CosineAnnealingLR, CosineAnnealingWarmRestarts and CyclicLR, and the netc settings that
say the same (schedule.unit = step).  The file holds, for each case, the learning rate
the optimizer uses at step k = 0, 1, ...: the lr in the optimizer's param group after k
calls of scheduler.step().  tests/unit/test_trainer.c compares rt_lr_at with every value.

With PyTorch importable (e.g. /work/main/build/bench-venv/bin/python) the values are
torch's own, from a real optimizer and scheduler; the closed forms below (PyTorch's
documented definitions, written without torch) are computed as well and must agree to
1e-9 relative, or the script fails.  Without torch (--no-torch, or torch missing) the
file is written from the closed forms and its header says so.

    python3 tests/golden/make_schedule_golden.py [--no-torch] [-o tests/golden/schedules.txt]
"""
import argparse
import math
import sys

# name, steps, netc settings (trainer keys), the PyTorch scheduler and its arguments
CASES = [
    ("warm_restarts_t0_100_tmult_2", 1600,
     dict(lr=0.001, schedule="warm_restarts", **{"schedule.unit": "step", "schedule.t_0": 100, "schedule.t_mult": 2}),
     ("CosineAnnealingWarmRestarts", dict(T_0=100, T_mult=2))),
    ("warm_restarts_t0_300_eta_min", 1000,
     dict(lr=0.001, schedule="warm_restarts",
          **{"schedule.unit": "step", "schedule.t_0": 300, "schedule.t_mult": 1, "schedule.eta_min": 1e-5}),
     ("CosineAnnealingWarmRestarts", dict(T_0=300, T_mult=1, eta_min=1e-5))),
    ("cosine_t_max_400", 1000,
     dict(lr=0.01, schedule="cosine", **{"schedule.unit": "step", "schedule.t_max": 400, "schedule.eta_min": 1e-4}),
     ("CosineAnnealingLR", dict(T_max=400, eta_min=1e-4))),
    ("cyclic_triangular", 300,
     dict(lr=0.001, schedule="cyclic", **{"schedule.base_lr": 1e-4, "schedule.max_lr": 1e-3, "schedule.step_size": 40}),
     ("CyclicLR", dict(base_lr=1e-4, max_lr=1e-3, step_size_up=40, mode="triangular", cycle_momentum=False))),
    ("cyclic_triangular2", 700,
     dict(lr=0.01, schedule="cyclic",
          **{"schedule.mode": "triangular2", "schedule.base_lr": 1e-4, "schedule.max_lr": 1e-2, "schedule.step_size": 100}),
     ("CyclicLR", dict(base_lr=1e-4, max_lr=1e-2, step_size_up=100, mode="triangular2", cycle_momentum=False))),
    ("cyclic_exp_range", 400,
     dict(lr=0.001, schedule="cyclic",
          **{"schedule.mode": "exp_range", "schedule.gamma": 0.995, "schedule.base_lr": 1e-4, "schedule.max_lr": 1e-3,
             "schedule.step_size": 50}),
     ("CyclicLR", dict(base_lr=1e-4, max_lr=1e-3, step_size_up=50, mode="exp_range", gamma=0.995,
                       cycle_momentum=False))),
    ("step_per_step", 500,
     dict(lr=0.1, schedule="step", **{"schedule.unit": "step", "schedule.step_size": 120, "schedule.gamma": 0.5}),
     ("StepLR", dict(step_size=120, gamma=0.5))),
]


def closed_form(kind, a, lr, k):
    """The lr of step k (0-based), from the PyTorch documentation's definitions."""
    if kind == "CosineAnnealingLR":
        eta = a.get("eta_min", 0.0)
        return eta + (lr - eta) * (1 + math.cos(math.pi * k / a["T_max"])) / 2
    if kind == "CosineAnnealingWarmRestarts":
        eta, t_i, t_cur = a.get("eta_min", 0.0), a["T_0"], k
        while t_cur >= t_i:
            t_cur -= t_i
            t_i *= a.get("T_mult", 1)
        return eta + (lr - eta) * (1 + math.cos(math.pi * t_cur / t_i)) / 2
    if kind == "StepLR":
        return lr * a["gamma"] ** (k // a["step_size"])
    if kind == "CyclicLR":
        size = a["step_size_up"]
        cycle = math.floor(1 + k / (2 * size))
        x = abs(k / size - 2 * cycle + 1)
        height = (a["max_lr"] - a["base_lr"]) * max(0.0, 1 - x)
        scale = {"triangular": 1.0, "triangular2": 1 / 2.0 ** (cycle - 1),
                 "exp_range": a.get("gamma", 1.0) ** k}[a["mode"]]
        return a["base_lr"] + height * scale
    raise ValueError(kind)


def torch_series(torch, kind, a, lr, steps):
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=lr)
    sched = getattr(torch.optim.lr_scheduler, kind)(opt, **a)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])   # the lr this optimizer step uses
        opt.step()
        sched.step()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", "--out", default="tests/golden/schedules.txt")
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args()
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("torch is not importable: writing the closed forms", file=sys.stderr)
    source = f"torch {torch.__version__}" if torch else "closed forms (no torch)"
    lines = [
        "# tests/golden/schedules.txt, written by tests/golden/make_schedule_golden.py: do not edit.",
        f"# source: {source}.  Per case: 'case NAME STEPS key=value...' (netc's settings), then",
        "# the lr of optimizer steps 0 .. STEPS-1, one a line.",
    ]
    worst = 0.0
    for name, steps, settings, (kind, a) in CASES:
        ref = [closed_form(kind, a, settings["lr"], k) for k in range(steps)]
        values = ref
        if torch:
            values = torch_series(torch, kind, a, settings["lr"], steps)
            for k, (t, r) in enumerate(zip(values, ref)):
                d = abs(t - r) / max(abs(r), 1e-300)
                worst = max(worst, d)
                if d > 1e-9:
                    sys.exit(f"{name}: step {k}: torch {t!r}, closed form {r!r}")
        lines.append(f"case {name} {steps} " + " ".join(f"{k}={v}" for k, v in settings.items()))
        lines += [repr(float(v)) for v in values]
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    note = f"; torch vs closed forms: worst relative difference {worst:.3g}" if torch else ""
    print(f"wrote {args.out}: {len(CASES)} cases from {source}{note}")


if __name__ == "__main__":
    main()
