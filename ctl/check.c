/* ctl/check.c: the ledger check and the audit trail, the two answers to "can we trust
 * these numbers, and who changed them". */
#include <stdio.h>

#include "ctl/ctl.h"

#define CTL_AUDIT_LIMIT_DEFAULT 50

/* One violation per line on stdout, so a cron job can mail it. */
static void
ctl_check_report_cb(void *arg, const char *violation)
{
	printf("violation: %s\n", violation);
}

/* Recomputes the ledger; cron and the runbook rely on the exit status alone. */
enum ctl_retval
ctl_check(struct ctl *c, int argc, char **argv)
{
	int rc, n;

	if ((rc = ctl_args(c, argc, argv, NULL, NULL, 0, 0)) != 0)
		return rc;
	if ((n = db_check(c->db, ctl_check_report_cb, NULL)) < 0)
		return ctl_db_error(c);
	if (n > 0)
		return ctl_error(c, "%d ledger invariant violation%s", n, n == 1 ? "" : "s");
	printf("ok: all ledger invariants hold\n");
	return CTL_OK;
}

struct ctl_audit_listing {
	struct ctl_json json;
	int as_json;
};

/* One admin action. */
static void
ctl_audit_list_cb(void *arg, const struct db_audit *a)
{
	struct ctl_audit_listing *l = arg;
	char when[32];

	if (l->as_json) {
		ctl_json_open(&l->json, NULL, '{');
		ctl_json_int(&l->json, "id", a->id);
		ctl_json_str(&l->json, "at", ctl_time(a->at, when));
		ctl_json_str(&l->json, "actor", a->actor);
		ctl_json_str(&l->json, "action", a->action);
		ctl_json_str(&l->json, "subject", a->subject);
		ctl_json_str(&l->json, "before", a->before);
		ctl_json_str(&l->json, "after", a->after);
		ctl_json_close(&l->json, '}');
		return;
	}
	printf("%-25s %-14s %-16s %-20s %s%s%s\n", ctl_time(a->at, when), a->actor, a->action, a->subject,
	    a->before, a->before[0] ? " -> " : "", a->after);
}

/* Who changed what: the answer to a disputed balance or rate. */
enum ctl_retval
ctl_audit_list(struct ctl *c, int argc, char **argv)
{
	const char *limit_text = NULL;
	struct ctl_audit_listing l = { .as_json = 0 };
	struct ctl_opt opts[] = {
		{ "--json", NULL, &l.as_json }, { "--limit", &limit_text, NULL }, { NULL, NULL, NULL },
	};
	int rc, limit = CTL_AUDIT_LIMIT_DEFAULT;

	if ((rc = ctl_args(c, argc, argv, opts, NULL, 0, 0)) != 0)
		return rc;
	if (limit_text != NULL && ctl_parse_limit(c, limit_text, &limit) != 0)
		return CTL_ERROR;
	if (l.as_json) {
		ctl_json_begin(&l.json, stdout);
		ctl_json_open(&l.json, NULL, '[');
	} else {
		printf("%-25s %-14s %-16s %-20s %s\n", "AT (IST)", "ACTOR", "ACTION", "SUBJECT", "CHANGE");
	}
	if (db_audit_each(c->db, limit, ctl_audit_list_cb, &l) != 0)
		return ctl_db_error(c);
	if (l.as_json) {
		ctl_json_close(&l.json, ']');
		ctl_json_end(&l.json);
	}
	return CTL_OK;
}
