/* ctl/operator.c: operators (SPEC section 4): list, add, set, disable, enable. Amounts
 * enter in rupees and are stored in paise; denominations as the comma list of paise
 * engine_amount_ok reads; a subscriber pattern must compile with PCRE2 before it is
 * stored, so the engine never meets a broken one. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

#define CTL_ALIAS_MAX 16

static const char *const ctl_services[] = {
	"MOBILE", "DTH", "POSTPAID", "ELECTRICITY", "GIFTCARD", "FASTAG", NULL,
};

/* Codes and aliases: 2 to 15 letters or digits, stored upper case. 0 or -1. */
static int
ctl_operator_name(const char *text, char out[16])
{
	size_t n = strlen(text);

	if (n < 2 || n > 15)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)text[i]))
			return -1;
		out[i] = (char)toupper((unsigned char)text[i]);
	}
	out[n] = '\0';
	return 0;
}

/* Rupee list "10,20.5" -> paise list "1000,2050", each within [min, max]; "" stays "". */
static int
ctl_operator_denominations(struct ctl *c, const char *text, int64_t min, int64_t max,
    char *out, size_t cap)
{
	char list[512], *save = NULL, *tok, buf[MONEY_BUFSZ], buf2[MONEY_BUFSZ];

	out[0] = '\0';
	if (strlen(text) >= sizeof list)
		return ctl_error(c, "denominations: list too long");
	strlcpy_safe(list, text, sizeof list);
	for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		int64_t v;
		if (money_parse(tok, &v) != MONEY_OK || v <= 0)
			return ctl_error(c, "invalid denomination '%s' (rupees like 199 or 199.50, comma-separated)",
			    tok);
		if (v < min || v > max)
			return ctl_error(c, "denomination %s is outside the operator's range %s to %s", tok,
			    money_format(min, buf), money_format(max, buf2));
		size_t n = strlen(out);
		if (snprintf(out + n, cap - n, "%s%lld", n ? "," : "", (long long)v) >= (int)(cap - n))
			return ctl_error(c, "denominations: at most %zu bytes stored", cap - 1);
	}
	return 0;
}

/* The pattern must compile as the engine compiles it; "" means none. */
static int
ctl_operator_pattern(struct ctl *c, const char *text, char *out, size_t cap)
{
	int err;
	PCRE2_SIZE off;
	pcre2_code *re;
	PCRE2_UCHAR msg[120];

	if (strlen(text) >= cap)
		return ctl_error(c, "pattern too long (at most %zu bytes)", cap - 1);
	if (text[0] != '\0') {
		if ((re = pcre2_compile((PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL)) == NULL) {
			pcre2_get_error_message(err, msg, sizeof msg);
			return ctl_error(c, "invalid pattern '%s' at offset %zu: %s", text, (size_t)off,
			    (const char *)msg);
		}
		pcre2_code_free(re);
	}
	strlcpy_safe(out, text, cap);
	return 0;
}

/* Paise list -> rupee list for people ("10.00,20.50"). */
static const char *
ctl_operator_rupees(const char *paise, char *out, size_t cap)
{
	char list[sizeof ((struct db_operator *)0)->denominations], *save = NULL, *tok, buf[MONEY_BUFSZ];

	out[0] = '\0';
	strlcpy_safe(list, paise, sizeof list);
	for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		size_t n = strlen(out);
		snprintf(out + n, cap - n, "%s%s", n ? "," : "", money_format(strtoll(tok, NULL, 10), buf));
	}
	return out;
}

/* The audit text of an operator's settings. */
static void
ctl_operator_text(const struct db_operator *op, char *buf, size_t cap)
{
	char min[MONEY_BUFSZ], max[MONEY_BUFSZ];

	snprintf(buf, cap, "service=%s min=%s max=%s denominations=%s pattern=%s enabled=%d",
	    op->service, money_format(op->min_amount, min), money_format(op->max_amount, max),
	    op->denominations, op->subscriber_pattern, op->enabled);
}

struct ctl_operator_listing {
	struct ctl_json json;
	int as_json;
};

