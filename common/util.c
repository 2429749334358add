/* common/util.c: allocation that cannot fail silently, and small byte helpers. */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);

	if (p == NULL)
		fatal("out of memory (%zu x %zu)", n, size);
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s == NULL ? "" : s);

	if (p == NULL)
		fatal("out of memory");
	return p;
}

size_t
strlcpy_safe(char *dst, const char *src, size_t cap)
{
	size_t n = strlen(src);

	if (cap > 0) {
		size_t c = n < cap - 1 ? n : cap - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

void
hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

/* Secrets are compared without an early exit, so timing tells nothing. */
int
ct_equal(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;

	for (size_t i = 0; i < len; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}
