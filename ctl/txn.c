/* ctl/txn.c: transactions as the people answering complaints need them: ids as
 * TXN%09d, times in IST, money with two decimals, the ledger lines behind each. */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

#define CTL_TXN_LIMIT_DEFAULT 50

struct ctl_txn_listing {
	struct ctl *c;
	struct ctl_json json;
	int as_json;
	int failed;                    /* a retailer lookup failed */
	int64_t retailer_id;           /* cache of the last row's retailer */
	char msisdn[MSISDN_BUFSZ];
};

/* The retailer's MSISDN of a transaction, cached across consecutive rows. */
static const char *
ctl_txn_msisdn(struct ctl_txn_listing *l, int64_t retailer_id)
{
	struct db_retailer r;

	if (retailer_id != l->retailer_id) {
		int found = db_retailer_get(l->c->db, retailer_id, &r);
		if (found < 0)
			l->failed = 1;
		strlcpy_safe(l->msisdn, found == 1 ? r.msisdn : "?", sizeof l->msisdn);
		l->retailer_id = retailer_id;
	}
	return l->msisdn;
}

/* Every field of a transaction as JSON members of the open object. */
static void
ctl_txn_json(struct ctl_json *j, const struct db_txn *t, const char *msisdn)
{
	char id[24], when[32];

	ctl_json_str(j, "txn", db_txn_format_id(t->id, id));
	ctl_json_str(j, "retailer", msisdn);
	ctl_json_str(j, "channel", t->channel);
	if (t->request_id[0] != '\0')
		ctl_json_str(j, "request_id", t->request_id);
	else
		ctl_json_null(j, "request_id");
	ctl_json_str(j, "service", t->service);
	ctl_json_str(j, "operator", t->operator_code);
	ctl_json_str(j, "target", t->target);
	ctl_json_str(j, "circle", t->circle);
	ctl_json_money(j, "amount", t->amount);
	ctl_json_money(j, "commission", t->commission);
	ctl_json_str(j, "state", t->state);
	if (t->error_code != 0)
		ctl_json_int(j, "error_code", t->error_code);
	else
		ctl_json_null(j, "error_code");
	ctl_json_str(j, "provider", t->provider);
	ctl_json_str(j, "operator_ref", t->operator_ref);
	ctl_json_str(j, "created_at", ctl_time(t->created_at, when));
	ctl_json_str(j, "updated_at", ctl_time(t->updated_at, when));
	if (t->final_at > 0)
		ctl_json_str(j, "final_at", ctl_time(t->final_at, when));
	else
		ctl_json_null(j, "final_at");
}

#define CTL_TXN_ROW "%-12s %-25s %-12s %-9s %-12s %10s %-8s %5s %s\n"

/* One row of txn list. */
static void
ctl_txn_list_cb(void *arg, const struct db_txn *t)
{
	struct ctl_txn_listing *l = arg;
	const char *msisdn = ctl_txn_msisdn(l, t->retailer_id);
	char id[24], when[32], amt[MONEY_BUFSZ], err[16];

	if (l->as_json) {
		ctl_json_open(&l->json, NULL, '{');
		ctl_txn_json(&l->json, t, msisdn);
		ctl_json_close(&l->json, '}');
		return;
	}
	if (t->error_code != 0)
		snprintf(err, sizeof err, "%d", t->error_code);
	else
		strcpy(err, "-");
	printf(CTL_TXN_ROW, db_txn_format_id(t->id, id), ctl_time(t->created_at, when), msisdn,
	    t->operator_code, t->target, money_format(t->amount, amt), t->state, err,
	    t->provider[0] ? t->provider : "-");
}

/* Newest first, optionally for one retailer, bounded by --limit. */
enum ctl_retval
ctl_txn_list(struct ctl *c, int argc, char **argv)
{
	const char *retailer = NULL, *limit_text = NULL;
	struct ctl_txn_listing l = { .c = c, .retailer_id = -1 };
	struct ctl_opt opts[] = {
		{ "--retailer", &retailer, NULL }, { "--limit", &limit_text, NULL },
		{ "--json", NULL, &l.as_json }, { NULL, NULL, NULL },
	};
	struct db_retailer r = { .id = 0 };
	int rc, limit = CTL_TXN_LIMIT_DEFAULT;

	if ((rc = ctl_args(c, argc, argv, opts, NULL, 0, 0)) != 0)
		return rc;
	if (limit_text != NULL && ctl_parse_limit(c, limit_text, &limit) != 0)
		return CTL_ERROR;
	if (retailer != NULL && ctl_find_retailer(c, retailer, &r) != 0)
		return CTL_ERROR;
	if (l.as_json) {
		ctl_json_begin(&l.json, stdout);
		ctl_json_open(&l.json, NULL, '[');
	} else {
		printf(CTL_TXN_ROW, "TXN", "CREATED (IST)", "RETAILER", "OPERATOR", "TARGET", "AMOUNT",
		    "STATE", "ERROR", "PROVIDER");
	}
	if (db_txn_each(c->db, r.id, limit, ctl_txn_list_cb, &l) != 0 || l.failed)
		return ctl_db_error(c);
	if (l.as_json) {
		ctl_json_close(&l.json, ']');
		ctl_json_end(&l.json);
	}
	return CTL_OK;
}