/* One row of operator list. */
static void
ctl_operator_list_cb(void *arg, const struct db_operator *op, const char *aliases)
{
	struct ctl_operator_listing *l = arg;
	char min[MONEY_BUFSZ], max[MONEY_BUFSZ], den[1024];

	if (l->as_json) {
		struct ctl_json *j = &l->json;
		char list[sizeof op->denominations], *save = NULL, *tok;
		ctl_json_open(j, NULL, '{');
		ctl_json_str(j, "code", op->code);
		ctl_json_str(j, "service", op->service);
		ctl_json_money(j, "min", op->min_amount);
		ctl_json_money(j, "max", op->max_amount);
		ctl_json_open(j, "denominations", '[');
		strlcpy_safe(list, op->denominations, sizeof list);
		for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
			ctl_json_money(j, NULL, strtoll(tok, NULL, 10));
		ctl_json_close(j, ']');
		if (op->subscriber_pattern[0])
			ctl_json_str(j, "pattern", op->subscriber_pattern);
		else
			ctl_json_null(j, "pattern");
		ctl_json_bool(j, "enabled", op->enabled);
		ctl_json_open(j, "aliases", '[');
		strlcpy_safe(list, aliases, sizeof list);
		for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
			ctl_json_str(j, NULL, tok);
		ctl_json_close(j, ']');
		ctl_json_close(j, '}');
		return;
	}
	printf("%-12s %-11s %10s %10s %-8s %-20s %-24s %s\n", op->code, op->service,
	    money_format(op->min_amount, min), money_format(op->max_amount, max),
	    op->enabled ? "enabled" : "disabled",
	    op->denominations[0] ? ctl_operator_rupees(op->denominations, den, sizeof den) : "-",
	    op->subscriber_pattern[0] ? op->subscriber_pattern : "-", aliases[0] ? aliases : "-");
}

/* Every operator, mobile first, with its limits and aliases. */
enum ctl_retval
ctl_operator_list(struct ctl *c, int argc, char **argv)
{
	struct ctl_operator_listing l = { .as_json = 0 };
	struct ctl_opt opts[] = { { "--json", NULL, &l.as_json }, { NULL, NULL, NULL } };
	int rc;

	if ((rc = ctl_args(c, argc, argv, opts, NULL, 0, 0)) != 0)
		return rc;
	if (l.as_json) {
		ctl_json_begin(&l.json, stdout);
		ctl_json_open(&l.json, NULL, '[');
	} else {
		printf("%-12s %-11s %10s %10s %-8s %-20s %-24s %s\n", "CODE", "SERVICE", "MIN", "MAX",
		    "STATUS", "DENOMINATIONS", "PATTERN", "ALIASES");
	}
	if (db_operator_each(c->db, ctl_operator_list_cb, &l) != 0)
		return ctl_db_error(c);
	if (l.as_json) {
		ctl_json_close(&l.json, ']');
		ctl_json_end(&l.json);
	}
	return CTL_OK;
}

struct ctl_operator_change {
	struct db_operator op;         /* add: the new one; set: as it is afterwards */
	struct db_operator before;     /* set, disable, enable */
	char aliases[CTL_ALIAS_MAX][16];
	int naliases;
	/* set: what to change (NULL: keep) */
	const char *code_text, *denominations, *pattern;
	int64_t min, max;              /* 0: keep */
	int enabled;                   /* disable/enable: the new value */
};

/* The operator row, its aliases and the audit row. */
static int
ctl_operator_add_tx(struct ctl *c, void *arg)
{
	struct ctl_operator_change *x = arg;
	char after[512];

	switch (db_operator_add(c->db, &x->op)) {
	case 0:
		return ctl_error(c, "operator %s already exists (as a code or an alias)", x->op.code);
	case -1:
		return -1;
	}
	for (int i = 0; i < x->naliases; i++)
		switch (db_operator_alias_add(c->db, x->aliases[i], x->op.code)) {
		case 0:
			return ctl_error(c, "alias %s is already taken", x->aliases[i]);
		case -1:
			return -1;
		}
	ctl_operator_text(&x->op, after, sizeof after);
	return db_audit_add(c->db, c->actor, "operator.add", x->op.code, "", after);
}

/* Takes every --alias (repeatable) out of argv; rest gets the other arguments. */
static int
ctl_operator_alias_args(struct ctl *c, int argc, char **argv, char **rest, int *nrest,
    struct ctl_operator_change *x)
{
	static const char opt[] = "--alias";
	int options_done = 0;

	*nrest = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *value;
		if (strcmp(a, "--") == 0)
			options_done = 1;
		if (options_done || strncmp(a, opt, sizeof opt - 1) != 0 ||
		    (a[sizeof opt - 1] != '\0' && a[sizeof opt - 1] != '=')) {
			rest[(*nrest)++] = argv[i];
			continue;
		}
		if (a[sizeof opt - 1] == '=')
			value = a + sizeof opt;
		else if (i + 1 < argc)
			value = argv[++i];
		else
			return ctl_usage(c, "option '%s' needs a value", opt);
		if (x->naliases == CTL_ALIAS_MAX)
			return ctl_error(c, "too many aliases (at most %d)", CTL_ALIAS_MAX);
		if (ctl_operator_name(value, x->aliases[x->naliases]) != 0)
			return ctl_error(c, "invalid alias '%s': 2 to 15 letters or digits", value);
		for (int k = 0; k < x->naliases; k++)
			if (strcmp(x->aliases[k], x->aliases[x->naliases]) == 0)
				return ctl_error(c, "alias %s given twice", value);
		x->naliases++;
	}
	return 0;
}

