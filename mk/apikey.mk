# tests/unit/test_apikey replaces random_bytes (common/clock.c) to pin the key encoding
# to known bytes and to see a failing random source refused.
$(B)/tests/unit/test_apikey: LDFLAGS += -Wl,--wrap=random_bytes
