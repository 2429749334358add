# Fuzzing with clang's libFuzzer (tests/fuzz/, docs/fuzzing.md). `make fuzz` builds
# build-fuzz/fuzz_pdu, fuzz_parser, fuzz_provider, fuzz_money and fuzz_charset straight
# from the sources each needs, and fuzz_reassembly and fuzz_http, which run the daemon's
# own parts in-process, against build-fuzz/librechargd-fuzz.a (the library sources built
# once with the fuzzer's instrumentation); tests/fuzz/NAME.sh build and run them. With
# FUZZ_SMPP34=<dir> (a libsmpp34.a built by `CC=clang tests/libsmpp34-asan.sh <dir>`)
# the encoder library is instrumented too.
FUZZ_CC    ?= clang
comma := ,
FUZZ_B     ?= build-fuzz
FUZZ_FLAGS := -g -O1 -std=c11 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_PDU_SRCS := tests/fuzz/fuzz_pdu.c smpp/pdu.c smpp/build.c smpp/charset.c \
                 smpp/session.c common/log.c common/util.c common/clock.c
FUZZ_LIBS  := $(if $(FUZZ_SMPP34),$(FUZZ_SMPP34)/libsmpp34.a,-lsmpp34) \
              $(shell pkg-config --libs libevent libcrypto) -lm

FUZZ_PARSER_SRCS := tests/fuzz/fuzz_parser.c parser/parser.c common/log.c common/util.c \
                    common/clock.c common/money.c common/msisdn.c
FUZZ_MONEY_SRCS  := tests/fuzz/fuzz_money.c common/money.c common/msisdn.c common/log.c \
                    common/util.c common/clock.c
FUZZ_PROVIDER_SRCS := tests/fuzz/fuzz_provider.c engine/provider_http.c common/config.c \
                      common/util.c common/log.c common/clock.c common/money.c
FUZZ_PROVIDER_LIBS := $(shell pkg-config --libs jansson libcurl libevent inih libcrypto) -lm

FUZZ_CHARSET_SRCS := tests/fuzz/fuzz_charset.c smpp/charset.c common/log.c common/util.c \
                     common/clock.c

# The whole library (as the Makefile lists it) instrumented, for the in-process rigs.
FUZZ_OBJFLAGS := $(subst -fsanitize=fuzzer$(comma),-fsanitize=fuzzer-no-link$(comma),$(FUZZ_FLAGS)) \
                 $(shell pkg-config --cflags $(PKGS))
FUZZ_LIB   := $(FUZZ_B)/librechargd-fuzz.a
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_B)/obj/%.o)
FUZZ_RIG_LIBS := $(shell pkg-config --libs $(PKGS)) -lm

fuzz: $(FUZZ_B)/fuzz_pdu $(FUZZ_B)/fuzz_parser $(FUZZ_B)/fuzz_provider $(FUZZ_B)/fuzz_money \
      $(FUZZ_B)/fuzz_charset $(FUZZ_B)/fuzz_reassembly $(FUZZ_B)/fuzz_http

$(FUZZ_B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_OBJFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_B)/fuzz_charset: $(FUZZ_CHARSET_SRCS) smpp/smpp.h common/common.h mk/fuzz.mk
	@mkdir -p $(FUZZ_B)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(FUZZ_CHARSET_SRCS) $(shell pkg-config --libs libcrypto) -lm

$(FUZZ_B)/fuzz_reassembly: tests/fuzz/fuzz_reassembly.c tests/fuzz/rig.c tests/fuzz/rig.h \
    $(FUZZ_LIB) mk/fuzz.mk
	$(FUZZ_CC) $(FUZZ_FLAGS) $(shell pkg-config --cflags $(PKGS)) -o $@ \
	    tests/fuzz/fuzz_reassembly.c tests/fuzz/rig.c $(FUZZ_LIB) $(FUZZ_RIG_LIBS)

$(FUZZ_B)/fuzz_http: tests/fuzz/fuzz_http.c tests/fuzz/rig.c tests/fuzz/rig.h $(FUZZ_LIB) mk/fuzz.mk
	$(FUZZ_CC) $(FUZZ_FLAGS) $(shell pkg-config --cflags $(PKGS)) -o $@ \
	    tests/fuzz/fuzz_http.c tests/fuzz/rig.c $(FUZZ_LIB) $(FUZZ_RIG_LIBS)

-include $(shell find $(FUZZ_B)/obj -name '*.d' 2>/dev/null)

$(FUZZ_B)/fuzz_parser: $(FUZZ_PARSER_SRCS) parser/parser.h common/common.h mk/fuzz.mk
	@mkdir -p $(FUZZ_B)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(shell pkg-config --cflags libpcre2-8) -o $@ $(FUZZ_PARSER_SRCS) \
	    $(shell pkg-config --libs libpcre2-8 libcrypto) -lm

$(FUZZ_B)/fuzz_money: $(FUZZ_MONEY_SRCS) common/common.h mk/fuzz.mk
	@mkdir -p $(FUZZ_B)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(FUZZ_MONEY_SRCS) $(shell pkg-config --libs libcrypto) -lm

$(FUZZ_B)/fuzz_provider: $(FUZZ_PROVIDER_SRCS) engine/internal.h engine/engine.h common/common.h \
    mk/fuzz.mk
	@mkdir -p $(FUZZ_B)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(shell pkg-config --cflags jansson libcurl libevent inih) \
	    -o $@ $(FUZZ_PROVIDER_SRCS) $(FUZZ_PROVIDER_LIBS)

$(FUZZ_B)/fuzz_pdu: $(FUZZ_PDU_SRCS) smpp/smpp.h common/common.h mk/fuzz.mk \
    $(if $(FUZZ_SMPP34),$(FUZZ_SMPP34)/libsmpp34.a)
	@mkdir -p $(FUZZ_B)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(shell pkg-config --cflags libsmpp34 libevent) \
	    -o $@ $(FUZZ_PDU_SRCS) $(FUZZ_LIBS)

.PHONY: fuzz
