/* tests/unit/test_apikey.c: API key generation, hashing and the IP allow-list
 * (common/apikey.c). random_bytes is wrapped (mk/apikey.mk) so the encoding can be
 * checked against known bytes; by default it passes through to the real one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/common.h"

enum { FAKE_REAL, FAKE_FILL, FAKE_FAIL };
static int fake_mode = FAKE_REAL;
static uint8_t fake_byte;

int __real_random_bytes(void *buf, size_t len);
int __wrap_random_bytes(void *buf, size_t len);

int
__wrap_random_bytes(void *buf, size_t len)
{
	switch (fake_mode) {
	case FAKE_FILL:
		memset(buf, fake_byte, len);
		return 0;
	case FAKE_FAIL:
		return -1;
	}
	return __real_random_bytes(buf, len);
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void
test_generate_form(void **state)
{
	enum { N = 1000 };
	static char keys[N][APIKEY_BUFSZ];

	fake_mode = FAKE_REAL;
	for (int i = 0; i < N; i++) {
		assert_int_equal(apikey_generate(keys[i], sizeof keys[i]), 0);
		assert_int_equal(strlen(keys[i]), APIKEY_LEN);
		assert_int_equal(strlen(keys[i]), 3 + 43);
		assert_memory_equal(keys[i], "rk_", 3);
		assert_int_equal(strspn(keys[i] + 3, b64url), 43);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(keys[i], keys[j]);
	}
	/* 32 random bytes: the last character carries 4 bits, so it is one of 16 */
	for (int i = 0; i < N; i++)
		assert_non_null(strchr("AEIMQUYcgkosw048", keys[i][APIKEY_LEN - 1]));
}

