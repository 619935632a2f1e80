"""The tables of bench/run_bench.sh, from its measurement lines (standard library only).

  python3 bench_table.py RESULTS FLOPS PEAK_GFLOPS

RESULTS: one line per measurement, `model batch round mode img_per_s rss_kb load1` (nan
where a run failed); mode `netc` is netc's trainer, `netc_bf16` the same with
--precision bf16, every other mode a peer (`autocast`, `autocast_cl`: PyTorch in bf16).  FLOPS: `model
training_flops_per_image` lines.  PEAK_GFLOPS: the FMA peak at netc's thread count (nan:
not measured).  Prints two Markdown tables:
- speed: per model and batch, the median img/s over the rounds of netc and of each peer
  mode, the best peer (the mode with the highest median), the median [min, max] of the
  rounds' ratios netc / that peer, netc's training GFLOP/s and its fraction of the peak,
  and the range of the load averages its measurements started at;
- memory: the median peak RSS of each side in MB, and netc's over the smallest PyTorch
  mode's (the issue's bar: below 0.25);
- bf16, when netc_bf16 was measured: its median img/s beside netc's fp32, their ratio, each
  bf16 peer, the best bf16 peer, the rounds' ratios netc_bf16 / that peer, and its
  fp32-equivalent GFLOP/s (the same FLOPs per image) as a fraction of the fp32 peak.
The fp32 tables leave the bf16 modes out."""
import math, statistics, sys

BF16_PEERS = ("autocast", "autocast_cl")


def num(v):
    x = float(v)
    return None if math.isnan(x) else x


def median(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


def fmt(v, spec=",.0f"):
    return "-" if v is None else format(v, spec)


def spread(q):
    return f"{statistics.median(q):.2f} [{min(q):.2f}, {max(q):.2f}]" if q else "-"


def main():
    rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
    flops = {m: float(f) for m, f in (l.split() for l in open(sys.argv[2]) if l.strip())}
    peak = float(sys.argv[3]) * 1e9
    configs, modes = [], []
    cell = {}   # (model, batch, mode) -> {round: (img_s, rss_kb, load)}
    for m, b, r, mode, img, rss, load in rows:
        if (m, b) not in configs:
            configs.append((m, b))
        if mode not in modes:
            modes.append(mode)
        cell.setdefault((m, b, mode), {})[r] = (num(img), num(rss), float(load))
    bf16_peers = [p for p in modes if p in BF16_PEERS]
    peers = [p for p in modes if p not in ("netc", "netc_bf16") and p not in BF16_PEERS]
    torch_modes = [p for p in peers if not p.startswith("keras")]

    def med(m, b, mode, i):
        return median([v[i] for v in cell.get((m, b, mode), {}).values()])

    def against_best(m, b, mine, among):
        """The best of `among` (highest median img/s) and the rounds' ratios mine / it."""
        ranked = sorted((p for p in among if med(m, b, p, 0) is not None), key=lambda p: -med(m, b, p, 0))
        best = ranked[0] if ranked else None
        q = []
        for r, (img, _, _) in cell.get((m, b, mine), {}).items():
            other = cell.get((m, b, best), {}).get(r, (None,))[0]
            if img is not None and other is not None:
                q.append(img / other)
        return best, q

    def of_peak(m, img):
        gflops = img * flops[m] / 1e9 if img is not None else None
        share = f"{100 * gflops * 1e9 / peak:.0f}%" if gflops is not None and not math.isnan(peak) else "-"
        return gflops, share

    print("| net | batch | netc img/s | " + " | ".join(f"{p} img/s" for p in peers) +
          " | best peer | netc / best peer | netc GFLOP/s | netc % of FMA peak | load |")
    print("|---|---:|---:|" + "---:|" * len(peers) + "---|---:|---:|---:|---|")
    for m, b in configs:
        netc = med(m, b, "netc", 0)
        best, q = against_best(m, b, "netc", peers)
        gflops, share = of_peak(m, netc)
        loads = [v[2] for (cm, cb, _), rs in cell.items() if (cm, cb) == (m, b) for v in rs.values()]
        print(f"| {m} | {b} | {fmt(netc)} | " + " | ".join(fmt(med(m, b, p, 0)) for p in peers) +
              f" | {best or '-'} | {spread(q)} | {fmt(gflops, '.1f')} | {share} | {min(loads):.1f}-{max(loads):.1f} |")
    print()
    print("(img/s: medians over the rounds; netc / best peer: median [min, max] of the rounds' ratios;"
          " GFLOP/s: training FLOPs per image x img/s; load: 1-minute load average at the start of the"
          " configuration's measurements)")
    print()
    print("| net | batch | netc peak RSS MB | " + " | ".join(f"{p} MB" for p in peers) +
          " | netc / smallest PyTorch |")
    print("|---|---:|---:|" + "---:|" * len(peers) + "---:|")
    for m, b in configs:
        netc = med(m, b, "netc", 1)
        smallest = min((x for x in (med(m, b, p, 1) for p in torch_modes) if x is not None), default=None)
        ratio = f"{netc / smallest:.2f}" if netc is not None and smallest else "-"
        print(f"| {m} | {b} | {fmt(netc and netc / 1024)} | " +
              " | ".join(fmt(x and x / 1024) for x in (med(m, b, p, 1) for p in peers)) + f" | {ratio} |")
    print()
    print("(peak RSS: /usr/bin/time's maximum resident set size of each run's process, median over the rounds)")
    if "netc_bf16" not in modes:
        return
    print()
    print("| net | batch | netc fp32 img/s | netc bf16 img/s | bf16 / fp32 | " +
          " | ".join(f"{p} img/s" for p in bf16_peers) +
          " | best bf16 peer | netc bf16 / best bf16 peer | netc bf16 fp32-equivalent GFLOP/s | % of fp32 FMA peak |")
    print("|---|---:|---:|---:|---:|" + "---:|" * len(bf16_peers) + "---|---:|---:|---:|")
    for m, b in configs:
        fp32, bf16 = med(m, b, "netc", 0), med(m, b, "netc_bf16", 0)
        gain = f"{bf16 / fp32:.2f}" if fp32 and bf16 else "-"
        best, q = against_best(m, b, "netc_bf16", bf16_peers)
        gflops, share = of_peak(m, bf16)
        print(f"| {m} | {b} | {fmt(fp32)} | {fmt(bf16)} | {gain} | " +
              " | ".join(fmt(med(m, b, p, 0)) for p in bf16_peers) +
              f" | {best or '-'} | {spread(q)} | {fmt(gflops, '.1f')} | {share} |")
    print()
    print("(bf16: netc's --precision bf16 and PyTorch's torch.autocast bf16; bf16 / fp32: netc's medians;"
          " GFLOP/s: the fp32 training FLOPs per image x img/s)")


if __name__ == "__main__":
    main()
