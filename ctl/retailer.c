/* ctl/retailer.c: retailer and admin commands. PINs are stored only as
 * pin_hash(pepper, msisdn, pin); no command ever prints a hash. */
#include <ctype.h>
#include <string.h>

#include "ctl/ctl.h"

/* A shop name: 1 to 80 bytes of UTF-8 without control characters (it is shown in
 * SMS replies, settlement files and JSON). */
static int
ctl_name_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	if (n == 0 || n > 80 || isspace(p[0]) || isspace(p[n - 1]))
		return 0;
	while (*p != '\0') {
		int extra;
		if (*p < 0x20 || *p == 0x7f)
			return 0;
		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			extra = 1;
		else if (*p >= 0xe0 && *p <= 0xef)
			extra = 2;
		else if (*p >= 0xf0 && *p <= 0xf4)
			extra = 3;
		else
			return 0;
		for (int k = 1; k <= extra; k++)
			if ((p[k] & 0xc0) != 0x80)
				return 0;
		/* overlong three-byte forms and UTF-16 surrogates */
		if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
		    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
			return 0;
		p += extra + 1;
	}
	return 1;
}

/* "active" or the flags that stop the retailer, comma-separated. */
static const char *
ctl_retailer_status(const struct db_retailer *r, char *buf, size_t cap)
{
	buf[0] = '\0';
	if (r->disabled)
		strlcpy_safe(buf, "disabled", cap);
	if (r->blocked)
		snprintf(buf + strlen(buf), cap - strlen(buf), "%sblocked", buf[0] ? "," : "");
	if (r->locked)
		snprintf(buf + strlen(buf), cap - strlen(buf), "%slocked", buf[0] ? "," : "");
	if (buf[0] == '\0')
		strlcpy_safe(buf, "active", cap);
	return buf;
}

/* One retailer as a JSON object, the same in list and show. */
static void
ctl_retailer_json(struct ctl_json *j, const struct db_retailer *r)
{
	char when[32];

	ctl_json_open(j, NULL, '{');
	ctl_json_str(j, "msisdn", r->msisdn);
	ctl_json_str(j, "name", r->name);
	ctl_json_str(j, "plan", r->plan);
	ctl_json_money(j, "balance", r->balance);
	ctl_json_money(j, "commission", r->commission);
	ctl_json_bool(j, "locked", r->locked);
	ctl_json_bool(j, "blocked", r->blocked);
	ctl_json_bool(j, "disabled", r->disabled);
	ctl_json_bool(j, "has_pin", r->pin_hash[0] != '\0');
	ctl_json_int(j, "pin_failures", r->pin_failures);
	if (r->daily_limit > 0)
		ctl_json_money(j, "daily_limit", r->daily_limit);
	else
		ctl_json_null(j, "daily_limit");
	ctl_json_str(j, "bank_account", r->bank_account);
	ctl_json_str(j, "bank_ifsc", r->bank_ifsc);
	ctl_json_str(j, "created_at", ctl_time(r->created_at, when));
	ctl_json_close(j, '}');
}

struct ctl_retailer_new {
	struct db_retailer r;
};

/* The insert and its audit row, as one transaction. */
static int
ctl_retailer_add_tx(struct ctl *c, void *arg)
{
	struct db_retailer *r = &((struct ctl_retailer_new *)arg)->r;
	char after[160];

	switch (db_retailer_add(c->db, r)) {
	case 0:
		return ctl_error(c, "retailer %s already exists", r->msisdn);
	case -1:
		return -1;
	}
	snprintf(after, sizeof after, "name=%s plan=%s pin=%s", r->name, r->plan,
	    r->pin_hash[0] ? "yes" : "no");
	return db_audit_add(c->db, c->actor, "retailer.add", r->msisdn, "", after);
}

