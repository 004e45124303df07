# kvmqual — `make` builds build/kvmqual; see README.md for run/check/bench.
CC      ?= gcc
CSTD    := -std=gnu11
WARN    := -Wall -Wextra -Werror -Wno-unused-parameter
OPT     ?= -O2 -g
BUILD   ?= build
# Parallel by default (one job per CPU) unless the caller chose -j.
ifeq ($(filter -j% --jobserver%,$(MAKEFLAGS) $(shell printenv MAKEFLAGS)),)
  MAKEFLAGS += -j$(shell nproc)
endif
PKGS    := libcpuid hwloc inih jansson sqlite3 libpq
PKGS    += libxxhash
PKGS    += libzstd libsodium

ifeq ($(SAN),1)
  OPT   := -O1 -g -fno-omit-frame-pointer
  SANF  := -fsanitize=address,undefined -fno-sanitize-recover=undefined
  BUILD := build-san
endif

CPPFLAGS += -I. -D_GNU_SOURCE
DEPFLAGS  = -MMD -MP -MF $(BUILD)/deps/$(subst /,_,$@).d
CFLAGS   += $(CSTD) $(WARN) $(OPT) $(SANF) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS  += $(SANF)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

# Host code: every .c in these folders; runner/main.c is the only main().
HOST_DIRS := core vmm runner reports probes workloads isolation-tests migration-bench
# Files named *.guest.c are guest code and go into the guest image instead.
# Files named *.both.c are compiled once, with the guest's flags, and that one
# object is linked into the guest image and the host binary alike (the same
# bytes run in the guest and natively; they must need no relocations).
HOST_SRC  := $(filter-out %.guest.c %.both.c,$(wildcard $(addsuffix /*.c,$(HOST_DIRS))))
BOTH_SRC  := $(wildcard $(addsuffix /*.both.c,$(HOST_DIRS)))
BOTH_OBJ  := $(BOTH_SRC:%.c=$(BUILD)/both/%.o)
LIB_SRC   := $(filter-out runner/main.c,$(HOST_SRC))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/guest/guest_blob.o $(BOTH_OBJ)

# Guest runtime: freestanding, flat binary, embedded with .incbin.
GUEST_SRC   := $(wildcard guest/*.c $(addsuffix /*.guest.c,$(HOST_DIRS)))
GUEST_ASM   := $(wildcard guest/*.S)
GUEST_OBJ   := $(GUEST_SRC:%.c=$(BUILD)/guest/obj/%.o) $(GUEST_ASM:%.S=$(BUILD)/guest/obj/%.o) $(BOTH_OBJ)
GUEST_CFLAGS := -std=gnu11 $(WARN) -O2 -ffreestanding -fno-stack-protector -fno-pic -fno-pie \
	-mno-red-zone -mno-mmx -mno-sse -mno-sse2 -mno-avx -nostdlib \
	-fno-asynchronous-unwind-tables -fno-builtin -fcf-protection=none -I.

UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
INTEG_SRC := $(wildcard tests/integration/*.c)
INTEG_BIN := $(INTEG_SRC:tests/integration/%.c=$(BUILD)/tests/integration/%)

.PHONY: all deps check-build run check bench format format-check clean
all: deps $(BUILD)/kvmqual check-build
check-build: $(BUILD)/kvmqual $(UNIT_BIN) $(INTEG_BIN)

# Installs missing Debian packages only when a needed header or tool is absent.
deps:
	@pkg-config --exists $(PKGS) && command -v gnuplot >/dev/null && command -v qemu-system-x86_64 >/dev/null \
	  || ci/install-deps.sh

$(BUILD)/kvmqual: $(BUILD)/runner/main.o $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c | deps
	@mkdir -p $(dir $@) $(BUILD)/deps
	$(CC) $(CPPFLAGS) $(DEPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@) $(BUILD)/deps
	$(CC) $(CPPFLAGS) $(DEPFLAGS) $(CFLAGS) -o $@ $(filter %.c %.o,$^) $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/integration/%: tests/integration/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@) $(BUILD)/deps
	$(CC) $(CPPFLAGS) $(DEPFLAGS) $(CFLAGS) -o $@ $(filter %.c %.o,$^) $(LDFLAGS) $(LDLIBS)

$(BUILD)/guest/obj/%.o: %.c
	@mkdir -p $(dir $@) $(BUILD)/deps
	$(CC) $(GUEST_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/both/%.o: %.c
	@mkdir -p $(dir $@) $(BUILD)/deps
	$(CC) $(GUEST_CFLAGS) -fno-jump-tables $(DEPFLAGS) -c -o $@ $<

$(BUILD)/guest/obj/%.o: %.S
	@mkdir -p $(dir $@) $(BUILD)/deps
	$(CC) $(GUEST_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/guest/guest.elf: $(GUEST_OBJ) guest/guest.ld
	$(CC) $(GUEST_CFLAGS) -static -Wl,--build-id=none,--no-warn-rwx-segments -T guest/guest.ld -o $@ $(GUEST_OBJ) -lgcc

$(BUILD)/guest/guest.bin: $(BUILD)/guest/guest.elf
	objcopy -O binary $< $@

$(BUILD)/guest/guest_blob.o: vmm/guest_blob.S $(BUILD)/guest/guest.bin
	@mkdir -p $(dir $@)
	$(CC) -c -DGUEST_BIN='"$(BUILD)/guest/guest.bin"' -o $@ $<

-include $(wildcard $(BUILD)/deps/*.d)

# `make run`: the default suite; in the emulated host when /dev/kvm is absent.
RUN_ARGS ?=
run: all
	+@ci/run-suite.sh $(RUN_ARGS)

# `make check`: unit tests natively, then KVM integration tests (emulated host
# when /dev/kvm is absent); non-zero on any failure.
check: all
	+@ci/check.sh

bench: all
	+@ci/bench.sh

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	@clang-format --dry-run -Werror $(FORMAT_FILES)

clean:
	rm -rf build build-san

# Fuzzing (docs/fuzzing.md): each tests/fuzz/fuzz_<name>.c is a libFuzzer
# target (clang, ASan+UBSan) with its seed corpus in tests/fuzz/corpus/<name>/,
# an optional dictionary tests/fuzz/<name>.dict and options FUZZ_OPTS_<name>.
# `make fuzz` runs each for FUZZ_TIME seconds (new inputs go to
# $(BUILD)/fuzz/<name>.new, never into the repository); `make fuzz-check` runs
# each over its corpus and then FUZZ_CHECK_TIME seconds more (a `make check` stage).
FUZZ_CC         ?= clang
FUZZ_TIME       ?= 60
FUZZ_CHECK_TIME ?= 3
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
# The fuzz build skips migration checksum verification (the usual libFuzzer
# macro) so mutations reach the record decoders behind the checksums.
FUZZ_CFLAGS := $(CSTD) $(WARN) -Wno-gnu-variable-sized-type-not-at-end -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# The code the targets reach is built again with coverage and sanitizers; the
# rest of the library is linked as `make` built it.
MIG_FUZZ_SRC := migration-bench/wire.c migration-bench/proto_frame.c migration-bench/proto_msgs.c \
	migration-bench/proto_pages.c migration-bench/proto_setup.c migration-bench/recv.c \
	migration-bench/hash.c migration-bench/hash_avx2.c
FUZZ_SRC := $(filter core/% workloads/% runner/conf.c reports/results_load.c reports/results_stream.c $(MIG_FUZZ_SRC),$(LIB_SRC)) \
	tests/fuzz/input.c
FUZZ_OBJ := $(FUZZ_SRC:%.c=$(BUILD)/fuzz/obj/%.o) $(filter-out $(FUZZ_SRC:%.c=$(BUILD)/%.o),$(LIB_OBJ))
FUZZ_OPTS_migration_stream := -max_len=65536
FUZZ_OPTS_suite_conf       := -max_len=4096
FUZZ_OPTS_steps            := -max_len=2048
FUZZ_OPTS_results_load     := -max_len=4096
# A small ASan quarantine: the default (256 MB) turns every allocation into
# fresh pages, and page faults are most of an execution's cost on a nested host.
FUZZ_ASAN_OPTIONS ?= quarantine_size_mb=16
FUZZ_RUN = ASAN_OPTIONS=$(FUZZ_ASAN_OPTIONS) $< $(FUZZ_OPTS_$*) $(addprefix -dict=,$(wildcard tests/fuzz/$*.dict)) -timeout=10 \
	-rss_limit_mb=2048 -artifact_prefix=$(BUILD)/fuzz/crash-$*- -print_final_stats=1

.PHONY: fuzz fuzz-build fuzz-check
.SECONDARY: $(FUZZ_SRC:%.c=$(BUILD)/fuzz/obj/%.o) $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
fuzz-build: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
fuzz: $(FUZZ_TARGETS:%=fuzz-run-%)
fuzz-check: $(FUZZ_TARGETS:%=fuzz-check-%)

$(BUILD)/fuzz/obj/%.o: %.c | deps
	@mkdir -p $(dir $@) $(BUILD)/deps
	$(FUZZ_CC) $(CPPFLAGS) $(DEPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	@mkdir -p $(dir $@) $(BUILD)/deps
	$(FUZZ_CC) $(CPPFLAGS) $(DEPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $(filter %.c %.o,$^) $(LDLIBS)
fuzz-run-%: $(BUILD)/fuzz/fuzz_%
	@mkdir -p $(BUILD)/fuzz/$*.new
	$(FUZZ_RUN) -max_total_time=$(FUZZ_TIME) $(BUILD)/fuzz/$*.new tests/fuzz/corpus/$*
# Quiet when it passes (one line: the executions); the whole log when it fails.
fuzz-check-%: $(BUILD)/fuzz/fuzz_%
	@rm -rf $(BUILD)/fuzz/$*.check && mkdir -p $(BUILD)/fuzz/$*.check
	@if $(FUZZ_RUN) -max_total_time=$(FUZZ_CHECK_TIME) $(BUILD)/fuzz/$*.check tests/fuzz/corpus/$* \
	    >$(BUILD)/fuzz/$*.check.log 2>&1; then \
	  echo "fuzz $*: $$(ls tests/fuzz/corpus/$* | wc -l) corpus inputs," \
	    "$$(sed -n 's/^stat::number_of_executed_units: *//p' $(BUILD)/fuzz/$*.check.log) executions, no defect"; \
	else cat $(BUILD)/fuzz/$*.check.log; echo "fuzz $*: FAILED (log: $(BUILD)/fuzz/$*.check.log)"; exit 1; fi

$(BUILD)/fuzz/gen_migration_corpus: tests/fuzz/fuzz_migration_stream.c $(MIG_FUZZ_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CSTD) $(WARN) -DKQ_FUZZ_GEN -o $@ $^ -lxxhash -lzstd
