/* parser/parser.c: the SMS command grammar (SPEC section 7). One UTF-8 PCRE2 pattern
 * cuts the text into tokens (and so rejects invalid UTF-8); small anchored ASCII patterns
 * check each token; the verb's fixed arity decides where the optional PIN stands. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

#include "common/common.h"
#include "parser/parser.h"

enum parser_re {
	PARSER_RE_TOKEN = 0,
	PARSER_RE_PIN,
	PARSER_RE_DIGITS,
	PARSER_RE_GROUP,
	PARSER_RE_TXN,
	PARSER_RE_OPERATOR,
	PARSER_RE_CIRCLE,
	PARSER_RE_SUBSCRIBER,
	PARSER_RE_PLAN,
	PARSER_RE_COUNT
};

/*
 * Only the tokenizer runs in UTF mode: it is the one pattern that sees the raw text.
 * The others see single tokens and are ASCII-only without PCRE2_UTF, so CASELESS folds
 * ASCII alone (in UTF mode "K" would also match U+212A KELVIN SIGN).
 */
static const struct {
	const char *pattern;
	uint32_t options;
} parser_re_table[PARSER_RE_COUNT] = {
	[PARSER_RE_TOKEN]      = { "[^ \\t*#,\\r\\n]+", PCRE2_UTF },
	[PARSER_RE_PIN]        = { "\\A[0-9]{4,6}\\z", 0 },
	[PARSER_RE_DIGITS]     = { "\\A[0-9]+\\z", 0 },
	[PARSER_RE_GROUP]      = { "\\A[0-9]{2,3}(?:\\.[0-9]*)?\\z", 0 },
	[PARSER_RE_TXN]        = { "\\ATXN[0-9]{9,28}\\z", PCRE2_CASELESS },
	[PARSER_RE_OPERATOR]   = { "\\A[A-Za-z][A-Za-z0-9]{0,14}\\z", 0 },
	[PARSER_RE_CIRCLE]     = { "\\A[A-Za-z]{2}\\z", 0 },
	[PARSER_RE_SUBSCRIBER] = { "\\A[0-9]{1,20}\\z", 0 },
	[PARSER_RE_PLAN]       = { "\\A[A-Za-z][A-Za-z0-9_-]{0,30}\\z", 0 },
};

static pcre2_code *parser_re[PARSER_RE_COUNT];
static pcre2_match_data *parser_md;

static const struct {
	const char *name;
	enum parser_verb verb;
} parser_verbs[] = {
	{ "RC", PARSER_RC },
	{ "DTH", PARSER_DTH },
	{ "BAL", PARSER_BAL },
	{ "ST", PARSER_ST },
	{ "LAST", PARSER_LAST },
	{ "CMP", PARSER_CMP },
	{ "PIN", PARSER_PIN },
	{ "HELP", PARSER_HELP },
	{ "REG", PARSER_REG },
	{ "TOPUP", PARSER_TOPUP },
	{ "BLOCK", PARSER_BLOCK },
	{ "UNBLOCK", PARSER_UNBLOCK },
};

struct parser_token {
	size_t off;
	size_t len;
};

/* The first PARSER_TOKENS_MAX tokens, and the last one wherever it is. */
struct parser_tokens {
	const char *text;
	size_t len;
	size_t n;                      /* all tokens, may exceed PARSER_TOKENS_MAX */
	struct parser_token tok[PARSER_TOKENS_MAX];
	struct parser_token last;
};

int
parser_init(const char **cause)
{
	int errcode;
	PCRE2_SIZE erroff;

	if (parser_md != NULL)
		return 0;
	for (int i = 0; i < PARSER_RE_COUNT; i++) {
		parser_re[i] = pcre2_compile((PCRE2_SPTR)parser_re_table[i].pattern,
		    PCRE2_ZERO_TERMINATED, parser_re_table[i].options, &errcode, &erroff, NULL);
		if (parser_re[i] == NULL) {
			if (cause != NULL)
				*cause = "parser: a pattern does not compile";
			parser_free();
			return -1;
		}
		/* Without JIT support pcre2_match interprets: slower, same answers. */
		(void)pcre2_jit_compile(parser_re[i], PCRE2_JIT_COMPLETE);
	}
	parser_md = pcre2_match_data_create(1, NULL);
	if (parser_md == NULL) {
		if (cause != NULL)
			*cause = "parser: out of memory";
		parser_free();
		return -1;
	}
	return 0;
}

void
parser_free(void)
{
	for (int i = 0; i < PARSER_RE_COUNT; i++) {
		pcre2_code_free(parser_re[i]);
		parser_re[i] = NULL;
	}
	pcre2_match_data_free(parser_md);
	parser_md = NULL;
}

