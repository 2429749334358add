/* smpp/charset.c: SMS text <-> UTF-8. The parser wants valid UTF-8 (PCRE2_UTF), so
 * every coding an SMSC may use is turned into it here, and replies go out in GSM 03.38
 * (one septet per octet, the SMSC packs them) when they fit, else UTF-16BE. */
#include <string.h>

#include "smpp/smpp.h"

#define SMPP_GSM_ESC 0x1B
#define SMPP_REPLACEMENT 0xFFFD

/* GSM 03.38 default alphabet (3GPP TS 23.038 6.2.1) to Unicode; 0x1B is the escape. */
static const uint16_t smpp_gsm_basic[128] = {
	0x0040, 0x00A3, 0x0024, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC,
	0x00F2, 0x00C7, 0x000A, 0x00D8, 0x00F8, 0x000D, 0x00C5, 0x00E5,
	0x0394, 0x005F, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8,
	0x03A3, 0x0398, 0x039E, 0x00A0, 0x00C6, 0x00E6, 0x00DF, 0x00C9,
	0x0020, 0x0021, 0x0022, 0x0023, 0x00A4, 0x0025, 0x0026, 0x0027,
	0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F,
	0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037,
	0x0038, 0x0039, 0x003A, 0x003B, 0x003C, 0x003D, 0x003E, 0x003F,
	0x00A1, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047,
	0x0048, 0x0049, 0x004A, 0x004B, 0x004C, 0x004D, 0x004E, 0x004F,
	0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057,
	0x0058, 0x0059, 0x005A, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7,
	0x00BF, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067,
	0x0068, 0x0069, 0x006A, 0x006B, 0x006C, 0x006D, 0x006E, 0x006F,
	0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077,
	0x0078, 0x0079, 0x007A, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,
};

/* The extension table: the septet after 0x1B, and what it stands for. */
static const struct {
	uint8_t septet;
	uint16_t ucs;
} smpp_gsm_ext[] = {
	{ 0x0A, 0x000C },	/* form feed */
	{ 0x14, 0x005E },	/* ^ */
	{ 0x28, 0x007B },	/* { */
	{ 0x29, 0x007D },	/* } */
	{ 0x2F, 0x005C },	/* \ */
	{ 0x3C, 0x005B },	/* [ */
	{ 0x3D, 0x007E },	/* ~ */
	{ 0x3E, 0x005D },	/* ] */
	{ 0x40, 0x007C },	/* | */
	{ 0x65, 0x20AC },	/* euro */
};

#define nitems(a) (sizeof (a) / sizeof (a)[0])

/* ---- UTF-8 ---------------------------------------------------------------------- */

/* Appends one code point as UTF-8, keeping room for the final NUL; -1 when full. */
static int
smpp_utf8_put(char *out, size_t cap, size_t *n, uint32_t cp)
{
	uint8_t b[4];
	size_t k;

	if (cp >= 0xD800 && cp <= 0xDFFF)
		cp = SMPP_REPLACEMENT;
	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (uint8_t)(0xC0 | cp >> 6);
		b[1] = (uint8_t)(0x80 | (cp & 0x3F));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (uint8_t)(0xE0 | cp >> 12);
		b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (uint8_t)(0x80 | (cp & 0x3F));
		k = 3;
	} else {
		b[0] = (uint8_t)(0xF0 | cp >> 18);
		b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (uint8_t)(0x80 | (cp & 0x3F));
		k = 4;
	}
	if (cap == 0 || k > cap - 1 - *n)
		return -1;
	memcpy(out + *n, b, k);
	*n += k;
	return 0;
}

/* Reads one code point of strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
 * Returns its length in bytes, or -1 when the bytes are not UTF-8. */
static int
smpp_utf8_get(const uint8_t *s, size_t left, uint32_t *cp)
{
	uint32_t c;
	int k, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		k = 2;
		c = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		k = 3;
		c = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		k = 4;
		c = s[0] & 0x07;
	} else
		return -1;
	if ((size_t)k > left)
		return -1;
	for (i = 1; i < k; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return -1;
		c = c << 6 | (s[i] & 0x3F);
	}
	if ((k == 3 && c < 0x800) || (k == 4 && c < 0x10000) || c > 0x10FFFF ||
	    (c >= 0xD800 && c <= 0xDFFF))
		return -1;
	*cp = c;
	return k;
}

/* ---- decoding ------------------------------------------------------------------- */

