# bench/venv.sh -- sourced by the benchmark scripts (bench/run_bench.sh, bench/bench_export.sh):
# the Python virtual environments of the peers, made from PyPI on first use and reused
# after, never by the tests.  One venv per framework, because PyPI's torch and
# tensorflow-cpu each pin their own numpy and protobuf:
#   BENCH_VENV (default build/bench-venv)   torch 2.x, numpy, onnxruntime, onnx, onnxscript
#   KERAS_VENV (default build/keras-venv)   tensorflow-cpu (Keras 3 comes with it), numpy
# torch is large (several GB with the CUDA libraries it imports even on a CPU): once.

BENCH_VENV=${BENCH_VENV:-build/bench-venv}
KERAS_VENV=${KERAS_VENV:-build/keras-venv}

# bench_venv DIR IMPORTS PACKAGE...: make sure DIR/bin/python imports IMPORTS (a comma list
# of modules), installing PACKAGE... into a new or existing venv DIR if it does not.
bench_venv() {
  local dir=$1 imports=$2
  shift 2
  "$dir/bin/python" -c "import $imports" 2>/dev/null && return 0
  echo "bench: installing $* into $dir (once)" >&2
  { [ -x "$dir/bin/pip" ] || python3 -m venv "$dir"; } && "$dir/bin/pip" install -q "$@" \
    || { echo "bench: installing $* into $dir failed" >&2; return 1; }
}

bench_venv_torch() {
  bench_venv "$BENCH_VENV" torch,onnxruntime,onnx,onnxscript,numpy \
    torch numpy onnxruntime onnx onnxscript
}

bench_venv_keras() {
  bench_venv "$KERAS_VENV" keras,tensorflow,numpy tensorflow-cpu numpy
}
