# tests/lib.sh -- what the tests/t_*.sh scripts share; each sources it first:
#     . "$(dirname "$0")/lib.sh"
# It moves to the repository root (set -u on) and gives the script:
#   $tmp        a directory of the script's own, removed at exit, after the script's
#               on_exit function if it defines one (to stop what it left running);
#   fail MSG, ok MSG   a failed check (counted in $fails) and a passed one;
#   finish      the closing line, "NAME: all checks passed" or "NAME: N check(s) failed",
#               and the script's status (call it last);
#   $DATA       Debian's Fashion-MNIST (need_fashion: exit failed if it is missing);
#   SAN_BUILD   `netc build`'s --sanitize when SAN=1 (tests/run.sh's second pass, on
#               trainers linked with build-san/'s runtime), else nothing: pass it as
#               ${SAN_BUILD[@]+"${SAN_BUILD[@]}"};
#   images, labels, small_fashion   small IDX files cut from $DATA, so that a test's runs
#               start quickly.
set -u
cd "$(dirname "$0")/.." || exit 1
T_NAME=$(basename "$0" .sh)
DATA=/usr/share/datasets/fashion-mnist
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
need_fashion() {  # exit failed unless $DATA holds Fashion-MNIST
  [ -f "$DATA/train-images-idx3-ubyte.gz" ] || { echo "FAIL: $DATA missing (Debian package dataset-fashion-mnist)"; exit 1; }
}
finish() {
  if [ "$fails" -eq 0 ]; then echo "$T_NAME: all checks passed"; else echo "$T_NAME: $fails check(s) failed"; fi
  [ "$fails" -eq 0 ]
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/netc_$T_NAME.XXXXXX") || exit 1
lib_at_exit() {
  if declare -F on_exit >/dev/null; then on_exit; fi
  rm -rf "$tmp"
}
trap lib_at_exit EXIT
SAN_BUILD=()
[ "${SAN:-0}" = 1 ] && SAN_BUILD=(--sanitize)

be32() { printf "\\\\x%02x\\\\x%02x\\\\x%02x\\\\x%02x" $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
images() {  # images SRC.gz N [ROWS COLS [MAGIC]]: an IDX image file of SRC's first N*ROWS*COLS pixel bytes (28x28)
  local rows=${3:-28} cols=${4:-28}
  printf "$(be32 ${5:-2051})$(be32 $2)$(be32 $rows)$(be32 $cols)"
  gzip -dc "$1" | tail -c +17 | head -c $(($2 * rows * cols))
}
labels() {  # labels SRC.gz N [COUNT]: an IDX label file of SRC's first N labels (its header saying COUNT)
  printf "$(be32 2049)$(be32 ${3:-$2})"
  gzip -dc "$1" | tail -c +9 | head -c $2
}
small_fashion() {  # small_fashion DIR NTRAIN NTEST: the first NTRAIN training and NTEST test examples of $DATA
  mkdir -p "$1"
  images "$DATA/train-images-idx3-ubyte.gz" "$2" >"$1/train-images-idx3-ubyte"
  labels "$DATA/train-labels-idx1-ubyte.gz" "$2" >"$1/train-labels-idx1-ubyte"
  images "$DATA/t10k-images-idx3-ubyte.gz" "$3" >"$1/t10k-images-idx3-ubyte"
  labels "$DATA/t10k-labels-idx1-ubyte.gz" "$3" >"$1/t10k-labels-idx1-ubyte"
}
