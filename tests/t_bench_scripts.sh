#!/usr/bin/env bash
# The benchmark's scripts (bench/), which make test never runs (they time things, and
# install their peers from PyPI): every shell script parses (bash -n), every Python script
# compiles (py_compile, without importing torch or keras), run_bench.sh refuses an unknown
# option before it builds or installs anything, and the two table scripts turn a few
# hand-written lines into the figures worked out here by hand: bench_table.py the ratios,
# fractions of peak and memory ratios, fp32 and bf16; profile_table.py the per-step medians and shares;
# and profile_steps.sh and conv_compare.sh build and run on a few images.
set -u
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for f in bench/*.sh; do
  bash -n "$f" || fail "$f does not parse"
done
for f in bench/*.py; do
  python3 -c 'import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)' \
    "$f" "$tmp/out.pyc" || fail "$f does not compile"
done

bash bench/run_bench.sh --no-such-option >"$tmp/usage.out" 2>&1
[ $? = 2 ] || fail "run_bench.sh --no-such-option did not exit 2"
grep -q '^usage: ' "$tmp/usage.out" || fail "run_bench.sh --no-such-option printed no usage"

# Two rounds of one configuration: netc 1000 and 1200 img/s; eager 400, 560 (median 480); compile 500,
# 500 (median 500: the best peer); keras fails in round 2.  Ratios to compile: 2.00, 2.40.
# 1.6e8 FLOPs per image at 1100 img/s (netc's median) = 176 GFLOP/s = 80% of 220.
# RSS in kB: netc 102400 (100 MB), eager 1024000 and 1048576 (median 1012 MB), compile
# 2048000 (2000 MB), keras 512000 (500 MB); netc / smallest PyTorch = 100 / 1012 = 0.10.
cat >"$tmp/results.txt" <<'EOF'
simplenet 100 1 netc 1000 102400 2.5
simplenet 100 1 eager 400 1024000 2.0
simplenet 100 1 compile 500 2048000 3.0
simplenet 100 1 keras 450 512000 2.0
simplenet 100 2 netc 1200 102400 1.0
simplenet 100 2 eager 560 1048576 1.5
simplenet 100 2 compile 500 2048000 2.0
simplenet 100 2 keras nan nan 2.0
simplenet 100 1 netc_bf16 1800 102400 1.0
simplenet 100 1 autocast 600 1024000 1.0
simplenet 100 1 autocast_cl 800 1024000 1.0
simplenet 100 2 netc_bf16 2000 102400 1.0
simplenet 100 2 autocast 700 1024000 1.0
simplenet 100 2 autocast_cl 900 1024000 1.0
EOF
echo "simplenet 160000000" >"$tmp/flops.txt"
python3 bench/bench_table.py "$tmp/results.txt" "$tmp/flops.txt" 220 >"$tmp/table.md" || fail "bench_table.py failed"
grep -qF '| simplenet | 100 | 1,100 | 480 | 500 | 450 | compile | 2.20 [2.00, 2.40] | 176.0 | 80% | 1.0-3.0 |' \
  "$tmp/table.md" || { cat "$tmp/table.md" >&2; fail "the speed row is wrong"; }
grep -qF '| simplenet | 100 | 100 | 1,012 | 2,000 | 500 | 0.10 |' "$tmp/table.md" \
  || { cat "$tmp/table.md" >&2; fail "the memory row is wrong"; }
# The bf16 rows (left out of the tables above): netc_bf16 1800, 2000 (median 1900, 1.73x
# fp32's 1100); autocast_cl the best bf16 peer (medians 850 against 650), ratios 2.25 and
# 2.22; 1900 img/s x 1.6e8 = 304 GFLOP/s = 138% of the fp32 peak.
grep -qF '| simplenet | 100 | 1,100 | 1,900 | 1.73 | 650 | 850 | autocast_cl | 2.24 [2.22, 2.25] | 304.0 | 138% |' \
  "$tmp/table.md" || { cat "$tmp/table.md" >&2; fail "the bf16 row is wrong"; }
# 10 batches; medians 0.1 + 150 + 250 + 49.9 + 50 = 500 ms: the conv's backward 50%, forward
# 30% (mean 2 s / 10 = 200 ms), the optimizer 9.98%, the data and loop 10% (mean 0.45 s / 9
# gaps = 50 ms); 1000 images in 6 s of wall clock: 167 img/s.
cat >"$tmp/steps.txt" <<'EOF'
step 0.010000 10 0.000100 zero the gradients
step 2.000000 10 0.150000 step 0: conv2d_1 = x -> conv2d(16, 5, pad = 2) -> [n, 16, 28, 28]  m.net:1:1
step 3.000000 10 0.250000 step 5: backward of conv2d_1
step 0.500000 10 0.049900 step 6: optimizer over all 10 parameters
step 0.450000 9 0.050000 data and loop (between train_steps)
EOF
python3 bench/profile_table.py "$tmp/steps.txt" 6 1000 cpu >"$tmp/profile.md" || fail "profile_table.py failed"
for want in 'in 10 batches: 167 img/s; a batch'"'"'s medians (cpu time) add up to 500.00 ms' \
            '| conv2d backward | 250.000 | 300.000 | 50.0% |' \
            '| conv2d_1 = conv2d(16, 5, pad = 2) | 150.000 | 200.000 | 30.0% |' \
            '| optimizer (Adam) | 49.900 | 50.000 | 10.0% |' \
            '| data and loop (between train_steps) | 50.000 | 50.000 | 10.0% |'; do
  grep -qF "$want" "$tmp/profile.md" || { cat "$tmp/profile.md" >&2; fail "profile_table.py: no '$want'"; }
done
# The two scripts that build against the runtime actually build and run, on a few images
# and one repetition (they once stopped linking, unseen, when the runtime gained MPI).
NETC_NUM_THREADS=1 bash bench/profile_steps.sh --models lenet_bn --images 300 --threads 1 >"$tmp/prof.out" 2>&1 \
  || { cat "$tmp/prof.out" >&2; fail "profile_steps.sh failed"; }
grep -q '^| conv2d backward | [0-9.]* | [0-9.]* | [0-9.]*% |$' "$tmp/prof.out" \
  || { cat "$tmp/prof.out" >&2; fail "profile_steps.sh printed no conv2d backward row"; }
NETC_NUM_THREADS=1 bash bench/conv_compare.sh HEAD 1 >"$tmp/cc.out" 2>&1 || { cat "$tmp/cc.out" >&2; fail "conv_compare.sh failed"; }
[ "$(grep -c '^| .* | \(forward\|weight gradient\|backward\) | [0-9.]* |' "$tmp/cc.out")" -ge 30 ] \
  || { cat "$tmp/cc.out" >&2; fail "conv_compare.sh printed too few rows"; }
echo "bench scripts: ok"
