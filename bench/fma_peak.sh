# bench/fma_peak.sh -- sourced by the benchmark scripts: the host's fp32 FMA peak measured
# in the same run as the figures it is compared with (machines of this kind differ from
# host to host).  The loop is the reference's fma_peak.c (512-bit FMAs on independent
# accumulators, 1 and 2 OpenMP threads, and the clock from a chain of dependent adds).
# Other jobs on a shared host only ever lower it, so the best repetition counts; the
# scripts measure it before their rounds and after, and use the best of all.
#
#   fma_peak_init DIR   build DIR/fma_peak from $REFERENCE/fma_peak.c; DIR/peak.json empty
#   fma_peak_measure DIR WHEN   run it once, append to DIR/peak.json, print a '#' line
#   fma_peak_best DIR THREADS   the best zmm GFLOP/s on THREADS threads so far

# fma_peak_max FILE NAME THREADS -> the highest of that figure's repetitions in FILE
fma_peak_max() {
  sed -n "s/.*\"name\":\"$2\",\"threads\":$3,.*\"max\":\([0-9.]*\).*/\1/p" "$1" | sort -g | tail -n 1
}

fma_peak_init() {
  "${CC:-gcc}" -O2 -mavx512f -mfma -fopenmp -o "$1/fma_peak" "${REFERENCE:-/work/shared/reference}/fma_peak.c" \
    || { echo "bench: cannot build fma_peak.c" >&2; return 1; }
  : >"$1/peak.json"
}

fma_peak_measure() {
  "$1/fma_peak" >"$1/peak1.json" || return 1
  cat "$1/peak1.json" >>"$1/peak.json"
  echo "# FMA peak $2 (fma_peak.c, zmm): 1 thread $(fma_peak_max "$1/peak1.json" fma_avx512_zmm_GFLOPs 1) GFLOP/s," \
       "2 threads $(fma_peak_max "$1/peak1.json" fma_avx512_zmm_GFLOPs 2) GFLOP/s;" \
       "clock $(fma_peak_max "$1/peak1.json" clock_GHz_from_add_chain 1) GHz"
}

fma_peak_best() {
  fma_peak_max "$1/peak.json" fma_avx512_zmm_GFLOPs "$2"
}
