#!/usr/bin/python3
"""Writes the whole-model PyTorch parity goldens of tests/t_parity.sh.

    /usr/bin/python3 tests/golden/make_golden.py            # all three, into tests/golden/
    /usr/bin/python3 tests/golden/make_golden.py lenet_bn   # one of them
    /usr/bin/python3 tests/golden/make_golden.py --out DIR  # elsewhere

Needs Debian's python3-torch (1.13) and python3-numpy.  For each of models/lenet_bn.net,
models/simplenet.net and models/resnet_small.net it builds the same network by hand in
PyTorch (layer by layer, named as `netc summary` names the layers), draws parameters, a
batch of images and labels, takes three Adam steps on that one batch in train mode and
saves what netc must reproduce in tests/golden/<model>.npz (see README.md for the array
names).

The reference is computed in float64 from float32 starting values (parameters, state and
images are drawn in float32 and widened exactly), then stored as float32: the goldens are
then the exact answer to within float32 rounding of the result, not one more float32
implementation whose accumulation order we would be comparing against.  With --check-f32
the script also repeats each run in float32 and prints how far PyTorch's own float32
result is from the float64 one -- the yardstick for the tolerances of the C harness.
After each step the parameters and running statistics are rounded to float32: the
harness teacher-forces steps 2 and 3 from exactly these values (README.md says why).
simplenet's dense_1.weight gradients are stored as outer-product factors (FACTORED).

Dropout (simplenet only): netc draws its masks from the rt_rng in rt_net (PCG32,
runtime/rng.c), one rt_rng_uniform per value, in memory order, layer by layer in the
order of the forward pass, keeping a value when the draw is >= p (contract documented
at rt_dropout_forward in runtime/rt_kernels.h).  This script replays the same PCG32
stream from the seed stored in "dropout_rng", so the PyTorch copy applies exactly
netc's masks; the harness seeds net->rng with the same seed and stream.
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH = 8
STEPS = 3
ADAM = dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)
DROPOUT_SEED, DROPOUT_STREAM = 4242, 7
MASK64 = (1 << 64) - 1


class PCG32:
    """runtime/rng.c, bit for bit."""

    def __init__(self, seed, stream):
        self.state = 0
        self.inc = ((stream << 1) | 1) & MASK64
        self.u32()
        self.state = (self.state + seed) & MASK64
        self.u32()

    def u32(self):
        old = self.state
        self.state = (old * 6364136223846793005 + self.inc) & MASK64
        xorshifted = (((old >> 18) ^ old) >> 27) & 0xFFFFFFFF
        rot = old >> 59
        return ((xorshifted >> rot) | (xorshifted << ((32 - rot) & 31))) & 0xFFFFFFFF

    def keep_mask(self, n, p):
        """rt_dropout_forward's mask: value i kept iff rt_rng_uniform() >= p, where
        rt_rng_uniform() = (u32 >> 8) * 2^-24 exactly in float32."""
        p32 = float(np.float32(p))
        u = np.fromiter((self.u32() >> 8 for _ in range(n)), dtype=np.int64, count=n)
        return (u.astype(np.float64) * 2.0 ** -24) >= p32


# ---- the three networks, layer by layer, named as netc names them ----

class Net:
    """A list of named layers (netc's names) and a forward function over them."""

    def __init__(self, name, in_shape):
        self.name, self.in_shape = name, in_shape
        self.layers = {}        # netc layer name -> torch module, in creation order
        self.counts = {}

    def add(self, op, module, name=None):
        if name is None:
            self.counts[op] = self.counts.get(op, 0) + 1
            name = f"{op}_{self.counts[op]}"
        self.layers[name] = module
        return name

    def tensors(self):
        """(netc tensor name, torch tensor, trainable) in netc's order: all parameters
        layer by layer, then all batchnorm state."""
        params, state = [], []
        for lname, mod in self.layers.items():
            for pname, p in mod.named_parameters(recurse=False):
                params.append((f"{lname}.{pname}", p, True))
            for bname in ("running_mean", "running_var"):
                if hasattr(mod, bname):
                    state.append((f"{lname}.{bname}", getattr(mod, bname), False))
        return params + state


def conv(net, cin, cout, k, stride=1, pad=0, bias=True, name=None):
    return net.add("conv2d", torch.nn.Conv2d(cin, cout, k, stride, pad, bias=bias), name)


def bn2d(net, c):
    return net.add("batchnorm", torch.nn.BatchNorm2d(c, eps=1e-5, momentum=0.1))


def bn1d(net, c):
    return net.add("batchnorm", torch.nn.BatchNorm1d(c, eps=1e-5, momentum=0.1))


def dense(net, cin, cout, name=None):
    return net.add("dense", torch.nn.Linear(cin, cout), name)


def lenet_bn():
    """models/lenet_bn.net: two lenet_stage(c, bn = true) blocks, flatten, fc."""
    net = Net("lenet_bn", (1, 28, 28))
    L = net.layers
    stages = []
    cin = 1
    for c in (16, 32):
        stages.append((conv(net, cin, c, 5, pad=2), bn2d(net, c)))
        cin = c
    fc = dense(net, 7 * 7 * 32, 10, name="fc")

    def forward(x, masks):
        h = x
        for cv, bn in stages:
            h = F.max_pool2d(F.relu(L[bn](L[cv](h))), 2)
        return L[fc](h.flatten(1))
    net.forward = forward
    return net


def simplenet():
    """models/simplenet.net: simple_stage(32), simple_stage(64), then
    flatten -> dense(512) -> batchnorm -> relu -> dense(10).  simple_stage is
    conv3x3(pad 1) -> relu -> conv3x3(pad 1) -> maxpool(2) -> dropout(0.25) -> relu."""
    net = Net("simplenet", (1, 28, 28))
    L = net.layers
    stages = []
    cin = 1
    for s in range(2):
        c = 32 * (s + 1)
        stages.append((conv(net, cin, c, 3, pad=1), conv(net, c, c, 3, pad=1)))
        cin = c
    d1 = dense(net, 3136, 512)
    b1 = bn1d(net, 512)
    d2 = dense(net, 512, 10)

    def forward(x, masks):
        h = x
        for i, (c1, c2) in enumerate(stages):
            h = F.max_pool2d(L[c2](F.relu(L[c1](h))), 2)
            h = F.relu(h * masks[i].to(h.dtype).reshape(h.shape) / (1.0 - 0.25))
        h = F.relu(L[b1](L[d1](h.flatten(1))))
        return L[d2](h)
    net.forward = forward
    # dropout_1 on [N, 32, 14, 14], dropout_2 on [N, 64, 7, 7], p = 0.25, in this order
    net.dropout = [(32 * 14 * 14, 0.25), (64 * 7 * 7, 0.25)]
    return net


def resnet_small():
    """models/resnet_small.net with its defaults (1x28x28, width 16, 3 stages of 2
    blocks): conv_bn(16, 3) -> relu, then res_block(cin, cout, stride) six times,
    global_avgpool, dense(10).  conv_bn is conv(k, stride, pad (k-1)/2, no bias) ->
    batchnorm; res_block adds a 1x1 conv_bn projection when stride or channels change."""
    net = Net("resnet_small", (1, 28, 28))
    L = net.layers

    def conv_bn(cin, cout, k, stride=1):
        return conv(net, cin, cout, k, stride, (k - 1) // 2, bias=False), bn2d(net, cout)

    stem = conv_bn(1, 16, 3)
    blocks = []
    c = 16
    for s in range(3):
        for b in range(2):
            stride, cout = (2, 2 * c) if s > 0 and b == 0 else (1, c)
            a = conv_bn(c, cout, 3, stride)
            bb = conv_bn(cout, cout, 3)
            skip = conv_bn(c, cout, 1, stride) if stride != 1 or c != cout else None
            blocks.append((a, bb, skip))
            c = cout
    fc = dense(net, 64, 10)

    def cb(pair, h):
        return L[pair[1]](L[pair[0]](h))

    def forward(x, masks):
        h = F.relu(cb(stem, x))
        for a, bb, skip in blocks:
            y = cb(bb, F.relu(cb(a, h)))
            h = F.relu(y + (cb(skip, h) if skip else h))
        return L[fc](h.mean(dim=(2, 3)))
    net.forward = forward
    return net


MODELS = {"lenet_bn": lenet_bn, "simplenet": simplenet, "resnet_small": resnet_small}
SEEDS = {"lenet_bn": 101, "simplenet": 202, "resnet_small": 303}

# simplenet's dense_1.weight is 1.6M of its 1.68M parameters.  Its gradient is a sum of
# BATCH outer products, dy[n] x[n] (dy: the gradient at dense_1's output, x: its input),
# so the golden stores those factors instead of the [512, 3136] gradients, and no copy
# of the tensor after the steps (the harness derives those from the factored gradients
# with Adam's formula, checked against PyTorch on every other tensor).  README.md.
FACTORED = {("simplenet", "dense_1.weight"): "dense_1"}

def draw(name):
    """Builds the network in float32 and draws its starting point: PyTorch's default
    parameter init, batchnorm weight/bias/running stats perturbed away from 1/0/0/1 so
    that they are exercised, images in [0, 1), labels in [0, 10)."""
    torch.manual_seed(SEEDS[name])
    net = MODELS[name]()
    g = torch.Generator().manual_seed(SEEDS[name] + 1)
    with torch.no_grad():
        for lname, mod in net.layers.items():
            if isinstance(mod, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                c = mod.num_features
                mod.weight.copy_(0.5 + torch.rand(c, generator=g))
                mod.bias.copy_(torch.rand(c, generator=g) - 0.5)
                mod.running_mean.copy_(0.2 * torch.rand(c, generator=g) - 0.1)
                mod.running_var.copy_(0.5 + torch.rand(c, generator=g))
    x = torch.rand((BATCH,) + net.in_shape, generator=g)
    labels = torch.randint(0, 10, (BATCH,), generator=g)
    return net, x, labels


def run(name, dtype):
    """STEPS Adam steps in train mode on one batch.  After each step the parameters and
    running statistics are rounded to float32 -- the values the harness loads into netc
    before its next step (README: teacher forcing).  Returns numpy arrays by step."""
    net, x, labels = draw(name)
    init = {n: t.detach().numpy().astype(np.float32).copy() for n, t, _ in net.tensors()}
    for mod in net.layers.values():
        mod.to(dtype)
        mod.train()
    x = x.to(dtype)
    params = [t for _, t, tr in net.tensors() if tr]
    opt = torch.optim.Adam(params, lr=ADAM["lr"], betas=(ADAM["beta1"], ADAM["beta2"]),
                           eps=ADAM["eps"], weight_decay=0.0)
    # The factors of the factored tensors' gradients: the layer's input and output grad.
    factors = {}
    for (model, tname), lname in FACTORED.items():
        if model != name:
            continue
        def hook(mod, inp, out, tname=tname):
            factors[tname] = {"x": inp[0].detach().numpy().copy()}
            out.register_hook(lambda g: factors[tname].__setitem__("dy", g.detach().numpy().copy()))
        net.layers[lname].register_forward_hook(hook)
    rng = PCG32(DROPOUT_SEED, DROPOUT_STREAM)
    out = {"x": x.numpy(), "labels": labels.numpy(), "init": init, "steps": []}
    for step in range(STEPS):
        masks = [torch.from_numpy(rng.keep_mask(BATCH * n, p)) for n, p in getattr(net, "dropout", [])]
        opt.zero_grad()
        logits = net.forward(x, masks)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        rec = {"loss": loss.item(), "logits": logits.detach().numpy().copy(),
               "grads": {n: t.grad.detach().numpy().copy() for n, t, tr in net.tensors() if tr},
               "factors": {k: dict(v) for k, v in factors.items()}}
        opt.step()
        with torch.no_grad():
            for _, t, _ in net.tensors():
                t.copy_(t.float().to(dtype))
        rec["after"] = {n: t.detach().numpy().copy() for n, t, _ in net.tensors()}
        out["steps"].append(rec)
    return net, out


def f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def hi_lo(a):
    """A float64 array as two float32 arrays whose sum holds ~48 bits of it."""
    hi = f32(a)
    return hi, f32(np.asarray(a, np.float64) - hi.astype(np.float64))


def grad_name(k, n):
    return f"grad/{n}" if k == 1 else f"grad{k}/{n}"


def write(name, outdir, check_f32):
    net, r = run(name, torch.float64)
    S = r["steps"]
    arrays = {
        "x": f32(r["x"]),
        "labels": f32(r["labels"]),
        "logits": f32(S[0]["logits"]),
        "loss": f32(S[0]["loss"]),
        "loss_steps": f32([s["loss"] for s in S]),
        "logits_steps": f32([s["logits"] for s in S]),
        "adam": f32([ADAM["lr"], ADAM["beta1"], ADAM["beta2"], ADAM["eps"]]),
        "dropout_rng": f32([DROPOUT_SEED, DROPOUT_STREAM]),
        "steps": f32(STEPS),
        "counts": f32([sum(t.numel() for _, t, tr in net.tensors() if tr),
                       sum(t.numel() for _, t, tr in net.tensors() if not tr)]),
    }
    trainable = {n: tr for n, _, tr in net.tensors()}
    for n, a in r["init"].items():
        arrays[f"param/{n}"] = f32(a)
    for k, s in enumerate(S, 1):
        for n, a in s["grads"].items():
            if (name, n) in FACTORED:
                f = s["factors"][n]
                for part in ("dy", "x"):
                    hi, lo = hi_lo(f[part].reshape(BATCH, -1))
                    arrays[f"gradf{k}/{n}.{part}_hi"] = hi
                    arrays[f"gradf{k}/{n}.{part}_lo"] = lo
            else:
                arrays[grad_name(k, n)] = f32(a)
        for n, a in s["after"].items():
            if not trainable[n]:
                arrays[f"after{k}/{n}"] = f32(a)         # running statistics, every step
            elif k == STEPS and (name, n) not in FACTORED:
                arrays[f"after/{n}"] = f32(a)            # parameters after the last step
    # Tensors whose gradient is zero in exact arithmetic: a bias added just before a
    # training-mode batchnorm, which subtracts it again with the batch mean.  Their
    # computed gradients are rounding noise, which Adam turns into a step of up to lr of
    # either sign: after a step they are comparable only to within Adam's step bound,
    # 2 x ~1.01 lr (bias-corrected Adam moves a value by at most ~1.01 lr a step for
    # t <= 3).  Their gradient check takes its scale from the batchnorm's bias gradient,
    # sum(dy), since their own exact gradient (0) gives none: 1e-3 x max|that gradient|,
    # 10x the harness's usual 1e-4 since these sums are pure cancellation (netc's noise
    # is ~3e-5 of it); a dx missing batchnorm's mean term would give gamma*invstd*sum(dy).
    noisy = []
    names = list(net.layers)
    for i, lname in enumerate(names[:-1]):
        nxt = net.layers[names[i + 1]]
        if (isinstance(nxt, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))
                and getattr(net.layers[lname], "bias", None) is not None):
            noisy.append((f"{lname}.bias", names[i + 1]))
    lr = ADAM["lr"]
    for bias, bn in noisy:
        for k, s in enumerate(S, 1):
            arrays["tol_" + grad_name(k, bias)] = f32(1e-3 * np.abs(s["grads"][f"{bn}.bias"]).max())
        arrays[f"tol_after/{bias}"] = f32(2.02 * lr + 1e-5)
    path = os.path.join(outdir, f"{name}.npz")
    np.savez_compressed(path, **arrays)
    size = os.path.getsize(path)
    print(f"{path}: {len(arrays)} arrays, {size / 1e6:.2f} MB; loss {S[0]['loss']:.6f} -> "
          f"{S[-1]['loss']:.6f}; bias before batchnorm: {', '.join(n for n, _ in noisy) or 'none'}")
    if check_f32:
        _, q = run(name, torch.float32)
        Q = q["steps"]
        def worst(a, b):
            a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
            return np.max(np.abs(a - b)), np.max(np.abs(b)) or 1.0
        skip = {b for b, _ in noisy}
        print(f"  PyTorch float32 vs float64 (free-running): losses "
              f"{max(abs(a['loss'] - b['loss']) for a, b in zip(Q, S)):.2e}, step-1 logits "
              f"{worst(Q[0]['logits'], S[0]['logits'])[0]:.2e}")
        gw = max((worst(Q[0]["grads"][n], S[0]["grads"][n])[0] / worst(Q[0]["grads"][n], S[0]["grads"][n])[1], n)
                 for n in S[0]["grads"] if n not in skip)
        print(f"  step-1 grads: worst |err| / max|grad| {gw[0]:.2e} ({gw[1]}); "
              f"not counting {', '.join(sorted(skip)) or 'nothing'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*", default=list(MODELS))
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--check-f32", action="store_true")
    ap.add_argument("--steps", type=int, default=STEPS, help="Adam steps (a debugging aid; "
                    "the committed goldens use 3)")
    a = ap.parse_args()
    globals()["STEPS"] = a.steps
    torch.set_num_threads(1)
    for m in a.models:
        if m not in MODELS:
            sys.exit(f"unknown model {m}; one of {', '.join(MODELS)}")
        write(m, a.out, a.check_f32)


if __name__ == "__main__":
    main()
