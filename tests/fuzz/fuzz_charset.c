/* tests/fuzz/fuzz_charset.c: libFuzzer over smpp/charset.c in both directions.
 *   decode  every coding (GSM 03.38 unpacked with its extension table, IA5, Latin-1,
 *           UCS-2/UTF-16BE with surrogates, an unknown coding) of the raw bytes: the
 *           output is strict UTF-8 of the length returned, within 3 bytes per input
 *           octet (the bound our callers size their buffers by), and a buffer one byte
 *           too small fails cleanly (-1, empty) instead of cutting; IA5 and Latin-1
 *           are checked code point by code point against the input;
 *   encode  the bytes as UTF-8: refused exactly when they are not strict UTF-8 (checked
 *           by an independent validator here), else GSM only when every character is
 *           in the GSM tables; within 2 octets per UTF-8 byte; an exact-size heap
 *           buffer one octet short fails without writing past it; and it round-trips:
 *           decode(encode(s)) == s;
 *   split   the encoded text into SMS parts: offsets increasing, parts within 153/134
 *           (160/140 alone), UCS-2 parts even, and decoding part by part gives the
 *           same text as decoding the whole (no escape or surrogate pair cut in two);
 *           raw bytes under each coding split within bounds too.
 * GSM 03.38 packing is not ours (the SMSC packs septets), so there is none to fuzz.
 * Built with clang -fsanitize=fuzzer,address,undefined (mk/fuzz.mk). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "smpp/smpp.h"

#define FUZZ_MAX 4096

/* Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF), written apart from
 * charset.c's reader so the two can disagree. Returns code points or -1. */
static int
fuzz_utf8_decode(const uint8_t *s, size_t n, uint32_t *cps, size_t cap)
{
	size_t i = 0, k = 0;

	while (i < n) {
		uint32_t c = s[i], min;
		int len;

		if (c < 0x80) { len = 1; min = 0; }
		else if ((c & 0xE0) == 0xC0) { len = 2; c &= 0x1F; min = 0x80; }
		else if ((c & 0xF0) == 0xE0) { len = 3; c &= 0x0F; min = 0x800; }
		else if ((c & 0xF8) == 0xF0) { len = 4; c &= 0x07; min = 0x10000; }
		else return -1;
		if (i + (size_t)len > n)
			return -1;
		for (int j = 1; j < len; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return -1;
			c = c << 6 | (s[i + j] & 0x3F);
		}
		if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			return -1;
		if (k < cap)
			cps[k] = c;
		k++;
		i += (size_t)len;
	}
	return (int)k;
}

/* The characters GSM 03.38 can carry (basic table but 0x1B, and the extension table),
 * listed here from 3GPP TS 23.038 rather than taken from charset.c. */
static int
fuzz_gsm_has(uint32_t c)
{
	static const uint16_t other[] = {
		0xA3, 0xA5, 0xE8, 0xE9, 0xF9, 0xEC, 0xF2, 0xC7, 0xD8, 0xF8, 0xC5, 0xE5, 0x394,
		0x3A6, 0x393, 0x39B, 0x3A9, 0x3A0, 0x3A8, 0x3A3, 0x398, 0x39E, 0xC6, 0xE6, 0xDF,
		0xC9, 0xA4, 0xA1, 0xC4, 0xD6, 0xD1, 0xDC, 0xA7, 0xBF, 0xE4, 0xF6, 0xF1, 0xFC,
		0xE0, 0x20AC, 0x0A, 0x0C, 0x0D,
	};
	if (c >= 0x20 && c <= 0x7E)
		return c != 0x60;	/* every printable ASCII but the backtick */
	for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
		if (other[i] == c)
			return 1;
	return 0;
}

static char fuzz_out[3 * FUZZ_MAX + 8], fuzz_out2[3 * FUZZ_MAX + 8], fuzz_parts[3 * FUZZ_MAX + 8];
static uint32_t fuzz_cps[3 * FUZZ_MAX + 8];

/* One decode: strict UTF-8, within bounds, and no partial answers in a short buffer. */
static int
fuzz_decode(uint8_t dc, const uint8_t *in, size_t len)
{
	int n = smpp_text_decode(dc, in, len, fuzz_out, sizeof fuzz_out);

	if (n < 0 || (size_t)n > 3 * len || fuzz_out[n] != '\0' || strlen(fuzz_out) > (size_t)n)
		abort();
	if (fuzz_utf8_decode((const uint8_t *)fuzz_out, (size_t)n, NULL, 0) < 0)
		abort();
	/* exactly big enough works; one byte less fails and leaves "" */
	{
		char *tight = malloc((size_t)n + 1);
		if (smpp_text_decode(dc, in, len, tight, (size_t)n + 1) != n ||
		    memcmp(tight, fuzz_out, (size_t)n + 1) != 0)
			abort();
		if (n > 0 && (smpp_text_decode(dc, in, len, tight, (size_t)n) != -1 || tight[0] != '\0'))
			abort();
		free(tight);
	}
	if (dc == SMPP_DC_IA5 || dc == SMPP_DC_LATIN1) {
		int k = fuzz_utf8_decode((const uint8_t *)fuzz_out, (size_t)n, fuzz_cps,
		    sizeof fuzz_cps / sizeof fuzz_cps[0]);
		if (k != (int)len)
			abort();
		for (size_t i = 0; i < len; i++) {
			uint32_t want = dc == SMPP_DC_LATIN1 || in[i] < 0x80 ? in[i] : 0xFFFD;
			if (fuzz_cps[i] != want)
				abort();
		}
	}
	return n;
}

