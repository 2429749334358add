/* common/msisdn.c: the forms an Indian number arrives in, to one stored form. */
#include <string.h>

#include "common/common.h"

static int
msisdn_all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return n > 0;
}

/* A recharge target: 10 digits starting 6-9 after +91, 91 (12 digits) or 0. */
int
mobile_normalize(const char *in, char out[MOBILE_BUFSZ])
{
	size_t n = strlen(in);

	if (n == 13 && in[0] == '+' && in[1] == '9' && in[2] == '1') {
		in += 3;
		n -= 3;
	} else if (n == 12 && in[0] == '9' && in[1] == '1') {
		in += 2;
		n -= 2;
	} else if (n == 11 && in[0] == '0') {
		in += 1;
		n -= 1;
	}
	if (n != 10 || !msisdn_all_digits(in, n) || in[0] < '6')
		return -1;
	memcpy(out, in, 10);
	out[10] = '\0';
	return 0;
}

/* Retailers and admins are stored as 91 + 10 digits. */
int
msisdn_normalize(const char *in, char out[MSISDN_BUFSZ])
{
	char local[MOBILE_BUFSZ];

	if (mobile_normalize(in, local) != 0)
		return -1;
	out[0] = '9';
	out[1] = '1';
	memcpy(out + 2, local, MOBILE_BUFSZ);
	return 0;
}

/* Replies show the 10-digit form. */
const char *
msisdn_local(const char *msisdn)
{
	size_t n = strlen(msisdn);
	return n == 12 && msisdn[0] == '9' && msisdn[1] == '1' ? msisdn + 2 : msisdn;
}