struct ctl_txn_lines {
	struct ctl_json json;
	int as_json;
};

/* One ledger line of txn show. */
static void
ctl_txn_entry_cb(void *arg, const struct db_entry *e)
{
	struct ctl_txn_lines *l = arg;
	char when[32], amt[MONEY_BUFSZ];

	if (l->as_json) {
		ctl_json_open(&l->json, NULL, '{');
		ctl_json_int(&l->json, "posting", e->posting);
		ctl_json_str(&l->json, "at", ctl_time(e->at, when));
		ctl_json_str(&l->json, "kind", e->kind);
		ctl_json_str(&l->json, "account", e->account_name);
		ctl_json_money(&l->json, "amount", e->amount);
		ctl_json_close(&l->json, '}');
		return;
	}
	printf("  %-6" PRId64 " %-25s %-10s %-22s %12s\n", e->posting, ctl_time(e->at, when), e->kind,
	    e->account_name, money_format(e->amount, amt));
}

/* "TXN000000123", "txn123" or "123". */
static int64_t
ctl_txn_id(const char *text)
{
	if (isdigit((unsigned char)text[0])) {
		char buf[32];
		if (strlen(text) > 18)
			return -1;
		snprintf(buf, sizeof buf, "TXN%s", text);
		return db_txn_parse_id(buf);
	}
	return db_txn_parse_id(text);
}

/* A transaction with its ledger lines: the whole story of a complaint. */
enum ctl_retval
ctl_txn_show(struct ctl *c, int argc, char **argv)
{
	struct ctl_txn_lines l = { .as_json = 0 };
	struct ctl_opt opts[] = { { "--json", NULL, &l.as_json }, { NULL, NULL, NULL } };
	struct db_txn t;
	struct db_retailer r;
	char *pos[1], id[24], when[32], buf[MONEY_BUFSZ];
	int64_t txn;
	int rc;

	if ((rc = ctl_args(c, argc, argv, opts, pos, 1, 1)) != 0)
		return rc;
	if ((txn = ctl_txn_id(pos[0])) <= 0)
		return ctl_error(c, "invalid transaction id '%s' (TXN followed by digits)", pos[0]);
	switch (db_txn_get(c->db, txn, &t)) {
	case 0:
		return ctl_error(c, "transaction %s not found", db_txn_format_id(txn, id));
	case -1:
		return ctl_db_error(c);
	}
	if ((rc = db_retailer_get(c->db, t.retailer_id, &r)) < 0)
		return ctl_db_error(c);
	if (rc == 0)
		strcpy(r.msisdn, "?");
	if (l.as_json) {
		ctl_json_begin(&l.json, stdout);
		ctl_json_open(&l.json, NULL, '{');
		ctl_txn_json(&l.json, &t, r.msisdn);
		ctl_json_open(&l.json, "ledger", '[');
	} else {
		printf("txn:           %s\n", db_txn_format_id(t.id, id));
		printf("retailer:      %s\n", r.msisdn);
		printf("channel:       %s%s%s\n", t.channel, t.request_id[0] ? " request " : "", t.request_id);
		printf("service:       %s\n", t.service);
		printf("operator:      %s%s%s\n", t.operator_code, t.circle[0] ? " circle " : "", t.circle);
		printf("target:        %s\n", t.target);
		printf("amount:        %s\n", money_format(t.amount, buf));
		printf("commission:    %s\n", money_format(t.commission, buf));
		printf("state:         %s", t.state);
		if (t.error_code != 0)
			printf(" (error %d)", t.error_code);
		putchar('\n');
		printf("provider:      %s\n", t.provider[0] ? t.provider : "-");
		printf("operator ref:  %s\n", t.operator_ref[0] ? t.operator_ref : "-");
		printf("created:       %s\n", ctl_time(t.created_at, when));
		printf("updated:       %s\n", ctl_time(t.updated_at, when));
		printf("final:         %s\n", ctl_time(t.final_at, when));
		printf("ledger:\n");
	}
	if (db_txn_entries(c->db, t.id, ctl_txn_entry_cb, &l) != 0)
		return ctl_db_error(c);
	if (l.as_json) {
		ctl_json_close(&l.json, ']');
		ctl_json_close(&l.json, '}');
		ctl_json_end(&l.json);
	}
	return CTL_OK;
}
