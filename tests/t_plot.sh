#!/usr/bin/env bash
# The trainer's `plot` command: a LeNetBN trained briefly (3000 images, 2 epochs), then
# each kind drawn, its PNG decoded with libpng (tests/harness/png_probe.c), its size
# checked, and a property checked that an empty canvas, or axes without data, lacks:
#   curves     each series' colour (train blue, valid orange, test green, lr red) inside
#              each panel's plot area;
#   confusion  every diagonal cell darker than the mean of the off-diagonal cells;
#   samples    every panel's image has contrast; --augment (rotate 30) changes the
#              grid, and repeats exactly;
#   errors     every panel's image has contrast; the printed mistakes are wrong,
#              sorted, and the first agrees with `predict` on the same image;
#   weights    histogram bars in each weight tensor's panel, none in the spare one;
#   filters    every kernel's image has contrast; an .svg is SVG.
# The checks are also run on a blank PNG, where they must fail.  Layout fractions come
# from runtime/plot/rt_plot.h's comment (RT_PLOT_AREA_*, _HEAT_*, _IMAGE_*).
# Needs ./netc and build/libnetcrt.a (make).  Run from the repository root.
. "$(dirname "$0")/lib.sh"
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}

cc -std=c11 -O2 -Wall -Wextra -Werror -o "$tmp/probe" tests/harness/png_probe.c -lpng -lm || exit 1
./netc build models/lenet_bn.net -o "$tmp/tr" 2>"$tmp/build.err" || { cat "$tmp/build.err"; echo "FAIL: build"; exit 1; }
P="$tmp/tr"
probe() { "$tmp/probe" "$@"; }

CK="$tmp/l.ckpt"
"$P" train --data "$DATA" --limit 3000 --test-limit 500 --epochs 2 --quiet --out "$CK" >"$tmp/train.out" 2>&1 \
  || { cat "$tmp/train.out"; echo "FAIL: train"; exit 1; }

plot() {  # plot NAME ARGS...: runs `plot ARGS`, output in $tmp/NAME.out
  local name=$1; shift
  "$P" plot "$@" >"$tmp/$name.out" 2>&1 || { cat "$tmp/$name.out"; fail "plot $*"; return 1; }
}
size_is() {  # size_is FILE "W H"
  local got; got=$(probe "$1" size) || { fail "$1 is not a PNG"; return 1; }
  [ "$got" = "$2" ] && ok "${1##*/} is $2" || { fail "${1##*/} is $got, want $2"; return 1; }
}
# panel FILE COLS ROWS I FX0 FY0 FX1 FY1: the region (fractions of panel I, row-major
# from the top left) as fractions of the figure
panel() {
  awk -v c="$2" -v r="$3" -v i="$4" -v a="$5" -v b="$6" -v e="$7" -v f="$8" 'BEGIN {
    col = i % c; row = int(i / c); w = 1 / c; h = 1 / r; x = col * w; y = 1 - (row + 1) * h;
    printf "%.6f %.6f %.6f %.6f", x + a * w, y + b * h, x + e * w, y + f * h }'
}
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }

# Every panel's image has contrast: std of luminance > MIN over most of it (inside the
# square of RT_PLOT_IMAGE_* for each figure here).
images_have_contrast() {  # FILE COLS ROWS N MIN
  local i
  for ((i = 0; i < $4; i++)); do
    local s; s=$(probe "$1" stats $(panel "$1" "$2" "$3" "$i" 0.20 0.10 0.80 0.70)) || return 1
    gt "${s#* }" "$5" || { echo "    panel $i: mean, std $s"; return 1; }
  done
}

# ---- curves ----
colour_pixels() {  # FILE COLS I R G B: pixels of that colour in panel I's plot area
  probe "$1" count $(panel "$1" "$2" 1 "$3" 0.14 0.28 0.84 0.89) "$4" "$5" "$6" 30
}
curves_have_lines() {  # FILE
  local want=("0 31 119 180" "0 255 127 14" "0 214 39 40" "1 31 119 180" "1 255 127 14" "1 44 160 44" "1 214 39 40")
  for w in "${want[@]}"; do
    set -- "$1" $w
    local n; n=$(colour_pixels "$1" 2 "$2" "$3" "$4" "$5") || return 1
    [ "$n" -ge 40 ] || { echo "    panel $2: $n pixels of ($3, $4, $5)"; return 1; }
  done
}
if plot curves curves --ckpt "$CK" -o "$tmp/curves.png" && size_is "$tmp/curves.png" "1400 520"; then
  curves_have_lines "$tmp/curves.png" && ok "curves: train, valid, test and lr lines in both panels" \
    || fail "curves: a series' line is missing"
