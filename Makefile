# dltrain build. Switches first; `make help` lists the targets.
DEBUG     ?= 0          # 1: -O0 -g
NATIVE    ?= 1          # 1: -march=native (vector loops use this CPU's widest units)
SANITIZE  ?=            # e.g. address,undefined (make test-asan sets it)
CC        ?= cc
BUILD     ?= build
CUDA      ?= auto       # GPU backend: auto (when nvcc is found), 1 (required), 0 (never)

CFLAGS_OPT = $(if $(filter 1,$(DEBUG)),-O0 -g,-O3 -g) $(if $(filter 1,$(NATIVE)),-march=native)
# -fno-trapping-math: no program here turns FP exceptions on, and without it
# gcc keeps branches in loops such as relu's gradient (a multiply on one side
# only) instead of vectorizing them; values are the same either way.
CFLAGS    += -std=c11 -D_GNU_SOURCE $(CFLAGS_OPT) -fno-math-errno -fno-trapping-math -Wall -Wextra -MMD -MP -I.
LDLIBS    += -lm

# Libraries: pkg-config where a .pc file ships, directly otherwise (libcsv).
PKGS       = yaml-0.1 libcjson libpng zlib openblas
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS    += $(PKG_CFLAGS)
LDLIBS    += $(PKG_LIBS) -lcsv

ifneq ($(strip $(SANITIZE)),)
CFLAGS    += -fsanitize=$(strip $(SANITIZE)) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS   += -fsanitize=$(strip $(SANITIZE))
endif

