# kvmqual — `make` builds build/kvmqual; see README.md for run/check/bench.
CC      ?= gcc
CSTD    := -std=gnu11
WARN    := -Wall -Wextra -Werror -Wno-unused-parameter
OPT     ?= -O2 -g
BUILD   ?= build
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
	@ci/run-suite.sh $(RUN_ARGS)

# `make check`: unit tests natively, then KVM integration tests (emulated host
# when /dev/kvm is absent); non-zero on any failure.
check: all
	@ci/check.sh

bench: all
	@ci/bench.sh

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	@clang-format --dry-run -Werror $(FORMAT_FILES)

clean:
	rm -rf build build-san

# Fuzzing the migration stream decoder: libFuzzer (clang) with ASan+UBSan,
# for FUZZ_TIME seconds over the corpus kept in the repository.
FUZZ_TIME ?= 60
MIG_FUZZ_SRC := migration-bench/wire.c migration-bench/proto_frame.c migration-bench/proto_msgs.c \
	migration-bench/proto_pages.c migration-bench/proto_setup.c migration-bench/recv.c
# The fuzz build skips checksum verification (the usual libFuzzer macro) so
# mutations reach the record decoders behind the checksums.
MIG_FUZZ_CFLAGS := -std=gnu11 -g -O1 -I. -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
.PHONY: fuzz fuzz-migration-stream
fuzz: fuzz-migration-stream
$(BUILD)/fuzz/fuzz_migration_stream: tests/fuzz/fuzz_migration_stream.c $(MIG_FUZZ_SRC) migration-bench/proto.h migration-bench/recv.h migration-bench/wire.h
	@mkdir -p $(dir $@)
	clang $(MIG_FUZZ_CFLAGS) -o $@ $(filter %.c,$^) -lxxhash -lzstd
$(BUILD)/fuzz/gen_migration_corpus: tests/fuzz/fuzz_migration_stream.c $(MIG_FUZZ_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CSTD) $(WARN) -DKQ_FUZZ_GEN -o $@ $^ -lxxhash -lzstd
fuzz-migration-stream: $(BUILD)/fuzz/fuzz_migration_stream
	@mkdir -p $(BUILD)/fuzz/migration_stream.new
	$< -max_total_time=$(FUZZ_TIME) -max_len=65536 -timeout=10 $(BUILD)/fuzz/migration_stream.new \
	  tests/fuzz/corpus/migration_stream