/* Validates everything before the transaction, so a refusal writes nothing. */
enum ctl_retval
ctl_retailer_add(struct ctl *c, int argc, char **argv)
{
	const char *name = NULL, *plan = NULL, *pin = NULL;
	struct ctl_opt opts[] = {
		{ "--name", &name, NULL }, { "--plan", &plan, NULL }, { "--pin", &pin, NULL }, { NULL, NULL, NULL },
	};
	struct ctl_retailer_new add;
	struct db_retailer *r = &add.r;
	char *pos[1];
	int rc;

	if ((rc = ctl_args(c, argc, argv, opts, pos, 1, 1)) != 0)
		return rc;
	if (name == NULL)
		return ctl_usage(c, "--name is required");
	memset(&add, 0, sizeof add);
	if (ctl_parse_msisdn(c, pos[0], r->msisdn) != 0)
		return CTL_ERROR;
	if (!ctl_name_valid(name))
		return ctl_error(c, "invalid name: 1 to 80 bytes of UTF-8, no control characters,"
		    " no leading or trailing space");
	strlcpy_safe(r->name, name, sizeof r->name);
	if (plan == NULL)
		plan = "starter";
	if (strlen(plan) >= sizeof r->plan)
		return ctl_error(c, "unknown plan '%s'", plan);
	for (size_t i = 0; plan[i] != '\0'; i++)
		r->plan[i] = (char)tolower((unsigned char)plan[i]);
	switch (db_plan_exists(c->db, r->plan)) {
	case 0:
		return ctl_error(c, "unknown plan '%s'", plan);
	case -1:
		return ctl_db_error(c);
	}
	if (pin != NULL) {
		if (ctl_parse_pin(c, pin) != 0 || ctl_load_pepper(c) != 0)
			return CTL_ERROR;
		pin_hash(c->pepper, r->msisdn, pin, r->pin_hash);
	}
	if ((rc = ctl_tx(c, ctl_retailer_add_tx, &add)) != CTL_OK)
		return rc;
	printf("retailer %s added: %s, plan %s, PIN %s\n", r->msisdn, r->name, r->plan,
	    r->pin_hash[0] ? "set" : "not set");
	return CTL_OK;
}

struct ctl_retailer_listing {
	struct ctl_json json;
	int as_json;
	int n;
};

/* One row of retailer list. */
static void
ctl_retailer_list_cb(void *arg, const struct db_retailer *r)
{
	struct ctl_retailer_listing *l = arg;
	char bal[MONEY_BUFSZ], com[MONEY_BUFSZ], status[32];

	l->n++;
	if (l->as_json) {
		ctl_retailer_json(&l->json, r);
		return;
	}
	printf("%-13s %-9s %13s %11s %-16s %s\n", r->msisdn, r->plan, money_format(r->balance, bal),
	    money_format(r->commission, com), ctl_retailer_status(r, status, sizeof status), r->name);
}

/* All retailers in msisdn order, with balances for a quick reconciliation. */
enum ctl_retval
ctl_retailer_list(struct ctl *c, int argc, char **argv)
{
	struct ctl_retailer_listing l = { .n = 0 };
	struct ctl_opt opts[] = { { "--json", NULL, &l.as_json }, { NULL, NULL, NULL } };
	int rc;

	if ((rc = ctl_args(c, argc, argv, opts, NULL, 0, 0)) != 0)
		return rc;
	if (l.as_json) {
		ctl_json_begin(&l.json, stdout);
		ctl_json_open(&l.json, NULL, '[');
	} else {
		printf("%-13s %-9s %13s %11s %-16s %s\n", "MSISDN", "PLAN", "BALANCE", "COMMISSION",
		    "STATUS", "NAME");
	}
	if (db_retailer_each(c->db, ctl_retailer_list_cb, &l) != 0)
		return ctl_db_error(c);
	if (l.as_json) {
		ctl_json_close(&l.json, ']');
		ctl_json_end(&l.json);
	}
	return CTL_OK;
}

/* One retailer as support needs it; the PIN only as yes/no. */
enum ctl_retval
ctl_retailer_show(struct ctl *c, int argc, char **argv)
{
	int as_json = 0, rc;
	struct ctl_opt opts[] = { { "--json", NULL, &as_json }, { NULL, NULL, NULL } };
	struct db_retailer r;
	char *pos[1], buf[MONEY_BUFSZ], status[32], when[32];

	if ((rc = ctl_args(c, argc, argv, opts, pos, 1, 1)) != 0)
		return rc;
	if (ctl_find_retailer(c, pos[0], &r) != 0)
		return CTL_ERROR;
	if (as_json) {
		struct ctl_json j;
		ctl_json_begin(&j, stdout);
		ctl_retailer_json(&j, &r);
		ctl_json_end(&j);
		return CTL_OK;
	}
	printf("msisdn:       %s\n", r.msisdn);
	printf("name:         %s\n", r.name);
	printf("plan:         %s\n", r.plan);
	printf("balance:      %s\n", money_format(r.balance, buf));
	printf("commission:   %s (unsettled)\n", money_format(r.commission, buf));
	printf("status:       %s\n", ctl_retailer_status(&r, status, sizeof status));
	printf("pin:          %s", r.pin_hash[0] ? "yes" : "no");
	if (r.pin_failures > 0)
		printf(" (%d wrong since the last good one)", r.pin_failures);
	putchar('\n');
	printf("daily limit:  %s\n", r.daily_limit > 0 ? money_format(r.daily_limit, buf) : "none");
	printf("bank:         %s%s%s\n", r.bank_account[0] ? r.bank_account : "-",
	    r.bank_ifsc[0] ? " " : "", r.bank_ifsc);
	printf("created:      %s\n", ctl_time(r.created_at, when));
	return CTL_OK;
}