/* Splits enc and checks the parts; when decodable, part by part equals the whole. */
static void
fuzz_split(uint8_t dc, const uint8_t *enc, size_t len, int check_text)
{
	size_t off[256], single = dc == SMPP_DC_DEFAULT ? 160 : 140, per = dc == SMPP_DC_DEFAULT ? 153 : 134;
	int n = smpp_text_split(dc, enc, len, off, 255), w;
	size_t at = 0;

	if (n < 0) {
		if (len <= 255 * (per - 2))	/* at worst 2 octets short of per a part */
			abort();
		return;
	}
	if (off[0] != 0 || (len == 0) != (n == 0) || (n > 0 && off[n] != len))
		abort();
	for (int i = 0; i < n; i++) {
		size_t plen = off[i + 1] - off[i];
		if (off[i + 1] <= off[i] || plen > (n == 1 ? single : per))
			abort();
		if (dc == SMPP_DC_UCS2 && check_text && plen % 2 != 0)
			abort();
	}
	if (!check_text)
		return;
	fuzz_parts[0] = '\0';
	for (int i = 0; i < n; i++) {
		w = smpp_text_decode(dc, enc + off[i], off[i + 1] - off[i], fuzz_parts + at,
		    sizeof fuzz_parts - at);
		if (w < 0)
			abort();
		at += (size_t)w;
	}
	w = smpp_text_decode(dc, enc, len, fuzz_out2, sizeof fuzz_out2);
	if (w < 0 || (size_t)w != at || memcmp(fuzz_parts, fuzz_out2, at) != 0)
		abort();
}

/* The bytes as UTF-8 to send: refused iff not UTF-8; else bounded and round-tripping. */
static void
fuzz_encode(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	uint8_t *enc, dc = 0xFF;
	size_t slen;
	int k, e, gsm = 1;

	memcpy(s, data, size);
	s[size] = '\0';
	slen = strlen(s);
	k = fuzz_utf8_decode((const uint8_t *)s, slen, fuzz_cps, sizeof fuzz_cps / sizeof fuzz_cps[0]);
	enc = malloc(2 * slen + 1);
	e = smpp_text_encode(s, enc, 2 * slen + 1, &dc);
	if ((k < 0) != (e < 0))
		abort();
	if (e < 0) {
		free(enc);
		free(s);
		return;
	}
	for (int i = 0; i < k; i++)
		if (!fuzz_gsm_has(fuzz_cps[i]))
			gsm = 0;
	if ((size_t)e > 2 * slen || dc != (gsm ? SMPP_DC_DEFAULT : SMPP_DC_UCS2))
		abort();
	if (dc == SMPP_DC_UCS2 && e % 2 != 0)
		abort();
	if (dc == SMPP_DC_DEFAULT)
		for (int i = 0; i < e; i++)
			if (enc[i] >= 0x80)
				abort();
	/* the round trip */
	if (smpp_text_decode(dc, enc, (size_t)e, fuzz_out, sizeof fuzz_out) != (int)slen ||
	    memcmp(fuzz_out, s, slen) != 0)
		abort();
	/* exact size works, one short fails without writing past the end (ASan) */
	if (e > 0) {
		uint8_t *tight = malloc((size_t)e), d2;
		if (smpp_text_encode(s, tight, (size_t)e, &d2) != e || memcmp(tight, enc, (size_t)e) != 0)
			abort();
		if (smpp_text_encode(s, tight, (size_t)e - 1, &d2) != -1)
			abort();
		free(tight);
	}
	fuzz_split(dc, enc, (size_t)e, 1);
	free(enc);
	free(s);
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
	static const uint8_t codings[] = { SMPP_DC_DEFAULT, SMPP_DC_IA5, SMPP_DC_LATIN1,
		SMPP_DC_UCS2, 0x04 };
	uint8_t *copy;

	if (size > FUZZ_MAX)
		return 0;
	/* a heap copy of exactly the bytes: ASan sees a read past them */
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	for (size_t i = 0; i < sizeof codings; i++) {
		(void)fuzz_decode(codings[i], copy, size);
		fuzz_split(codings[i], copy, size, codings[i] != SMPP_DC_UCS2 || size % 2 == 0);
	}
	if (size > 0)
		(void)fuzz_decode(copy[0], copy + 1, size - 1);
	fuzz_encode(copy, size);
	free(copy);
	return 0;
}
