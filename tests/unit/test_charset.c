/* tests/unit/test_charset.c: GSM 03.38 (basic and extension table, '@' as 0x00),
 * IA5, Latin-1, UTF-16BE with surrogate pairs (Hindi, emoji, lone surrogates), strict
 * UTF-8 on the way out, and splitting long replies into UDH parts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smpp/smpp.h"

static char out[4096];
static uint8_t enc[4096];

/* Decodes bytes given as a literal (NULs allowed). */
#define DECODE(dc, lit) smpp_text_decode((dc), (const uint8_t *)(lit), sizeof(lit) - 1, \
    out, sizeof out)

static void
test_gsm_basic(void **state)
{
	assert_int_equal(DECODE(0, "RC 9876543210 199 1234"), 22);
	assert_string_equal(out, "RC 9876543210 199 1234");

	/* '@' is 0x00, '$' 0x02, '_' 0x11, '£' 0x01, 'è' 0x04, 'Δ' 0x10, '¤' 0x24, 'à' 0x7F */
	DECODE(0, "\x00\x02\x11\x01\x04\x10\x24\x7F");
	assert_string_equal(out, "@$_£èΔ¤à");
	DECODE(0, "a\x00" "b");
	assert_string_equal(out, "a@b");
	DECODE(0, "\x0A\x0D");
	assert_string_equal(out, "\n\r");

	/* octets above 0x7F are not septets */
	DECODE(0, "a\x80\xFF");
	assert_string_equal(out, "a\xEF\xBF\xBD\xEF\xBF\xBD");

	/* empty */
	assert_int_equal(smpp_text_decode(0, NULL, 0, out, sizeof out), 0);
	assert_string_equal(out, "");
}

static void
test_gsm_extension(void **state)
{
	DECODE(0, "\x1B\x65\x1B\x3C\x1B\x3E\x1B\x28\x1B\x29\x1B\x3D\x1B\x2F\x1B\x14\x1B\x40");
	assert_string_equal(out, "€[]{}~\\^|");
	DECODE(0, "\x1B\x0A");
	assert_string_equal(out, "\f");

	/* an unknown escape shows the basic character; a trailing one, a space */
	DECODE(0, "\x1B\x41");
	assert_string_equal(out, "A");
	DECODE(0, "ab\x1B");
	assert_string_equal(out, "ab ");
	DECODE(0, "\x1B\x1B" "x");
	assert_string_equal(out, " x");
	DECODE(0, "\x1B\x00");
	assert_string_equal(out, "@");
}

static void
test_gsm_encode(void **state)
{
	uint8_t dc = 99;
	int n;

	n = smpp_text_encode("€ [ ] { } ~ \\ ^ |", enc, sizeof enc, &dc);
	assert_int_equal(dc, SMPP_DC_DEFAULT);
	assert_int_equal(n, 9 * 2 + 8);
	assert_memory_equal(enc, "\x1B\x65 \x1B\x3C \x1B\x3E \x1B\x28 \x1B\x29 \x1B\x3D "
	    "\x1B\x2F \x1B\x14 \x1B\x40", (size_t)n);
	assert_int_equal(smpp_text_decode(dc, enc, (size_t)n, out, sizeof out),
	    (int)strlen("€ [ ] { } ~ \\ ^ |"));
	assert_string_equal(out, "€ [ ] { } ~ \\ ^ |");

	n = smpp_text_encode("a@b", enc, sizeof enc, &dc);
	assert_int_equal(n, 3);
	assert_int_equal(dc, 0);
	assert_memory_equal(enc, "a\x00" "b", 3);

	n = smpp_text_encode("Recharge Rs 199.00 to 9876543210 done. Bal Rs 1,801.00 £ é Ä ñ ¿",
	    enc, sizeof enc, &dc);
	assert_int_equal(dc, 0);
	smpp_text_decode(dc, enc, (size_t)n, out, sizeof out);
	assert_string_equal(out, "Recharge Rs 199.00 to 9876543210 done. Bal Rs 1,801.00 £ é Ä ñ ¿");

	/* every basic character survives the trip */
	for (int c = 0; c < 128; c++) {
		uint8_t g = (uint8_t)c, back[4];

		if (c == 0x1B)
			continue;
		n = smpp_text_decode(0, &g, 1, out, sizeof out);
		assert_true(n > 0);
		n = smpp_text_encode(out, back, sizeof back, &dc);
		assert_int_equal(dc, 0);
		assert_int_equal(n, 1);
		assert_int_equal(back[0], c);
	}

	/* NBSP is not GSM (0x1B is the escape, not a character) */
	smpp_text_encode("a\xC2\xA0" "b", enc, sizeof enc, &dc);
	assert_int_equal(dc, SMPP_DC_UCS2);

	/* room for exactly the text, then one short */
	assert_int_equal(smpp_text_encode("abc€", enc, 5, &dc), 5);
	assert_int_equal(smpp_text_encode("abc€", enc, 4, &dc), -1);
	assert_int_equal(smpp_text_encode("", enc, 0, &dc), 0);
}

