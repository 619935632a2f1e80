#!/usr/bin/env bash
# Generated code names its buffers, and the names tell the truth.  For every model in
# models/ and tests/gradcheck/, compiled at batch 100, against `netc plan --batch 100`
# (train plan for NAME_train_step, inference plan for NAME_evaluate):
#   - no line but a buffer declaration mentions the arena (`(A + `): every call passes
#     names, never raw offsets;
#   - each declaration `T *LAYER_SUFFIX = (T *)(A + OFF);  /* WHAT, live steps F-L */`
#     is the plan's buffer LAYER.SUFFIX: the same offset and live range, and WHAT (the
#     shape [n, ...] at batch 100, or a byte count) gives the plan's bytes;
#   - every buffer the plan places is declared (the code uses all it plans), once;
#   - a second name for a buffer (`float *relu_1_out = batchnorm_1_out;`) names a
#     buffer declared above it in the same function;
#   - init declares no buffer.
# Then a few step comments, written out by hand from the model sources: the call with
# its arguments' values, located at the model's call (of the outermost block, when a
# block made the layer).
# Exits non-zero on the first model that breaks one, saying what and where.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
batch=100
n=0
for net in models/*.net tests/gradcheck/*.net; do
  name=$(basename "$net" .net)
  ./netc compile "$net" --name "$name" --batch $batch -o "$tmp"
  ./netc plan --batch $batch "$net" >"$tmp/$name.train"
  ./netc plan --batch $batch -m infer "$net" >"$tmp/$name.infer"
  awk -v batch=$batch -v net="$net" -v src="$tmp/$name.c" '
    function fail(msg) { printf "FAIL %s (%s line %d): %s\n", net, fn, FNR, msg > "/dev/stderr"; bad = 1; exit 1 }
    function roundup(b) { return int((b + 63) / 64) * 64 }
    # the two plans: name -> bytes, range, offset per mode
    FILENAME ~ /\.(train|infer)$/ {
      mode = FILENAME ~ /train$/ ? "train" : "infer"
      if ($1 == "Plan:" || $1 == "Buffer" || $0 ~ /^(Arena|No-reuse|Lower bound) bytes/) next
      id = $1; gsub(/[.-]/, "_", id)
      bytes[mode, id] = $2; gsub(/,/, "", bytes[mode, id])
      range[mode, id] = $3; offset[mode, id] = $NF; gsub(/,/, "", offset[mode, id])
      planned[mode] = planned[mode] " " id
      next
    }
    /^[a-z].*_init\(/       { fn = "init"; mode = ""; delete seen; next }
    /^float .*_train_step\(/ { fn = "train_step"; mode = "train"; delete seen; next }
    /^float .*_evaluate\(/   { fn = "evaluate"; mode = "infer"; delete seen; next }
    /^}/ && fn != "" {
      if (mode != "") {
        k = split(planned[mode], ids, " ")
        for (i = 1; i <= k; i++)
          if (!(ids[i] in seen)) fail("the " mode " plan places " ids[i] " but the function does not declare it")
      }
      fn = ""; next
    }
    /\(A \+ / {
      if (!match($0, /^    (float|uint8_t|uint32_t) \*[A-Za-z_0-9]+ = \((float|uint8_t|uint32_t) \*\)\(A \+ [0-9]+\); +\/\* /))
        fail("raw arena offset outside a declaration: " $0)
      if (mode == "") fail("a buffer declared outside train_step and evaluate: " $0)
      id = $2; sub(/^\*/, "", id)
      off = $0; sub(/.*\(A \+ /, "", off); sub(/\).*/, "", off)
      note = $0; sub(/.*\/\* /, "", note); sub(/ \*\/$/, "", note)
      if (id in seen) fail(id " is declared twice")
      seen[id] = 1
      if (!((mode, id) in bytes)) fail(id " is not a buffer of the " mode " plan")
      if (off != offset[mode, id]) fail(id " at offset " off ", the plan says " offset[mode, id])
      steps = note; sub(/^.*, live steps? /, "", steps); sub(/;.*/, "", steps)
      if (steps !~ /-/) steps = steps "-" steps
      if (steps != range[mode, id]) fail(id " live steps " steps ", the plan says " range[mode, id])
      what = note; sub(/, live .*/, "", what)
      if (what ~ /^\[n(, [0-9]+)*\]$/) {
        elems = batch; d = what; gsub(/[^0-9,]/, "", d); m = split(d, dims, ",")
        for (i = 1; i <= m; i++) if (dims[i] != "") elems *= dims[i]
        got = roundup(elems * 4)
      } else if (what ~ /^[0-9,]+ bytes$/) {
        got = what; sub(/ bytes/, "", got); gsub(/,/, "", got)
      } else fail(id ": cannot read its shape or size from \"" what "\"")
      if (got != bytes[mode, id]) fail(id " is " what " (" got " bytes), the plan has " bytes[mode, id] " bytes")
      next
    }
    /^    float \*[A-Za-z_0-9]+ = [A-Za-z_0-9]+; +\/\* (in place over|a view of) / {
      alias = $2; sub(/^\*/, "", alias); owner = $4; sub(/;$/, "", owner)
      if (!(owner in seen)) fail(alias " is set to " owner ", not a buffer declared above")
      next
    }
    END { if (!bad && FILENAME == src && fn != "") fail("unterminated function") }
  ' "$tmp/$name.train" "$tmp/$name.infer" "$tmp/$name.c"
  n=$((n + 1))
done
echo "$n models: every buffer named, declared as the plan places it, and no raw offset in a call"

expect_comment() {  # expect_comment MODEL TEXT: TEXT is a step comment of MODEL's train_step
  grep -qF "    /* $2 */" "$tmp/$1.c" || { echo "FAIL $1.c has no comment '/* $2 */'" >&2; exit 1; }
}
expect_comment lenet_bn 'step 0: conv2d_1 = x -> conv2d(16, 5, pad = 2) -> [n, 16, 28, 28]  lenet_bn.net:12:12 in lenet_stage'
expect_comment lenet_bn 'step 7: maxpool2d_2 = relu_2 -> maxpool2d(2) -> [n, 32, 7, 7]  lenet_bn.net:13:12 in lenet_stage'
expect_comment lenet_bn 'step 9: fc = flatten_1 -> dense(10) -> [n, 10]  lenet_bn.net:14:28'
# conv_bn inside res_block: the site is the model's call of res_block
expect_comment resnet_small 'step 3: conv2d_2 = relu_1 -> conv2d(16, 3, stride = 1, pad = 1, bias = false) -> [n, 16, 28, 28]  resnet_small.net:27:16 in res_block'
expect_comment resnet_small 'step 2: relu_1 = batchnorm_1 -> relu() -> [n, 16, 28, 28]  resnet_small.net:17:33'
expect_comment resnet_small 'step 8: add_1 = add(batchnorm_3, relu_1) -> [n, 16, 28, 28]  resnet_small.net:27:16 in res_block'
echo "step comments: each layer's call and its site in the model"
