/* ctl/report.c: the daily report and pruning of old SMS rows. Days are calendar days in
 * Asia/Kolkata (UTC+05:30, no daylight saving), as retailers and settlement count them. */
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"

#define CTL_IST_OFFSET_MS 19800000LL

/* "YYYY-MM-DD" -> the epoch ms of that day's IST midnight. 0 or CTL_ERROR. */
int
ctl_parse_day(struct ctl *c, const char *text, int64_t *start_ms)
{
	struct tm tm, back;
	time_t t;

	memset(&tm, 0, sizeof tm);
	if (strlen(text) != 10 || strspn(text, "0123456789-") != 10 || text[4] != '-' || text[7] != '-' ||
	    sscanf(text, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
		return ctl_error(c, "invalid date '%s' (YYYY-MM-DD)", text);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	back = tm;
	t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_year != back.tm_year || tm.tm_mon != back.tm_mon ||
	    tm.tm_mday != back.tm_mday || tm.tm_year < 100)
		return ctl_error(c, "invalid date '%s' (YYYY-MM-DD)", text);
	*start_ms = (int64_t)t * 1000 - CTL_IST_OFFSET_MS;
	return 0;
}

struct ctl_report {
	struct ctl_json json;
	int as_json;
	char group[12];                /* the group being written */
};

/* Rows come grouped (total, state, operator, provider, retailer): a heading per group. */
static void
ctl_report_row_cb(void *arg, const struct db_report_row *row)
{
	struct ctl_report *r = arg;
	char amt[MONEY_BUFSZ], com[MONEY_BUFSZ];
	int new_group = strcmp(r->group, row->group) != 0;

	if (r->as_json) {
		struct ctl_json *j = &r->json;
		if (strcmp(row->group, "total") == 0) {
			ctl_json_open(j, "total", '{');
		} else {
			char key[24];
			if (new_group) {
				if (strcmp(r->group, "total") != 0)
					ctl_json_close(j, ']');
				snprintf(key, sizeof key, "by_%s", row->group);
				ctl_json_open(j, key, '[');
			}
			ctl_json_open(j, NULL, '{');
			ctl_json_str(j, "key", row->key);
		}
		ctl_json_int(j, "count", row->count);
		ctl_json_money(j, "amount", row->amount);
		ctl_json_money(j, "commission", row->commission);
		ctl_json_close(j, '}');
	} else {
		if (strcmp(row->group, "total") == 0)
			printf("total: %lld transactions, %s, commission %s\n", (long long)row->count,
			    money_format(row->amount, amt), money_format(row->commission, com));
		else {
			if (new_group)
				printf("\nby %s:\n  %-16s %6s %14s %12s\n", row->group, "", "COUNT", "AMOUNT",
				    "COMMISSION");
			printf("  %-16s %6lld %14s %12s\n", row->key, (long long)row->count,
			    money_format(row->amount, amt), money_format(row->commission, com));
		}
	}
	strlcpy_safe(r->group, row->group, sizeof r->group);
}

/* Counts and sums of the day's transactions by state, operator, provider and retailer. */
enum ctl_retval
ctl_report_daily(struct ctl *c, int argc, char **argv)
{
	const char *date = NULL;
	struct ctl_report r;
	struct ctl_opt opts[] = {
		{ "--date", &date, NULL }, { "--json", NULL, &r.as_json }, { NULL, NULL, NULL },
	};
	int64_t start;
	int rc;

	memset(&r, 0, sizeof r);
	if ((rc = ctl_args(c, argc, argv, opts, NULL, 0, 0)) != 0)
		return rc;
	if (date == NULL)
		return ctl_usage(c, "--date is required");
	if (ctl_parse_day(c, date, &start) != 0)
		return CTL_ERROR;
	if (r.as_json) {
		ctl_json_begin(&r.json, stdout);
		ctl_json_open(&r.json, NULL, '{');
		ctl_json_str(&r.json, "date", date);
	} else {
		printf("daily report for %s (Asia/Kolkata), transactions created that day\n", date);
	}
	if (db_report_each(c->db, start, start + CTL_DAY_MS, ctl_report_row_cb, &r) != 0)
		return ctl_db_error(c);
	if (r.as_json) {
		if (strcmp(r.group, "total") != 0)
			ctl_json_close(&r.json, ']');
		ctl_json_close(&r.json, '}');
		ctl_json_end(&r.json);
	}
	return CTL_OK;
}

struct ctl_pruning {
	int64_t before_ms;
	const char *date;
	int64_t n_in, n_out;
};

/* The deletes and their audit row together. */
static int
ctl_prune_tx(struct ctl *c, void *arg)
{
	struct ctl_pruning *p = arg;
	char after[96];

	if (db_sms_prune(c->db, p->before_ms, &p->n_in, &p->n_out) != 0)
		return -1;
	snprintf(after, sizeof after, "sms_in=%lld sms_out=%lld deleted", (long long)p->n_in,
	    (long long)p->n_out);
	return db_audit_add(c->db, c->actor, "prune", p->date, "", after);
}

/* Old SMS rows that are done with; the ledger and transactions are never touched. */
enum ctl_retval
ctl_prune(struct ctl *c, int argc, char **argv)
{
	struct ctl_pruning p;
	struct ctl_opt opts[] = { { "--before", &p.date, NULL }, { NULL, NULL, NULL } };
	int rc;

	memset(&p, 0, sizeof p);
	if ((rc = ctl_args(c, argc, argv, opts, NULL, 0, 0)) != 0)
		return rc;
	if (p.date == NULL)
		return ctl_usage(c, "--before is required");
	if (ctl_parse_day(c, p.date, &p.before_ms) != 0)
		return CTL_ERROR;
	if ((rc = ctl_tx(c, ctl_prune_tx, &p)) != CTL_OK)
		return rc;
	printf("pruned %lld sms_in and %lld sms_out rows from before %s\n", (long long)p.n_in,
	    (long long)p.n_out, p.date);
	return CTL_OK;
}