static void
test_generate_encoding(void **state)
{
	char key[APIKEY_BUFSZ], want[APIKEY_BUFSZ];

	fake_mode = FAKE_FILL;
	fake_byte = 0x00;
	assert_int_equal(apikey_generate(key, sizeof key), 0);
	snprintf(want, sizeof want, "rk_%.43s", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	assert_string_equal(key, want);
	fake_byte = 0xff;       /* base64url, not base64: '_' where base64 has '/' */
	assert_int_equal(apikey_generate(key, sizeof key), 0);
	memset(want, '_', sizeof want);
	memcpy(want, "rk_", 3);
	want[APIKEY_LEN - 1] = '8';
	want[APIKEY_LEN] = '\0';
	assert_string_equal(key, want);
	fake_byte = 0xfb;       /* 111110 111111 101111 111110 ...: '-' where base64 has '+' */
	assert_int_equal(apikey_generate(key, sizeof key), 0);
	assert_memory_equal(key, "rk_-_v7", 7);
	fake_mode = FAKE_REAL;
}

static void
test_generate_refuses(void **state)
{
	char key[APIKEY_BUFSZ];

	memset(key, 'x', sizeof key);
	assert_int_equal(apikey_generate(key, APIKEY_BUFSZ - 1), -1);
	assert_string_equal(key, "");
	assert_int_equal(apikey_generate(NULL, 0), -1);
	fake_mode = FAKE_FAIL;
	memset(key, 'x', sizeof key);
	assert_int_equal(apikey_generate(key, sizeof key), -1);
	assert_string_equal(key, "");
	fake_mode = FAKE_REAL;
}

static void
test_hash_vectors(void **state)
{
	char h[APIKEY_HASH_BUFSZ], key[APIKEY_BUFSZ];

	/* FIPS 180-2 "abc" and the empty string */
	apikey_hash("abc", h);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	apikey_hash("", h);
	assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* a key-shaped input (python3 hashlib.sha256) */
	apikey_hash("rk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", h);
	assert_string_equal(h, "f09559e766f61996b6306a064fff75a4e32b0b3c6642ba0a9640cdd908f70863");
	/* every generated key hashes to 64 lowercase hex digits, and differently */
	assert_int_equal(apikey_generate(key, sizeof key), 0);
	apikey_hash(key, h);
	assert_int_equal(strlen(h), 64);
	assert_int_equal(strspn(h, "0123456789abcdef"), 64);
	assert_string_not_equal(h, "f09559e766f61996b6306a064fff75a4e32b0b3c6642ba0a9640cdd908f70863");
}

static void
test_ip_allowed(void **state)
{
	/* empty: any address */
	assert_true(apikey_ip_allowed("", "203.0.113.7"));
	assert_true(apikey_ip_allowed(NULL, "203.0.113.7"));
	assert_true(apikey_ip_allowed("", "::1"));
	/* exact IPv4 */
	assert_true(apikey_ip_allowed("203.0.113.7", "203.0.113.7"));
	assert_false(apikey_ip_allowed("203.0.113.7", "203.0.113.8"));
	assert_true(apikey_ip_allowed("10.0.0.1,203.0.113.7,192.0.2.1", "203.0.113.7"));
	assert_true(apikey_ip_allowed("10.0.0.1,203.0.113.7,192.0.2.1", "192.0.2.1"));
	assert_true(apikey_ip_allowed(" 10.0.0.1 , 203.0.113.7 ", "203.0.113.7"));
	assert_true(apikey_ip_allowed("203.0.113.7,", "203.0.113.7"));
	/* exact means exact: no prefixes of the text, no CIDR */
	assert_false(apikey_ip_allowed("10.0.0.1", "10.0.0.12"));
	assert_false(apikey_ip_allowed("10.0.0.12", "10.0.0.1"));
	assert_false(apikey_ip_allowed("10.0.0.0/8", "10.0.0.1"));
	assert_false(apikey_ip_allowed("10.0.0.0", "10.0.0.1"));
	/* IPv6 in any spelling, and IPv4-mapped IPv6 (dual-stack listeners) */
	assert_true(apikey_ip_allowed("2001:db8::1", "2001:db8::1"));
	assert_true(apikey_ip_allowed("2001:db8::1", "2001:0DB8:0:0:0:0:0:1"));
	assert_true(apikey_ip_allowed("10.0.0.1,2001:db8::1", "2001:db8:0::1"));
	assert_false(apikey_ip_allowed("2001:db8::1", "2001:db8::2"));
	assert_true(apikey_ip_allowed("::1", "::1"));
	assert_false(apikey_ip_allowed("::1", "127.0.0.1"));
	assert_true(apikey_ip_allowed("203.0.113.7", "::ffff:203.0.113.7"));
	assert_true(apikey_ip_allowed("::ffff:203.0.113.7", "203.0.113.7"));
	assert_false(apikey_ip_allowed("203.0.113.7", "::203.0.113.7"));   /* compatible, not mapped */
	assert_false(apikey_ip_allowed("203.0.113.7", "64:ff9b::203.0.113.7"));
}

static void
test_ip_hostile(void **state)
{
	char big[4096], ip[2048];

	/* a missing or malformed client address never passes a non-empty list */
	assert_false(apikey_ip_allowed("10.0.0.1", NULL));
	assert_false(apikey_ip_allowed("10.0.0.1", ""));
	assert_false(apikey_ip_allowed("10.0.0.1", "10.0.0.1,10.0.0.2"));
	assert_false(apikey_ip_allowed("10.0.0.1", "10.0.0.1\n"));
	assert_false(apikey_ip_allowed("10.0.0.1", "10.0.0.1;"));
	assert_false(apikey_ip_allowed("10.0.0.1", "010.0.0.1"));
	assert_false(apikey_ip_allowed("10.0.0.1", "10.1"));
	assert_false(apikey_ip_allowed("10.0.0.1", "0x0a.0.0.1"));
	assert_false(apikey_ip_allowed("10.0.0.1", "10.0.0.1:443"));
	assert_false(apikey_ip_allowed("fe80::1", "fe80::1%eth0"));
	assert_false(apikey_ip_allowed("2001:db8::1", "[2001:db8::1]"));
	assert_false(apikey_ip_allowed("10.0.0.1", "localhost"));
	assert_false(apikey_ip_allowed("10.0.0.1", "*"));
	assert_false(apikey_ip_allowed("10.0.0.1", "\xff\xfe"));
	/* a list with no valid entry allows nothing; wildcards are not a thing */
	assert_false(apikey_ip_allowed(",", "10.0.0.1"));
	assert_false(apikey_ip_allowed(" ", "10.0.0.1"));
	assert_false(apikey_ip_allowed("*", "10.0.0.1"));
	assert_false(apikey_ip_allowed("0.0.0.0", "10.0.0.1"));
	assert_false(apikey_ip_allowed("::", "::1"));
	assert_false(apikey_ip_allowed("any", "10.0.0.1"));
	assert_false(apikey_ip_allowed("garbage,,\x01\x02,10.0.0.1/32", "10.0.0.1"));
	assert_true(apikey_ip_allowed("garbage,,\x01\x02,10.0.0.1", "10.0.0.1"));
	/* blanks are trimmed however many; an entry longer than any address is skipped,
	 * not truncated into one */
	memset(big, ' ', 200);
	strcpy(big + 200, "10.0.0.1");
	assert_true(apikey_ip_allowed(big, "10.0.0.1"));
	snprintf(big, sizeof big, "10.0.0.1%0100d", 0);
	assert_false(apikey_ip_allowed(big, "10.0.0.1"));
	/* a list over the bound allows nothing, even with the address at its start */
	memset(big, ',', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	memcpy(big, "10.0.0.1", 8);
	assert_false(apikey_ip_allowed(big, "10.0.0.1"));
	big[APIKEY_ALLOW_MAX] = '\0';      /* exactly at the bound: read */
	assert_true(apikey_ip_allowed(big, "10.0.0.1"));
	/* a huge client address */
	memset(ip, '1', sizeof ip - 1);
	ip[sizeof ip - 1] = '\0';
	assert_false(apikey_ip_allowed("10.0.0.1", ip));
	memcpy(ip, "10.0.0.1", 9);
	assert_true(apikey_ip_allowed("10.0.0.1", ip));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_form),
		cmocka_unit_test(test_generate_encoding),
		cmocka_unit_test(test_generate_refuses),
		cmocka_unit_test(test_hash_vectors),
		cmocka_unit_test(test_ip_allowed),
		cmocka_unit_test(test_ip_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
