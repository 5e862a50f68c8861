# kumo: one hand-written GNU Makefile for every part.
#
#   make            build every binary into bin/
#   make run        install missing Debian packages, build, start the main job
#   make test       install missing Debian packages, build, run every test
#   make unit       Criterion unit tests only
#   make integration  integration scripts only (tests/integration/NNN-*.sh)
#   make bench      benchmarks (not part of test)
#   make bench-swift  kumo against OpenStack Swift (part of make bench)
#   make asan       build with AddressSanitizer + UBSan and run the tests
#   make valgrind   run the unit tests under valgrind, and the kumo daemons
#                   they start (not the system tools: qemu-img, nbdcopy)
#   make check-style  clang-format check
#   make clean      remove what the build made
# V=1 shows the commands.

# One compile per core unless -j was given (make -j1: one at a time); the
# tests themselves run one after another in run-tests.sh either way.
ifeq ($(filter -j% j%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 1)
endif

CC ?= gcc
BUILD ?= build
BIN ?= bin
SANITIZE ?=

# make deps/run/test/bench install the missing Debian packages (scripts/
# install-deps.sh) while this file is read, before the flags below are asked
# of pkg-config: on a fresh machine they would otherwise come out empty.
ifneq ($(filter deps run test bench bench-swift asan,$(MAKECMDGOALS)),)
DEPS_EXIT := $(shell scripts/install-deps.sh >&2; echo $$?)
ifneq ($(DEPS_EXIT),0)
$(error scripts/install-deps.sh failed with exit status $(DEPS_EXIT))
endif
endif

PKGS := openssl jansson zlib libmicrohttpd inih libcurl libxxhash
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CRIT_CFLAGS := $(shell pkg-config --cflags criterion 2>/dev/null)
CRIT_LIBS := $(shell pkg-config --libs criterion 2>/dev/null)

OPT ?= -O2
CFLAGS := -std=gnu11 -D_GNU_SOURCE $(OPT) -g -Wall -Wextra -Werror -Wshadow \
	-Wno-missing-field-initializers -I. -MMD -MP $(PKG_CFLAGS)
# liberasurecode (common/ec.c): Debian ships no erasurecode-1.pc
EC_LIBS := $(shell pkg-config --libs erasurecode-1 2>/dev/null || echo -lerasurecode)
LDLIBS := $(PKG_LIBS) $(EC_LIBS) -lleveldb -lm -lpthread
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

# Sources by folder. common/ and ring/ make the library every program and
# test links. Each part (objectd, containerd, ...) is built on its own: its
# main.c is bin/kumo-<part>'s entry point, its other .c files are linked
# into that program and into the unit tests of tests/unit/<part>/; so a
# part never needs another part's internals, and one part's broken file
# does not stop the others from building.
COMMON_SRCS := $(sort $(wildcard common/*.c))
RING_SRCS := $(filter-out ring/ringtool.c,$(sort $(wildcard ring/*.c)))
LIB_SRCS := $(COMMON_SRCS) $(RING_SRCS)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libkumo.a
PARTS := objectd containerd accountd proxy volume fuse status aio
part_objs = $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(1)/main.c,$(sort $(wildcard $(1)/*.c))))

# bin/kumo-<part> for each part that has a main.c
# the program of a part is bin/kumo-<part>, or bin/kumo-<PROG_part> when set
PROG_volume := volumed
PROG_fuse := mount
# libraries only one part links (its program and its unit tests)
CFLAGS_fuse := $(shell pkg-config --cflags fuse3 2>/dev/null)
LDLIBS_fuse := $(shell pkg-config --libs fuse3 2>/dev/null)
LDLIBS_proxy := $(shell pkg-config --libs expat 2>/dev/null)
# objectd/dioread.c: a large GET's read-ahead
LDLIBS_objectd := $(shell pkg-config --libs liburing 2>/dev/null || echo -luring)
prog = kumo-$(or $(PROG_$(1)),$(1))
PART_PROGS := $(foreach p,$(PARTS),$(if $(wildcard $(p)/main.c),$(BIN)/$(call prog,$(p))))
PROGS := $(BIN)/kumo-ring $(PART_PROGS)
# one Criterion binary per tests/unit/<part>/test_<module>.c
UNIT_SRCS := $(sort $(wildcard tests/unit/*/test_*.c))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
BENCHES := $(BUILD)/bench/ring_lookup $(BUILD)/bench/loadgen \
	$(BUILD)/bench/ec_encode

.SECONDARY:
.PHONY: all deps run test unit integration bench asan valgrind check-style \
	clean help bench-swift
all: $(PROGS)

deps:
	@: # done while the Makefile was read

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

define part_rules
$(BIN)/$(call prog,$(1)): $(BUILD)/$(1)/main.o $(call part_objs,$(1)) $(LIB)
	@mkdir -p $(BIN)
	@$$(if $(Q),echo "  LINK    $$@")
	$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS_$(1)) $$(LDLIBS)

