# mxfp4-check - see README.md. Targets: all (default), test, check (ASan+UBSan),
# fuzz, test-all (what CI runs), test-gpu, bench, demo, install, clean.

VERSION    := 0.1.0
PREFIX     ?= /usr/local
# `make MPI=1`: the MPI build (mpicc, OpenMPI), in build-mpi/ by default.
MPI        ?= 0
BUILD      ?= $(if $(filter 1,$(MPI)),build-mpi,build)
CC         ?= cc
ifeq ($(MPI),1)
  CC       := mpicc
endif
FIXTURES   ?= $(abspath ../shared/fixtures)
# How many compilers, test suites and fuzzers run at a time in test-all,
# check, test-mpi, test and fuzz (`make test-all JOBS=1` runs one at a time).
# The builds of those targets get -j$(JOBS) unless make was given -j itself.
JOBS       ?= $(shell nproc 2>/dev/null || echo 1)
PAR         = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(JOBS))

# CUDA is built in when nvcc is found; `make CUDA=0` forces the CPU-only build.
NVCC       ?= $(firstword $(shell command -v nvcc 2>/dev/null) $(wildcard /usr/local/cuda/bin/nvcc))
CUDA       ?= $(if $(NVCC),1,0)
CUDA_HOME  ?= $(patsubst %/bin/nvcc,%,$(NVCC))
CUDA_ARCH  ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
              -gencode arch=compute_90,code=compute_90

WARN       := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 -Wvla
CPPFLAGS   += -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -DMXC_VERSION='"$(VERSION)"' \
              -DMXC_HAVE_CUDA=$(CUDA) -DMXC_HAVE_MPI=$(MPI) -Isrc -Ikernels -I/usr/include/cjson
CFLAGS     ?= -O2 -g
CFLAGS     += -std=c11 $(WARN) -fopenmp -MMD -MP
LDLIBS     += -lcjson -lyaml -lncursesw -lunistring -lpcre2-8 -lcrypto -lm
LDFLAGS    += -fopenmp

ifeq ($(SAN),1)
  CFLAGS   += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
  LDFLAGS  += -fsanitize=address,undefined
endif

# The comparison loops are written to vectorize; -fno-trapping-math lets the
# compiler turn their selects into vector blends (results are unchanged: no
# code here relies on floating-point traps).
# -Wno-psabi: tiles.c passes GCC vectors between always-inlined helpers,
# which GCC warns could change the ABI if they were ever called for real.
# On x86-64, tiles.c is compiled a second time with vectors of 8 columns for
# AVX-512 (tiles_w8.o); numerics.c picks it at run time where the CPU has it.
ifeq ($(shell uname -m),x86_64)
  TILES_W8 := $(BUILD)/src/tiles_w8.o
  CPPFLAGS += -DMXC_TILES_W8=1
endif
$(BUILD)/src/tiles.o $(TILES_W8): CFLAGS += -O3 -fno-trapping-math -Wno-psabi
$(BUILD)/src/engine.o: CFLAGS += -O3

