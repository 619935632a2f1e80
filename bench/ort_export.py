"""ONNX Runtime peer of bench/bench_export.sh: the notebook's net built in PyTorch (the
reference's torch_peer.py), exported with torch.onnx.export, run by ONNX Runtime's CPU
provider with all graph optimisations on, one session per intra-op thread count; per
count the median batch-1 latency in microseconds over RUNS calls after WARMUP calls,
each call on the next image of a pool of random images in [0, 1), as the exported C's
harness does (bench/export_latency.c).  After /work/shared/reference/ort_latency.py.

  python ort_export.py --net LeNetBN [--threads 1,2] [--runs 3000] [--warmup 300]

Prints one line per thread count:  threads=T median_us=M min_us=A flops=F
(F: forward FLOPs per image, 2 per multiply-accumulate of conv and dense, the
reference's count) and a first line with the versions.  TORCH_PEER_DIR names the
folder of torch_peer.py (default /work/shared/reference)."""
import argparse, os, statistics, sys, tempfile, time
import numpy as np, torch, onnxruntime as ort

sys.path.insert(0, os.environ.get("TORCH_PEER_DIR", "/work/shared/reference"))
import torch_peer  # noqa: E402  (the nets, as the notebooks define them)


def export(model, path):
    """The ONNX file of model; the TorchScript exporter where this torch still has it."""
    x = torch.rand(1, 1, 28, 28)
    try:
        torch.onnx.export(model, x, path, input_names=["x"], output_names=["y"], dynamo=False)
    except (TypeError, RuntimeError):
        torch.onnx.export(model, x, path, input_names=["x"], output_names=["y"], dynamo=True)


def latency(path, threads, runs, warmup, pool):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    ts = []
    for i in range(warmup + runs):
        feed = {"x": pool[i % len(pool)]}
        t = time.perf_counter()
        s.run(None, feed)
        if i >= warmup:
            ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1e6, min(ts) * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--net", required=True, choices=sorted(torch_peer.NETS))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=3000)
    ap.add_argument("--warmup", type=int, default=300)
    a = ap.parse_args()
    torch.manual_seed(1)
    m = torch_peer.NETS[a.net]().eval()
    flops, _ = torch_peer.forward_flops(m)
    path = os.path.join(tempfile.mkdtemp(), "m.onnx")
    export(m, path)
    rng = np.random.default_rng(12345)
    pool = [rng.random((1, 1, 28, 28), dtype=np.float32) for _ in range(64)]
    print(f"torch={torch.__version__} onnxruntime={ort.__version__}", flush=True)
    for t in (int(v) for v in a.threads.split(",")):
        med, lo = latency(path, t, a.runs, a.warmup, pool)
        print(f"threads={t} median_us={med:.1f} min_us={lo:.1f} flops={flops}", flush=True)


if __name__ == "__main__":
    main()
