"""make_onnx_golden.py -- the goldens of netc import (tests/t_onnx_import.sh): the seed
networks built in PyTorch, briefly trained, exported with torch.onnx.export, and
PyTorch's own probabilities on the first 200 Fashion-MNIST test images.

  build/bench-venv/bin/python tests/golden/onnx/make_onnx_golden.py [OUT_DIR [NAME...]]

(the venv bench/bench_export.sh makes, with PyPI torch, onnx, onnxruntime, onnxscript).
Writes OUT_DIR/NAME.onnx, OUT_DIR/NAME.probs (200 lines of 10 probabilities, "%.9g")
and OUT_DIR/NAME.top1 (for each of the 10,000 test images, PyTorch's top-1 class and
its margin over the second probability) for each net below (or those NAMEd); OUT_DIR defaults to this script's folder.  The nets are the seed
networks of models/ (LeNet, LeNetBN, LeNetDeep, SimpleNet, the Keras CNN of
mnist_cnn.net) and three small ones that bring in the rest of the ops netc imports:
a residual block (Add, GlobalAveragePool, convolutions without bias), an inception
block (Concat, AveragePool with padding, MaxPool with stride 1) and the
other activations (LeakyReLU, ELU, Sigmoid, Tanh, a Linear without bias, Reshape).
Each, seeded on its own, is trained for 60 Adam steps on batches of 32 (seeded), so that its weights and
batchnorm statistics are not the initial ones, then exported in eval mode (dropout
gone, batchnorm in inference form) at opset 17 with a dynamic batch dimension.
Also unsupported_hardswish.onnx, a net with an op netc has not (no .probs)."""
import gzip, os, sys

import numpy as np
import torch
import torch.nn as nn

DATA = "/usr/share/datasets/fashion-mnist"
N_GOLDEN = 200


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1568, 10))


def lenet_bn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, padding=2), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1568, 10))


def lenet_deep():
    def block(cin, cout, k, p):
        return [nn.Conv2d(cin, cout, k, padding=p), nn.BatchNorm2d(cout), nn.ReLU(),
                nn.Dropout2d(0.125), nn.MaxPool2d(2)]
    return nn.Sequential(
        nn.BatchNorm2d(1),
        *block(1, 16, 5, 2), *block(16, 32, 5, 2), *block(32, 64, 3, 1), *block(64, 128, 3, 1),
        nn.Flatten(), nn.Linear(128, 10), nn.Dropout(0.4))


def simplenet():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.MaxPool2d(2), nn.Dropout(0.25), nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1), nn.MaxPool2d(2), nn.Dropout(0.25), nn.ReLU(),
        nn.Flatten(), nn.Linear(3136, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, 10))


def keras_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(),
        nn.Flatten(), nn.Linear(576, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 10))


class Residual(nn.Module):
    """conv-bn-relu stem, one basic residual block with a strided 1x1 projection,
    global average pooling, a dense layer."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.body = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16))
        self.skip = nn.Sequential(nn.Conv2d(8, 16, 1, stride=2, bias=False), nn.BatchNorm2d(16))
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        h = self.stem(x)
        h = torch.relu(self.body(h) + self.skip(h))
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(h, 1), 1))


class Inception(nn.Module):
    """four branches on one input, concatenated: 1x1; 1x1 -> 3x3; 5x5; 3x3 max pool
    stride 1 -> 1x1; then 3x3 average pooling with padding 1.  (An explicit ZeroPad2d
    is exported by torch as a dynamic subgraph, ConstantOfShape and more, which netc
    refuses: netc's own export, which writes Pad, brings Pad into the tests.)"""

    def __init__(self):
        super().__init__()
        self.b1 = nn.Conv2d(1, 4, 1)
        self.b2 = nn.Sequential(nn.Conv2d(1, 4, 1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1))
        self.b3 = nn.Conv2d(1, 4, 5, padding=2)
        self.b4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(1, 4, 1))
        self.tail = nn.Sequential(nn.ReLU(), nn.AvgPool2d(3, stride=2, padding=1), nn.Flatten(),
                                  nn.Linear(16 * 14 * 14, 10))

    def forward(self, x):
        return self.tail(torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1))


