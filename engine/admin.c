/* engine/admin.c: the admin SMS commands (REG, TOPUP, BLOCK, UNBLOCK): the admin's PIN
 * and lockout, then the change and its audit row in the caller's batch. */
#include <stdio.h>
#include <string.h>

#include "engine/internal.h"

/* "sms:919800000009": who the audit and the postings name. */
static void
engine_admin_actor(const struct db_admin *a, char *buf, size_t cap)
{
	snprintf(buf, cap, "sms:%s", a->msisdn);
}

/* The admin's lockout and PIN, counted like a retailer's; the lock itself is audited. */
static int
engine_admin_authorize(struct engine *e, struct db_admin *a, const char *pin)
{
	struct db *db = batch_db(e->batch);
	char actor[32], before[48];
	int n;

	if (a->locked)
		return ENGINE_E_LOCKED;
	if (pin != NULL && pin[0] != '\0' && pin_verify(e->pepper, a->msisdn, pin, a->pin_hash)) {
		if (a->pin_failures > 0 && db_admin_pin_ok(db, a->id) != 0)
			return ENGINE_E_BUSY;
		a->pin_failures = 0;
		return ENGINE_OK;
	}
	if ((n = db_admin_pin_failed(db, a->id, ENGINE_PIN_LIMIT)) < 0)
		return ENGINE_E_BUSY;
	a->pin_failures = n;
	if (n < ENGINE_PIN_LIMIT)
		return ENGINE_E_PIN;
	a->locked = 1;
	engine_admin_actor(a, actor, sizeof actor);
	snprintf(before, sizeof before, "locked=0 pin_failures=%d", n - 1);
	if (db_audit_add(db, actor, "admin.lock", a->msisdn, before, "locked=1") != 0)
		return ENGINE_E_BUSY;
	log_warn("admin %s locked after %d wrong PINs", a->msisdn, n);
	return ENGINE_E_LOCKED;
}

/* Admin checks, then the target retailer by any MSISDN form. 1013 when not found. */
static int
engine_admin_target(struct engine *e, struct db_admin *a, const char *pin, const char *msisdn,
    char norm[MSISDN_BUFSZ], struct db_retailer *r)
{
	int rc;

	if ((rc = engine_admin_authorize(e, a, pin)) != ENGINE_OK)
		return rc;
	if (msisdn_normalize(msisdn, norm) != 0)
		return ENGINE_E_MOBILE;
	switch (db_retailer_find(batch_db(e->batch), norm, r)) {
	case 1:
		return ENGINE_OK;
	case 0:
		return ENGINE_E_UNREGISTERED;
	}
	return ENGINE_E_BUSY;
}

/* A shop name is shown in replies, files and JSON: 1 to 80 bytes, no control characters
 * (the parser has already checked the UTF-8). */
static int
engine_admin_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= sizeof ((struct db_retailer *)0)->name)
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

int
engine_admin_register(struct engine *e, struct db_admin *a, const char *pin,
    const char *msisdn, const char *plan, const char *name, struct engine_admin_result *out)
{
	struct db *db = batch_db(e->batch);
	struct db_retailer *r = &out->retailer;
	struct db_admin other;
	char actor[32], after[160];
	int rc;

	memset(out, 0, sizeof *out);
	if ((out->code = engine_admin_authorize(e, a, pin)) != ENGINE_OK)
		return out->code;
	if (msisdn_normalize(msisdn, r->msisdn) != 0)
		return out->code = ENGINE_E_MOBILE;
	if (strlen(plan) >= sizeof r->plan || (rc = db_plan_exists(db, plan)) == 0) {
		out->param = "plan";
		return out->code = ENGINE_E_PARAM;
	}
	if (rc < 0)
		return out->code = ENGINE_E_BUSY;
	if (!engine_admin_name_valid(name)) {
		out->param = "shop_name";
		return out->code = ENGINE_E_PARAM;
	}
	/* an admin's number cannot also be a retailer: the retailer would hide the admin */
	if ((rc = db_admin_find(db, r->msisdn, &other)) != 0) {
		out->param = "msisdn";
		return out->code = rc < 0 ? ENGINE_E_BUSY : ENGINE_E_PARAM;
	}
	strlcpy_safe(r->plan, plan, sizeof r->plan);
	strlcpy_safe(r->name, name, sizeof r->name);
	switch (db_retailer_add(db, r)) {
	case 0:
		out->param = "msisdn";
		return out->code = ENGINE_E_PARAM;
	case -1:
		return out->code = ENGINE_E_BUSY;
	}
	engine_admin_actor(a, actor, sizeof actor);
	snprintf(after, sizeof after, "name=%s plan=%s pin=no", r->name, r->plan);
	if (db_audit_add(db, actor, "retailer.add", r->msisdn, "", after) != 0)
		return out->code = ENGINE_E_BUSY;
	log_info("admin %s registered retailer %s (plan %s)", a->msisdn, r->msisdn, r->plan);
	return out->code = ENGINE_OK;
}