/* A new operator is usable at once (route it, or it goes to the default provider). */
enum ctl_retval
ctl_operator_add(struct ctl *c, int argc, char **argv)
{
	const char *service = NULL, *min = NULL, *max = NULL, *den = NULL, *pattern = NULL;
	struct ctl_opt opts[] = {
		{ "--service", &service, NULL }, { "--min", &min, NULL }, { "--max", &max, NULL },
		{ "--denominations", &den, NULL }, { "--pattern", &pattern, NULL }, { NULL, NULL, NULL },
	};
	struct ctl_operator_change *x;
	char **rest, *pos[1], buf[MONEY_BUFSZ], buf2[MONEY_BUFSZ];
	int nrest, rc, i;

	x = xcalloc(1, sizeof *x);
	rest = xcalloc((size_t)argc + 1, sizeof *rest);
	if ((rc = ctl_operator_alias_args(c, argc, argv, rest, &nrest, x)) != 0 ||
	    (rc = ctl_args(c, nrest, rest, opts, pos, 1, 1)) != 0)
		goto out;
	rc = CTL_USAGE;
	if (service == NULL || min == NULL || max == NULL) {
		ctl_usage(c, "--service, --min and --max are required");
		goto out;
	}
	rc = CTL_ERROR;
	if (ctl_operator_name(pos[0], x->op.code) != 0) {
		ctl_error(c, "invalid operator code '%s': 2 to 15 letters or digits", pos[0]);
		goto out;
	}
	for (i = 0; ctl_services[i] != NULL; i++)
		if (strcasecmp(service, ctl_services[i]) == 0)
			break;
	if (ctl_services[i] == NULL) {
		ctl_error(c, "unknown service '%s' (MOBILE, DTH, POSTPAID, ELECTRICITY, GIFTCARD or FASTAG)",
		    service);
		goto out;
	}
	strlcpy_safe(x->op.service, ctl_services[i], sizeof x->op.service);
	if (ctl_parse_amount(c, min, &x->op.min_amount) != 0 || ctl_parse_amount(c, max, &x->op.max_amount) != 0)
		goto out;
	if (x->op.min_amount > x->op.max_amount) {
		ctl_error(c, "--min %s is above --max %s", money_format(x->op.min_amount, buf),
		    money_format(x->op.max_amount, buf2));
		goto out;
	}
	if ((den != NULL && ctl_operator_denominations(c, den, x->op.min_amount, x->op.max_amount,
	    x->op.denominations, sizeof x->op.denominations) != 0) ||
	    (pattern != NULL && ctl_operator_pattern(c, pattern, x->op.subscriber_pattern,
	    sizeof x->op.subscriber_pattern) != 0))
		goto out;
	x->op.enabled = 1;
	if ((rc = ctl_tx(c, ctl_operator_add_tx, x)) != CTL_OK)
		goto out;
	printf("operator %s added: %s, %s to %s", x->op.code, x->op.service,
	    money_format(x->op.min_amount, buf), money_format(x->op.max_amount, buf2));
	for (i = 0; i < x->naliases; i++)
		printf("%s%s", i == 0 ? ", aliases " : ",", x->aliases[i]);
	putchar('\n');
out:
	free(rest);
	free(x);
	return rc;
}

/* Reads the operator, applies the changes, checks the result, writes it and the audit. */
static int
ctl_operator_set_tx(struct ctl *c, void *arg)
{
	struct ctl_operator_change *x = arg;
	char before[512], after[512], buf[MONEY_BUFSZ], buf2[MONEY_BUFSZ];

	switch (db_operator_find(c->db, x->code_text, &x->before)) {
	case 0:
		return ctl_error(c, "operator %s not found", x->code_text);
	case -1:
		return -1;
	}
	x->op = x->before;
	if (x->min > 0)
		x->op.min_amount = x->min;
	if (x->max > 0)
		x->op.max_amount = x->max;
	if (x->pattern != NULL)
		strlcpy_safe(x->op.subscriber_pattern, x->pattern, sizeof x->op.subscriber_pattern);
	if (x->denominations == NULL && x->op.denominations[0] != '\0' &&
	    (x->min > 0 || x->max > 0)) {
		/* kept denominations must still fit the new range */
		char rupees[1024];
		x->denominations = ctl_operator_rupees(x->before.denominations, rupees, sizeof rupees);
		int rc = ctl_operator_denominations(c, rupees, x->op.min_amount, x->op.max_amount,
		    x->op.denominations, sizeof x->op.denominations);
		x->denominations = NULL;
		if (rc != 0)
			return rc;
	} else if (x->denominations != NULL && ctl_operator_denominations(c, x->denominations,
	    x->op.min_amount, x->op.max_amount, x->op.denominations, sizeof x->op.denominations) != 0)
		return CTL_ERROR;
	if (x->op.min_amount > x->op.max_amount)
		return ctl_error(c, "min %s would be above max %s", money_format(x->op.min_amount, buf),
		    money_format(x->op.max_amount, buf2));
	switch (db_operator_update(c->db, &x->op)) {
	case 0:
		return ctl_error(c, "operator %s not found", x->code_text);
	case -1:
		return -1;
	}
	ctl_operator_text(&x->before, before, sizeof before);
	ctl_operator_text(&x->op, after, sizeof after);
	return db_audit_add(c->db, c->actor, x->enabled < 0 ? "operator.set" :
	    x->enabled ? "operator.enable" : "operator.disable", x->op.code, before, after);
}

