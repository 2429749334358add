# Fuzzing with clang's libFuzzer (tests/fuzz/). `make fuzz` builds build-fuzz/fuzz_pdu,
# fuzz_parser, fuzz_provider and fuzz_money straight from the sources each needs;
# tests/fuzz/{pdu,parser,provider,money}.sh build and run them. With
# FUZZ_SMPP34=<dir> (a libsmpp34.a built by `CC=clang tests/libsmpp34-asan.sh <dir>`)
# the encoder library is instrumented too.
FUZZ_CC    ?= clang
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

fuzz: $(FUZZ_B)/fuzz_pdu $(FUZZ_B)/fuzz_parser $(FUZZ_B)/fuzz_provider $(FUZZ_B)/fuzz_money

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