$(BUILD)/tests/unit/$(1)/%: $(BUILD)/tests/unit/$(1)/%.o $(call part_objs,$(1)) $(LIB)
	@$$(if $(Q),echo "  LINK    $$@")
	$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(CRIT_LIBS) $$(LDLIBS_$(1)) $$(LDLIBS)

$(BUILD)/$(1)/%.o: CFLAGS += $$(CFLAGS_$(1))
$(BUILD)/tests/unit/$(1)/%.o: CFLAGS += $$(CFLAGS_$(1))
endef
$(foreach p,$(PARTS),$(eval $(call part_rules,$(p))))

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CRIT_LIBS) $(LDLIBS)

$(BUILD)/tests/unit/%.o: CFLAGS += $(CRIT_CFLAGS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The main job: the all-in-one cluster on 127.0.0.1, data under var/aio.
run: deps all
	$(Q)$(BIN)/kumo-aio --dir var/aio --proxy-port $(or $(PORT),8080)

test: deps all $(UNIT_TESTS) $(BUILD)/bench/loadgen
	$(Q)KUMO_BIN=$(abspath $(BIN)) KUMO_BUILD=$(abspath $(BUILD)) \
		tests/run-tests.sh $(UNIT_TESTS)

unit: all $(UNIT_TESTS)
	$(Q)KUMO_BIN=$(abspath $(BIN)) tests/run-tests.sh --unit $(UNIT_TESTS)

integration: all $(BUILD)/bench/loadgen
	$(Q)KUMO_BIN=$(abspath $(BIN)) KUMO_BUILD=$(abspath $(BUILD)) \
		tests/run-tests.sh --integration

bench: deps all $(BENCHES)
	$(Q)KUMO_BIN=$(abspath $(BIN)) KUMO_BUILD=$(abspath $(BUILD)) \
		bench/run.sh

# kumo against Debian's OpenStack Swift all-in-one (part of make bench)
bench-swift: deps all $(BUILD)/bench/loadgen
	$(Q)KUMO_BIN=$(abspath $(BIN)) KUMO_BUILD=$(abspath $(BUILD)) BENCH=swift \
		bench/run.sh

# every test under ASan/UBSan but 607 and 613, which measure kumo-mount's
# resident size and page faults: ASan's allocator (redzones, quarantine)
# stands in for glibc's there (make test runs them)
asan:
	$(Q)NOT_TESTS="607 613" $(MAKE) --no-print-directory BUILD=build/asan \
		BIN=build/asan/bin SANITIZE=1 OPT=-O1 test

valgrind: all $(UNIT_TESTS)
	$(Q)for t in $(UNIT_TESTS); do \
		valgrind -q --error-exitcode=99 --leak-check=full --trace-children=yes \
		--trace-children-skip='/usr/*,/bin/*' \
		--errors-for-leak-kinds=definite $$t -j1 || exit 1; done

check-style:
	$(Q)clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(BIN)

help:
	@sed -n '3,15p' Makefile

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