/* Only the first pass over the text checks its UTF-8; later passes start on a character. */
static int
parser_tokenize(const char *text, size_t len, struct parser_tokens *tk)
{
	PCRE2_SIZE off = 0, *ov;
	uint32_t options = 0;
	int rc;

	tk->text = text;
	tk->len = len;
	tk->n = 0;
	while (off < len) {
		rc = pcre2_match(parser_re[PARSER_RE_TOKEN], (PCRE2_SPTR)text, len, off, options,
		    parser_md, NULL);
		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		if (rc < 0)
			return -1;      /* invalid UTF-8, or PCRE2 gave up */
		ov = pcre2_get_ovector_pointer(parser_md);
		tk->last.off = ov[0];
		tk->last.len = ov[1] - ov[0];
		if (tk->n < PARSER_TOKENS_MAX)
			tk->tok[tk->n] = tk->last;
		tk->n++;
		off = ov[1];
		options = PCRE2_NO_UTF_CHECK;
	}
	return 0;
}

/* Token i: one of the first PARSER_TOKENS_MAX or the last; callers stay in that range. */
static const struct parser_token *
parser_token_at(const struct parser_tokens *tk, size_t i)
{
	if (i < PARSER_TOKENS_MAX)
		return &tk->tok[i];
	if (i + 1 == tk->n)
		return &tk->last;
	fatal("parser: token %zu of %zu is not kept", i, tk->n);
}

static int
parser_token_is(const struct parser_tokens *tk, size_t i, enum parser_re re)
{
	const struct parser_token *t = parser_token_at(tk, i);

	return pcre2_match(parser_re[re], (PCRE2_SPTR)tk->text + t->off, t->len, 0, 0,
	    parser_md, NULL) >= 0;
}

/* Keywords are ASCII; comparing by hand keeps the locale out of it. */
static int
parser_token_equals(const struct parser_tokens *tk, size_t i, const char *word)
{
	const struct parser_token *t = parser_token_at(tk, i);
	const char *p = tk->text + t->off;

	if (t->len != strlen(word))
		return 0;
	for (size_t k = 0; k < t->len; k++) {
		char c = p[k];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c != word[k])
			return 0;
	}
	return 1;
}

/* Copies token i as a C string; -1 (buf untouched) when it does not fit. */
static int
parser_token_copy(const struct parser_tokens *tk, size_t i, char *buf, size_t cap)
{
	const struct parser_token *t = parser_token_at(tk, i);

	if (t->len >= cap)
		return -1;
	memcpy(buf, tk->text + t->off, t->len);
	buf[t->len] = '\0';
	return 0;
}

static void
parser_ascii_upper(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'a' && *s <= 'z')
			*s = (char)(*s - 'a' + 'A');
}

static void
parser_ascii_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* Words of [from, to) joined by one space, cut on a UTF-8 boundary to fit the buffer. */
static void
parser_join(const struct parser_tokens *tk, size_t from, size_t to, char *buf, size_t cap)
{
	PCRE2_SIZE off = from, *ov;
	size_t used = 0, n;

	buf[0] = '\0';
	while (off < to) {
		if (pcre2_match(parser_re[PARSER_RE_TOKEN], (PCRE2_SPTR)tk->text, to, off,
		    PCRE2_NO_UTF_CHECK, parser_md, NULL) < 0)
			break;
		ov = pcre2_get_ovector_pointer(parser_md);
		if (used > 0) {
			if (used + 1 >= cap - 1)
				break;
			buf[used++] = ' ';
		}
		n = ov[1] - ov[0];
		if (n > cap - 1 - used) {
			n = cap - 1 - used;
			while (n > 0 && ((unsigned char)tk->text[ov[0] + n] & 0xc0) == 0x80)
				n--;
			memcpy(buf + used, tk->text + ov[0], n);
			used += n;
			break;
		}
		memcpy(buf + used, tk->text + ov[0], n);
		used += n;
		off = ov[1];
	}
	/* A cut right after the space would leave it trailing. */
	while (used > 0 && buf[used - 1] == ' ')
		used--;
	buf[used] = '\0';
}

static enum parser_error
parser_fail(struct parser_command *out, enum parser_error error, const char *param)
{
	out->error = error;
	out->error_param = param;
	return error;
}

/* A trailing PIN-like token past the fixed arguments is the PIN; returns the tokens left. */
static size_t
parser_take_pin(const struct parser_tokens *tk, size_t fixed, struct parser_command *out)
{
	if (tk->n > fixed && parser_token_is(tk, tk->n - 1, PARSER_RE_PIN)) {
		parser_token_copy(tk, tk->n - 1, out->pin, sizeof out->pin);
		return tk->n - 1;
	}
	return tk->n;
}