fi

cp "$CK" "$CK.best"
plot curves_best curves --ckpt "$CK.best" -o "$tmp/curves_best.png" && [ "$(probe "$tmp/curves_best.png" diff "$tmp/curves.png")" = "0.0000" ] \
  && ok "curves --ckpt CK.best draws CK.csv" || fail "curves --ckpt CK.best"

# ---- confusion ----
# Cell (r, c) of K is sampled near its top left corner (the count is at its centre).
diagonal_darker() {  # FILE K
  awk -v k="$2" 'BEGIN { x0 = 0.22; x1 = 0.94; y0 = 0.20; y1 = 0.92; cw = (x1 - x0) / k; ch = (y1 - y0) / k;
    for (r = 0; r < k; r++) for (c = 0; c < k; c++) {
      top = y1 - r * ch; left = x0 + c * cw;
      printf "%d %d %.6f %.6f %.6f %.6f\n", r, c, left + 0.08 * cw, top - 0.25 * ch, left + 0.25 * cw, top - 0.08 * ch } }' |
  while read -r r c a b e f; do echo "$r $c $(probe "$1" stats "$a" "$b" "$e" "$f" | cut -d' ' -f1)"; done |
  awk '$1 == $2 { d[$1] = $3; next } { off += $3; n++ }
       END { m = off / n; bad = 0; for (i in d) if (d[i] >= m) { bad = 1; printf "    diagonal %d: %.1f, off-diagonal mean %.1f\n", i, d[i], m }
             exit bad }'
}
if plot confusion confusion --ckpt "$CK" -o "$tmp/cm.png" && size_is "$tmp/cm.png" "960 960"; then
  diagonal_darker "$tmp/cm.png" 10 && ok "confusion: every diagonal cell darker than the off-diagonal mean" \
    || fail "confusion: the diagonal is not darker"
fi

# ---- samples ----
if plot samples samples --data "$DATA" --count 16 -o "$tmp/s.png" && size_is "$tmp/s.png" "680 760"; then
  images_have_contrast "$tmp/s.png" 4 4 16 10 && ok "samples: 16 images with contrast" || fail "samples: a blank image"
fi
if plot samples_aug samples --data "$DATA" --count 16 --augment --augment-rotate 30 -o "$tmp/sa.png" &&
   plot samples_aug2 samples --data "$DATA" --count 16 --augment --augment-rotate 30 -o "$tmp/sa2.png"; then
  d=$(probe "$tmp/sa.png" diff "$tmp/s.png")
  gt "$d" 2 && ok "samples --augment differs from the plain grid ($d)" || fail "samples --augment: same as plain ($d)"
  d=$(probe "$tmp/sa.png" diff "$tmp/sa2.png")
  [ "$d" = "0.0000" ] && ok "samples --augment repeats exactly" || fail "samples --augment: two runs differ ($d)"
fi
"$P" plot samples --data "$DATA" --augment -o "$tmp/x.png" >"$tmp/noaug.out" 2>&1
[ $? -eq 1 ] && grep -q "no augmentation" "$tmp/noaug.out" && ok "samples --augment without augmentation settings fails" \
  || fail "samples --augment without augmentation: $(cat "$tmp/noaug.out")"

