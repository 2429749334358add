/* ctl/commission.c: commission rates per plan and operator, in basis points inside
 * and shown as percentages with two decimals. */
#include <ctype.h>
#include <string.h>

#include "ctl/ctl.h"

struct ctl_commission_setting {
	char plan[16];
	struct db_operator op;
	int32_t rate, old;
};

/* Old rate, new rate and audit row in one transaction. */
static int
ctl_commission_set_tx(struct ctl *c, void *arg)
{
	struct ctl_commission_setting *s = arg;
	char subject[40], before[24], after[24], buf[MONEY_BUFSZ];

	if ((s->old = db_commission_rate(c->db, s->plan, s->op.code)) < 0)
		return -1;
	if (db_commission_set(c->db, s->plan, s->op.code, s->rate) != 0)
		return -1;
	snprintf(subject, sizeof subject, "%s/%s", s->plan, s->op.code);
	snprintf(before, sizeof before, "rate=%s%%", money_format(s->old, buf));
	snprintf(after, sizeof after, "rate=%s%%", money_format(s->rate, buf));
	return db_audit_add(c->db, c->actor, "commission.set", subject, before, after);
}

/* Aliases resolve to the operator code so every rate has one key. */
enum ctl_retval
ctl_commission_set(struct ctl *c, int argc, char **argv)
{
	struct ctl_commission_setting s;
	char *pos[3], was[MONEY_BUFSZ], now[MONEY_BUFSZ];
	int rc;

	if ((rc = ctl_args(c, argc, argv, NULL, pos, 3, 3)) != 0)
		return rc;
	memset(&s, 0, sizeof s);
	if (strlen(pos[0]) >= sizeof s.plan)
		return ctl_error(c, "unknown plan '%s'", pos[0]);
	for (size_t i = 0; pos[0][i] != '\0'; i++)
		s.plan[i] = (char)tolower((unsigned char)pos[0][i]);
	switch (db_plan_exists(c->db, s.plan)) {
	case 0:
		return ctl_error(c, "unknown plan '%s'", pos[0]);
	case -1:
		return ctl_db_error(c);
	}
	switch (db_operator_find(c->db, pos[1], &s.op)) {
	case 0:
		return ctl_error(c, "unknown operator '%s'", pos[1]);
	case -1:
		return ctl_db_error(c);
	}
	/* "6%" is a natural way to write it */
	size_t n = strlen(pos[2]);
	if (n > 1 && pos[2][n - 1] == '%')
		pos[2][n - 1] = '\0';
	if ((s.rate = money_rate_parse(pos[2])) < 0)
		return ctl_error(c, "invalid percent '%s' (0 to 100, at most two decimals)", pos[2]);
	if ((rc = ctl_tx(c, ctl_commission_set_tx, &s)) != CTL_OK)
		return rc;
	printf("commission %s %s: %s%% (was %s%%)\n", s.plan, s.op.code, money_format(s.rate, now),
	    money_format(s.old, was));
	return CTL_OK;
}

struct ctl_commission_listing {
	struct ctl_json json;
	int as_json;
};

/* One rate of commission list. */
static void
ctl_commission_list_cb(void *arg, const struct db_commission *cm)
{
	struct ctl_commission_listing *l = arg;
	char rate[MONEY_BUFSZ];

	if (l->as_json) {
		ctl_json_open(&l->json, NULL, '{');
		ctl_json_str(&l->json, "plan", cm->plan);
		ctl_json_str(&l->json, "operator", cm->operator_code);
		ctl_json_money(&l->json, "percent", cm->rate_bp);
		ctl_json_close(&l->json, '}');
		return;
	}
	printf("%-10s %-10s %7s%%\n", cm->plan, cm->operator_code, money_format(cm->rate_bp, rate));
}

/* Every (plan, operator) rate, as settlement will apply it. */
enum ctl_retval
ctl_commission_list(struct ctl *c, int argc, char **argv)
{
	struct ctl_commission_listing l = { .as_json = 0 };
	struct ctl_opt opts[] = { { "--json", NULL, &l.as_json }, { NULL, NULL, NULL } };
	int rc;

	if ((rc = ctl_args(c, argc, argv, opts, NULL, 0, 0)) != 0)
		return rc;
	if (l.as_json) {
		ctl_json_begin(&l.json, stdout);
		ctl_json_open(&l.json, NULL, '[');
	} else {
		printf("%-10s %-10s %8s\n", "PLAN", "OPERATOR", "RATE");
	}
	if (db_commission_each(c->db, ctl_commission_list_cb, &l) != 0)
		return ctl_db_error(c);
	if (l.as_json) {
		ctl_json_close(&l.json, ']');
		ctl_json_end(&l.json);
	}
	return CTL_OK;
}