/*
 * After the last argument (n tokens left once the PIN is taken, used of them read): more
 * tokens than the verb has room for is not a command we know; one stray token stands
 * where only the PIN may, so it is a bad PIN.
 */
static enum parser_error
parser_extra(const struct parser_tokens *tk, size_t n, size_t used, size_t max,
    struct parser_command *out)
{
	if (tk->n > max)
		return parser_fail(out, PARSER_ERR_UNKNOWN, NULL);
	if (n > used)
		return parser_fail(out, PARSER_ERR_PARAM, "pin");
	return PARSER_OK;
}

static enum parser_error
parser_arg_mobile(const struct parser_tokens *tk, size_t i, size_t n,
    struct parser_command *out)
{
	char buf[PARSER_TOKEN_MAX];

	if (i >= n)
		return parser_fail(out, PARSER_ERR_PARAM, "mobile");
	if (parser_token_copy(tk, i, buf, sizeof buf) != 0 ||
	    mobile_normalize(buf, out->target) != 0)
		return parser_fail(out, PARSER_ERR_MOBILE, "mobile");
	return PARSER_OK;
}

/* Admins type a retailer's number in any form; the engine stores the normalized one. */
static enum parser_error
parser_arg_msisdn(const struct parser_tokens *tk, size_t i, size_t n,
    struct parser_command *out)
{
	char norm[MSISDN_BUFSZ];

	if (i >= n)
		return parser_fail(out, PARSER_ERR_PARAM, "msisdn");
	if (parser_token_copy(tk, i, out->target, sizeof out->target) != 0 ||
	    msisdn_normalize(out->target, norm) != 0) {
		out->target[0] = '\0';
		return parser_fail(out, PARSER_ERR_MOBILE, "msisdn");
	}
	return PARSER_OK;
}

static enum parser_error
parser_arg_operator(const struct parser_tokens *tk, size_t i, size_t n,
    struct parser_command *out)
{
	if (i >= n || !parser_token_is(tk, i, PARSER_RE_OPERATOR))
		return parser_fail(out, PARSER_ERR_PARAM, "operator");
	parser_token_copy(tk, i, out->operator_code, sizeof out->operator_code);
	parser_ascii_upper(out->operator_code);
	return PARSER_OK;
}

/*
 * Rupees as money_parse reads them, above zero. Since ',' separates tokens, "1,000"
 * arrives as "1" and "000": a 2- or 3-digit group right after a comma is refused as an
 * amount with digit-group commas (SPEC section 3), never taken as Rs 1.
 */
static enum parser_error
parser_arg_amount(const struct parser_tokens *tk, size_t i, size_t n,
    struct parser_command *out)
{
	char buf[PARSER_TOKEN_MAX];
	const struct parser_token *t;
	int64_t paise;

	if (i >= n)
		return parser_fail(out, PARSER_ERR_PARAM, "amount");
	if (parser_token_copy(tk, i, buf, sizeof buf) != 0 ||
	    money_parse(buf, &paise) != MONEY_OK || paise <= 0)
		return parser_fail(out, PARSER_ERR_AMOUNT, "amount");
	t = parser_token_at(tk, i);
	if (i + 1 < tk->n && i + 1 < PARSER_TOKENS_MAX &&
	    tk->text[t->off + t->len] == ',' && tk->tok[i + 1].off == t->off + t->len + 1 &&
	    parser_token_is(tk, i + 1, PARSER_RE_GROUP))
		return parser_fail(out, PARSER_ERR_AMOUNT, "amount");
	out->amount = paise;
	return PARSER_OK;
}

static enum parser_error
parser_arg_txn(const struct parser_tokens *tk, size_t i, size_t n,
    struct parser_command *out)
{
	if (i >= n || !parser_token_is(tk, i, PARSER_RE_TXN))
		return parser_fail(out, PARSER_ERR_PARAM, "txn_id");
	parser_token_copy(tk, i, out->txn_id, sizeof out->txn_id);
	parser_ascii_upper(out->txn_id);
	return PARSER_OK;
}

