# netc build.  `make` builds ./netc and the runtime library; `make test` runs every test.
# Flex and Bison outputs are generated under $(B)/, never committed.
# `make SAN=1 ...` builds everything under build-san/ with ASan+UBSan; `make FUZZ=1 ...`
# under build-fuzz/ with clang, libFuzzer's coverage and ASan+UBSan (see `make fuzz`).

CC      ?= cc
SAN     ?= 0
FUZZ    ?= 0
ifeq ($(SAN),1)
B       := build-san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT     := -O1 -g
else ifeq ($(FUZZ),1)
B       := build-fuzz
CC      := clang
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT     := -O1 -g
else
B       := build
SANFLAGS :=
OPT     := -O2 -g
endif
WARN    := -Wall -Wextra -Werror
CFLAGS  := -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(SANFLAGS)
RTFLAGS := -std=c11 -D_GNU_SOURCE -O3 -g -march=native $(WARN) $(SANFLAGS)
# PLplot draws the trainer's plots (runtime/plot); its cairo driver is loaded at run time.
LDLIBS  := -lopenblas -lzip -lz -lpng -lplplot -lm
# Open MPI, when installed, for data-parallel training (runtime/trainer/train_mpi.c): the
# runtime is built with NETC_MPI 1 and $(B)/mpi.flags holds the link flags netc build
# adds to every trainer (empty without MPI: trainers then run single-process).
MPI_CFLAGS := $(shell pkg-config --cflags ompi-c 2>/dev/null)
MPI_LIBS   := $(shell pkg-config --libs ompi-c 2>/dev/null)
ifneq ($(MPI_LIBS),)
LDLIBS  += $(MPI_LIBS)
$(B)/rt/trainer/train_mpi.o: RTFLAGS += -DNETC_MPI=1 $(MPI_CFLAGS)
endif