# ---- errors ----
if plot errors errors --ckpt "$CK" --count 9 -o "$tmp/e.png" && size_is "$tmp/e.png" "600 720"; then
  images_have_contrast "$tmp/e.png" 3 3 9 10 && ok "errors: 9 images with contrast" || fail "errors: a blank image"
  grep -E '^[0-9]+ [0-9]+ [0-9]+ [0-9.]+$' "$tmp/errors.out" >"$tmp/mistakes"
  awk 'NR > 1 && $4 > p { bad = 1 } $2 == $3 { bad = 1 } { p = $4 } END { exit bad || NR != 9 }' "$tmp/mistakes" \
    && ok "errors: 9 mistakes, each wrong, most confident first" || fail "errors: mistakes $(paste -sd';' "$tmp/mistakes")"
  read -r idx truth pred prob <"$tmp/mistakes"
  "$P" predict --ckpt "$CK" --top 1 "$DATA/t10k-images-idx3-ubyte.gz:$idx" >"$tmp/pred.out" 2>&1
  got=$(awk 'NR == 2 { print $2, $1 }' "$tmp/pred.out")
  want=$(awk -v c="$pred" -v p="$prob" 'BEGIN { printf "%d %.4f", c, p }')
  [ "$got" = "$want" ] && ok "errors: image $idx is predicted $want by predict too" \
    || fail "errors: image $idx: predict says '$got', errors '$want'"
fi

# ---- weights ----
bars_in() {  # FILE COLS ROWS I: bar-coloured pixels in panel I's plot area
  probe "$1" count $(panel "$1" "$2" "$3" "$4" 0.14 0.28 0.84 0.89) 31 119 180 10
}
if plot weights weights --ckpt "$CK" -o "$tmp/w.png" && size_is "$tmp/w.png" "880 660"; then
  n0=$(bars_in "$tmp/w.png" 2 2 0) n1=$(bars_in "$tmp/w.png" 2 2 1) n2=$(bars_in "$tmp/w.png" 2 2 2) n3=$(bars_in "$tmp/w.png" 2 2 3)
  [ "$n0" -gt 1000 ] && [ "$n1" -gt 1000 ] && [ "$n2" -gt 1000 ] && [ "$n3" -eq 0 ] \
    && ok "weights: bars in the 3 weight tensors' panels, none in the 4th" || fail "weights: bar pixels $n0 $n1 $n2 $n3"
fi

# ---- filters ----
if plot filters filters --ckpt "$CK" -o "$tmp/f.png" && size_is "$tmp/f.png" "520 580"; then
  images_have_contrast "$tmp/f.png" 4 4 16 5 && ok "filters: 16 kernels with contrast" || fail "filters: a flat kernel"
fi
if plot filters_svg filters --ckpt "$CK" -o "$tmp/f.svg"; then
  grep -q '<svg' "$tmp/f.svg" && ok "filters -o f.svg writes SVG" || fail "f.svg is not SVG"
fi

# ---- the checks on an empty canvas must fail ----
probe "$tmp/blank.png" blank 1400 520 && ! curves_have_lines "$tmp/blank.png" >/dev/null \
  && probe "$tmp/blank.png" blank 960 960 && ! diagonal_darker "$tmp/blank.png" 10 >/dev/null \
  && probe "$tmp/blank.png" blank 680 760 && ! images_have_contrast "$tmp/blank.png" 4 4 16 10 >/dev/null \
  && ok "every check fails on a blank PNG" || fail "a check passes on a blank PNG"

# ---- usage ----
for k in curves confusion samples errors weights filters; do
  "$P" plot "$k" --help >"$tmp/help" 2>&1 && grep -q "usage: tr plot $k" "$tmp/help" || fail "plot $k --help"
done
"$P" plot --help | grep -q '^  confusion ' && ok "plot --help lists the kinds, each kind has --help" || fail "plot --help"
"$P" plot confusoin --ckpt "$CK" -o x.png 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "did you mean 'confusion'" "$tmp/err" && ok "an unknown kind gets a suggestion" \
  || fail "unknown kind: exit $rc, $(cat "$tmp/err")"
"$P" plot weights --ckpt "$CK" 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q -- "-o FILE is required" "$tmp/err" && ok "-o is required" || fail "no -o: exit $rc"
"$P" plot weights --ckpt "$CK" -o "$tmp/w.gif" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "must end in .png or .svg" "$tmp/err" && ok "a .gif output is refused" || fail ".gif: exit $rc"
"$P" plot weights --ckpt "$tmp/none.ckpt" -o "$tmp/w2.png" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && [ ! -e "$tmp/w2.png" ] && ok "a missing checkpoint fails before writing" || fail "missing ckpt: exit $rc"

echo "$fails failed"
[ "$fails" -eq 0 ]