LIB_SRC  := $(wildcard engine/backend/*.c engine/*.c layers/*.c datasets/*.c configs/*.c) \
            $(filter-out cli/main.c,$(wildcard cli/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/unit/test_*.c)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# Debian packages: the build's libraries, the demo's and the tests' data.
DEB_PACKAGES = gcc make pkg-config libyaml-dev libopenblas-dev libcjson-dev libpng-dev \
               zlib1g-dev libcsv-dev python3 python3-venv dataset-fashion-mnist \
               python3-vega-datasets

.PHONY: all test demo deps clean help
all: dltrain

dltrain: $(BUILD)/cli/main.o $(BUILD)/libdltrain.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libdltrain.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The Makefile too: a change of CFLAGS rebuilds the objects.
$(BUILD)/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libdltrain.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libdltrain.a $(LDLIBS)

# Unit tests, end-to-end tests and the Fashion-MNIST accuracy tier.
test: dltrain $(TEST_BIN)
	@sh tests/run.sh $(BUILD)/tests

# Installs missing Debian packages as root; otherwise prints the one command.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	    dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive \
	        apt-get install -y --no-install-recommends $$missing; \
	else \
	    echo "dltrain needs these Debian packages; install them with:"; \
	    echo "  sudo apt-get install -y$$missing"; exit 1; \
	fi

# Installs what is missing, builds, trains the Fashion-MNIST MLP.
demo: deps
	$(MAKE) dltrain
	./dltrain fit configs/examples/fashion_mnist_mlp.yaml

help:
	@echo "make          build ./dltrain"
	@echo "make test     unit + end-to-end + accuracy tests"
	@echo "make demo     install missing packages, build, train the Fashion-MNIST MLP"
	@echo "make deps     install the Debian packages (or print the apt-get line)"
	@echo "make bench    dltrain vs PyTorch (and Keras) speed and memory, MLP and CNN"
	@echo "make bench-startup  dltrain's start-up vs importing PyTorch and Keras"
	@echo "make fuzz     libFuzzer targets for every loader (FUZZ_SECONDS each)"
	@echo "make test-asan  the whole suite under AddressSanitizer + UBSan"
	@echo "make check-cuda  what the CUDA backend library exports and targets"

clean:
	rm -rf $(BUILD) dltrain

-include $(LIB_OBJ:.o=.d) $(BUILD)/cli/main.d $(TEST_BIN:=.d)

# Speed and memory against PyTorch and Keras, the Fashion-MNIST MLP and CNN;
# BENCH_MODEL=mlp or cnn for one of them (tests/bench/README.md).
.PHONY: bench
bench: dltrain
	sh tests/bench/bench.sh

# Start-up: dltrain check and a one-epoch fit against importing torch and keras.
.PHONY: bench-startup
bench-startup: dltrain
	sh tests/bench/bench_startup.sh

# ---- hostile input: libFuzzer targets and the sanitizer test run ----------
# make fuzz: tests/fuzz/fuzz_*.c built with clang (ASan, UBSan, libFuzzer) in
# build/fuzz; replays tests/fuzz/regressions/, then fuzzes each target for
# FUZZ_SECONDS (tests/fuzz/run.sh). Needs Debian's clang and libclang-rt-dev.
# make test-asan: tests/run.sh on a build/asan build with ASan + UBSan (clang:
# gcc's UBSan ignores log_path); any report (logged to build/asan/reports/)
# fails it. The accuracy tier (minutes of Fashion-MNIST training) is left to
# `make test`.
FUZZ_SECONDS ?= 60
FUZZ_BUILD    = build/fuzz
FUZZ_BINS     = $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_HARNESS  = $(FUZZ_BUILD)/tests/fuzz/harness.o
# The library without cli/: the targets call the loaders only.
FUZZ_OBJ      = $(filter-out $(FUZZ_BUILD)/cli/%,$(LIB_OBJ))
ASAN_BUILD    = build/asan
ASAN_REPORTS  = $(CURDIR)/$(ASAN_BUILD)/reports
SAN_OPTIONS   = halt_on_error=1:abort_on_error=0:exitcode=86:print_stacktrace=1

.PHONY: fuzz test-asan
fuzz:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang NATIVE=0 SANITIZE=address,undefined,fuzzer-no-link \
	    $(FUZZ_BINS)
	@sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

.SECONDARY: $(FUZZ_HARNESS)
$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/harness.h $(FUZZ_HARNESS) $(FUZZ_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_HARNESS) $(FUZZ_OBJ) $(LDLIBS)

test-asan:
	$(MAKE) BUILD=$(ASAN_BUILD) CC=clang NATIVE=0 SANITIZE=address,undefined $(ASAN_BUILD)/dltrain \
	    $(TEST_SRC:tests/unit/%.c=$(ASAN_BUILD)/tests/%)
	@rm -rf $(ASAN_REPORTS) && mkdir -p $(ASAN_REPORTS)
	@DLTRAIN=$(CURDIR)/$(ASAN_BUILD)/dltrain DLTRAIN_SKIP_SLOW=1 \
	ASAN_OPTIONS=$(SAN_OPTIONS):detect_leaks=1:log_path=$(ASAN_REPORTS)/asan \
	UBSAN_OPTIONS=$(SAN_OPTIONS):log_path=$(ASAN_REPORTS)/ubsan \
	sh tests/run.sh $(ASAN_BUILD)/tests; rc=$$?; \
	if [ -n "$$(ls $(ASAN_REPORTS))" ]; then cat $(ASAN_REPORTS)/*; \
	    echo "test-asan: sanitizer reports above"; exit 1; fi; exit $$rc

$(ASAN_BUILD)/dltrain: $(ASAN_BUILD)/cli/main.o $(ASAN_BUILD)/libdltrain.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# make test-tsan: the unit tests built with clang's ThreadSanitizer in
# build/tsan (test_threads drives the CPU backend's worker pool); any data
# race report fails it.
TSAN_BUILD = build/tsan
TSAN_TESTS = $(TEST_SRC:tests/unit/%.c=$(TSAN_BUILD)/tests/%)
.PHONY: test-tsan
test-tsan:
	$(MAKE) BUILD=$(TSAN_BUILD) CC=clang NATIVE=0 SANITIZE=thread $(TSAN_TESTS)
	@fail=0; for t in $(TSAN_TESTS); do \
	    TSAN_OPTIONS=halt_on_error=1:exitcode=86 $$t >$$t.log 2>&1 || \
	        { tail -n 40 $$t.log; echo "test-tsan: $$t failed"; fail=1; }; \
	done; [ $$fail = 0 ] && echo "test-tsan: $(words $(TSAN_TESTS)) unit tests, no data race"
# ---- end of hostile input ---------------------------------------------------

# ---- CUDA backend: libdltrain_cuda.so next to ./dltrain ---------------------
# dltrain never links CUDA: engine/backend/gpu_probe.c dlopens this library
# when a config asks for the GPU and the driver reports a device. It exports
# dl_cuda_backend_create only (gpu.h's DL_GPU_ENTRY_NAME); the CUDA runtime
# is linked statically, cuBLAS and cuDNN's sub-libraries dynamically (a
# missing one is a readable dlopen error, not the cudnn shim's abort).
# Code for sm_80 (A100 and every 8.x) and sm_90 (H100/H200), and compute_90
# PTX that newer GPUs compile at load. `make check-cuda` prints what the
# library exports, needs and embeds.
CUDA_HOME ?= /usr/local/cuda
NVCC      ?= $(or $(shell command -v nvcc 2>/dev/null),$(wildcard $(CUDA_HOME)/bin/nvcc))
CUDNN_H   := $(firstword $(wildcard $(CUDA_HOME)/include/cudnn.h /usr/include/cudnn.h \
                                    /usr/include/x86_64-linux-gnu/cudnn.h))
CUDA_GENCODE = -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=[sm_90,compute_90]
CUDA_ARCHS   = sm_80, sm_90 and compute_90 PTX
NVCCFLAGS  = -std=c++17 -O2 -lineinfo -I. --extended-lambda $(CUDA_GENCODE) \
             -DDL_CUDA_ARCHS='"$(CUDA_ARCHS)"' -Werror all-warnings -Werror default-stream-launch \
             -Xcompiler -fPIC,-fvisibility=hidden,-Wall,-Wextra,-Werror -MMD -MP
CUDA_LIBS  = -lcublas -lcudnn_graph -lcudnn_ops -lcudnn_cnn
CUDA_LIB   = libdltrain_cuda.so
CUDA_OBJ  := $(patsubst %.cu,$(BUILD)/%.o,$(wildcard engine/backend/cuda*.cu))
CUDA_MAP   = $(BUILD)/engine/backend/cuda_exports.map

ifeq ($(strip $(CUDA)),0)
CUDA_TARGET :=
else ifneq ($(and $(NVCC),$(CUDNN_H)),)
CUDA_TARGET := $(CUDA_LIB)
else ifeq ($(strip $(CUDA)),1)
$(error CUDA=1 needs nvcc ($(or $(NVCC),not found)) and cudnn.h ($(or $(CUDNN_H),not found)); set CUDA_HOME or put nvcc on the PATH)
else
$(info CUDA backend skipped: nvcc or cudnn.h not found (CUDA=auto); dltrain will train on the CPU)
CUDA_TARGET :=
endif

.PHONY: check-cuda clean-cuda
all: $(CUDA_TARGET)
test: $(CUDA_TARGET)
clean: clean-cuda

$(CUDA_LIB): $(CUDA_OBJ) $(CUDA_MAP)
	$(NVCC) -shared -o $@ $(CUDA_OBJ) $(CUDA_LIBS) -Xlinker -rpath,$(CUDA_HOME)/lib64 \
	    -Xlinker -z,defs -Xlinker --version-script=$(CUDA_MAP)

# hides what -fvisibility=hidden cannot: the C++ library's template instances
$(CUDA_MAP):
	@mkdir -p $(dir $@)
	printf '{ global: dl_cuda_backend_create; local: *; };\n' >$@

$(BUILD)/%.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -c -o $@ $<

check-cuda: $(CUDA_LIB)
	nm -D --defined-only $(CUDA_LIB)
	readelf -d $(CUDA_LIB) | grep -E 'NEEDED|RUNPATH'
	python3 tests/e2e/fatbin_targets.py $(CUDA_LIB)

clean-cuda:
	rm -f $(CUDA_LIB)

-include $(CUDA_OBJ:.o=.d)
# ---- end of CUDA backend -----------------------------------------------------