/* RC <mobile> <operator> <amount> [<circle>] [<pin>] | RC <mobile> <amount> [<pin>] */
static enum parser_error
parser_parse_rc(const struct parser_tokens *tk, struct parser_command *out)
{
	const struct parser_token *t;
	size_t n;
	int with_operator = 0;
	char c;

	/* Operators start with a letter (D2H too); anything else there is the amount. The
	 * form fixes where the PIN may stand, so it is found before any error. */
	if (tk->n >= 3) {
		t = parser_token_at(tk, 2);
		c = tk->text[t->off];
		with_operator = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
	}
	n = parser_take_pin(tk, with_operator ? 4 : 3, out);
	if (parser_arg_mobile(tk, 1, n, out) != PARSER_OK)
		return out->error;
	if (n < 3)
		return parser_fail(out, PARSER_ERR_PARAM, "amount");

	if (!with_operator) {
		if (parser_arg_amount(tk, 2, n, out) != PARSER_OK)
			return out->error;
		/* "RC 9876543210 299 AIRTEL": the operator came after the amount. */
		if (n == 4 && !parser_token_is(tk, 3, PARSER_RE_DIGITS))
			return parser_fail(out, PARSER_ERR_PARAM, "operator");
		return parser_extra(tk, n, 3, 4, out);
	}

	if (parser_arg_operator(tk, 2, n, out) != PARSER_OK ||
	    parser_arg_amount(tk, 3, n, out) != PARSER_OK)
		return out->error;
	if (n == 4)
		return PARSER_OK;
	if (tk->n > 6)
		return parser_fail(out, PARSER_ERR_UNKNOWN, NULL);
	if (!parser_token_is(tk, 4, PARSER_RE_CIRCLE)) {
		/* A lone number there was meant as the PIN (3 or 7+ digits). */
		if (n == 5 && parser_token_is(tk, 4, PARSER_RE_DIGITS))
			return parser_fail(out, PARSER_ERR_PARAM, "pin");
		return parser_fail(out, PARSER_ERR_PARAM, "circle");
	}
	parser_token_copy(tk, 4, out->circle, sizeof out->circle);
	parser_ascii_upper(out->circle);
	return parser_extra(tk, n, 5, 6, out);
}

/* DTH <subscriber_id> <operator> <amount> [<pin>]; the operator's ID pattern is the engine's. */
static enum parser_error
parser_parse_dth(const struct parser_tokens *tk, struct parser_command *out)
{
	size_t n = parser_take_pin(tk, 4, out);

	if (n < 2)
		return parser_fail(out, PARSER_ERR_PARAM, "subscriber_id");
	if (!parser_token_is(tk, 1, PARSER_RE_SUBSCRIBER))
		return parser_fail(out, PARSER_ERR_MOBILE, "subscriber_id");
	parser_token_copy(tk, 1, out->target, sizeof out->target);
	if (parser_arg_operator(tk, 2, n, out) != PARSER_OK ||
	    parser_arg_amount(tk, 3, n, out) != PARSER_OK)
		return out->error;
	return parser_extra(tk, n, 4, 5, out);
}

/* ST <txn_id> [<pin>] */
static enum parser_error
parser_parse_st(const struct parser_tokens *tk, struct parser_command *out)
{
	size_t n = parser_take_pin(tk, 2, out);

	if (parser_arg_txn(tk, 1, n, out) != PARSER_OK)
		return out->error;
	return parser_extra(tk, n, 2, 3, out);
}

/* CMP <txn_id> <text...> [<pin>]: the text runs to the PIN or the end, past the token cap. */
static enum parser_error
parser_parse_cmp(const struct parser_tokens *tk, struct parser_command *out)
{
	size_t n = parser_take_pin(tk, 2, out);

	if (parser_arg_txn(tk, 1, n, out) != PARSER_OK)
		return out->error;
	if (n < 3)
		return parser_fail(out, PARSER_ERR_PARAM, "text");
	parser_join(tk, parser_token_at(tk, 2)->off, n < tk->n ? tk->last.off : tk->len,
	    out->text, sizeof out->text);
	return PARSER_OK;
}

/* PIN <new> | PIN <old> <new>: no PIN slot of its own, the arguments are PINs. */
static enum parser_error
parser_parse_pin(const struct parser_tokens *tk, struct parser_command *out)
{
	if (tk->n < 2 || !parser_token_is(tk, 1, PARSER_RE_PIN))
		return parser_fail(out, PARSER_ERR_PARAM, "pin");
	if (tk->n == 2) {
		parser_token_copy(tk, 1, out->pin_new, sizeof out->pin_new);
		return PARSER_OK;
	}
	if (!parser_token_is(tk, 2, PARSER_RE_PIN))
		return parser_fail(out, PARSER_ERR_PARAM, "pin");
	parser_token_copy(tk, 1, out->pin, sizeof out->pin);
	parser_token_copy(tk, 2, out->pin_new, sizeof out->pin_new);
	return parser_extra(tk, tk->n, 3, 3, out);
}