CC_SRC  := $(filter-out compiler/main.c,$(wildcard compiler/*.c)) $(wildcard compiler/ops/*.c)
# common/: facts the compiler and the runtime share (the train settings, did-you-mean),
# compiled once into both the compiler's library and the runtime's core layer.
CM_OBJ  := $(patsubst common/%.c,$(B)/common/%.o,$(wildcard common/*.c))
CM_HDR  := $(wildcard common/*.h common/*.def)
CC_OBJ  := $(CC_SRC:compiler/%.c=$(B)/cc/%.o) $(B)/cc/parser.tab.o $(B)/cc/lexer.yy.o $(B)/cc/onnx.pb-c.o $(CM_OBJ)
# ONNX files (export-onnx, import) through protobuf-c: compiler/onnx.proto made C by protoc-c.
CC_LIBS := -lprotobuf-c
# The runtime's layers, each a folder and a library depending only on the ones before it
# (runtime/netc_rt.h); libnetcrt.a is all of them, for the trainers and the tests.
RT_LAYERS := core kernels io plot trainer
RT_SRC  := $(foreach l,$(RT_LAYERS),$(wildcard runtime/$(l)/*.c))
RT_OBJ  := $(RT_SRC:runtime/%.c=$(B)/rt/%.o)
RT_HDR  := runtime/netc_rt.h $(wildcard runtime/*/*.h)
RT_LIBS := $(RT_LAYERS:%=$(B)/libnetcrt_%.a)
UNIT    := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))
# The inference layer (runtime/infer/netc_infer.h): dependency-free C99 that
# `netc export-c` ships, built at its own strict warnings; $(B)/netc_infer.c + .h is
# its amalgamation, $(B)/cc/infer_embed.c the amalgamation as C strings for netc.
INFER_SRC := $(wildcard runtime/infer/*.c)
INFER_HDR := $(wildcard runtime/infer/*.h)
INFER_OBJ := $(INFER_SRC:runtime/infer/%.c=$(B)/infer/%.o)
INFERFLAGS := -std=c99 -O3 -g -march=native -Wall -Wextra -Werror -pedantic -Wconversion $(SANFLAGS)
INFER_OUT := $(B)/libnetc_infer.a $(B)/netc_infer.c $(B)/netc_infer.h $(B)/cc/infer_embed.c

ifeq ($(SAN),1)
all: $(B)/netc $(B)/libnetcrt.a $(RT_LIBS) $(INFER_OUT) $(UNIT)
else
all: deps netc $(B)/libnetcrt.a $(RT_LIBS) $(INFER_OUT)
endif

# Install missing Debian packages once (see scripts/install-deps.sh).
deps: $(B)/.deps
$(B)/.deps: scripts/install-deps.sh
	@mkdir -p $(B)
	@scripts/install-deps.sh
	@touch $@

netc: $(B)/netc
	cp $< $@

# netc reads trained weights with the trainer's own readers (export-c), and embeds the
# inference kernels' amalgamation.
$(B)/netc: $(B)/cc/main.o $(B)/cc/infer_embed.o $(B)/libnetcc.a $(B)/libnetc_infer.a $(B)/libnetcrt.a
	$(CC) $(CFLAGS) -o $@ $^ $(CC_LIBS) $(LDLIBS)

$(B)/libnetcc.a: $(CC_OBJ)
	ar rcs $@ $^

$(B)/libnetcrt.a: $(RT_OBJ) $(CM_OBJ)
	rm -f $@; ar rcs $@ $^

# What a trainer linked with this runtime needs besides netc's own libraries (MPI's).
$(B)/mpi.flags: FORCE
	@mkdir -p $(B)
	@echo '$(MPI_LIBS)' | cmp -s - $@ || echo '$(MPI_LIBS)' >$@
$(B)/libnetcrt.a: | $(B)/mpi.flags
$(B)/rt/trainer/train_mpi.o: $(B)/mpi.flags
FORCE:

# build/libnetcrt_LAYER.a: one library per runtime layer.
define rt_layer_lib
$(B)/libnetcrt_$(1).a: $(filter $(B)/rt/$(1)/%,$(RT_OBJ))
	rm -f $$@; ar rcs $$@ $$^
endef
$(foreach l,$(RT_LAYERS),$(eval $(call rt_layer_lib,$(l))))
$(B)/libnetcrt_core.a: $(CM_OBJ)

# Order-only on the installer, so that `make -j` on a fresh machine waits for bison and flex.
$(B)/cc/parser.tab.c $(B)/cc/parser.tab.h: compiler/parser.y | $(B)/.deps
	@mkdir -p $(B)/cc
	bison -Wall -Werror --defines=$(B)/cc/parser.tab.h -o $(B)/cc/parser.tab.c $<

$(B)/cc/lexer.yy.c $(B)/cc/lexer.yy.h: compiler/lexer.l $(B)/cc/parser.tab.h | $(B)/.deps
	flex --header-file=$(B)/cc/lexer.yy.h -o $(B)/cc/lexer.yy.c $<

$(B)/cc/onnx.pb-c.c $(B)/cc/onnx.pb-c.h: compiler/onnx.proto | $(B)/.deps
	@mkdir -p $(B)/cc
	protoc-c --proto_path=compiler --c_out=$(B)/cc $<

# The parser's actions call the scanner, whose header must exist first (make -j).
$(B)/cc/parser.tab.o: $(B)/cc/lexer.yy.h
# Generated scanner/parser code gets the same warnings minus the ones it trips by design.
$(B)/cc/%.tab.o $(B)/cc/%.yy.o: CFLAGS += -Wno-unused-function -Wno-unused-parameter -Wno-sign-compare
$(B)/cc/%.o: $(B)/cc/%.c compiler/netc.h $(CM_HDR)
	$(CC) $(CFLAGS) -Icompiler -I$(B)/cc -c -o $@ $<

$(B)/cc/%.o: compiler/%.c compiler/netc.h compiler/weights.h compiler/ops.def compiler/ops/ops_impl.h runtime/kernels/conv_layout.h runtime/infer/netc_infer.h $(RT_HDR) $(CM_HDR) $(B)/cc/parser.tab.h $(B)/cc/lexer.yy.h $(B)/cc/onnx.pb-c.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Icompiler -I$(B)/cc -c -o $@ $<

$(B)/rt/%.o: runtime/%.c $(RT_HDR) $(CM_HDR) | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(RTFLAGS) -c -o $@ $<

$(B)/common/%.o: common/%.c $(CM_HDR)
	@mkdir -p $(B)/common
	$(CC) $(CFLAGS) -c -o $@ $<

# The fast kernels: sqrtf as an instruction rather than a libm call that may set errno,
# so that Adam's loop vectorises (the results are the same: both are the correctly
# rounded square root).  The scalar references (*_ref.c) are built plainly.
RT_FAST := $(filter-out %_ref.o,$(filter $(B)/rt/kernels/%,$(RT_OBJ)))
$(RT_FAST): RTFLAGS += -fno-math-errno

$(B)/infer/%.o: runtime/infer/%.c $(INFER_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(INFERFLAGS) -c -o $@ $<

$(B)/libnetc_infer.a: $(INFER_OBJ)
	rm -f $@; ar rcs $@ $^

$(B)/netc_infer.c: scripts/amalgamate.sh $(INFER_SRC) $(INFER_HDR)
	@mkdir -p $(B)
	scripts/amalgamate.sh >$@

$(B)/netc_infer.h: runtime/infer/netc_infer.h
	@mkdir -p $(B)
	cp $< $@

$(B)/cc/infer_embed.c: scripts/embed_files.sh $(B)/netc_infer.h $(B)/netc_infer.c
	@mkdir -p $(B)/cc
	scripts/embed_files.sh $(B)/netc_infer.h $(B)/netc_infer.c >$@

# test_infer holds the inference layer to the runtime's reference kernels.
$(B)/tests/test_infer: tests/unit/test_infer.c tests/unit/check.h $(B)/libnetc_infer.a $(B)/libnetcrt.a $(RT_HDR) $(INFER_HDR)
	@mkdir -p $(B)/tests
	$(CC) $(RTFLAGS) -Iruntime -o $@ $< $(B)/libnetc_infer.a $(B)/libnetcrt.a $(LDLIBS)

# Unit tests: each tests/unit/test_X.c is one program linked with both libraries.
$(B)/tests/%: tests/unit/%.c tests/unit/check.h $(B)/libnetcc.a $(B)/libnetc_infer.a $(B)/libnetcrt.a $(RT_HDR) compiler/netc.h $(CM_HDR)
	@mkdir -p $(B)/tests
	$(CC) $(RTFLAGS) -Iruntime -Icompiler -I$(B)/cc -o $@ $< $(B)/libnetcc.a $(B)/libnetc_infer.a $(B)/libnetcrt.a $(CC_LIBS) $(LDLIBS)

unit: $(UNIT)

# ---- Fuzz targets ----
# The convention: each tests/fuzz/fuzz_NAME.c is one libFuzzer target (it defines
# LLVMFuzzerTestOneInput, and LLVMFuzzerInitialize if it needs one), with its seed
# corpus in tests/fuzz/corpus/NAME/ (one input a file).  The pattern rule below builds
# it as build-fuzz/fuzz/fuzz_NAME, linked against the libraries of `make FUZZ=1` (every
# object instrumented): the compiler's libnetcc.a, the inference layer, and the runtime
# layers in FUZZ_RT_LAYERS (add one there if a target needs it).  So a new target (a
# runtime reader: checkpoint, npz, IDX, ...) needs only its file and its corpus.
# `make fuzz` runs every target for FUZZ_SECONDS (default 600) seconds, keeping the
# inputs it finds in build-fuzz/corpus/NAME/, its log in build-fuzz/NAME.log and any
# crash in build-fuzz/crashes/ (copy a crash into the corpus, with its fix, as its
# regression test); tests/t_fuzz_targets.sh (make test) runs each for a few seconds.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/fuzz/%)
FUZZ_SECONDS ?= 600
FUZZ_RT_LAYERS := trainer io core
FUZZ_LIBS := $(B)/libnetcc.a $(B)/libnetc_infer.a $(FUZZ_RT_LAYERS:%=$(B)/libnetcrt_%.a)

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIBS) $(RT_HDR) compiler/netc.h $(CM_HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -Iruntime -Icompiler -I$(B)/cc -o $@ $< $(FUZZ_LIBS) $(CC_LIBS) $(LDLIBS)

# fuzz_weights fuzzes the weights-blob reader that export-c generates, for a small model
# exported here (weights from tests/fuzz/make_weights.py) by the plain build's netc.
$(B)/weights/fz.h: tests/fuzz/weights_model.net tests/fuzz/make_weights.py build/netc
	@mkdir -p $(@D)
	python3 tests/fuzz/make_weights.py $(@D)/fz.npz
	build/netc export-c tests/fuzz/weights_model.net --weights $(@D)/fz.npz --weights-in blob -n fz -o $(@D)

$(B)/fuzz/fuzz_weights: tests/fuzz/fuzz_weights.c $(B)/weights/fz.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -I$(B)/weights -o $@ $< $(B)/weights/fz.c $(B)/weights/netc_infer.c -lm

fuzz-targets: $(FUZZ_BIN)

fuzz-build: all
	$(MAKE) --no-print-directory FUZZ=1 fuzz-targets

fuzz: fuzz-build
	@mkdir -p build-fuzz/crashes
	@for t in $(FUZZ_BIN); do \
	  n=$${t##*/fuzz_}; mkdir -p build-fuzz/corpus/$$n; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS) s (log: build-fuzz/$$n.log)"; \
	  ASAN_OPTIONS=detect_leaks=0 $$t -max_total_time=$(FUZZ_SECONDS) -timeout=20 -rss_limit_mb=4096 \
	    -print_final_stats=1 -artifact_prefix=build-fuzz/crashes/$$n- build-fuzz/corpus/$$n tests/fuzz/corpus/$$n \
	    >build-fuzz/$$n.log 2>&1; rc=$$?; \
	  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|^#[0-9]+.*DONE' build-fuzz/$$n.log; \
	  [ $$rc -eq 0 ] || { tail -n 40 build-fuzz/$$n.log; echo "fuzz: $$n failed (exit $$rc)"; exit 1; }; \
	done


