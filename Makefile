# vipvault - build, test, demo, benchmarks and fuzzing.
#
#   make demo     the whole story on a throw-away dev vault
#   make test     every test (unit, integration, end-to-end)
#   make asan     the suite under AddressSanitizer + UBSan
#   make valgrind the integration suite under valgrind (leaks are errors)
#   make ct       Shamir's constant-time check under memcheck
#   make bench    figures against raw SQLCipher / libsodium baselines
#   make fuzz     libFuzzer targets (FUZZ_SECONDS each)
#   make install  PREFIX=/usr/local DESTDIR=
#
# Quiet unless V=1.  `make deps` installs missing Debian packages; test and
# demo run it first, so a fresh Debian 12 machine needs nothing else.

VERSION   = 0.1.0
SOVERSION = 0
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
FUZZ_SECONDS ?= 60

CC       ?= cc
PKGS      = libsodium sqlcipher p11-kit-1 libfido2 libcbor libcrypto libpq \
	    libmicrohttpd jansson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     = -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes \
	   -Wstrict-prototypes -Wwrite-strings -Wformat=2 \
	   -Wimplicit-fallthrough -Wpointer-arith -Wvla
HARDEN   = -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIC
OPT     ?= -O2 -g
CFLAGS  ?=
CFLAGS  += -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE $(OPT) $(WARN) $(HARDEN) \
	   -Iinclude -I. $(PKG_CFLAGS)
LDFLAGS += -Wl,-z,relro -Wl,-z,now
LIBS     = $(PKG_LIBS)

ifeq ($(V),1)
Q =
else
Q = @
endif

