#!/usr/bin/env bash
# make install into a temporary DESTDIR (PREFIX=/usr/local), then everything from the
# installed files alone, run from another directory with NETC_HOME unset:
#  - the installed netc builds a trainer of models/lenet.net through a CC that logs its
#    command: the runtime's -I and library are the staged prefix's, no path is in the
#    source tree, and neither netc nor the trainer names the tree outside their debug
#    information (the libraries' -g records where they were compiled); the trainer
#    trains briefly and evaluates; the same netc copied alone elsewhere finds no runtime
#    and says so (it does not fall back to the tree), builds from the tree NETC_HOME names,
#    and refuses --sanitize (no sanitized runtime is installed) with a message;
#  - `netc compile`'s C and a trainer main link with `pkg-config --cflags --libs netc`;
#  - examples/embed builds against the installed inference kernels with
#    `pkg-config netc-infer` (export-c's own netc_infer.[ch] removed) and classifies test
#    PGMs as the trainer's predict does, linking libm and libc only;
#  - `man netc` and `man netc-trainer` show the installed pages (MANPATH);
#  - the installed completion completes `netc bu`, build's options, plan's --mode values
#    and a registered trainer's commands and options;
#  - make uninstall leaves no file.
# Needs make's outputs (make all), help2man, pkg-config, man-db and the Fashion-MNIST data.
. "$(dirname "$0")/lib.sh"
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX} OPENBLAS_NUM_THREADS=1
unset NETC_HOME
root=$(pwd -P)
stage=$tmp/stage S=$tmp/stage/usr/local
images=$DATA/t10k-images-idx3-ubyte.gz

make -s install DESTDIR="$stage" PREFIX=/usr/local >"$tmp/install.log" 2>&1 \
  || { cat "$tmp/install.log"; echo "FAIL: make install"; exit 1; }
for f in bin/netc lib/libnetcrt.a lib/libnetc_infer.a include/netc/runtime/netc_rt.h include/netc/netc_infer.h \
         lib/pkgconfig/netc.pc lib/pkgconfig/netc-infer.pc share/man/man1/netc.1 share/man/man1/netc-trainer.1 \
         share/bash-completion/completions/netc; do
  [ -f "$S/$f" ] || fail "make install did not install PREFIX/$f"
done
cp models/lenet.net examples/embed/main.c "$tmp/"
mkdir -p "$tmp/work"
cd "$tmp/work"   # from here on, nothing of the tree but the two copied sources

# The installed netc builds a trainer from the installed runtime only.
printf '#!/bin/sh\necho "$@" >>"%s"\nexec cc "$@"\n' "$tmp/cc.log" >"$tmp/cc-log"
chmod +x "$tmp/cc-log"
if CC=$tmp/cc-log TMPDIR=$tmp "$S/bin/netc" build ../lenet.net -o lenet 2>"$tmp/build.err"; then
  paths=$(tr ' ' '\n' <"$tmp/cc.log" | grep -E '^-I|libnetcrt')
  if grep -q -x -F -e "-I$S/include/netc/runtime" <<<"$paths" && grep -q -x -F "$S/lib/libnetcrt.a" <<<"$paths" \
     && ! grep -F -q "$root" "$tmp/cc.log" && ! grep -v -F -q "$tmp/" <<<"$paths"; then
    ok "installed netc build: headers and runtime from the staged prefix ($(tr '\n' ' ' <<<"$paths"))"
  else
    fail "installed netc build used paths outside the staged prefix:"; cat "$tmp/cc.log"
  fi
else
  cat "$tmp/build.err"; fail "installed netc build"
fi
objcopy --strip-debug "$S/bin/netc" "$tmp/netc.stripped"
[ -f lenet ] && objcopy --strip-debug lenet "$tmp/lenet.stripped"
if grep -F -q "$root" "$tmp/netc.stripped" || { [ -f lenet ] && grep -F -q "$root" "$tmp/lenet.stripped"; }; then
  fail "the installed netc or its trainer names the source tree $root"
else
  ok "neither the installed netc nor the trainer (less their debug information) names the source tree"
fi
if ./lenet train --epochs 1 --limit 500 --test-limit 200 --out l.ckpt >train.out 2>&1 \
   && ./lenet eval --ckpt l.ckpt >eval.out 2>&1 && grep -q '^accuracy: ' eval.out; then
  ok "the trainer trains (1 epoch, 500 images) and evaluates: $(grep '^accuracy: ' eval.out)"
else
  cat train.out eval.out 2>/dev/null; fail "the installed netc's trainer"
fi
mkdir -p "$tmp/alone/bin"
cp "$S/bin/netc" "$tmp/alone/bin/"
if "$tmp/alone/bin/netc" build ../lenet.net -o alone 2>alone.err; then
  fail "a netc with no runtime beside it built a trainer"
elif grep -q 'cannot find the runtime' alone.err; then
  ok "a netc with no runtime beside it: $(cat alone.err)"
else
  cat alone.err; fail "a netc with no runtime beside it: unexpected message"
fi
NETC_HOME=$root "$tmp/alone/bin/netc" build ../lenet.net -o home 2>home.err && ./home info >/dev/null 2>&1 \
  && ok "NETC_HOME still names a source tree to build from" || { cat home.err; fail "netc build with NETC_HOME"; }
if "$S/bin/netc" build --sanitize ../lenet.net -o san 2>san.err; then
  fail "the installed netc built a sanitized trainer without a sanitized runtime"
