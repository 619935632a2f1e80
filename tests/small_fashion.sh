# Sourced by trainer tests: small_fashion DIR NTRAIN NTEST writes into DIR the first NTRAIN
# training and NTEST test images and labels of Debian's Fashion-MNIST as plain IDX files,
# so that a test's runs start quickly.  (t_mpi.sh uses it; the older trainer tests still
# carry their own copy of these lines.)
small_fashion() {
  local dir=$1 ntrain=$2 ntest=$3 src=/usr/share/datasets/fashion-mnist
  be32() { printf "\\\\x%02x\\\\x%02x\\\\x%02x\\\\x%02x" $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
  images() { printf "$(be32 2051)$(be32 $2)$(be32 28)$(be32 28)"; gzip -dc "$1" | tail -c +17 | head -c $(($2 * 784)); }
  labels() { printf "$(be32 2049)$(be32 $2)"; gzip -dc "$1" | tail -c +9 | head -c $2; }
  mkdir -p "$dir"
  images "$src/train-images-idx3-ubyte.gz" "$ntrain" >"$dir/train-images-idx3-ubyte"
  labels "$src/train-labels-idx1-ubyte.gz" "$ntrain" >"$dir/train-labels-idx1-ubyte"
  images "$src/t10k-images-idx3-ubyte.gz" "$ntest" >"$dir/t10k-images-idx3-ubyte"
  labels "$src/t10k-labels-idx1-ubyte.gz" "$ntest" >"$dir/t10k-labels-idx1-ubyte"
}
