/* ctl/admin.c: admin list and admin unlock. An admin phone is locked after
 * ENGINE_PIN_LIMIT wrong PINs in a row by SMS; only the CLI lifts that. */
#include <string.h>

#include "ctl/ctl.h"

struct ctl_admin_listing {
	struct ctl_json json;
	int as_json;
};

/* One row of admin list; never the hash. */
static void
ctl_admin_list_cb(void *arg, const struct db_admin *a)
{
	struct ctl_admin_listing *l = arg;

	if (l->as_json) {
		struct ctl_json *j = &l->json;
		ctl_json_open(j, NULL, '{');
		ctl_json_str(j, "msisdn", a->msisdn);
		ctl_json_bool(j, "locked", a->locked);
		ctl_json_int(j, "pin_failures", a->pin_failures);
		ctl_json_close(j, '}');
		return;
	}
	printf("%-13s %-7s %d\n", a->msisdn, a->locked ? "locked" : "active", a->pin_failures);
}

/* Every admin phone with its lock state, in msisdn order. */
enum ctl_retval
ctl_admin_list(struct ctl *c, int argc, char **argv)
{
	struct ctl_admin_listing l = { .as_json = 0 };
	struct ctl_opt opts[] = { { "--json", NULL, &l.as_json }, { NULL, NULL, NULL } };
	int rc;

	if ((rc = ctl_args(c, argc, argv, opts, NULL, 0, 0)) != 0)
		return rc;
	if (l.as_json) {
		ctl_json_begin(&l.json, stdout);
		ctl_json_open(&l.json, NULL, '[');
	} else {
		printf("%-13s %-7s %s\n", "MSISDN", "STATUS", "PIN_FAILURES");
	}
	if (db_admin_list(c->db, ctl_admin_list_cb, &l) != 0)
		return ctl_db_error(c);
	if (l.as_json) {
		ctl_json_close(&l.json, ']');
		ctl_json_end(&l.json);
	}
	return CTL_OK;
}

struct ctl_admin_unlocking {
	char msisdn[MSISDN_BUFSZ];
	struct db_admin a;             /* as it was before */
};

/* Reads and clears the lockout in one transaction, so the audit is exact. */
static int
ctl_admin_unlock_tx(struct ctl *c, void *arg)
{
	struct ctl_admin_unlocking *u = arg;
	char before[64];

	switch (db_admin_find(c->db, u->msisdn, &u->a)) {
	case 0:
		return ctl_error(c, "admin %s not found", u->msisdn);
	case -1:
		return -1;
	}
	if (db_admin_unlock(c->db, u->a.id) != 0)
		return -1;
	snprintf(before, sizeof before, "locked=%d pin_failures=%d", u->a.locked, u->a.pin_failures);
	return db_audit_add(c->db, c->actor, "admin.unlock", u->msisdn, before,
	    "locked=0 pin_failures=0");
}

/* After an admin PIN lockout, once the admin is verified in person. */
enum ctl_retval
ctl_admin_unlock(struct ctl *c, int argc, char **argv)
{
	struct ctl_admin_unlocking u;
	char *pos[1];
	int rc;

	if ((rc = ctl_args(c, argc, argv, NULL, pos, 1, 1)) != 0)
		return rc;
	memset(&u, 0, sizeof u);
	if (ctl_parse_msisdn(c, pos[0], u.msisdn) != 0)
		return CTL_ERROR;
	if ((rc = ctl_tx(c, ctl_admin_unlock_tx, &u)) != CTL_OK)
		return rc;
	printf("admin %s unlocked%s\n", u.msisdn, u.a.locked ? "" : " (it was not locked)");
	return CTL_OK;
}
