/* tools/smscsim/text.c: the codings a phone may use for an MO. smpp_text_encode picks
 * GSM 03.38 or UCS-2 by itself; tests also want IA5, Latin-1 and UCS-2 on demand, to
 * see the daemon decode each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "smpp/smpp.h"
#include "tools/smscsim/smscsim.h"

/* Next code point of a NUL-terminated UTF-8 string; -1 when malformed (overlong,
 * surrogate, beyond U+10FFFF or truncated). */
static long
smscsim_text_utf8_next(const unsigned char **pp)
{
	const unsigned char *p = *pp;
	long cp;
	int n;

	if (p[0] < 0x80) {
		*pp = p + 1;
		return p[0];
	}
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		cp = p[0] & 0x1F;
		n = 1;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		cp = p[0] & 0x0F;
		n = 2;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		cp = p[0] & 0x07;
		n = 3;
	} else
		return -1;
	for (int i = 1; i <= n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return -1;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	*pp = p + n + 1;
	return cp;
}

int
smscsim_text_encode(const char *utf8, int dc, uint8_t *out, size_t cap, uint8_t *dc_out,
    const char **cause)
{
	const unsigned char *p = (const unsigned char *)utf8;
	size_t n = 0;
	int r;

	if (dc == -1 || dc == SMPP_DC_DEFAULT) {
		uint8_t got = 0;
		if ((r = smpp_text_encode(utf8, out, cap, &got)) < 0) {
			*cause = "text is not valid UTF-8";
			return -1;
		}
		if (dc == SMPP_DC_DEFAULT && got != SMPP_DC_DEFAULT) {
			*cause = "text does not fit GSM 03.38 (data coding 0)";
			return -1;
		}
		*dc_out = got;
		return r;
	}
	if (dc != SMPP_DC_IA5 && dc != SMPP_DC_LATIN1 && dc != SMPP_DC_UCS2) {
		*cause = "data coding must be 0, 1, 3 or 8";
		return -1;
	}
	while (*p != '\0') {
		long cp = smscsim_text_utf8_next(&p);
		if (cp < 0) {
			*cause = "text is not valid UTF-8";
			return -1;
		}
		if (dc == SMPP_DC_UCS2) {
			uint16_t u[2];
			int k = 1;
			if (cp >= 0x10000) {
				u[0] = (uint16_t)(0xD800 + ((cp - 0x10000) >> 10));
				u[1] = (uint16_t)(0xDC00 + ((cp - 0x10000) & 0x3FF));
				k = 2;
			} else
				u[0] = (uint16_t)cp;
			if (n + 2 * (size_t)k > cap)
				goto full;
			for (int i = 0; i < k; i++) {
				out[n++] = (uint8_t)(u[i] >> 8);
				out[n++] = (uint8_t)u[i];
			}
			continue;
		}
		if (cp >= (dc == SMPP_DC_IA5 ? 0x80 : 0x100)) {
			*cause = dc == SMPP_DC_IA5 ? "text is not ASCII (data coding 1)" :
			    "text does not fit Latin-1 (data coding 3)";
			return -1;
		}
		if (n + 1 > cap)
			goto full;
		out[n++] = (uint8_t)cp;
	}
	*dc_out = (uint8_t)dc;
	return (int)n;
full:
	*cause = "text too long";
	return -1;
}

size_t
smscsim_text_cut(uint8_t dc, const uint8_t *body, size_t len, size_t max)
{
	size_t n;

	if (len <= max)
		return len;
	n = max;
	if (dc == SMPP_DC_DEFAULT && n > 1 && body[n - 1] == 0x1B)
		n--;                                   /* keep an escape with its character */
	if (dc == SMPP_DC_UCS2) {
		n &= ~(size_t)1;
		if (n >= 4 && body[n - 2] >= 0xD8 && body[n - 2] <= 0xDB)
			n -= 2;                        /* keep a surrogate pair together */
	}
	return n;
}

char *
smscsim_text_escape(const char *s)
{
	size_t len = strlen(s);
	char *out = malloc(len * 4 + 1), *o = out;

	if (out == NULL)
		fatal("smscsim: out of memory");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '\\': *o++ = '\\'; *o++ = '\\'; break;
		case '\n': *o++ = '\\'; *o++ = 'n'; break;
		case '\r': *o++ = '\\'; *o++ = 'r'; break;
		case '\t': *o++ = '\\'; *o++ = 't'; break;
		default:
			if (*p < 0x20 || *p == 0x7F) {
				snprintf(o, 5, "\\x%02x", *p);
				o += 4;
			} else
				*o++ = (char)*p;
		}
	}
	*o = '\0';
	return out;
}

static int
smscsim_text_hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int
smscsim_text_unescape(char *s)
{
	char *o = s;

	for (char *p = s; *p; p++) {
		if (*p != '\\') {
			*o++ = *p;
			continue;
		}
		p++;
		switch (*p) {
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case '\\': *o++ = '\\'; break;
		case 'x': {
			int hi = smscsim_text_hexval(p[1]), lo = hi < 0 ? -1 : smscsim_text_hexval(p[2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			*o++ = (char)(hi << 4 | lo);
			p += 2;
			break;
		}
		default:
			return -1;
		}
	}
	*o = '\0';
	return 0;
}

/* Burst and load texts number their messages: one parser for both. */
int
smscsim_text_template(const char *tpl, char **prefix, char **suffix, int *width, int *has_number)
{
	size_t n = strlen(tpl);
	char *pre = xcalloc(1, n + 1), *suf = xcalloc(1, n + 1), *o = pre;

	*width = 0;
	*has_number = 0;
	for (const char *p = tpl; *p; p++) {
		if (*p != '%') {
			*o++ = *p;
			continue;
		}
		if (p[1] == '%') {
			*o++ = '%';
			p++;
			continue;
		}
		if (*has_number)
			goto bad;
		p++;
		int w = 0;
		if (*p == '0') {
			p++;
			while (*p >= '0' && *p <= '9' && w < 100)
				w = w * 10 + (*p++ - '0');
			if (w == 0 || w > 20)
				goto bad;
		}
		if (*p != 'd')
			goto bad;
		*width = w;
		*has_number = 1;
		o = suf;
	}
	*prefix = pre;
	*suffix = suf;
	return 0;
bad:
	free(pre);
	free(suf);
	*has_number = 0;
	return -1;
}