class Activations(nn.Module):
    """LeakyReLU, ELU, Sigmoid, Tanh; a Linear without bias; a reshape to [N, -1]."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 8, 3, stride=2), nn.LeakyReLU(0.1), nn.MaxPool2d(2),
                                      nn.Conv2d(8, 8, 3), nn.ELU(0.5))
        self.fc1 = nn.Linear(8 * 4 * 4, 32, bias=False)
        self.fc2 = nn.Linear(32, 16)
        self.fc3 = nn.Linear(16, 10)

    def forward(self, x):
        h = self.features(x).reshape(-1, 8 * 4 * 4)
        return self.fc3(torch.tanh(self.fc2(torch.sigmoid(self.fc1(h)))))


def hardswish():
    """A net with an op netc has not (HardSwish): netc import must refuse it."""
    return nn.Sequential(nn.Conv2d(1, 4, 3, stride=4), nn.Hardswish(), nn.Flatten(), nn.Linear(4 * 7 * 7, 10))


NETS = {"lenet": lenet, "lenet_bn": lenet_bn, "lenet_deep": lenet_deep, "simplenet": simplenet,
        "keras_cnn": keras_cnn, "residual": Residual, "inception": Inception, "activations": Activations}
# Exported without constant folding, which would fold each batchnorm into the conv before
# it: these keep BatchNormalization nodes after convolutions (and Identity nodes on the
# weights), as other exporters write them.
UNFOLDED = {"lenet_bn", "residual"}


def idx(path, header):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=header)


def load(split):
    x = idx(os.path.join(DATA, f"{split}-images-idx3-ubyte.gz"), 16).reshape(-1, 1, 28, 28)
    y = idx(os.path.join(DATA, f"{split}-labels-idx1-ubyte.gz"), 8)
    return torch.from_numpy(x.astype(np.float32) / np.float32(255)), torch.from_numpy(y.astype(np.int64))


def train(model, x, y, steps=60, batch=32):
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    g = torch.Generator().manual_seed(1234)
    model.train()
    for _ in range(steps):
        i = torch.randint(0, len(x), (batch,), generator=g)
        opt.zero_grad()
        nn.functional.cross_entropy(model(x[i]), y[i]).backward()
        opt.step()
    model.eval()


def export(model, path, fold=True):
    x = torch.zeros(2, 1, 28, 28)
    torch.onnx.export(model, x, path, input_names=["x"], output_names=["logits"], opset_version=17,
                      dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}}, dynamo=False, do_constant_folding=fold)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    names = sys.argv[2:] or list(NETS) + ["unsupported_hardswish"]
    torch.set_num_threads(2)
    xtrain, ytrain = load("train")
    xtest, _ = load("t10k")
    for name in names:
        torch.manual_seed(1234)
        if name == "unsupported_hardswish":
            export(hardswish().eval(), os.path.join(out, f"{name}.onnx"))
            continue
        model = NETS[name]()
        train(model, xtrain, ytrain)
        export(model, os.path.join(out, f"{name}.onnx"), fold=name not in UNFOLDED)
        with torch.no_grad():
            probs = torch.softmax(model(xtest[:N_GOLDEN]), 1).numpy()
            every = torch.cat([torch.softmax(model(xtest[i:i + 500]), 1) for i in range(0, len(xtest), 500)])
        np.savetxt(os.path.join(out, f"{name}.probs"), probs, fmt="%.9g")
        top2 = torch.topk(every, 2, 1)
        with open(os.path.join(out, f"{name}.top1"), "w") as f:
            for c, (p1, p2) in zip(top2.indices[:, 0].tolist(), top2.values.tolist()):
                f.write(f"{c} {p1 - p2:.3g}\n")
        print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters, "
              f"{os.path.getsize(os.path.join(out, name + '.onnx'))} bytes")


if __name__ == "__main__":
    main()