/* REG <msisdn> <plan> <shop name...> <pin> */
static enum parser_error
parser_parse_reg(const struct parser_tokens *tk, struct parser_command *out)
{
	size_t n = parser_take_pin(tk, 3, out);

	if (parser_arg_msisdn(tk, 1, n, out) != PARSER_OK)
		return out->error;
	if (n < 3 || !parser_token_is(tk, 2, PARSER_RE_PLAN))
		return parser_fail(out, PARSER_ERR_PARAM, "plan");
	parser_token_copy(tk, 2, out->plan, sizeof out->plan);
	parser_ascii_lower(out->plan);
	if (n < 4)
		return parser_fail(out, PARSER_ERR_PARAM, "shop_name");
	parser_join(tk, parser_token_at(tk, 3)->off, n < tk->n ? tk->last.off : tk->len,
	    out->text, sizeof out->text);
	if (out->pin[0] == '\0')
		return parser_fail(out, PARSER_ERR_PARAM, "pin");
	return PARSER_OK;
}

/* TOPUP <msisdn> <amount> <pin> */
static enum parser_error
parser_parse_topup(const struct parser_tokens *tk, struct parser_command *out)
{
	size_t n = parser_take_pin(tk, 3, out);

	if (parser_arg_msisdn(tk, 1, n, out) != PARSER_OK ||
	    parser_arg_amount(tk, 2, n, out) != PARSER_OK ||
	    parser_extra(tk, n, 3, 4, out) != PARSER_OK)
		return out->error;
	if (out->pin[0] == '\0')
		return parser_fail(out, PARSER_ERR_PARAM, "pin");
	return PARSER_OK;
}

/* BLOCK <msisdn> <pin> and UNBLOCK <msisdn> <pin> */
static enum parser_error
parser_parse_block(const struct parser_tokens *tk, struct parser_command *out)
{
	size_t n = parser_take_pin(tk, 2, out);

	if (parser_arg_msisdn(tk, 1, n, out) != PARSER_OK ||
	    parser_extra(tk, n, 2, 3, out) != PARSER_OK)
		return out->error;
	if (out->pin[0] == '\0')
		return parser_fail(out, PARSER_ERR_PARAM, "pin");
	return PARSER_OK;
}

enum parser_error
parser_parse(const char *text, size_t len, struct parser_command *out)
{
	struct parser_tokens tk;
	size_t i;

	if (parser_md == NULL)
		fatal("parser_parse before parser_init");
	memset(out, 0, sizeof *out);
	out->verb = PARSER_NONE;
	if (text == NULL || memchr(text, '\0', len) != NULL ||
	    parser_tokenize(text, len, &tk) != 0 || tk.n == 0)
		return parser_fail(out, PARSER_ERR_UNKNOWN, NULL);

	for (i = 0; i < sizeof parser_verbs / sizeof parser_verbs[0]; i++) {
		if (parser_token_equals(&tk, 0, parser_verbs[i].name))
			break;
	}
	if (i == sizeof parser_verbs / sizeof parser_verbs[0])
		return parser_fail(out, PARSER_ERR_UNKNOWN, NULL);
	out->verb = parser_verbs[i].verb;

	/* Only free text may run past the token cap; HELP ignores what follows it. */
	if (tk.n > PARSER_TOKENS_MAX && out->verb != PARSER_CMP && out->verb != PARSER_REG &&
	    out->verb != PARSER_HELP)
		return parser_fail(out, PARSER_ERR_UNKNOWN, NULL);

	switch (out->verb) {
	case PARSER_RC:
		return parser_parse_rc(&tk, out);
	case PARSER_DTH:
		return parser_parse_dth(&tk, out);
	case PARSER_BAL:
	case PARSER_LAST:
		return parser_extra(&tk, parser_take_pin(&tk, 1, out), 1, 2, out);
	case PARSER_ST:
		return parser_parse_st(&tk, out);
	case PARSER_CMP:
		return parser_parse_cmp(&tk, out);
	case PARSER_PIN:
		return parser_parse_pin(&tk, out);
	case PARSER_HELP:
		parser_take_pin(&tk, 1, out);
		return PARSER_OK;
	case PARSER_REG:
		return parser_parse_reg(&tk, out);
	case PARSER_TOPUP:
		return parser_parse_topup(&tk, out);
	case PARSER_BLOCK:
	case PARSER_UNBLOCK:
		return parser_parse_block(&tk, out);
	case PARSER_NONE:
		break;
	}
	return parser_fail(out, PARSER_ERR_UNKNOWN, NULL);
}
