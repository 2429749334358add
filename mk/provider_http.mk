# tests/unit/test_provider_http proves that callback secrets and signatures are compared
# with ct_equal (common/util.c): the test wraps it and counts the calls.
$(B)/tests/unit/test_provider_http: LDFLAGS += -Wl,--wrap=ct_equal
