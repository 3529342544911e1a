# KVS for nginx.  `make run` and `make test` are the two commands; see README.

SHELL      := /bin/bash
NGINX_BIN  ?= /usr/sbin/nginx
NGINX_SRC  ?= /usr/share/nginx/src

# SANITIZE=1 builds the module and the unit tests with AddressSanitizer and
# UBSan, in a separate tree; the test suites then run nginx with the ASan
# runtime preloaded (see t/run).
ifeq ($(SANITIZE),1)
BUILD      := build-asan
SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer
# The module is built by clang, whose ASan runtime carries UBSan as well, so
# that nginx preloads one runtime and UBSan reports land in ASan's log_path
# (gcc's separate libubsan ignores its log_path beside libasan: t/run).
# clang, unlike gcc, lets the later -Wextra undo nginx's own
# -Wno-unused-parameter, hence the second one.  The ignore list keeps ASan
# off the module's generated ngx_modules[] & co.: at run time they resolve
# to nginx's own, larger arrays, whose tail ASan would then poison (a false
# global-buffer-overflow in ngx_cycle_modules() on every reload).
# build-asan is configured anew when this Makefile changes.
SAN_NGX_CC := --with-cc=clang
SAN_IGNORE := $(CURDIR)/$(BUILD)/asan-ignorelist
SAN_CC_OPT := -Wno-unused-parameter -fsanitize-ignorelist=$(SAN_IGNORE)
SAN_DEB    := clang libclang-rt-14-dev
SAN_DEPS   := Makefile $(SAN_IGNORE)
else
BUILD      := build
SAN_FLAGS  :=
endif

MODULE     := $(BUILD)/ngx_http_kvs_module.so
NGX_OBJS   := $(BUILD)/nginx/objs

DEB_BUILD  := nginx nginx-dev liblmdb-dev libyaml-dev libcjson-dev libssl-dev \
              libzstd-dev gcc make
# util-linux and mount: unshare -m and mount, for the suites that run nginx
# in a mount namespace of its own (a tmpfs data_dir, a hosts file of the
# test's); openssl: KVS::PKI's certificates; zstd: the backup suites; gdb:
# t/042, which kills a worker at a chosen instruction
DEB_TEST   := libtest-base-perl curl perl lmdb-utils libio-socket-ssl-perl \
              openssl util-linux mount zstd gdb
DEB_BENCH  := wrk etcd-server redis-server redis-tools

CFLAGS_KVS := -std=gnu11 -g -O2 -Wall -Wextra -Werror -fPIC $(SAN_FLAGS)
NGX_CC_OPT := -g -O2 -fstack-protector-strong -Wformat \
              -Werror=format-security -fPIC -D_FORTIFY_SOURCE=2 \
              -Wall -Wextra -Werror $(SAN_FLAGS) $(SAN_CC_OPT)
NGX_LD_OPT := -Wl,-z,relro -Wl,-z,now -fPIC $(SAN_FLAGS)

