/* ctl/retailer_edit.c: changes to an existing retailer (disable, enable, plan, PIN,
 * daily limit, bank details) and admin removal. Each reads the row, changes it and
 * writes the audit row with before and after in one transaction; PINs appear in the
 * audit only as "set", never as a hash. */
#include <ctype.h>
#include <string.h>

#include "ctl/ctl.h"

enum ctl_retailer_field { CTL_SET_DISABLED, CTL_SET_PLAN, CTL_SET_PIN, CTL_SET_LIMIT, CTL_SET_BANK };

struct ctl_retailer_edit {
	enum ctl_retailer_field field;
	char msisdn[MSISDN_BUFSZ];
	int disabled;                  /* CTL_SET_DISABLED */
	char plan[16];                 /* CTL_SET_PLAN, lowercase */
	char hash[PIN_HASH_BUFSZ];     /* CTL_SET_PIN */
	int64_t limit;                 /* CTL_SET_LIMIT, paise, 0: none */
	char account[40], ifsc[16];    /* CTL_SET_BANK */
	struct db_retailer r;          /* as it was before */
};

/* "disabled=1", "plan=gold", "daily_limit=500.00": one field as the audit shows it. */
static void
ctl_retailer_field_text(const struct ctl_retailer_edit *e, const struct db_retailer *r, int after,
    char *buf, size_t cap)
{
	char m[MONEY_BUFSZ];

	switch (e->field) {
	case CTL_SET_DISABLED:
		snprintf(buf, cap, "disabled=%d", after ? e->disabled : r->disabled);
		break;
	case CTL_SET_PLAN:
		snprintf(buf, cap, "plan=%s", after ? e->plan : r->plan);
		break;
	case CTL_SET_PIN:
		if (after)
			snprintf(buf, cap, "pin=set pin_failures=0");
		else
			snprintf(buf, cap, "pin=%s pin_failures=%d", r->pin_hash[0] ? "yes" : "no",
			    r->pin_failures);
		break;
	case CTL_SET_LIMIT: {
		int64_t v = after ? e->limit : r->daily_limit;
		snprintf(buf, cap, "daily_limit=%s", v > 0 ? money_format(v, m) : "none");
		break;
	}
	case CTL_SET_BANK:
		snprintf(buf, cap, "account=%s ifsc=%s", after ? e->account : r->bank_account,
		    after ? e->ifsc : r->bank_ifsc);
		break;
	}
}

static const char *const ctl_retailer_actions[] = {
	[CTL_SET_DISABLED] = "retailer.disable",
	[CTL_SET_PLAN] = "retailer.set-plan",
	[CTL_SET_PIN] = "retailer.set-pin",
	[CTL_SET_LIMIT] = "retailer.set-limit",
	[CTL_SET_BANK] = "retailer.set-bank",
};

/* The change and its audit row together. */
static int
ctl_retailer_edit_tx(struct ctl *c, void *arg)
{
	struct ctl_retailer_edit *e = arg;
	char before[160], after[160];
	const char *action = ctl_retailer_actions[e->field];
	int rc = -1;

	switch (db_retailer_find(c->db, e->msisdn, &e->r)) {
	case 0:
		return ctl_error(c, "retailer %s not found", e->msisdn);
	case -1:
		return -1;
	}
	switch (e->field) {
	case CTL_SET_DISABLED:
		rc = db_retailer_set_flag(c->db, e->r.id, "disabled", e->disabled);
		if (!e->disabled)
			action = "retailer.enable";
		break;
	case CTL_SET_PLAN:
		rc = db_retailer_set_plan(c->db, e->r.id, e->plan);
		break;
	case CTL_SET_PIN:
		rc = db_retailer_set_pin(c->db, e->r.id, e->hash);
		break;
	case CTL_SET_LIMIT:
		rc = db_retailer_set_limit(c->db, e->r.id, e->limit);
		break;
	case CTL_SET_BANK:
		rc = db_retailer_set_bank(c->db, e->r.id, e->account, e->ifsc);
		break;
	}
	if (rc != 0)
		return -1;
	ctl_retailer_field_text(e, &e->r, 0, before, sizeof before);
	ctl_retailer_field_text(e, &e->r, 1, after, sizeof after);
	return db_audit_add(c->db, c->actor, action, e->msisdn, before, after);
}

