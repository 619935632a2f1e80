#!/usr/bin/env bash
# The benchmark's scripts (bench/), which make test never runs (they time things, and
# install their peers from PyPI): every shell script parses (bash -n), every Python script
# compiles (py_compile, without importing torch or keras), run_bench.sh refuses an unknown
# option before it builds or installs anything, and bench_table.py turns a few hand-written
# measurement lines into the ratios, fractions of peak and memory ratios worked out here by
# hand.
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
EOF
echo "simplenet 160000000" >"$tmp/flops.txt"
python3 bench/bench_table.py "$tmp/results.txt" "$tmp/flops.txt" 220 >"$tmp/table.md" || fail "bench_table.py failed"
grep -qF '| simplenet | 100 | 1,100 | 480 | 500 | 450 | compile | 2.20 [2.00, 2.40] | 176.0 | 80% | 1.0-3.0 |' \
  "$tmp/table.md" || { cat "$tmp/table.md" >&2; fail "the speed row is wrong"; }
grep -qF '| simplenet | 100 | 100 | 1,012 | 2,000 | 500 | 0.10 |' "$tmp/table.md" \
  || { cat "$tmp/table.md" >&2; fail "the memory row is wrong"; }
echo "bench scripts: ok"