struct ctl_retailer_unlocking {
	char msisdn[MSISDN_BUFSZ];
	struct db_retailer r;          /* as it was before */
};

/* Reads the flags and clears the lockout in one transaction, so the audit is exact. */
static int
ctl_retailer_unlock_tx(struct ctl *c, void *arg)
{
	struct ctl_retailer_unlocking *u = arg;
	char before[64];

	switch (db_retailer_find(c->db, u->msisdn, &u->r)) {
	case 0:
		return ctl_error(c, "retailer %s not found", u->msisdn);
	case -1:
		return -1;
	}
	if (db_retailer_set_flag(c->db, u->r.id, "locked", 0) != 0)
		return -1;
	snprintf(before, sizeof before, "locked=%d pin_failures=%d", u->r.locked, u->r.pin_failures);
	return db_audit_add(c->db, c->actor, "retailer.unlock", u->msisdn, before,
	    "locked=0 pin_failures=0");
}

/* After a PIN lockout, once the retailer is verified by phone. */
enum ctl_retval
ctl_retailer_unlock(struct ctl *c, int argc, char **argv)
{
	struct ctl_retailer_unlocking u;
	char *pos[1];
	int rc;

	if ((rc = ctl_args(c, argc, argv, NULL, pos, 1, 1)) != 0)
		return rc;
	memset(&u, 0, sizeof u);
	if (ctl_parse_msisdn(c, pos[0], u.msisdn) != 0)
		return CTL_ERROR;
	if ((rc = ctl_tx(c, ctl_retailer_unlock_tx, &u)) != CTL_OK)
		return rc;
	printf("retailer %s unlocked%s\n", u.msisdn, u.r.locked ? "" : " (it was not locked)");
	return CTL_OK;
}

struct ctl_admin_new {
	char msisdn[MSISDN_BUFSZ];
	char hash[PIN_HASH_BUFSZ];
};

/* The admin row and its audit row. */
static int
ctl_admin_add_tx(struct ctl *c, void *arg)
{
	struct ctl_admin_new *a = arg;

	switch (db_admin_add(c->db, a->msisdn, a->hash)) {
	case 0:
		return ctl_error(c, "admin %s already exists", a->msisdn);
	case -1:
		return -1;
	}
	return db_audit_add(c->db, c->actor, "admin.add", a->msisdn, "", "pin=yes");
}

/* Admins command by SMS with a PIN, so one is required. */
enum ctl_retval
ctl_admin_add(struct ctl *c, int argc, char **argv)
{
	const char *pin = NULL;
	struct ctl_opt opts[] = { { "--pin", &pin, NULL }, { NULL, NULL, NULL } };
	struct ctl_admin_new a;
	char *pos[1];
	int rc;

	if ((rc = ctl_args(c, argc, argv, opts, pos, 1, 1)) != 0)
		return rc;
	if (pin == NULL)
		return ctl_usage(c, "--pin is required");
	memset(&a, 0, sizeof a);
	if (ctl_parse_msisdn(c, pos[0], a.msisdn) != 0 || ctl_parse_pin(c, pin) != 0 ||
	    ctl_load_pepper(c) != 0)
		return CTL_ERROR;
	pin_hash(c->pepper, a.msisdn, pin, a.hash);
	if ((rc = ctl_tx(c, ctl_admin_add_tx, &a)) != CTL_OK)
		return rc;
	printf("admin %s added\n", a.msisdn);
	return CTL_OK;
}
