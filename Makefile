# dltrain build. Switches first; `make help` lists the targets.
DEBUG     ?= 0          # 1: -O0 -g
NATIVE    ?= 1          # 1: -march=native (vector loops use this CPU's widest units)
SANITIZE  ?=            # e.g. address,undefined (make test-asan sets it)
CC        ?= cc
BUILD     ?= build

CFLAGS_OPT = $(if $(filter 1,$(DEBUG)),-O0 -g,-O3 -g) $(if $(filter 1,$(NATIVE)),-march=native)
CFLAGS    += -std=c11 -D_GNU_SOURCE $(CFLAGS_OPT) -fno-math-errno -Wall -Wextra -MMD -MP -I.
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

$(BUILD)/%.o: %.c
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
	@echo "make bench    dltrain vs PyTorch (and Keras) speed and memory"

clean:
	rm -rf $(BUILD) dltrain

-include $(LIB_OBJ:.o=.d) $(BUILD)/cli/main.d

# Speed and memory against PyTorch and Keras (tests/bench/README.md).
.PHONY: bench
bench: dltrain
	sh tests/bench/bench_mlp.sh