/* Changes limits, denominations or the pattern; the next recharge uses them. */
enum ctl_retval
ctl_operator_set(struct ctl *c, int argc, char **argv)
{
	const char *min = NULL, *max = NULL, *den = NULL, *pattern = NULL;
	struct ctl_opt opts[] = {
		{ "--min", &min, NULL }, { "--max", &max, NULL }, { "--denominations", &den, NULL },
		{ "--pattern", &pattern, NULL }, { NULL, NULL, NULL },
	};
	struct ctl_operator_change x;
	char *pos[1], pat[sizeof x.op.subscriber_pattern], buf[MONEY_BUFSZ], buf2[MONEY_BUFSZ],
	    den_text[1024];
	int rc;

	if ((rc = ctl_args(c, argc, argv, opts, pos, 1, 1)) != 0)
		return rc;
	if (min == NULL && max == NULL && den == NULL && pattern == NULL)
		return ctl_usage(c, "nothing to set (--min, --max, --denominations or --pattern)");
	memset(&x, 0, sizeof x);
	x.code_text = pos[0];
	x.enabled = -1;
	x.denominations = den;
	if ((min != NULL && ctl_parse_amount(c, min, &x.min) != 0) ||
	    (max != NULL && ctl_parse_amount(c, max, &x.max) != 0) ||
	    (pattern != NULL && ctl_operator_pattern(c, pattern, pat, sizeof pat) != 0))
		return CTL_ERROR;
	x.pattern = pattern != NULL ? pat : NULL;
	if ((rc = ctl_tx(c, ctl_operator_set_tx, &x)) != CTL_OK)
		return rc;
	printf("operator %s: %s to %s, denominations %s, pattern %s\n", x.op.code,
	    money_format(x.op.min_amount, buf), money_format(x.op.max_amount, buf2),
	    x.op.denominations[0] ? ctl_operator_rupees(x.op.denominations, den_text, sizeof den_text) : "any",
	    x.op.subscriber_pattern[0] ? x.op.subscriber_pattern : "none");
	return CTL_OK;
}

/* disable and enable: the flag alone changes. */
static int
ctl_operator_enabled_tx(struct ctl *c, void *arg)
{
	struct ctl_operator_change *x = arg;
	char before[512], after[512];

	switch (db_operator_find(c->db, x->code_text, &x->before)) {
	case 0:
		return ctl_error(c, "operator %s not found", x->code_text);
	case -1:
		return -1;
	}
	x->op = x->before;
	x->op.enabled = x->enabled;
	if (db_operator_update(c->db, &x->op) < 0)
		return -1;
	ctl_operator_text(&x->before, before, sizeof before);
	ctl_operator_text(&x->op, after, sizeof after);
	return db_audit_add(c->db, c->actor, x->enabled ? "operator.enable" : "operator.disable",
	    x->op.code, before, after);
}

static enum ctl_retval
ctl_operator_enabled(struct ctl *c, int argc, char **argv, int enabled)
{
	struct ctl_operator_change x;
	char *pos[1];
	int rc;

	if ((rc = ctl_args(c, argc, argv, NULL, pos, 1, 1)) != 0)
		return rc;
	memset(&x, 0, sizeof x);
	x.code_text = pos[0];
	x.enabled = enabled;
	if ((rc = ctl_tx(c, ctl_operator_enabled_tx, &x)) != CTL_OK)
		return rc;
	printf("operator %s %s%s\n", x.op.code, enabled ? "enabled" : "disabled",
	    x.before.enabled == enabled ? " (it already was)" : "");
	return CTL_OK;
}

/* Recharges for a disabled operator are refused (1002) until it is enabled again. */
enum ctl_retval
ctl_operator_disable(struct ctl *c, int argc, char **argv)
{
	return ctl_operator_enabled(c, argc, argv, 0);
}

enum ctl_retval
ctl_operator_enable(struct ctl *c, int argc, char **argv)
{
	return ctl_operator_enabled(c, argc, argv, 1);
}