/* GSM 03.38 unpacked: an unknown escape shows the basic character (23.038 6.2.1.1). */
static int
smpp_text_decode_gsm(const uint8_t *in, size_t len, char *out, size_t cap, size_t *n)
{
	size_t i, k;
	uint32_t cp;

	for (i = 0; i < len; i++) {
		if (in[i] >= 0x80)
			cp = SMPP_REPLACEMENT;
		else if (in[i] != SMPP_GSM_ESC)
			cp = smpp_gsm_basic[in[i]];
		else if (i + 1 >= len)
			cp = 0x0020;	/* a lone escape at the end */
		else {
			i++;
			cp = in[i] < 0x80 ? smpp_gsm_basic[in[i]] : SMPP_REPLACEMENT;
			if (in[i] == SMPP_GSM_ESC)
				cp = 0x0020;
			for (k = 0; k < nitems(smpp_gsm_ext); k++) {
				if (smpp_gsm_ext[k].septet == in[i]) {
					cp = smpp_gsm_ext[k].ucs;
					break;
				}
			}
		}
		if (smpp_utf8_put(out, cap, n, cp) != 0)
			return -1;
	}
	return 0;
}

/* UTF-16BE: pairs joined; a lone surrogate or an odd last byte is U+FFFD. */
static int
smpp_text_decode_utf16(const uint8_t *in, size_t len, char *out, size_t cap, size_t *n)
{
	size_t i;
	uint32_t u, lo;

	for (i = 0; i + 1 < len; i += 2) {
		u = (uint32_t)in[i] << 8 | in[i + 1];
		if (u >= 0xD800 && u <= 0xDBFF && i + 3 < len) {
			lo = (uint32_t)in[i + 2] << 8 | in[i + 3];
			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
				i += 2;
			}
		}
		if (u >= 0xD800 && u <= 0xDFFF)
			u = SMPP_REPLACEMENT;
		if (smpp_utf8_put(out, cap, n, u) != 0)
			return -1;
	}
	if (len % 2 != 0 && smpp_utf8_put(out, cap, n, SMPP_REPLACEMENT) != 0)
		return -1;
	return 0;
}

/* Any SMS body to UTF-8, so the parser sees one encoding only. */
int
smpp_text_decode(uint8_t data_coding, const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t n = 0, i;
	int rc = 0;

	if (cap == 0)
		return -1;
	out[0] = '\0';
	if (in == NULL)
		len = 0;
	switch (data_coding) {
	case SMPP_DC_DEFAULT:
		rc = smpp_text_decode_gsm(in, len, out, cap, &n);
		break;
	case SMPP_DC_UCS2:
		rc = smpp_text_decode_utf16(in, len, out, cap, &n);
		break;
	case SMPP_DC_IA5:
		for (i = 0; rc == 0 && i < len; i++)
			rc = smpp_utf8_put(out, cap, &n, in[i] < 0x80 ? in[i] : SMPP_REPLACEMENT);
		break;
	default:	/* Latin-1, and what we do not know read as Latin-1 */
		for (i = 0; rc == 0 && i < len; i++)
			rc = smpp_utf8_put(out, cap, &n, in[i]);
		break;
	}
	if (rc != 0) {
		out[0] = '\0';
		return -1;
	}
	out[n] = '\0';
	return (int)n;
}

/* ---- encoding ------------------------------------------------------------------- */

/* The GSM septets of one code point below 0x100, built once from the tables above:
 * 0 none, SMPP_GSM_REV_BASIC|septet, SMPP_GSM_REV_EXT|septet. Replies are ASCII almost
 * always; scanning the 128-entry table per character was ~7% of the daemon's CPU. */
#define SMPP_GSM_REV_BASIC 0x100
#define SMPP_GSM_REV_EXT 0x200
static uint16_t smpp_gsm_rev[256];
static int smpp_gsm_rev_ready;

static void
smpp_gsm_rev_build(void)
{
	size_t k;

	for (k = nitems(smpp_gsm_ext); k-- > 0; )
		if (smpp_gsm_ext[k].ucs < 0x100)
			smpp_gsm_rev[smpp_gsm_ext[k].ucs] = SMPP_GSM_REV_EXT | smpp_gsm_ext[k].septet;
	/* downwards, so the lowest septet wins as in a forward scan; basic before ext */
	for (k = 128; k-- > 0; )
		if (smpp_gsm_basic[k] < 0x100 && k != SMPP_GSM_ESC)
			smpp_gsm_rev[smpp_gsm_basic[k]] = (uint16_t)(SMPP_GSM_REV_BASIC | k);
	smpp_gsm_rev_ready = 1;
}