# ---- make install, make uninstall ----
# `make install PREFIX=/usr/local DESTDIR=STAGE` copies each file of INSTALL_MAP
# (SOURCE:PATH under PREFIX) to DESTDIR/PREFIX/PATH: netc, the runtime's libraries and
# public headers, the inference kernels' header and library, the pkg-config files
# netc.pc and netc-infer.pc, the man pages netc(1) and netc-trainer(1) (help2man over the
# programs' --help, man/) and the bash completion of netc and of trainers
# (completion/netc.bash).  `make uninstall` removes exactly those paths.  An installed
# netc finds its runtime beside it, BIN/../include/netc/runtime and BIN/../lib
# (compiler/main.c, find_home), so a staged or moved installation builds trainers and
# never reads the source tree (docs/install.md).
PREFIX  ?= /usr/local
DESTDIR ?=
VERSION := 0.1
RT_PUB  := runtime/netc_rt.h $(wildcard runtime/*/rt_*.h) runtime/kernels/conv_layout.h
CM_PUB  := common/settings.h common/settings.def
INSTALL_MAP := $(B)/netc:bin/netc \
  $(foreach f,$(B)/libnetcrt.a $(RT_LIBS) $(B)/libnetc_infer.a,$(f):lib/$(notdir $(f))) \
  $(foreach f,$(RT_PUB) $(CM_PUB),$(f):include/netc/$(f)) $(B)/netc_infer.h:include/netc/netc_infer.h \
  $(foreach f,netc netc-infer,$(B)/pkgconfig/$(f).pc:lib/pkgconfig/$(f).pc) \
  $(foreach f,netc netc-trainer,$(B)/man/$(f).1:share/man/man1/$(f).1) \
  completion/netc.bash:share/bash-completion/completions/netc \
  $(B)/mpi.flags:lib/netc-mpi.flags

install: $(foreach p,$(INSTALL_MAP),$(firstword $(subst :, ,$(p))))
	@for p in $(INSTALL_MAP); do \
	  dst="$(DESTDIR)$(PREFIX)/$${p#*:}"; mode=644; case "$$p" in *:bin/*) mode=755;; esac; \
	  echo "install $${p%%:*} $$dst"; install -D -m $$mode "$${p%%:*}" "$$dst" || exit 1; \
	done

uninstall:
	rm -f $(foreach p,$(INSTALL_MAP),"$(DESTDIR)$(PREFIX)/$(lastword $(subst :, ,$(p)))")
	[ ! -d "$(DESTDIR)$(PREFIX)/include/netc" ] || find "$(DESTDIR)$(PREFIX)/include/netc" -depth -type d -empty -delete

# The .pc files carry PREFIX, so they are written again on every make install.
$(B)/pkgconfig/%.pc: %.pc.in FORCE
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@LDLIBS@|$(LDLIBS)|' $< >$@

# A man page: help2man over the program's --help, with man/NAME.h2m's sections and one
# subsection per command (man/commands.sh).  netc-trainer(1) is made from the trainer of
# man/trainer.net, a model with no train section: its defaults are netc's own.
man: $(B)/man/netc.1 $(B)/man/netc-trainer.1
$(B)/man/netc.1: $(B)/netc
$(B)/man/netc-trainer.1: $(B)/man/netc-trainer
$(B)/man/netc-trainer: man/trainer.net $(B)/netc $(B)/libnetcrt.a
	@mkdir -p $(@D)
	$(B)/netc build $< -o $@
$(B)/man/%.1: man/%.h2m man/commands.sh
	@mkdir -p $(@D)
	man/commands.sh $(filter-out man/%,$^) >$(@:.1=.commands)
	help2man -N --version-string=$(VERSION) -i $< -i $(@:.1=.commands) -o $@ $(filter-out man/%,$^)

.PHONY: install uninstall man FORCE

# make test builds what it runs with a job per CPU, then runs the tests, TEST_JOBS at a
# time (tests/run.sh; default a job per CPU, TEST_JOBS=1: one after another).
NPROC := $(shell nproc 2>/dev/null || echo 1)
test:
	$(MAKE) --no-print-directory -j$(NPROC) all unit
	$(MAKE) --no-print-directory -j$(NPROC) SAN=1 all
	$(MAKE) --no-print-directory -j$(NPROC) FUZZ=1 fuzz-targets
	tests/run.sh

# The training benchmark against PyTorch and Keras (figures, not a test: never in make test;
# its first run installs the peers from PyPI into build/bench-venv and build/keras-venv).
# BENCH_ARGS passes options, e.g. make bench BENCH_ARGS="--rounds 3 --models simplenet".
bench: all
	bench/run_bench.sh $(BENCH_ARGS)

clean:
	rm -rf build build-san build-fuzz netc

.PHONY: all deps test unit clean fuzz fuzz-build fuzz-targets bench

.DELETE_ON_ERROR:
