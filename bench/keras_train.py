"""Keras peer of bench/run_bench.sh: training throughput of the notebooks' nets in Keras 3 on
TensorFlow (PyPI tensorflow-cpu, the framework of notebooks 000, 002 and 004), with and
without XLA (jit_compile), as a Keras user would train them: model.fit on arrays in memory.

  python keras_train.py --net KerasCNN --bs 100 [--images 12000] [--threads 2] [--jit]

The first IMAGES Fashion-MNIST training images, pixels scaled to [0, 1], channels last (the
Keras default); Adam lr 1e-3, sparse cross-entropy on logits.  A warm-up fit of 10 batches
(it traces and compiles the train function, which later fits reuse), then one timed epoch
of model.fit over the IMAGES in a shuffled order at batch BS: img/s = IMAGES / its seconds.
TensorFlow gets THREADS intra-op threads and one inter-op thread.  Prints one JSON line:
net, mode (keras or keras_jit), bs, images, seconds, img_s, params, versions.

The nets are the PyTorch twins of the reference's torch_peer.py (the parameter count is
printed so it can be checked against netc's): padding k // 2 is Keras's "same" for odd k,
Dropout2d is SpatialDropout2D, pooling floors as PyTorch's does."""
import argparse, json, os, sys, time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers as L  # noqa: E402

sys.path.insert(0, os.environ.get("TORCH_PEER_DIR", "/work/shared/reference"))
import fmnist  # noqa: E402

WARMUP_BATCHES = 10


def conv_stage(c, k, bn=False, drop=0.0):
    """Conv2d(c, k, padding k // 2) [-> BatchNorm] -> ReLU [-> Dropout2d] -> MaxPool(2)."""
    out = [L.Conv2D(c, k, padding="same")]
    if bn:
        out.append(L.BatchNormalization())
    out.append(L.ReLU())
    if drop > 0:
        out.append(L.SpatialDropout2D(drop))
    return out + [L.MaxPooling2D(2)]


def simple_stage(c):
    """conv, ReLU, conv, pool, Dropout(0.25), ReLU: the notebook's order."""
    return [L.Conv2D(c, 3, padding="same"), L.ReLU(), L.Conv2D(c, 3, padding="same"), L.MaxPooling2D(2),
            L.Dropout(0.25), L.ReLU()]


def lenet_bn():
    return conv_stage(16, 5, bn=True) + conv_stage(32, 5, bn=True) + [L.Flatten(), L.Dense(10)]


def lenet_deep():
    stages = [conv_stage(c, k, bn=True, drop=0.125) for c, k in ((16, 5), (32, 5), (64, 3), (128, 3))]
    return [L.BatchNormalization()] + sum(stages, []) + [L.Flatten(), L.Dense(10), L.Dropout(0.4)]


def simplenet():
    return simple_stage(32) + simple_stage(64) + [L.Flatten(), L.Dense(512), L.BatchNormalization(), L.ReLU(),
                                                 L.Dense(10)]


def keras_cnn():
    return [L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2), L.Conv2D(64, 3, activation="relu"),
            L.MaxPooling2D(2), L.Conv2D(64, 3, activation="relu"), L.Flatten(), L.Dense(64, activation="relu"),
            L.Dropout(0.5), L.Dense(10)]


NETS = {"LeNetBN": lenet_bn, "KerasCNN": keras_cnn, "LeNetDeep": lenet_deep, "SimpleNet": simplenet}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--net", required=True, choices=sorted(NETS))
    ap.add_argument("--bs", type=int, default=100)
    ap.add_argument("--images", type=int, default=12000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--jit", action="store_true", help="jit_compile=True (XLA)")
    a = ap.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(a.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(1)
    x, y = fmnist.load("train")
    x = (x[:a.images].astype(np.float32) / 255.0)[..., None]
    y = y[:a.images].astype(np.int64)
    model = keras.Sequential([keras.Input((28, 28, 1))] + NETS[a.net]())
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=a.jit)
    warm = WARMUP_BATCHES * a.bs
    model.fit(x[:warm], y[:warm], batch_size=a.bs, epochs=1, verbose=0)
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=a.bs, epochs=1, verbose=0, shuffle=True)
    seconds = time.perf_counter() - t0
    params = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    print(json.dumps({"net": a.net, "mode": "keras_jit" if a.jit else "keras", "bs": a.bs, "images": a.images,
                      "seconds": seconds, "img_s": a.images / seconds, "params": params, "keras": keras.__version__,
                      "tf": tf.__version__}))


if __name__ == "__main__":
    main()