static void
test_ia5_latin1_other(void **state)
{
	DECODE(1, "Hello @$_");
	assert_string_equal(out, "Hello @$_");
	DECODE(1, "a\xE9");
	assert_string_equal(out, "a\xEF\xBF\xBD");

	DECODE(3, "caf\xE9 \xA3" "5");
	assert_string_equal(out, "café £5");
	DECODE(3, "\xFF");
	assert_string_equal(out, "ÿ");

	/* unknown codings read as Latin-1 */
	DECODE(4, "\xE9");
	assert_string_equal(out, "é");
	DECODE(0xF0, "x\xE0");
	assert_string_equal(out, "xà");
}

static void
test_ucs2_hindi_and_emoji(void **state)
{
	const char *hindi = "रिचार्ज सफल: ₹199";
	const char *emoji = "OK 😀 ✓";
	uint8_t dc = 0;
	int n;

	n = smpp_text_encode(hindi, enc, sizeof enc, &dc);
	assert_int_equal(dc, SMPP_DC_UCS2);
	assert_int_equal(n % 2, 0);
	assert_memory_equal(enc, "\x09\x30\x09\x3F", 4);	/* र ि */
	assert_int_equal(smpp_text_decode(dc, enc, (size_t)n, out, sizeof out), (int)strlen(hindi));
	assert_string_equal(out, hindi);

	n = smpp_text_encode(emoji, enc, sizeof enc, &dc);
	assert_int_equal(dc, SMPP_DC_UCS2);
	assert_int_equal(n, 2 * 3 + 4 + 2 * 2);
	assert_memory_equal(enc + 6, "\xD8\x3D\xDE\x00", 4);	/* U+1F600 */
	smpp_text_decode(dc, enc, (size_t)n, out, sizeof out);
	assert_string_equal(out, emoji);

	/* the highest code point */
	n = smpp_text_encode("\xF4\x8F\xBF\xBF", enc, sizeof enc, &dc);
	assert_int_equal(n, 4);
	assert_memory_equal(enc, "\xDB\xFF\xDF\xFF", 4);
	smpp_text_decode(dc, enc, (size_t)n, out, sizeof out);
	assert_string_equal(out, "\xF4\x8F\xBF\xBF");

	/* a GSM extension character mixed with Devanagari goes out as UCS-2 */
	n = smpp_text_encode("€ नमस्ते", enc, sizeof enc, &dc);
	assert_int_equal(dc, SMPP_DC_UCS2);
	assert_memory_equal(enc, "\x20\xAC", 2);
}

static void
test_ucs2_broken(void **state)
{
	/* lone high surrogate, at the end and before a normal unit */
	DECODE(8, "\x00" "a\xD8\x3D");
	assert_string_equal(out, "a\xEF\xBF\xBD");
	DECODE(8, "\xD8\x3D\x00" "b");
	assert_string_equal(out, "\xEF\xBF\xBD" "b");
	/* lone low surrogate */
	DECODE(8, "\xDE\x00\x00" "c");
	assert_string_equal(out, "\xEF\xBF\xBD" "c");
	/* two highs then a low: the first is lone, the second pairs */
	DECODE(8, "\xD8\x3D\xD8\x3D\xDE\x00");
	assert_string_equal(out, "\xEF\xBF\xBD😀");
	/* an odd last byte */
	DECODE(8, "\x00" "a\x00");
	assert_string_equal(out, "a\xEF\xBF\xBD");
	DECODE(8, "\x00");
	assert_string_equal(out, "\xEF\xBF\xBD");
}

