/* ctl/provider.c: the configured providers with the health the daemon last recorded
 * (provider_state): failures in a row, the breaker, the last success and error, the
 * balance. A provider the daemon never used has no record: "-" everywhere. */
#include <string.h>

#include "ctl/ctl.h"

struct ctl_provider_row {
	const struct config_provider *cfg;
	struct db_provider_state st;
	int seen;                      /* st holds the daemon's record */
};

struct ctl_provider_listing {
	struct ctl_provider_row rows[CONFIG_MAX_PROVIDERS];
	int n;
	struct ctl_json json;
	int as_json;
};

/* Matches a stored record to its config section; records of removed sections are left out. */
static void
ctl_provider_state_cb(void *arg, const struct db_provider_state *st)
{
	struct ctl_provider_listing *l = arg;

	for (int i = 0; i < l->n; i++)
		if (strcmp(l->rows[i].cfg->name, st->name) == 0) {
			l->rows[i].st = *st;
			l->rows[i].seen = 1;
		}
}

/* "closed", "open" (until breaker_open_until) or "half-open" (cool-down over: the next
 * recharge routed to it decides). */
static const char *
ctl_breaker(const struct db_provider_state *st, int64_t now)
{
	if (st->breaker_open_until == 0)
		return "closed";
	return st->breaker_open_until > now ? "open" : "half-open";
}

/* One provider as JSON: unknown values are null. */
static void
ctl_provider_json(struct ctl_json *j, const struct ctl_provider_row *r, const char *default_provider,
    int64_t now)
{
	char when[32];

	ctl_json_open(j, NULL, '{');
	ctl_json_str(j, "name", r->cfg->name);
	ctl_json_str(j, "type", r->cfg->type);
	ctl_json_bool(j, "default", strcmp(r->cfg->name, default_provider) == 0);
	if (!r->seen) {
		const char *keys[] = { "failures", "breaker", "breaker_open_until", "last_ok_at", "last_error",
			"balance", "balance_at" };
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
			ctl_json_null(j, keys[i]);
		ctl_json_close(j, '}');
		return;
	}
	ctl_json_int(j, "failures", r->st.failures);
	ctl_json_str(j, "breaker", ctl_breaker(&r->st, now));
	if (r->st.breaker_open_until > 0)
		ctl_json_str(j, "breaker_open_until", ctl_time(r->st.breaker_open_until, when));
	else
		ctl_json_null(j, "breaker_open_until");
	if (r->st.last_ok_at > 0)
		ctl_json_str(j, "last_ok_at", ctl_time(r->st.last_ok_at, when));
	else
		ctl_json_null(j, "last_ok_at");
	if (r->st.last_error[0] != '\0')
		ctl_json_str(j, "last_error", r->st.last_error);
	else
		ctl_json_null(j, "last_error");
	if (r->st.has_balance) {
		ctl_json_money(j, "balance", r->st.balance);
		ctl_json_str(j, "balance_at", ctl_time(r->st.balance_at, when));
	} else {
		ctl_json_null(j, "balance");
		ctl_json_null(j, "balance_at");
	}
	ctl_json_close(j, '}');
}

#define CTL_PROVIDER_ROW "%-14s %-10s %5s  %-41s %-25s %-38s %s\n"

/* One provider as a table row. */
static void
ctl_provider_print(const struct ctl_provider_row *r, const char *default_provider, int64_t now)
{
	char name[48], fails[16], breaker[64], ok[32], bal[80], amt[MONEY_BUFSZ], when[32];

	snprintf(name, sizeof name, "%s%s", r->cfg->name, strcmp(r->cfg->name, default_provider) == 0 ? "*" : "");
	if (!r->seen) {
		printf(CTL_PROVIDER_ROW, name, r->cfg->type, "-", "-", "-", "-", "-");
		return;
	}
	snprintf(fails, sizeof fails, "%d", r->st.failures);
	if (r->st.breaker_open_until == 0)
		strcpy(breaker, "closed");
	else
		snprintf(breaker, sizeof breaker, "%s %s %s", ctl_breaker(&r->st, now),
		    r->st.breaker_open_until > now ? "until" : "since", ctl_time(r->st.breaker_open_until, when));
	ctl_time(r->st.last_ok_at, ok);
	if (r->st.has_balance)
		snprintf(bal, sizeof bal, "%s at %s", money_format(r->st.balance, amt), ctl_time(r->st.balance_at, when));
	else
		strcpy(bal, "-");
	printf(CTL_PROVIDER_ROW, name, r->cfg->type, fails, breaker, ok, bal,
	    r->st.last_error[0] ? r->st.last_error : "-");
}

/* Every [provider.NAME] of the config, in config order, with its recorded health. */
enum ctl_retval
ctl_provider_list(struct ctl *c, int argc, char **argv)
{
	struct ctl_provider_listing l;
	struct ctl_opt opts[] = { { "--json", NULL, &l.as_json }, { NULL, NULL, NULL } };
	int64_t now = clock_now_ms();
	int rc;

	memset(&l, 0, sizeof l);
	if ((rc = ctl_args(c, argc, argv, opts, NULL, 0, 0)) != 0)
		return rc;
	for (int i = 0; i < c->cfg->nproviders && i < CONFIG_MAX_PROVIDERS; i++)
		l.rows[l.n++].cfg = &c->cfg->providers[i];
	if (db_provider_state_each(c->db, ctl_provider_state_cb, &l) != 0)
		return ctl_db_error(c);
	if (l.as_json) {
		ctl_json_begin(&l.json, stdout);
		ctl_json_open(&l.json, NULL, '[');
		for (int i = 0; i < l.n; i++)
			ctl_provider_json(&l.json, &l.rows[i], c->cfg->default_provider, now);
		ctl_json_close(&l.json, ']');
		ctl_json_end(&l.json);
		return CTL_OK;
	}
	printf(CTL_PROVIDER_ROW, "NAME", "TYPE", "FAILS", "BREAKER", "LAST OK (IST)", "BALANCE", "LAST ERROR");
	for (int i = 0; i < l.n; i++)
		ctl_provider_print(&l.rows[i], c->cfg->default_provider, now);
	printf("(* [engine] default_provider)\n");
	return CTL_OK;
}
