"""onnx_check.py -- holds a file of `netc export-onnx` to the trainer that trained it
(tests/t_onnx.sh).

  python onnx_check.py MODEL.onnx PREDICT.csv --batchnorms K --normalised yes|no [--data DIR]

MODEL.onnx must pass onnx.checker.check_model (full check, with shape inference); be
of opset 17 or later with a batch dimension named "N"; hold no Dropout node, exactly K
BatchNormalization nodes (the model's batchnorm layers, in inference form: one output,
training_mode unset or 0), Sub then Div at the front exactly when the model was trained
with a normalisation, and a Softmax at the end.  ONNX Runtime (CPU) then runs it on all
10,000 Fashion-MNIST test images, pixels / 255 as the trainer reads them, in batches of
1,000 (and the first 70 in batches of 7: the batch is dynamic), and must give, for every image, the trainer's top-1
class and probabilities within 1e-5 absolute of the trainer's (PREDICT.csv: the
trainer's `predict --split test --top CLASSES`, probabilities printed to 6 decimals).
Prints one line of figures; exits 1 (saying why) on any failure."""
import argparse, gzip, os, sys

import numpy as np
import onnx
import onnxruntime as ort

TOL = 1e-5


def idx_images(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    n, h, w = (int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(3))
    return np.frombuffer(data, np.uint8, offset=16).reshape(n, h, w)


def trainer_probs(path, n, classes):
    probs = np.full((n, classes), np.nan, np.float64)
    top1 = np.full(n, -1)
    with open(path) as f:
        next(f)
        for line in f:
            v = line.split(",")
            i = int(v[0])
            top1[i] = int(v[2])
            for j in range(2, len(v), 2):
                probs[i, int(v[j])] = float(v[j + 1])
    return probs, top1


def check_structure(model, batchnorms, normalised):
    onnx.checker.check_model(model, full_check=True)
    opset = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    ops = [n.op_type for n in model.graph.node]
    dim0 = model.graph.input[0].type.tensor_type.shape.dim[0]
    problems = []
    if not opset or opset[0] < 17:
        problems.append(f"opset {opset}, want 17 or later")
    if dim0.dim_param != "N":
        problems.append(f"the input's batch dimension is {dim0}, want dim_param N")
    if "Dropout" in ops:
        problems.append("a Dropout node")
    bn = [n for n in model.graph.node if n.op_type == "BatchNormalization"]
    if len(bn) != batchnorms:
        problems.append(f"{len(bn)} BatchNormalization nodes, want {batchnorms}")
    for n in bn:
        training = [a.i for a in n.attribute if a.name == "training_mode"]
        if len(n.output) != 1 or any(training):
            problems.append(f"BatchNormalization {n.name} is not in inference form")
    if (ops[:2] == ["Sub", "Div"]) != normalised:
        problems.append(f"the nodes begin {ops[:2]}, want Sub, Div: {normalised}")
    if ops[-1] != "Softmax" or model.graph.node[-1].output[0] != model.graph.output[0].name:
        problems.append(f"the last node is {ops[-1]}, not the Softmax giving the output")
    return problems, ops


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("onnx")
    ap.add_argument("csv")
    ap.add_argument("--batchnorms", type=int, required=True)
    ap.add_argument("--normalised", choices=["yes", "no"], required=True)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    model = onnx.load(a.onnx)
    problems, ops = check_structure(model, a.batchnorms, a.normalised == "yes")
    if problems:
        print(f"FAIL: {a.onnx}: " + "; ".join(problems))
        return 1
    images = idx_images(os.path.join(a.data, "t10k-images-idx3-ubyte.gz"))
    n = len(images)
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]
    x = (images.astype(np.float32) / np.float32(255)).reshape([n] + dims)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    s = ort.InferenceSession(a.onnx, so, providers=["CPUExecutionProvider"])
    name = model.graph.input[0].name
    ours = np.concatenate([s.run(None, {name: x[i:i + 1000]})[0] for i in range(0, n, 1000)])
    small = np.concatenate([s.run(None, {name: x[i:i + 7]})[0] for i in range(0, 70, 7)])
    classes = ours.shape[1]
    theirs, top1 = trainer_probs(a.csv, n, classes)
    if np.isnan(theirs).any() or (top1 < 0).any():
        print(f"FAIL: {a.csv} does not give every class's probability of all {n} images")
        return 1
    diff = np.abs(ours.astype(np.float64) - theirs)
    small_diff = np.abs(small.astype(np.float64) - theirs[:70]).max()
    wrong = np.flatnonzero(ours.argmax(1) != top1)
    if len(wrong) or diff.max() > TOL or small_diff > TOL:
        i = int(diff.max(1).argmax())
        print(f"FAIL: {a.onnx}: {len(wrong)} images of {n} with another top-1 class (first: {wrong[:5]}); "
              f"largest probability difference {diff.max():.3g} at image {i}, {small_diff:.3g} in batches "
              f"of 7 (tolerance {TOL})")
        return 1
    print(f"ok: {os.path.basename(a.onnx)}: {len(ops)} nodes, top-1 of all {n} test images as the trainer's, "
          f"largest probability difference {diff.max():.2g} (tolerance {TOL} absolute)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
