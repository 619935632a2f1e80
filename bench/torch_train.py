"""PyTorch peer of bench/run_bench.sh: training throughput of one of the notebooks' nets, as
a user of today's PyTorch (2.x from PyPI) would run it, in one of three modes:

  eager          the model as written
  channels_last  model and inputs in torch.channels_last memory format
  compile        the whole step (forward, loss, backward, Adam) under torch.compile
  autocast       eager, forward and loss under torch.autocast("cpu", dtype=torch.bfloat16)
  autocast_cl    the same in channels_last memory format (bf16: netc's precision = bf16)

  python torch_train.py --net LeNetBN --bs 100 [--images 12000] [--threads 2] [--mode eager]
  python torch_train.py --net LeNetBN --flops

The first IMAGES Fashion-MNIST training images (pixels scaled to [0, 1]) are held in memory;
after 10 warm-up steps (which include torch.compile's compilation), one epoch over them in a
random order at batch BS, Adam lr 1e-3, cross-entropy, is timed: img/s = images / seconds of
that loop, the same work as netc's trainer does in one epoch of --limit IMAGES.  Prints one
JSON line: net, mode, bs, images, seconds, img_s, torch version, threads.

--flops prints the FLOPs per image instead, 2 per multiply-accumulate of Conv2d and Linear
(bias, batchnorm, activations, pooling not counted), counted exactly on the net by forward
hooks in training mode: forward, and training = forward + weight gradient (as many FLOPs as
the forward) + input gradient (as many again, but only where the layer's input needs a
gradient: not for a first layer that reads the data).

The nets come from the reference's torch_peer.py (TORCH_PEER_DIR, default
/work/shared/reference), the twins the parity tests and bench/ort_export.py use, and the
data from its fmnist.py."""
import argparse, json, os, sys, time

import torch
import torch.nn as nn

sys.path.insert(0, os.environ.get("TORCH_PEER_DIR", "/work/shared/reference"))
import fmnist  # noqa: E402
import torch_peer  # noqa: E402  (the nets, as the notebooks define them)

MODES = ("eager", "channels_last", "compile", "autocast", "autocast_cl")
WARMUP_STEPS = 10


def flops_per_image(model):
    """(forward, training) FLOPs of one image, from hooks on Conv2d and Linear."""
    fwd = train = 0

    def hook(mod, inp, out):
        nonlocal fwd, train
        if isinstance(mod, nn.Conv2d):
            macs = out[0].numel() * mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
        else:
            macs = mod.in_features * mod.out_features
        fwd += 2 * macs
        train += 2 * macs * (3 if inp[0].requires_grad else 2)

    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    model.train()
    model(torch.zeros(2, 1, 28, 28))   # batch 2: batchnorm in training mode needs more than one value
    for h in hooks:
        h.remove()
    return fwd, train


def train_throughput(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    x, y = fmnist.load("train")
    X = torch.from_numpy(x[:a.images]).float().div_(255.0).reshape(-1, 1, 28, 28)
    Y = torch.from_numpy(y[:a.images]).long()
    model = torch_peer.NETS[a.net]()
    if a.mode in ("channels_last", "autocast_cl"):
        model = model.to(memory_format=torch.channels_last)
        X = X.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    model.train()

    bf16 = a.mode.startswith("autocast")

    def step(xb, yb):
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    if a.mode == "compile":
        step = torch.compile(step)
    order = torch.randperm(a.images)
    for i in range(WARMUP_STEPS):
        idx = order[(i * a.bs) % (a.images - a.bs + 1):][:a.bs]
        step(X[idx], Y[idx])
    n = 0
    t0 = time.perf_counter()
    for i in range(0, a.images - a.bs + 1, a.bs):
        idx = order[i:i + a.bs]
        step(X[idx], Y[idx])
        n += len(idx)
    seconds = time.perf_counter() - t0
    return {"net": a.net, "mode": a.mode, "bs": a.bs, "images": n, "seconds": seconds, "img_s": n / seconds,
            "torch": torch.__version__, "threads": torch.get_num_threads()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--net", required=True, choices=sorted(torch_peer.NETS))
    ap.add_argument("--bs", type=int, default=100)
    ap.add_argument("--images", type=int, default=12000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mode", choices=MODES, default="eager")
    ap.add_argument("--flops", action="store_true", help="print the FLOPs per image and exit")
    a = ap.parse_args()
    if a.flops:
        fwd, train = flops_per_image(torch_peer.NETS[a.net]())
        print(json.dumps({"net": a.net, "forward_flops": fwd, "train_flops": train}))
        return
    if not 1 <= a.bs <= a.images:
        ap.error("--bs must lie in 1..--images")
    print(json.dumps(train_throughput(a)))


if __name__ == "__main__":
    main()
