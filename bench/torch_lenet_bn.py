#!/usr/bin/python3
"""Trains LeNetBN (models/lenet_bn.net) in PyTorch on Fashion-MNIST and writes its
weights as a .npz named the way netc names them, to check that weights move between
PyTorch and netc: `lenetbn eval` on these weights must give PyTorch's test accuracy.

usage: /usr/bin/python3 bench/torch_lenet_bn.py [--data DIR] [--epochs N] OUT.npz
Prints "pytorch test accuracy: 0.xxxx".  Needs Debian's python3-torch, python3-numpy.
"""
import argparse
import gzip
import struct

import numpy as np
import torch
import torch.nn as nn


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(data_dir, prefix):
    x = read_idx(f"{data_dir}/{prefix}-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    y = read_idx(f"{data_dir}/{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    return torch.from_numpy(x[:, None, :, :].copy()), torch.from_numpy(y.copy())


class LeNetBN(nn.Module):
    """The network of models/lenet_bn.net, layer for layer."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5, padding=2)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 5, padding=2)
        self.bn2 = nn.BatchNorm2d(32)
        self.fc = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = torch.max_pool2d(torch.relu(self.bn2(self.conv2(x))), 2)
        return self.fc(x.flatten(1))

    def netc_arrays(self):
        """state_dict under netc's layer names (netc summary)."""
        names = {"conv1": "conv2d_1", "bn1": "batchnorm_1", "conv2": "conv2d_2", "bn2": "batchnorm_2", "fc": "fc"}
        out = {}
        for key, value in self.state_dict().items():
            layer, what = key.split(".")
            if what != "num_batches_tracked":
                out[f"{names[layer]}.{what}"] = value.detach().cpu().numpy().astype(np.float32)
        return out


def accuracy(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("out")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    xtr, ytr = load(args.data, "train")
    xte, yte = load(args.data, "t10k")
    model = LeNetBN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 100):
            idx = order[i:i + 100]
            opt.zero_grad()
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
        print(f"epoch {epoch + 1}: loss {loss.item():.4f}")
    np.savez(args.out, **model.netc_arrays())
    print(f"pytorch test accuracy: {accuracy(model, xte, yte):.4f}")


if __name__ == "__main__":
    main()
