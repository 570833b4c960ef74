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

.PHONY: all test test-unit test-e2e demo bench clean help deps-check
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

help:
	@echo "make          build ./dltrain"
	@echo "make test     unit + end-to-end + accuracy tests"
	@echo "make demo     install missing packages, build, train the Fashion-MNIST MLP"
	@echo "make bench    dltrain vs PyTorch (and Keras) speed and memory"

clean:
	rm -rf $(BUILD) dltrain

-include $(LIB_OBJ:.o=.d) $(BUILD)/cli/main.d