int
engine_admin_topup(struct engine *e, struct db_admin *a, const char *pin,
    const char *msisdn, int64_t amount, struct engine_admin_result *out)
{
	struct db *db = batch_db(e->batch);
	struct db_retailer *r = &out->retailer;
	struct db_line lines[2];
	char norm[MSISDN_BUFSZ], actor[32], before[48], after[48], buf[MONEY_BUFSZ];
	int64_t was;

	memset(out, 0, sizeof *out);
	if ((out->code = engine_admin_target(e, a, pin, msisdn, norm, r)) != ENGINE_OK)
		return out->code;
	if (amount <= 0 || amount > MONEY_MAX_PAISE)
		return out->code = ENGINE_E_AMOUNT;
	engine_admin_actor(a, actor, sizeof actor);
	was = r->balance;
	lines[0].account = DB_ACCOUNT_FUNDING;
	lines[0].amount = -amount;
	lines[1].account = r->wallet_account;
	lines[1].amount = amount;
	/* a credit cannot overdraw, so anything but 1 is a storage failure */
	if (db_posting_add(db, "credit", 0, actor, "sms topup", lines, 2) != 1 ||
	    db_account_balance(db, r->wallet_account, &r->balance) != 1)
		return out->code = ENGINE_E_BUSY;
	snprintf(before, sizeof before, "balance=%s", money_format(was, buf));
	snprintf(after, sizeof after, "balance=%s", money_format(r->balance, buf));
	if (db_audit_add(db, actor, "wallet.credit", r->msisdn, before, after) != 0)
		return out->code = ENGINE_E_BUSY;
	out->amount = amount;
	log_info("admin %s credited %s to %s", a->msisdn, money_format(amount, buf), r->msisdn);
	return out->code = ENGINE_OK;
}

int
engine_admin_block(struct engine *e, struct db_admin *a, const char *pin,
    const char *msisdn, int block, struct engine_admin_result *out)
{
	struct db *db = batch_db(e->batch);
	struct db_retailer *r = &out->retailer;
	char norm[MSISDN_BUFSZ], actor[32], before[16], after[16];

	memset(out, 0, sizeof *out);
	if ((out->code = engine_admin_target(e, a, pin, msisdn, norm, r)) != ENGINE_OK)
		return out->code;
	block = block != 0;
	if (db_retailer_set_flag(db, r->id, "blocked", block) != 0)
		return out->code = ENGINE_E_BUSY;
	engine_admin_actor(a, actor, sizeof actor);
	snprintf(before, sizeof before, "blocked=%d", r->blocked);
	snprintf(after, sizeof after, "blocked=%d", block);
	if (db_audit_add(db, actor, block ? "retailer.block" : "retailer.unblock", r->msisdn,
	    before, after) != 0)
		return out->code = ENGINE_E_BUSY;
	r->blocked = block;
	log_info("admin %s %s retailer %s", a->msisdn, block ? "blocked" : "unblocked", r->msisdn);
	return out->code = ENGINE_OK;
}