/* Parses MSISDN (the one positional) and runs the edit. */
static enum ctl_retval
ctl_retailer_edit_run(struct ctl *c, struct ctl_retailer_edit *e, const char *msisdn)
{
	if (ctl_parse_msisdn(c, msisdn, e->msisdn) != 0)
		return CTL_ERROR;
	return ctl_tx(c, ctl_retailer_edit_tx, e);
}

/* disable and enable: one handler, the flag from the command's name. */
static enum ctl_retval
ctl_retailer_disabled(struct ctl *c, int argc, char **argv, int disabled)
{
	struct ctl_retailer_edit e = { .field = CTL_SET_DISABLED, .disabled = disabled };
	char *pos[1];
	int rc;

	if ((rc = ctl_args(c, argc, argv, NULL, pos, 1, 1)) != 0)
		return rc;
	if ((rc = ctl_retailer_edit_run(c, &e, pos[0])) != CTL_OK)
		return rc;
	printf("retailer %s %s%s\n", e.msisdn, disabled ? "disabled" : "enabled",
	    e.r.disabled == disabled ? (disabled ? " (it was disabled)" : " (it was not disabled)") : "");
	return CTL_OK;
}

/* A disabled retailer's requests are refused; the wallet stays as it is. */
enum ctl_retval
ctl_retailer_disable(struct ctl *c, int argc, char **argv)
{
	return ctl_retailer_disabled(c, argc, argv, 1);
}

enum ctl_retval
ctl_retailer_enable(struct ctl *c, int argc, char **argv)
{
	return ctl_retailer_disabled(c, argc, argv, 0);
}

/* A plan decides the services a retailer may sell and the commission rates. */
enum ctl_retval
ctl_retailer_set_plan(struct ctl *c, int argc, char **argv)
{
	struct ctl_retailer_edit e = { .field = CTL_SET_PLAN };
	char *pos[2];
	int rc;

	if ((rc = ctl_args(c, argc, argv, NULL, pos, 2, 2)) != 0)
		return rc;
	if (strlen(pos[1]) >= sizeof e.plan)
		return ctl_error(c, "unknown plan '%s'", pos[1]);
	for (size_t i = 0; pos[1][i] != '\0'; i++)
		e.plan[i] = (char)tolower((unsigned char)pos[1][i]);
	switch (db_plan_exists(c->db, e.plan)) {
	case 0:
		return ctl_error(c, "unknown plan '%s'", pos[1]);
	case -1:
		return ctl_db_error(c);
	}
	if ((rc = ctl_retailer_edit_run(c, &e, pos[0])) != CTL_OK)
		return rc;
	printf("retailer %s: plan %s (was %s)\n", e.msisdn, e.plan, e.r.plan);
	return CTL_OK;
}

/* A new PIN also forgets earlier wrong attempts; a lockout stays until unlock. */
enum ctl_retval
ctl_retailer_set_pin(struct ctl *c, int argc, char **argv)
{
	struct ctl_retailer_edit e = { .field = CTL_SET_PIN };
	char *pos[2];
	int rc;

	if ((rc = ctl_args(c, argc, argv, NULL, pos, 2, 2)) != 0)
		return rc;
	if (ctl_parse_msisdn(c, pos[0], e.msisdn) != 0 || ctl_parse_pin(c, pos[1]) != 0 ||
	    ctl_load_pepper(c) != 0)
		return CTL_ERROR;
	pin_hash(c->pepper, e.msisdn, pos[1], e.hash);
	rc = ctl_tx(c, ctl_retailer_edit_tx, &e);
	explicit_bzero(e.hash, sizeof e.hash);
	if (rc != CTL_OK)
		return rc;
	printf("retailer %s: PIN set\n", e.msisdn);
	return CTL_OK;
}

