# rechargd: plain GNU Makefile (pkg-config, -MMD dependencies).
#   make                    build rechargd, rechargectl, smscsim
#   make SANITIZER=address  ASan + UBSan build (into build-address/)
#   make test               build and run every test; ends with "N passed, N failed"
#   make run                the demo: SMSC simulator console + rechargd with the sim provider

PKGS    := libsmpp34 libpcre2-8 sqlite3 libcurl libevent libevent_openssl inih jansson libcrypto libssl
CC      ?= cc
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wno-unused-parameter -I.
CFLAGS  += $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lm

ifeq ($(SANITIZER),)
B := build
else
B := build-$(SANITIZER)
endif
ifneq ($(BUILDDIR),)
B := $(BUILDDIR)
endif
ifneq ($(SANITIZER),)
ifeq ($(SANITIZER),address)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else
SANFLAGS := -fsanitize=$(SANITIZER) -fno-omit-frame-pointer
endif
CFLAGS  += $(SANFLAGS)
LDFLAGS += $(SANFLAGS)
endif

# An ASan build of libsmpp34 from Debian's source (tests/libsmpp34-asan.sh) replaces the
# system library when SMPP34_ASAN points at it, so an overflow in its encoder is seen.
ifneq ($(SMPP34_ASAN),)
LDLIBS := $(SMPP34_ASAN)/libsmpp34.a $(filter-out -lsmpp34,$(LDLIBS))
endif

LIB_SRCS := $(wildcard common/*.c db/*.c parser/*.c engine/*.c channels/*.c smpp/*.c) \
            $(filter-out daemon/main.c,$(wildcard daemon/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)
LIB      := $(B)/librechargd.a

CTL_OBJS := $(patsubst %.c,$(B)/%.o,$(wildcard ctl/*.c))
SIM_OBJS := $(patsubst %.c,$(B)/%.o,$(wildcard tools/smscsim/*.c))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(B)/%)

PROGS := $(B)/rechargd $(B)/rechargectl $(B)/smscsim

all: $(PROGS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/rechargd: $(B)/daemon/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/rechargectl: $(CTL_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/smscsim: $(SIM_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/unit/%: $(B)/tests/unit/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs cmocka)

unit: $(UNIT_BINS)

test: all unit
	B=$(B) bash tests/run.sh

run: all
	B=$(B) bash tools/demo.sh

clean:
	rm -rf build build-*

.PHONY: all unit test run clean
.SECONDARY:

# Fragments of other parts of the tree (fuzzing, benchmarks, interop) live in mk/.
-include $(wildcard mk/*.mk)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
