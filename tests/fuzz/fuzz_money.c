/* tests/fuzz/fuzz_money.c: libFuzzer over the text <-> number helpers: common/money.c
 * (money_parse, money_format, money_format_short, money_rate_parse, money_commission)
 * and common/msisdn.c (msisdn_normalize, mobile_normalize, msisdn_local). The input is
 * made a NUL-terminated string; every parse that succeeds must round-trip: the
 * formatted amount parses back to the same paise, a normalized number normalizes to
 * itself. Built with clang -fsanitize=fuzzer,address,undefined (mk/fuzz.mk). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

static void
fuzz_money(const char *s)
{
	char buf[MONEY_BUFSZ], buf2[MONEY_BUFSZ];
	enum money_parse_result r;
	int64_t v = -7, w = -7;
	int32_t rate;

	r = money_parse(s, &v);
	if (r != MONEY_OK && r != MONEY_BAD && r != MONEY_DECIMALS && r != MONEY_RANGE)
		abort();
	if (r == MONEY_OK) {
		if (v < 0 || v > MONEY_MAX_PAISE)
			abort();
		money_format(v, buf);
		if (memchr(buf, '\0', sizeof buf) == NULL)
			abort();
		if (money_parse(buf, &w) != MONEY_OK || w != v)
			abort();
		money_format_short(v, buf2);
		w = -7;
		if (money_parse(buf2, &w) != MONEY_OK || w != v)
			abort();
		if (money_commission(v, 10000) < 0 || money_commission(v, 10000) > v)
			abort();
	} else if (v != -7)
		abort();	/* untouched on failure */

	rate = money_rate_parse(s);
	if (rate < -1 || rate > 10000)
		abort();
	if (rate >= 0) {
		if (r != MONEY_OK || rate != v)
			abort();
		int64_t c = money_commission(MONEY_MAX_PAISE, rate);
		if (c < 0 || c > MONEY_MAX_PAISE)
			abort();
	}
}

static void
fuzz_msisdn(const char *s)
{
	char m[MSISDN_BUFSZ], m2[MSISDN_BUFSZ], l[MOBILE_BUFSZ], l2[MOBILE_BUFSZ];
	const char *loc;

	if (msisdn_normalize(s, m) == 0) {
		if (strlen(m) != 12 || m[0] != '9' || m[1] != '1')
			abort();
		if (msisdn_normalize(m, m2) != 0 || strcmp(m, m2) != 0)
			abort();
		loc = msisdn_local(m);
		if (strlen(loc) != 10 || msisdn_normalize(loc, m2) != 0 || strcmp(m, m2) != 0)
			abort();
	}
	if (mobile_normalize(s, l) == 0) {
		if (strlen(l) != 10 || l[0] < '6' || l[0] > '9')
			abort();
		if (mobile_normalize(l, l2) != 0 || strcmp(l, l2) != 0)
			abort();
		if (msisdn_normalize(s, m) != 0 || strcmp(m + 2, l) != 0)
			abort();
	}
	loc = msisdn_local(s);
	if (loc < s || loc > s + strlen(s))
		abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_level = -1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a heap copy, NUL-terminated, exactly sized: ASan sees any read past the NUL */
	char *s = malloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_money(s);
	fuzz_msisdn(s);
	free(s);
	return 0;
}