else
  grep -q 'no sanitized runtime' san.err && ok "installed netc build --sanitize: $(cat san.err)" \
    || { cat san.err; fail "installed netc build --sanitize: unexpected message"; }
fi

# pkg-config: the staged prefix through the sysroot variable, as for any staged install.
export PKG_CONFIG_PATH=$S/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$stage
"$S/bin/netc" compile ../lenet.net -o gen 2>/dev/null
printf '#include "netc_rt.h"\n#include "lenet.h"\n\nint main(int argc, char **argv)\n{\n    return rt_trainer_main(&lenet_model, argc, argv);\n}\n' >gen/main.c
if cc -std=c11 -O2 -Igen -o gen/trainer gen/main.c gen/lenet.c $(pkg-config --cflags --libs netc) 2>gen.err \
   && gen/trainer info >info.out 2>&1 && grep -q 'LeNet' info.out; then
  ok "netc compile's C links with pkg-config --cflags --libs netc: $(pkg-config --libs netc)"
else
  cat gen.err info.out 2>/dev/null; fail "netc compile's C with pkg-config netc"
fi

# examples/embed against the installed inference kernels.
mkdir -p embed
cp ../main.c embed/
"$S/bin/netc" export-c ../lenet.net --weights l.ckpt -n model -o embed/model 2>export.err || { cat export.err; fail "export-c"; }
rm -f embed/model/netc_infer.c embed/model/netc_infer.h
if cc -std=c11 -O2 -Wall -Wextra -Werror -pedantic -Iembed/model -o embed/classify embed/main.c embed/model/model.c \
     $(pkg-config --cflags --libs netc-infer) 2>embed.err; then
  if ldd embed/classify | grep -E -q 'openblas|zip|png|libz'; then
    fail "classify links more than libc and libm:"; ldd embed/classify
  fi
  gzip -dc "$images" >images
  agree=0
  for i in 0 1 2 3 4; do
    { printf 'P5\n28 28\n255\n'; tail -c +$((17 + i * 784)) images | head -c 784; } >$i.pgm
    ours=$(embed/classify $i.pgm | head -1 | awk '{$NF=""; sub(/ +$/, ""); print}')
    theirs=$(./lenet predict --ckpt l.ckpt --top 1 $i.pgm | sed -n 2p | sed 's/^ *[0-9.]* *[0-9]* //')
    [ -n "$ours" ] && [ "$ours" = "$theirs" ] && agree=$((agree + 1))
  done
  [ $agree -eq 5 ] && ok "examples/embed with pkg-config netc-infer: classify agrees with predict on 5 of 5 PGMs" \
    || fail "examples/embed: classify agrees with predict on $agree of 5 PGMs"
else
  cat embed.err; fail "examples/embed does not build with pkg-config netc-infer"
fi

# man pages.
for page in netc netc-trainer; do
  MANPATH=$S/share/man MANWIDTH=80 man "$page" >man.out 2>&1
  if grep -q "^NAME" man.out && grep -E -q "^ *$page +- " man.out && grep -q "^COMMANDS" man.out; then
    ok "man $page: $(grep -E -m1 "^ *$page +- " man.out | sed 's/^ *//; s/  */ /g')"
  else
    head -20 man.out; fail "man $page"
  fi
done
MANPATH=$S/share/man MANWIDTH=200 man netc | grep -q -e '--weights-in code|blob' && MANPATH=$S/share/man MANWIDTH=200 \
  man netc-trainer | grep -q -e '--early-stopping-patience N' && ok "the pages hold the commands' options" \
  || fail "the man pages lack the commands' options"

# bash completion, through the function it registers, with COMP_WORDS as bash sets them.
cat >complete.sh <<EOF
PATH=$S/bin:\$PATH
source "$S/share/bash-completion/completions/netc"
complete -F _netc_trainer lenet
t() {  # t WORDS...: the completions of the last word
  COMP_WORDS=("\$@"); COMP_CWORD=\$((\$# - 1)); COMPREPLY=()
  \$(complete -p "\${1##*/}" | sed 's/.*-F \([^ ]*\) .*/\1/')   # bash: by name, else basename
  echo "\$*: \${COMPREPLY[*]}"
}
t netc bu
t netc build --sa
t netc plan --mode ""
t netc export-c --weights-in b
t ./lenet ""
t ./lenet train --early-stopping-m
t ./lenet train --optimizer adam
t ./lenet plot c
EOF
bash complete.sh >complete.out 2>&1
cat >complete.want <<'EOF'
netc bu: build
netc build --sa: --sanitize
netc plan --mode : train infer export
netc export-c --weights-in b: blob
./lenet : train eval predict export schedule info plot --help
./lenet train --early-stopping-m: --early-stopping-monitor --early-stopping-min-delta
./lenet train --optimizer adam: adam adamw
./lenet plot c: curves confusion
EOF
if diff complete.want complete.out >complete.diff; then
  ok "bash completion: $(wc -l <complete.out) cases, netc's and a trainer's"
else
  cat complete.diff; fail "bash completion"
fi

cd "$root"
make -s uninstall DESTDIR="$stage" PREFIX=/usr/local >"$tmp/uninstall.log" 2>&1 || { cat "$tmp/uninstall.log"; fail "make uninstall"; }
left=$(find "$stage" ! -type d)
[ -z "$left" ] && ok "make uninstall leaves no file" || { fail "make uninstall left:"; echo "$left"; }
[ $fails -eq 0 ] || { echo "$fails failed"; exit 1; }
