/* common/money.c: rupees as text <-> int64 paise, and commission arithmetic.
 * Never floating point: a double cannot hold 0.10 exactly. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"

/* Digits, an optional point and at most two decimals; nothing else. */
enum money_parse_result
money_parse(const char *text, int64_t *paise)
{
	const char *p = text;
	int64_t rupees = 0, frac = 0;
	int ndigits = 0, ndec = 0;

	if (p == NULL || *p == '\0')
		return MONEY_BAD;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (++ndigits > 13)
			return MONEY_RANGE;
		rupees = rupees * 10 + (*p - '0');
	}
	if (*p == '.') {
		p++;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (++ndec > 2) {
				/* keep scanning so "1.2x3" is BAD, not DECIMALS */
				continue;
			}
			frac = frac * 10 + (*p - '0');
		}
		if (ndec == 0 && ndigits == 0)
			return MONEY_BAD;
	}
	if (*p != '\0' || (ndigits == 0 && ndec == 0))
		return MONEY_BAD;
	if (ndec > 2)
		return MONEY_DECIMALS;
	if (ndec == 1)
		frac *= 10;
	int64_t v = rupees * 100 + frac;
	if (v > MONEY_MAX_PAISE)
		return MONEY_RANGE;
	*paise = v;
	return MONEY_OK;
}

/* Two decimals always: the form every reply and JSON body uses. */
char *
money_format(int64_t paise, char *buf)
{
	uint64_t a = paise < 0 ? (uint64_t)(-(paise + 1)) + 1 : (uint64_t)paise;
	snprintf(buf, MONEY_BUFSZ, "%s%" PRIu64 ".%02" PRIu64, paise < 0 ? "-" : "",
	    a / 100, a % 100);
	return buf;
}

/* Providers' templates want "299" for whole rupees. */
char *
money_format_short(int64_t paise, char *buf)
{
	if (paise % 100 == 0) {
		snprintf(buf, MONEY_BUFSZ, "%" PRId64, paise / 100);
		return buf;
	}
	return money_format(paise, buf);
}

/* A rate is a percentage with up to two decimals; 100% at most. */
int32_t
money_rate_parse(const char *text)
{
	int64_t v;

	if (money_parse(text, &v) != MONEY_OK || v > 10000)
		return -1;
	return (int32_t)v;
}

/* Rounded down to the paisa, as SPEC section 3 says (299.00 at 3.33% = 9.95). */
int64_t
money_commission(int64_t amount, int32_t rate_bp)
{
	if (amount <= 0 || rate_bp <= 0)
		return 0;
	return amount * rate_bp / 10000;
}
