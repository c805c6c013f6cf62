# filspy build: the preloaded agent, the filspy command, and their tests.
# `make` builds; `make test` and `make demo` first install what is missing.

.DELETE_ON_ERROR:
.SUFFIXES:

V ?= 0
Q := $(if $(filter 1,$(V)),,@)

BUILD   ?= build
PREFIX  ?= /usr/local
CC      ?= cc
CLANG   ?= clang
PYTHON_FOR_TESTS ?= /usr/bin/python3
VERSION := $(shell cat VERSION)

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS  ?= -O2 -g
BASE_CFLAGS := -std=gnu11 $(WARN) -Iinclude -D_GNU_SOURCE -DFILSPY_VERSION=\"$(VERSION)\" \
	-fPIC -fvisibility=hidden -fno-strict-aliasing

AGENT_SRCS  := $(sort $(wildcard agent/*.c))
LOADER_SRCS := $(sort $(wildcard loader/*.c))
UNIT_SRCS   := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRCS   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
HEADERS     := $(wildcard include/filspy/*.h agent/*.h loader/*.h)

AGENT_OBJS  := $(AGENT_SRCS:%.c=$(BUILD)/obj/%.o)
LOADER_OBJS := $(LOADER_SRCS:%.c=$(BUILD)/obj/%.o)
ASAN_OBJS   := $(AGENT_SRCS:%.c=$(BUILD)/asan/%.o)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_BINS   := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)

# Objects of the agent that the loader shares: settings, the profile, the writers.
SHARED_WITH_LOADER := $(addprefix $(BUILD)/obj/agent/,settings.o log.o profile.o folded.o \
	out_raw.o out_svg.o out_speedscope.o out_pprof.o gzip.o spawn.o)

.PHONY: all deps test unit-test system-test fuzz demo install clean check-offsets bench asan
all: $(BUILD)/libfilspy.so $(BUILD)/filspy

$(BUILD)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(BASE_CFLAGS) $(CFLAGS) -c $< -o $@

# The preload: libc only (no -lpthread/-ldl on glibc >= 2.34, no libm), every
# symbol hidden but the interposers listed in agent/exports.map. Lazy binding on
# purpose: a non-Python process never calls most of what the agent imports, and
# binding it all at exec costs every process ~15 us (bench/overhead.py).
$(BUILD)/libfilspy.so: $(AGENT_OBJS) agent/exports.map
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -shared -o $@ $(AGENT_OBJS) -Wl,--version-script=agent/exports.map \
		-Wl,-z,lazy -Wl,-z,relro -Wl,--as-needed -nodefaultlibs -lc $(shell $(CC) -print-libgcc-file-name)

$(BUILD)/filspy: $(LOADER_OBJS) $(SHARED_WITH_LOADER)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ -lm

# Same agent with AddressSanitizer and UndefinedBehaviorSanitizer, for the tests.
$(BUILD)/asan/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BASE_CFLAGS) -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		-fno-omit-frame-pointer -c $< -o $@
$(BUILD)/asan/libfilspy.so: $(ASAN_OBJS) agent/exports.map
	$(Q)$(CLANG) -shared -fsanitize=address,undefined -shared-libasan -o $@ $(ASAN_OBJS) \
		-Wl,--version-script=agent/exports.map
asan: $(BUILD)/asan/libfilspy.so

# Unit tests link the agent's objects directly (static, so hidden symbols resolve).
$(BUILD)/tests/%: tests/unit/%.c $(AGENT_OBJS) $(HEADERS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE_CFLAGS) $(CFLAGS) -Iagent -o $@ $< $(AGENT_OBJS) -lcriterion

# tests/fuzz/fuzz_X.c fuzzes agent/X.c alone.
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c agent/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BASE_CFLAGS) -O1 -g -Iagent -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o $@ $< agent/$*.c

deps:
	$(Q)scripts/install-deps.sh
	$(Q)scripts/install-pypi-tools.sh

unit-test: $(UNIT_BINS)
	$(Q)scripts/run-unit-tests.sh $(UNIT_BINS)

FUZZ_SECONDS ?= 20
fuzz: $(FUZZ_BINS)
	$(Q)scripts/run-fuzzers.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

check-offsets:
	$(Q)scripts/gen-pyoffsets.sh --check

HELPERS := $(BUILD)/tests/no_ptrace
$(BUILD)/tests/no_ptrace: tests/helpers/no_ptrace.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -Wall -o $@ $<

system-test: all asan $(HELPERS)
	$(Q)$(PYTHON_FOR_TESTS) -m pytest -q -ra tests/system

test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory check-offsets
	$(Q)$(MAKE) --no-print-directory unit-test
	$(Q)$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)
	$(Q)$(MAKE) --no-print-directory system-test

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

$(BUILD)/bench/write_formats: bench/write_formats.c $(SHARED_WITH_LOADER)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE_CFLAGS) $(CFLAGS) -Iagent -o $@ $^

bench: all $(BUILD)/bench/write_formats
	$(Q)$(BUILD)/bench/write_formats
	$(Q)$(PYTHON_FOR_TESTS) bench/overhead.py

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/libfilspy.so $(DESTDIR)$(PREFIX)/lib/libfilspy.so
	install -m 0755 $(BUILD)/filspy $(DESTDIR)$(PREFIX)/bin/filspy
	ln -sf filspy $(DESTDIR)$(PREFIX)/bin/perf-pyspy

clean:
	rm -rf $(BUILD)