/* The GSM septets of one code point: 1 (basic), 2 (escape pair) or 0 (none fits). */
static int
smpp_gsm_from_ucs(uint32_t cp, uint8_t septets[2])
{
	size_t k;

	if (cp < 0x100) {
		if (!smpp_gsm_rev_ready)
			smpp_gsm_rev_build();
		uint16_t r = smpp_gsm_rev[cp];
		if (r & SMPP_GSM_REV_BASIC) {
			septets[0] = (uint8_t)r;
			return 1;
		}
		if (r & SMPP_GSM_REV_EXT) {
			septets[0] = SMPP_GSM_ESC;
			septets[1] = (uint8_t)r;
			return 2;
		}
		return 0;
	}
	/* 0x1B maps to NBSP in the table above for decoding only: never encode it */
	for (k = 0; k < 128; k++) {
		if (smpp_gsm_basic[k] == cp && k != SMPP_GSM_ESC) {
			septets[0] = (uint8_t)k;
			return 1;
		}
	}
	for (k = 0; k < nitems(smpp_gsm_ext); k++) {
		if (smpp_gsm_ext[k].ucs == cp) {
			septets[0] = SMPP_GSM_ESC;
			septets[1] = smpp_gsm_ext[k].septet;
			return 2;
		}
	}
	return 0;
}

/* GSM when every character fits (160 per SMS), else UTF-16BE (70 per SMS). */
int
smpp_text_encode(const char *utf8, uint8_t *out, size_t cap, uint8_t *data_coding)
{
	const uint8_t *s = (const uint8_t *)utf8;
	size_t len = strlen(utf8), i, n = 0;
	uint8_t g[2];
	uint32_t cp;
	int k, gsm = 1, w;

	for (i = 0; i < len; i += (size_t)k) {
		k = smpp_utf8_get(s + i, len - i, &cp);
		if (k < 0)
			return -1;
		if (gsm && smpp_gsm_from_ucs(cp, g) == 0)
			gsm = 0;
	}
	for (i = 0; i < len; i += (size_t)k) {
		k = smpp_utf8_get(s + i, len - i, &cp);
		if (gsm) {
			w = smpp_gsm_from_ucs(cp, g);
			if ((size_t)w > cap - n)
				return -1;
			memcpy(out + n, g, (size_t)w);
			n += (size_t)w;
		} else if (cp < 0x10000) {
			if (cap - n < 2)
				return -1;
			out[n++] = (uint8_t)(cp >> 8);
			out[n++] = (uint8_t)cp;
		} else {
			if (cap - n < 4)
				return -1;
			cp -= 0x10000;
			out[n++] = (uint8_t)(0xD8 | (cp >> 18));
			out[n++] = (uint8_t)(cp >> 10);
			out[n++] = (uint8_t)(0xDC | ((cp >> 8) & 0x03));
			out[n++] = (uint8_t)cp;
		}
	}
	*data_coding = gsm ? SMPP_DC_DEFAULT : SMPP_DC_UCS2;
	return (int)n;
}

/* ---- splitting ------------------------------------------------------------------ */

/* Where a part starting at from may end (at most per units on), without cutting a
 * GSM escape pair or a UTF-16 surrogate pair in two. */
static size_t
smpp_text_split_end(uint8_t data_coding, const uint8_t *text, size_t len, size_t from,
    size_t per)
{
	size_t end, i;

	if (len - from <= per)
		return len;
	end = from + per;
	if (data_coding == SMPP_DC_DEFAULT) {
		/* the octet before end is an escape only if an odd run of escapes ends there */
		i = from;
		while (i < end) {
			if (text[i] == SMPP_GSM_ESC) {
				if (i + 1 >= end)
					return i;	/* the pair would straddle: leave it whole */
				i += 2;
			} else
				i++;
		}
		return end;
	}
	if (data_coding == SMPP_DC_UCS2) {
		end -= (end - from) % 2;
		/* a high surrogate last in the part: move it to the next */
		if (end - from >= 2 && text[end - 2] >= 0xD8 && text[end - 2] <= 0xDB)
			end -= 2;
	}
	return end;
}

/* Parts for UDH concatenation: see smpp.h for the sizes. */
int
smpp_text_split(uint8_t data_coding, const uint8_t *text, size_t len, size_t *off,
    int max_parts)
{
	size_t single, per, at = 0;
	int n = 0;

	if (max_parts < 1 || max_parts > 255)
		return -1;
	off[0] = 0;
	if (len == 0)
		return 0;
	if (data_coding == SMPP_DC_DEFAULT) {
		single = 160;
		per = 153;
	} else {
		single = 140;
		per = 134;
	}
	if (len <= single && (data_coding != SMPP_DC_UCS2 || len % 2 == 0)) {
		off[1] = len;
		return 1;
	}
	while (at < len) {
		if (n == max_parts)
			return -1;
		at = smpp_text_split_end(data_coding, text, len, at, per);
		off[++n] = at;
	}
	return n;
}