KVS_SRCS   := $(wildcard src/kvs/*.c)
KVS_HDRS   := $(wildcard src/kvs/*.h)
NGX_SRCS   := $(wildcard src/*.c) $(wildcard src/*.h)
UNIT_TESTS := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(wildcard t/unit/test_*.c))

RUN_PREFIX := $(CURDIR)/run

# `make fuzz`: a libFuzzer target for every parser of untrusted bytes in
# src/kvs/ (t/fuzz/fuzz_*.c), each run FUZZ_S seconds from its seeds.  The
# core is compiled once, with coverage and the sanitizers, into an archive,
# so that each target links only the files it calls.  UBSan stops at its
# first report, as ASan does: a run goes on past neither.
FUZZ_S     ?= 60
FUZZ_BUILD := build-fuzz
FUZZ_FLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror \
              -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=all
FUZZ_LIBS  := -llmdb -lyaml -lcjson -lzstd -lcrypto
FUZZ_NAMES := $(patsubst t/fuzz/fuzz_%.c,%,$(wildcard t/fuzz/fuzz_*.c))
FUZZ_BINS  := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_OBJS  := $(patsubst src/kvs/%.c,$(FUZZ_BUILD)/kvs/%.o,$(KVS_SRCS))
DEB_FUZZ   := clang libclang-rt-14-dev

.PHONY: all deps deps-bench deps-fuzz build unit tools run test bench fuzz \
        fuzz-seeds docker-test clean

all: build

# Installs the Debian packages the build and the tests need, when missing.
deps:
	@./tools/deps $(DEB_BUILD) $(DEB_TEST) $(SAN_DEB)

deps-bench:
	@./tools/deps $(DEB_BENCH)

deps-fuzz:
	@./tools/deps $(DEB_FUZZ)

build: deps $(MODULE)

$(NGX_OBJS)/Makefile: config $(NGINX_SRC)/conf_flags $(SAN_DEPS)
	rm -rf $(BUILD)/nginx
	mkdir -p $(BUILD)
	cp -r $(NGINX_SRC) $(BUILD)/nginx
	cd $(BUILD)/nginx && . ./conf_flags \
	    && ./configure "$${NGX_CONF_FLAGS[@]}" $(SAN_NGX_CC) \
	        --with-cc-opt="$(NGX_CC_OPT)" --with-ld-opt="$(NGX_LD_OPT)" \
	        --add-dynamic-module=$(CURDIR) > configure.log \
	    || { cat configure.log; exit 1; }

$(MODULE): $(NGX_OBJS)/Makefile $(KVS_SRCS) $(KVS_HDRS) $(NGX_SRCS)
	$(MAKE) -s -C $(BUILD)/nginx -f objs/Makefile modules
	@# a new inode: running nginx processes keep mapping the old one
	cp $(NGX_OBJS)/ngx_http_kvs_module.so $@.new && mv -f $@.new $@

ifeq ($(SANITIZE),1)
$(SAN_IGNORE): Makefile
	@mkdir -p $(dir $@)
	printf '%s\n' 'src:*ngx_http_kvs_module_modules.c' > $@
endif

# every test program is its cases (t/unit/test_*.c) and the one runner
# with main() (t/unit/kvs_test.c)
$(BUILD)/unit/%: t/unit/%.c t/unit/kvs_test.c t/unit/kvs_test.h \
                 $(KVS_SRCS) $(KVS_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_KVS) -Isrc/kvs -o $@ $< t/unit/kvs_test.c $(KVS_SRCS) \
	    -llmdb -lyaml -lcjson -lzstd -lcrypto

unit: deps $(UNIT_TESTS)

# the audit log's tamper tool, which the suites use on stopped nodes
TAMPER     := $(BUILD)/kvs-audit-tamper

$(TAMPER): tools/kvs-audit-tamper.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_KVS) -o $@ $< -llmdb -lcrypto

# kvs-restore, which puts a backup in place of a stopped node's store; it
# reads the node's YAML and the store's records with the core
RESTORE    := $(BUILD)/kvs-restore

$(RESTORE): tools/kvs-restore.c $(KVS_SRCS) $(KVS_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_KVS) -Isrc/kvs -o $@ $< $(KVS_SRCS) \
	    -llmdb -lyaml -lcjson -lzstd -lcrypto

tools: deps $(TAMPER) $(RESTORE)

# bench/store.c: what a write costs the store itself, audit log off and on
BENCH_STORE := $(BUILD)/bench-store

$(BENCH_STORE): bench/store.c $(KVS_SRCS) $(KVS_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_KVS) -Isrc/kvs -o $@ bench/store.c $(KVS_SRCS) \
	    $(FUZZ_LIBS)

# bench/disk.c: what a commit's sync costs this disk by the shape of its
# writes (appended, in one run, scattered), without LMDB
BENCH_DISK := $(BUILD)/bench-disk

$(BENCH_DISK): bench/disk.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_KVS) -o $@ bench/disk.c

# A standalone node on 127.0.0.1:8080, in the foreground; Ctrl-C stops it.
# Run as root, the node's workers run as root too ("user root"): they must
# reach run/data, and a clone may lie where nginx's default user cannot
# pass (/root is 0700 on Debian).  A production config names its own user.
RUN_USER   := $(if $(filter 0,$(shell id -u)),user root;,)

run: build
	mkdir -p $(RUN_PREFIX)/logs $(RUN_PREFIX)/tmp
	@echo "KVS: serving on http://127.0.0.1:8080 (data in run/data); Ctrl-C stops it"
	exec $(NGINX_BIN) -p $(RUN_PREFIX)/ \
	    -c $(CURDIR)/conf-examples/standalone.conf \
	    -g "load_module $(CURDIR)/$(MODULE); daemon off; $(RUN_USER)"

test: build unit tools
	@BUILD=$(BUILD) NGINX_BIN=$(NGINX_BIN) SANITIZE=$(SANITIZE) ./t/run

bench: build deps-bench $(BENCH_STORE) $(BENCH_DISK)
	@BUILD=$(BUILD) NGINX_BIN=$(NGINX_BIN) ./bench/run
	@KVS_MODULE=$(CURDIR)/$(MODULE) TEST_NGINX_BINARY=$(NGINX_BIN) ./bench/write
	@KVS_MODULE=$(CURDIR)/$(MODULE) TEST_NGINX_BINARY=$(NGINX_BIN) ./bench/cluster
	@KVS_MODULE=$(CURDIR)/$(MODULE) TEST_NGINX_BINARY=$(NGINX_BIN) ./bench/replication
	@KVS_MODULE=$(CURDIR)/$(MODULE) TEST_NGINX_BINARY=$(NGINX_BIN) ./bench/data
	@KVS_MODULE=$(CURDIR)/$(MODULE) TEST_NGINX_BINARY=$(NGINX_BIN) ./bench/auth
	@KVS_MODULE=$(CURDIR)/$(MODULE) TEST_NGINX_BINARY=$(NGINX_BIN) ./bench/ops
	@KVS_MODULE=$(CURDIR)/$(MODULE) TEST_NGINX_BINARY=$(NGINX_BIN) ./bench/backup
	@mkdir -p bench/results && $(BENCH_STORE) | tee bench/results/store.txt
	@$(BENCH_DISK) | tee bench/results/disk.txt

# Every target for FUZZ_S seconds (default 60); fails on any crash or
# broken invariant, and ends with one summary line.  Not part of `make test`.
fuzz: deps deps-fuzz $(FUZZ_BINS)
	@FUZZ_S=$(FUZZ_S) FUZZ_BUILD=$(FUZZ_BUILD) ./t/fuzz/run $(FUZZ_NAMES)

$(FUZZ_BUILD)/kvs/%.o: src/kvs/%.c $(KVS_HDRS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/libkvs.a: $(FUZZ_OBJS)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: t/fuzz/fuzz_%.c t/fuzz/kvs_fuzz.c t/fuzz/kvs_fuzz.h \
                      $(FUZZ_BUILD)/libkvs.a
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer -Isrc/kvs -o $@ $< \
	    t/fuzz/kvs_fuzz.c $(FUZZ_BUILD)/libkvs.a $(FUZZ_LIBS)

# Rewrites the seeds that are records, batches, zstd frames and signed
# requests (t/fuzz/seeds.c), made by the core's own encoders.
fuzz-seeds: deps $(KVS_SRCS) $(KVS_HDRS)
	@mkdir -p $(FUZZ_BUILD)
	$(CC) $(CFLAGS_KVS) -Isrc/kvs -o $(FUZZ_BUILD)/seeds t/fuzz/seeds.c \
	    $(KVS_SRCS) $(FUZZ_LIBS)
	mkdir -p $(addprefix t/fuzz/corpus/,record wire wire_keys codec sign jwt \
	    password backup)
	$(FUZZ_BUILD)/seeds t/fuzz/corpus

# Builds docker/Dockerfile and checks a node of the image (/health, a PUT
# and a GET), with docker where an engine answers, else with podman as root
# (docker/test says how).  Not part of `make test`: root, network, minutes.
docker-test:
	@./docker/test

clean:
	rm -rf build build-asan build-fuzz run t/servroot* t/cluster/servroot*
