# kumo: one hand-written GNU Makefile for every part.
#
#   make            build every binary into bin/
#   make run        install missing Debian packages, build, start the main job
#   make test       install missing Debian packages, build, run every test
#   make unit       Criterion unit tests only
#   make integration  integration scripts only (tests/integration/NNN-*.sh)
#   make bench      benchmarks (not part of test)
#   make asan       build with AddressSanitizer + UBSan and run the tests
#   make valgrind   run the unit tests under valgrind
#   make check-style  clang-format check
#   make clean      remove what the build made
# V=1 shows the commands.

CC ?= gcc
BUILD ?= build
BIN ?= bin
SANITIZE ?=

PKGS := openssl jansson zlib libmicrohttpd inih
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CRIT_CFLAGS := $(shell pkg-config --cflags criterion 2>/dev/null)
CRIT_LIBS := $(shell pkg-config --libs criterion 2>/dev/null)

OPT ?= -O2
CFLAGS := -std=gnu11 -D_GNU_SOURCE $(OPT) -g -Wall -Wextra -Werror -Wshadow \
	-Wno-missing-field-initializers -I. -MMD -MP $(PKG_CFLAGS)
LDLIBS := $(PKG_LIBS) -lm -lpthread
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

COMMON_SRCS := common/log.c common/buf.c common/md5.c common/fsutil.c \
	common/gzip.c common/pyjson.c common/config.c common/http.c \
	common/daemon.c common/timestamp.c
RING_SRCS := ring/ring.c ring/ringfile.c ring/builder.c ring/builderfile.c \
	ring/plan.c ring/rebalance.c ring/stats.c
LIB_SRCS := $(COMMON_SRCS) $(RING_SRCS)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libkumo.a

PROGS := $(BIN)/kumo-ring
UNIT_TESTS := $(BUILD)/tests/unit/test_ring $(BUILD)/tests/unit/test_builder \
	$(BUILD)/tests/unit/test_common
BENCHES := $(BUILD)/bench/ring_lookup

.SECONDARY:
.PHONY: all deps run test unit integration bench asan valgrind check-style \
	clean help
all: $(PROGS)

deps:
	$(Q)scripts/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN)/kumo-ring: $(BUILD)/ring/ringtool.o $(LIB)
	@mkdir -p $(BIN)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/ring/%.o $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CRIT_LIBS) $(LDLIBS)

$(BUILD)/tests/unit/test_common: $(BUILD)/tests/unit/common/test_common.o $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CRIT_LIBS) $(LDLIBS)

$(BUILD)/tests/unit/%.o: CFLAGS += $(CRIT_CFLAGS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The main job. Until the storage servers exist it builds a small ring
# with kumo-ring and shows where paths land.
run: deps all
	$(Q)scripts/run-demo.sh

test: deps all $(UNIT_TESTS)
	$(Q)KUMO_BIN=$(abspath $(BIN)) tests/run-tests.sh $(UNIT_TESTS)

unit: all $(UNIT_TESTS)
	$(Q)KUMO_BIN=$(abspath $(BIN)) tests/run-tests.sh --unit $(UNIT_TESTS)

integration: all
	$(Q)KUMO_BIN=$(abspath $(BIN)) tests/run-tests.sh --integration

bench: deps all $(BENCHES)
	$(Q)KUMO_BIN=$(abspath $(BIN)) KUMO_BUILD=$(abspath $(BUILD)) \
		bench/run.sh

asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build/asan BIN=build/asan/bin \
		SANITIZE=1 OPT=-O1 test

valgrind: all $(UNIT_TESTS)
	$(Q)for t in $(UNIT_TESTS); do \
		valgrind -q --error-exitcode=99 --leak-check=full --trace-children=yes \
		--errors-for-leak-kinds=definite $$t -j1 || exit 1; done

check-style:
	$(Q)clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(BIN)

help:
	@sed -n '3,14p' Makefile

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