static void
test_decode_cap(void **state)
{
	char small[4];

	/* "abc" needs 4 bytes with its NUL */
	assert_int_equal(smpp_text_decode(1, (const uint8_t *)"abc", 3, small, 4), 3);
	assert_string_equal(small, "abc");
	assert_int_equal(smpp_text_decode(1, (const uint8_t *)"abcd", 4, small, 4), -1);
	/* a 3-byte character does not fit in 3 + NUL after 'a' */
	assert_int_equal(smpp_text_decode(0, (const uint8_t *)"a\x1B\x65", 3, small, 4), -1);
	assert_int_equal(smpp_text_decode(0, (const uint8_t *)"\x1B\x65", 2, small, 4), 3);
	assert_int_equal(smpp_text_decode(0, (const uint8_t *)"a", 1, small, 0), -1);
	assert_int_equal(smpp_text_decode(0, (const uint8_t *)"", 0, small, 1), 0);
}

static void
test_encode_invalid_utf8(void **state)
{
	static const char *bad[] = {
		"\xC0\x80",		/* overlong NUL */
		"\xE0\x80\xAF",		/* overlong '/' */
		"\xED\xA0\x80",		/* a surrogate */
		"\xF4\x90\x80\x80",	/* above U+10FFFF */
		"\xE0\xA4",		/* truncated */
		"\x80",			/* a lone continuation */
		"ab\xFF",
		"\xF8\x88\x80\x80\x80",
	};
	uint8_t dc;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(smpp_text_encode(bad[i], enc, sizeof enc, &dc), -1);
}

/* Checks split invariants: parts cover the text, respect the sizes, never cut pairs. */
static void
check_parts(uint8_t dc, const uint8_t *t, size_t len, const size_t *off, int n)
{
	size_t per = dc == SMPP_DC_DEFAULT ? 153 : 134;
	int i;

	assert_int_equal(off[0], 0);
	assert_int_equal(off[n], len);
	for (i = 0; i < n; i++) {
		assert_true(off[i + 1] > off[i]);
		if (n > 1)
			assert_true(off[i + 1] - off[i] <= per);
		if (dc == SMPP_DC_UCS2) {
			assert_int_equal((off[i + 1] - off[i]) % 2, 0);
			/* no part starts with a low surrogate */
			assert_false(t[off[i]] >= 0xDC && t[off[i]] <= 0xDF);
		}
		if (dc == SMPP_DC_DEFAULT && i + 1 < n) {
			/* the octet ending a part is not an escape awaiting its partner */
			size_t k = off[i];

			while (k < off[i + 1]) {
				if (t[k] == 0x1B) {
					assert_true(k + 1 < off[i + 1]);
					k += 2;
				} else
					k++;
			}
		}
	}
}