LIB_SRCS  = $(sort $(wildcard vault/*.c hsm/*.c))
CLI_SRCS  = $(sort $(wildcard cli/*.c))
TEST_SRCS = $(sort $(wildcard tests/test_*.c))
LIB_OBJS  = $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS  = $(CLI_SRCS:%.c=$(BUILD)/%.o)
TEST_BINS = $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
FUZZ_SRCS = $(sort $(wildcard tests/fuzz/fuzz_*.c))

STATIC_LIB = $(BUILD)/libvipvault.a
SHARED_LIB = $(BUILD)/libvipvault.so.$(VERSION)
CLI_BIN    = $(BUILD)/vipvault

DEB_PKGS = build-essential pkg-config python3 libsodium-dev libsqlcipher-dev \
	   libp11-kit-dev p11-kit softhsm2 libfido2-dev libcbor-dev libssl-dev \
	   libcmocka-dev libpq-dev postgresql postgresql-plpython3-15 \
	   python3-nacl libmicrohttpd-dev libjansson-dev curl wrk \
	   sqlcipher clang libclang-rt-14-dev valgrind

.PHONY: all deps test unit e2e ct demo asan valgrind bench fuzz install \
	uninstall clean check-deps
.SUFFIXES:

all: $(CLI_BIN) $(STATIC_LIB) $(SHARED_LIB) $(BUILD)/vipvault.pc

# ------------------------------------------------------------ dependencies
# Installs only what is missing; uses sudo when not root.
deps:
	$(Q)missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  if [ "$$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends $$missing; \
	fi

# ------------------------------------------------------------------ build
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC    $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(STATIC_LIB): $(LIB_OBJS)
	@$(if $(Q),echo "  AR    $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(SHARED_LIB): $(LIB_OBJS) vault/vipvault.map
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CC) -shared -Wl,-soname,libvipvault.so.$(SOVERSION) \
	  -Wl,--version-script=vault/vipvault.map $(LDFLAGS) \
	  -o $@ $(LIB_OBJS) $(LIBS)
	$(Q)ln -sf libvipvault.so.$(VERSION) $(BUILD)/libvipvault.so.$(SOVERSION)
	$(Q)ln -sf libvipvault.so.$(VERSION) $(BUILD)/libvipvault.so

$(CLI_BIN): $(CLI_OBJS) $(STATIC_LIB)
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(STATIC_LIB) $(LIBS)

$(BUILD)/vipvault.pc: vipvault.pc.in Makefile
	@mkdir -p $(BUILD)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

$(BUILD)/tests/%: tests/%.c tests/testlib.c tests/testlib.h $(STATIC_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST  $@")
	$(Q)$(CC) $(CFLAGS) -Itests -o $@ $< tests/testlib.c $(filter %.o,$^) \
	  $(STATIC_LIB) $(LDFLAGS) $(LIBS) $$(pkg-config --libs cmocka)

# The API server's pure modules (no HTTP, no vault handle): a test or a
# fuzz target that needs them lists them; the rule above links the extra
# objects a test depends on.  Every tests/test_api_*.c gets them all.
API_PURE_SRCS = cli/api_route.c cli/api_body.c cli/api_out.c cli/api_guard.c
$(filter $(BUILD)/tests/test_api_%,$(TEST_BINS)): \
	$(API_PURE_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/cli/api_metrics.o

# ------------------------------------------------------------------ tests
# Every test makes its own SoftHSM2 token in a temporary directory.
unit: $(TEST_BINS)
	$(Q)fail=0; for t in $(TEST_BINS); do \
	  echo "== $$t"; $(TEST_WRAP) $$t || { echo "FAILED: $$t"; fail=1; }; \
	done; exit $$fail

e2e: $(CLI_BIN)
	$(Q)fail=0; for t in tests/e2e/test_*.sh; do \
	  echo "== $$t"; VIPVAULT=$(abspath $(CLI_BIN)) $(E2E_WRAP) bash $$t || \
	    { echo "FAILED: $$t"; fail=1; }; \
	done; exit $$fail

test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory e2e
	$(Q)$(MAKE) --no-print-directory ct
	$(Q)$(MAKE) --no-print-directory valgrind
	@echo "all tests passed"

# Sanitizers: a separate build tree so objects never mix.
ASAN_ENV = ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0 \
	   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	   LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp)
asan: deps
	$(Q)$(ASAN_ENV) $(MAKE) --no-print-directory BUILD=build-asan CC=clang \
	  OPT="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  LDFLAGS="-fsanitize=address,undefined" all unit e2e

# The integration suites (real SQLCipher files, real SoftHSM2 tokens) under
# valgrind: any definite or indirect leak, or memory error, fails.
VALGRIND = valgrind -q --error-exitcode=99 --leak-check=full \
	   --errors-for-leak-kinds=definite,indirect \
	   --show-leak-kinds=definite,indirect \
	   --suppressions=$(abspath tests/valgrind.supp)
INTEGRATION = test_p11 test_p11_keys test_vault test_records test_tiers \
	      test_failures test_softfido test_dual_setup test_unseal \
	      test_unseal_tamper test_clog test_session_api test_lookups \
	      test_import
valgrind: $(INTEGRATION:%=$(BUILD)/tests/%) $(CLI_BIN)
	$(Q)fail=0; for t in $(INTEGRATION:%=$(BUILD)/tests/%); do \
	  echo "== valgrind $$t"; $(VALGRIND) $$t || \
	    { echo "FAILED under valgrind: $$t"; fail=1; }; \
	done; \
	echo "== valgrind vipvault serve"; \
	VIPVAULT=$(abspath $(CLI_BIN)) VALGRIND_CMD="$(VALGRIND)" \
	  bash tests/e2e/valgrind_serve.sh || \
	  { echo "FAILED under valgrind: vipvault serve"; fail=1; }; \
	exit $$fail

# Constant time, ctgrind style: Shamir runs under memcheck with its
# secrets marked undefined, so a branch or an index on them is an error.
# The deliberately leaky variants must be caught, or the check proves
# nothing.
CT_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -DVV_CT_VALGRIND -O2 -g -Iinclude -I. \
	    $(WARN) $(PKG_CFLAGS)
CT_VALGRIND = valgrind -q --error-exitcode=1 --track-origins=yes
$(BUILD)/ct_shamir: tests/ct_shamir.c vault/shamir.c vault/shamir.h
	@mkdir -p $(BUILD)
	$(Q)$(CC) $(CT_CFLAGS) -o $@ tests/ct_shamir.c vault/shamir.c \
	  $$(pkg-config --libs libsodium)

ct: $(BUILD)/ct_shamir
	$(Q)echo "== ct: shamir split and combine under memcheck"
	$(Q)$(CT_VALGRIND) $(BUILD)/ct_shamir
	$(Q)for v in --broken-table --broken-branch; do \
	  if $(CT_VALGRIND) $(BUILD)/ct_shamir $$v >/dev/null 2>&1; then \
	    echo "ct: the $$v variant was not caught"; exit 1; fi; \
	done; echo "ct: constant time; both leaky variants caught"

# ------------------------------------------------------------------ demo
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)VIPVAULT=$(abspath $(CLI_BIN)) bash docs/demo.sh

# ------------------------------------------------------------ benchmarks
BENCH_SRCS = $(sort $(wildcard tests/bench/*.c))
$(BUILD)/bench: $(BENCH_SRCS) tests/bench/bench.h $(STATIC_LIB)
	@mkdir -p $(BUILD)
	$(Q)$(CC) $(CFLAGS) -Itests/bench -o $@ $(BENCH_SRCS) $(STATIC_LIB) \
	  $(LDFLAGS) $(LIBS)

bench: deps $(BUILD)/bench $(CLI_BIN)
	$(Q)BENCH_VIPVAULT=$(abspath $(CLI_BIN)) $(BUILD)/bench

# -------------------------------------------------------------- fuzzing
FUZZ_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -g -O1 -Iinclude -I. \
	      $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined
FUZZ_BINS = $(FUZZ_SRCS:tests/fuzz/%.c=build-fuzz/%)
build-fuzz/%: tests/fuzz/%.c $(LIB_SRCS) $(API_PURE_SRCS)
	@mkdir -p build-fuzz
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRCS) $(API_PURE_SRCS) $(LIBS)

fuzz: deps $(FUZZ_BINS)
	$(Q)for f in $(FUZZ_BINS); do \
	  n=$$(basename $$f); mkdir -p build-fuzz/corpus-$$n; \
	  echo "== $$n ($(FUZZ_SECONDS)s)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	    build-fuzz/corpus-$$n tests/fuzz/corpus/$$n || exit 1; \
	done

# ------------------------------------------------------------- install
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(CLI_BIN) $(DESTDIR)$(PREFIX)/bin/vipvault
	install -m 0644 include/vipvault.h include/vipvault_dual.h \
	  include/vipvault_compliance.h $(DESTDIR)$(PREFIX)/include/
	install -m 0644 $(STATIC_LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 0755 $(SHARED_LIB) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libvipvault.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libvipvault.so.$(SOVERSION)
	ln -sf libvipvault.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libvipvault.so
	install -m 0644 $(BUILD)/vipvault.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -m 0644 docs/vipvault.1 $(DESTDIR)$(PREFIX)/share/man/man1/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/vipvault \
	  $(DESTDIR)$(PREFIX)/include/vipvault.h \
	  $(DESTDIR)$(PREFIX)/include/vipvault_dual.h \
	  $(DESTDIR)$(PREFIX)/include/vipvault_compliance.h \
	  $(DESTDIR)$(PREFIX)/lib/libvipvault.* \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig/vipvault.pc \
	  $(DESTDIR)$(PREFIX)/share/man/man1/vipvault.1

clean:
	rm -rf build build-asan build-vg build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