/* Rupees like every amount; "0" removes the limit. */
enum ctl_retval
ctl_retailer_set_limit(struct ctl *c, int argc, char **argv)
{
	struct ctl_retailer_edit e = { .field = CTL_SET_LIMIT };
	char *pos[2], buf[MONEY_BUFSZ];
	int rc;

	if ((rc = ctl_args(c, argc, argv, NULL, pos, 2, 2)) != 0)
		return rc;
	if (money_parse(pos[1], &e.limit) != MONEY_OK || e.limit != 0) {
		if (ctl_parse_amount(c, pos[1], &e.limit) != 0)
			return CTL_ERROR;
	}
	if ((rc = ctl_retailer_edit_run(c, &e, pos[0])) != CTL_OK)
		return rc;
	if (e.limit > 0)
		printf("retailer %s: daily limit %s\n", e.msisdn, money_format(e.limit, buf));
	else
		printf("retailer %s: no daily limit\n", e.msisdn);
	return CTL_OK;
}

/* IFSC: four letters, a zero, six letters or digits (RBI format). */
static int
ctl_ifsc_parse(const char *text, char out[16])
{
	size_t n = strlen(text);

	if (n != 11)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)text[i];
		if ((i < 4 && !isalpha(ch)) || (i == 4 && ch != '0') || (i > 4 && !isalnum(ch)))
			return -1;
		out[i] = (char)toupper(ch);
	}
	out[n] = '\0';
	return 0;
}

/* Settlement pays commission into this account. */
enum ctl_retval
ctl_retailer_set_bank(struct ctl *c, int argc, char **argv)
{
	const char *account = NULL, *ifsc = NULL;
	struct ctl_opt opts[] = {
		{ "--account", &account, NULL }, { "--ifsc", &ifsc, NULL }, { NULL, NULL, NULL },
	};
	struct ctl_retailer_edit e = { .field = CTL_SET_BANK };
	char *pos[1];
	size_t n;
	int rc;

	if ((rc = ctl_args(c, argc, argv, opts, pos, 1, 1)) != 0)
		return rc;
	if (account == NULL || ifsc == NULL)
		return ctl_usage(c, "--account and --ifsc are required");
	n = strlen(account);
	if (n < 6 || n > 18 || strspn(account, "0123456789") != n)
		return ctl_error(c, "invalid bank account '%s': 6 to 18 digits", account);
	strlcpy_safe(e.account, account, sizeof e.account);
	if (ctl_ifsc_parse(ifsc, e.ifsc) != 0)
		return ctl_error(c, "invalid IFSC '%s': 4 letters, 0, then 6 letters or digits"
		    " (like SBIN0001234)", ifsc);
	if ((rc = ctl_retailer_edit_run(c, &e, pos[0])) != CTL_OK)
		return rc;
	printf("retailer %s: bank account %s, IFSC %s\n", e.msisdn, e.account, e.ifsc);
	return CTL_OK;
}

struct ctl_admin_removal {
	char msisdn[MSISDN_BUFSZ];
};

/* The row and its audit row. */
static int
ctl_admin_remove_tx(struct ctl *c, void *arg)
{
	struct ctl_admin_removal *a = arg;

	switch (db_admin_remove(c->db, a->msisdn)) {
	case 0:
		return ctl_error(c, "admin %s not found", a->msisdn);
	case -1:
		return -1;
	}
	return db_audit_add(c->db, c->actor, "admin.remove", a->msisdn, "admin=yes", "admin=no");
}

/* The phone can no longer command by SMS from the next message on. */
enum ctl_retval
ctl_admin_remove(struct ctl *c, int argc, char **argv)
{
	struct ctl_admin_removal a;
	char *pos[1];
	int rc;

	if ((rc = ctl_args(c, argc, argv, NULL, pos, 1, 1)) != 0)
		return rc;
	memset(&a, 0, sizeof a);
	if (ctl_parse_msisdn(c, pos[0], a.msisdn) != 0)
		return CTL_ERROR;
	if ((rc = ctl_tx(c, ctl_admin_remove_tx, &a)) != CTL_OK)
		return rc;
	printf("admin %s removed\n", a.msisdn);
	return CTL_OK;
}