static void
test_split(void **state)
{
	size_t off[256];
	char text[2048];
	uint8_t dc;
	int n, len;

	assert_int_equal(smpp_text_split(0, enc, 0, off, 10), 0);

	/* 160 GSM septets: one SMS; 161: 153 + 8 */
	memset(text, 'a', 161);
	text[160] = '\0';
	len = smpp_text_encode(text, enc, sizeof enc, &dc);
	n = smpp_text_split(dc, enc, (size_t)len, off, 10);
	assert_int_equal(n, 1);
	assert_int_equal(off[1], 160);
	text[160] = 'a';
	text[161] = '\0';
	len = smpp_text_encode(text, enc, sizeof enc, &dc);
	n = smpp_text_split(dc, enc, (size_t)len, off, 10);
	assert_int_equal(n, 2);
	assert_int_equal(off[1], 153);
	assert_int_equal(off[2], 161);
	check_parts(dc, enc, (size_t)len, off, n);

	/* an escape pair across the 153 boundary stays whole: 152 'a' then '€' */
	memset(text, 'a', 152);
	strcpy(text + 152, "€bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	len = smpp_text_encode(text, enc, sizeof enc, &dc);
	assert_int_equal(dc, 0);
	assert_int_equal(enc[152], 0x1B);
	n = smpp_text_split(dc, enc, (size_t)len, off, 10);
	assert_int_equal(n, 2);
	assert_int_equal(off[1], 152);
	assert_int_equal(enc[off[1]], 0x1B);
	check_parts(dc, enc, (size_t)len, off, n);

	/* 80 '€' (160 octets) fit one SMS; 81 need two, each part ending on a pair */
	text[0] = '\0';
	for (int i = 0; i < 81; i++)
		strcat(text, "€");
	len = smpp_text_encode(text, enc, sizeof enc, &dc);
	assert_int_equal(len, 162);
	n = smpp_text_split(dc, enc, (size_t)len, off, 10);
	assert_int_equal(n, 2);
	assert_int_equal(off[1], 152);
	check_parts(dc, enc, (size_t)len, off, n);

	/* UCS-2: 70 characters one SMS, 71 two (67 + 4) */
	text[0] = '\0';
	for (int i = 0; i < 70; i++)
		strcat(text, "न");
	len = smpp_text_encode(text, enc, sizeof enc, &dc);
	assert_int_equal(len, 140);
	assert_int_equal(smpp_text_split(dc, enc, (size_t)len, off, 10), 1);
	strcat(text, "न");
	len = smpp_text_encode(text, enc, sizeof enc, &dc);
	n = smpp_text_split(dc, enc, (size_t)len, off, 10);
	assert_int_equal(n, 2);
	assert_int_equal(off[1], 134);
	check_parts(dc, enc, (size_t)len, off, n);

	/* a surrogate pair across the 134-octet boundary: 66 'न' then an emoji */
	text[0] = '\0';
	for (int i = 0; i < 66; i++)
		strcat(text, "न");
	strcat(text, "😀 done, and some more text to pass seventy");
	len = smpp_text_encode(text, enc, sizeof enc, &dc);
	assert_int_equal(enc[132], 0xD8);
	n = smpp_text_split(dc, enc, (size_t)len, off, 10);
	assert_true(n >= 2);
	assert_int_equal(off[1], 132);
	check_parts(dc, enc, (size_t)len, off, n);
	smpp_text_decode(dc, enc + off[1], off[2] - off[1], out, sizeof out);
	assert_memory_equal(out, "😀", 4);

	/* too many parts */
	memset(text, 'x', 1000);
	text[1000] = '\0';
	len = smpp_text_encode(text, enc, sizeof enc, &dc);
	assert_int_equal(smpp_text_split(dc, enc, (size_t)len, off, 7), 7);
	assert_int_equal(smpp_text_split(dc, enc, (size_t)len, off, 6), -1);
	assert_int_equal(smpp_text_split(dc, enc, (size_t)len, off, 0), -1);
}

/* Random texts mixing pairs and plain characters, split and rejoined. */
static void
test_split_random(void **state)
{
	static const char *pieces[] = { "a", "€", "{", "न", "😀", "@", " ", "ü" };
	char text[3000];
	size_t off[256];
	uint32_t x = 88172645u;
	uint8_t dc;
	int round, n, len, i;

	for (round = 0; round < 2000; round++) {
		int nch;

		x ^= x << 13; x ^= x >> 17; x ^= x << 5;
		nch = (int)(x % 600);
		text[0] = '\0';
		for (i = 0; i < nch; i++) {
			x ^= x << 13; x ^= x >> 17; x ^= x << 5;
			/* half the texts stay GSM-only */
			strcat(text, pieces[round % 2 ? x % 8 : (x % 3 == 0 ? 1 : x % 3 == 1 ? 2 : 0)]);
		}
		len = smpp_text_encode(text, enc, sizeof enc, &dc);
		assert_true(len >= 0);
		n = smpp_text_split(dc, enc, (size_t)len, off, 255);
		assert_true(n >= 0);
		if (len == 0) {
			assert_int_equal(n, 0);
			continue;
		}
		check_parts(dc, enc, (size_t)len, off, n);
		/* decoding the parts one by one gives back the text */
		{
			char joined[4096] = "";

			for (i = 0; i < n; i++) {
				assert_true(smpp_text_decode(dc, enc + off[i], off[i + 1] - off[i],
				    out, sizeof out) >= 0);
				strcat(joined, out);
			}
			assert_string_equal(joined, text);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gsm_basic),
		cmocka_unit_test(test_gsm_extension),
		cmocka_unit_test(test_gsm_encode),
		cmocka_unit_test(test_ia5_latin1_other),
		cmocka_unit_test(test_ucs2_hindi_and_emoji),
		cmocka_unit_test(test_ucs2_broken),
		cmocka_unit_test(test_decode_cap),
		cmocka_unit_test(test_encode_invalid_utf8),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_split_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