LIB_SRC    := $(filter-out src/main.c,$(wildcard src/*.c)) $(wildcard tui/*.c)
ifneq ($(MPI),1)
  LIB_SRC  := $(filter-out src/mpi_run.c,$(LIB_SRC)) # only an MPI build links MPI
endif
# The built-in rule files, embedded so that the binary needs no installed files.
RULES_YAML := rules/default.yaml rules/strict.yaml rules/gpt-oss.yaml
RULES_GEN  := $(BUILD)/gen/rules_builtin.c
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/rules_builtin.o $(TILES_W8)
MAIN_OBJ   := $(BUILD)/src/main.o
CUDA_OBJ   :=
ifeq ($(CUDA),1)
  CUDA_OBJ := $(patsubst %.cu,$(BUILD)/%.o,$(wildcard kernels/*.cu))
  LDLIBS   += -L$(CUDA_HOME)/lib64 -lcudart_static -ldl -lrt -lpthread -lstdc++
endif
LIB        := $(BUILD)/libmxc.a
BIN        := $(BUILD)/mxfp4-check

TEST_SRC   := $(wildcard tests/test_*.c)
TEST_BIN   := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
SUPPORT_SRC:= $(filter-out tests/support/faultshim.c,$(wildcard tests/support/*.c))
SUPPORT_OBJ:= $(SUPPORT_SRC:%.c=$(BUILD)/%.o)
GPU_TEST_SRC := $(wildcard tests/gpu/test_*.c)
GPU_TEST_BIN := $(GPU_TEST_SRC:tests/gpu/%.c=$(BUILD)/tests/gpu/%)
TOOL_SRC   := $(wildcard tests/tools/*.c)
TOOL_BIN   := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
# The fault-injection shim (LD_PRELOAD) of tests/test_faults.c: built without
# the sanitizers (it goes into the sanitized binary, whose runtime does the
# checking) and without _FILE_OFFSET_BITS, which would rename its pread.
SHIM       := $(BUILD)/tests/faultshim.so

.SECONDARY: $(SUPPORT_OBJ)
.PHONY: all deps test test-mpi check fuzz test-all test-gpu gpu-tests bench demo samples install clean
all: mxfp4-check

mxfp4-check: $(BIN)
	@if [ "$(BUILD)" = build ] || [ "$(BUILD)" = build-mpi ]; then cp $(BIN) $@; fi

$(BIN): $(MAIN_OBJ) $(LIB) $(CUDA_OBJ)
	$(CC) $(LDFLAGS) -o $@ $(MAIN_OBJ) $(CUDA_OBJ) $(LIB) $(LDLIBS)

# The slowest objects first, so that a parallel build compiles the others
# beside them instead of waiting for them at the end (under GCC's UBSan,
# tiles.o takes about 50 s and tiles_w8.o 25 s: as long as all the other
# library objects together on one CPU).
$(LIB): $(BUILD)/src/tiles.o $(TILES_W8) $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(TILES_W8): src/tiles.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -DTILES_W8 -march=x86-64-v4 -mprefer-vector-width=512 -c -o $@ $<

$(RULES_GEN): $(RULES_YAML) scripts/embed-rules.sh
	@mkdir -p $(dir $@)
	./scripts/embed-rules.sh $@ default=rules/default.yaml strict=rules/strict.yaml gpt-oss=rules/gpt-oss.yaml

$(BUILD)/gen/rules_builtin.o: $(RULES_GEN)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/kernels/%.o: kernels/%.cu $(wildcard src/*.h kernels/*.h)
	@mkdir -p $(dir $@)
	$(NVCC) -std=c++17 -O3 -fmad=false $(CUDA_ARCH) -Isrc -Ikernels -DMXC_HAVE_CUDA=1 -Xcompiler -Wall -c -o $@ $<

$(SHIM): tests/support/faultshim.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(WARN) -O2 -g -fPIC -shared -o $@ $< -ldl

$(BUILD)/tests/%: tests/%.c $(LIB) $(SUPPORT_OBJ) $(CUDA_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/support $(CFLAGS) $(LDFLAGS) -o $@ $< $(SUPPORT_OBJ) $(CUDA_OBJ) $(LIB) -lcmocka $(LDLIBS)

$(BUILD)/tests/gpu/%: tests/gpu/%.c $(LIB) $(SUPPORT_OBJ) $(CUDA_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/support $(CFLAGS) $(LDFLAGS) -o $@ $< $(SUPPORT_OBJ) $(CUDA_OBJ) $(LIB) -lcmocka $(LDLIBS)

$(BUILD)/tools/%: tests/tools/%.c $(LIB) $(SUPPORT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/support $(CFLAGS) $(LDFLAGS) -o $@ $< $(SUPPORT_OBJ) $(LIB) $(LDLIBS)

deps:
	@./scripts/deps.sh

# Unit and CLI tests against the normal build. Each test program is a cmocka
# suite; MXC_BIN and MXC_FIXTURES tell them what to run and read.
test: $(BIN) $(TEST_BIN) $(TOOL_BIN) $(SHIM)
	@MXC_BIN=$(abspath $(BIN)) MXC_TOOLS=$(abspath $(BUILD)/tools) MXC_FIXTURES=$(FIXTURES) \
	  MXC_SRCDIR=$(CURDIR) MXC_FAULTSHIM=$(abspath $(SHIM)) MXC_MPI_BIN=$(MXC_MPI_BIN) \
	  TEST_JOBS=$(JOBS) ./scripts/run-tests.sh $(TEST_BIN)

# The scale-out suite against the MPI build (mpirun -n 3 as well as --shard
# and merge): builds build-mpi/ (CPU only) and runs tests/test_scaleout there.
MPI_BUILD  ?= build-mpi
test-mpi: $(BIN) $(TOOL_BIN) $(BUILD)/tests/test_scaleout
	$(MAKE) $(PAR) MPI=1 CUDA=0 BUILD=$(MPI_BUILD) $(MPI_BUILD)/mxfp4-check
	@MXC_BIN=$(abspath $(BIN)) MXC_TOOLS=$(abspath $(BUILD)/tools) MXC_FIXTURES=$(FIXTURES) \
	  MXC_MPI_BIN=$(abspath $(MPI_BUILD)/mxfp4-check) TEST_JOBS=$(JOBS) \
	  ./scripts/run-tests.sh $(BUILD)/tests/test_scaleout

# The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
check:
	$(MAKE) $(PAR) BUILD=build-san SAN=1 CUDA=0 test

FUZZ_SECONDS ?= 30
FUZZ_CC      ?= clang-14
fuzz:
	@FUZZ_JOBS=$(JOBS) ./scripts/fuzz.sh "$(FUZZ_CC)" "$(FUZZ_SECONDS)"

# GPU parity tests: skipped with a notice where there is no GPU (CI).
test-gpu:
	@MXC_BIN=$(abspath $(BIN)) MXC_TOOLS=$(abspath $(BUILD)/tools) MXC_FIXTURES=$(FIXTURES) \
	  MXC_SRCDIR=$(CURDIR) MXC_GPU_TESTS=$(abspath $(BUILD)/tests/gpu) BUILD=$(BUILD) \
	  ./scripts/test-gpu.sh

gpu-tests: $(BIN) $(GPU_TEST_BIN) $(TOOL_BIN)

# What CI runs (the README's test command): dependencies, a short fuzz of
# every parser, the GPU notice, the sanitizer suite and the suite (last, so the
# run ends with its totals).
test-all: deps
	$(MAKE) fuzz FUZZ_SECONDS=20
	$(MAKE) test-gpu
	$(MAKE) check
	$(MAKE) $(PAR) test-mpi
	$(MAKE) $(PAR) test

bench: $(BIN)
	@./bench/run.sh

samples: $(BUILD)/tools/gen_sample
	$(BUILD)/tools/gen_sample samples

demo: deps
	$(MAKE) mxfp4-check
	./mxfp4-check verify samples/tiny-bf16 samples/tiny-mxfp4
	./mxfp4-check inspect samples/tiny-mxfp4 --tensor model.layers.0.mlp.experts.down_proj

install: mxfp4-check
	install -D -m 755 mxfp4-check $(DESTDIR)$(PREFIX)/bin/mxfp4-check
	install -D -m 644 mxfp4-check.1 $(DESTDIR)$(PREFIX)/share/man/man1/mxfp4-check.1
	install -d $(DESTDIR)$(PREFIX)/share/mxfp4-check/rules
	install -m 644 rules/*.yaml $(DESTDIR)$(PREFIX)/share/mxfp4-check/rules/

clean:
	rm -rf build build-san build-fuzz build-mpi mxfp4-check

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
