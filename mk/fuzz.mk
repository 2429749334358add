# Fuzzing with clang's libFuzzer (tests/fuzz/). `make fuzz` builds build-fuzz/fuzz_pdu
# straight from the sources it needs; tests/fuzz/pdu.sh builds and runs it. With
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

fuzz: $(FUZZ_B)/fuzz_pdu

$(FUZZ_B)/fuzz_pdu: $(FUZZ_PDU_SRCS) smpp/smpp.h common/common.h mk/fuzz.mk \
    $(if $(FUZZ_SMPP34),$(FUZZ_SMPP34)/libsmpp34.a)
	@mkdir -p $(FUZZ_B)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(shell pkg-config --cflags libsmpp34 libevent) \
	    -o $@ $(FUZZ_PDU_SRCS) $(FUZZ_LIBS)

.PHONY: fuzz
