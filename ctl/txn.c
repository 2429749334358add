/* ctl/txn.c: transactions as the people answering complaints need them: ids as
 * TXN%09d, times in IST, money with two decimals, the ledger lines behind each; and the
 * admin's hand on them: resolve a PENDING one the provider never settled, reverse a
 * SUCCESS. Both settle through engine/ (the daemon's own postings) and queue the
 * retailer's SMS in the same transaction; the running daemon sends it within a second. */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "channels/channels.h"
#include "ctl/ctl.h"
#include "engine/engine.h"

#define CTL_TXN_LIMIT_DEFAULT 50
#define CTL_NOTE_MAX 120

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

/* What txn resolve and txn reverse did, kept for printing after the commit. */
struct ctl_txn_change {
	int64_t id;
	int success;                   /* resolve: success, else failed */
	const char *ref;               /* resolve: the operator reference, or "" */
	const char *note;              /* reverse: the reason, or "" */
	struct db_txn t;               /* as stored afterwards */
	int64_t balance;               /* the retailer's wallet afterwards */
	char sms[512];                 /* the line for the retailer */
	int sms_queued;
};

/* The transaction must exist and be in state; its "not found" and "is X" messages. */
static int
ctl_txn_expect(struct ctl *c, int64_t id, const char *state, struct db_txn *t)
{
	char txn[24];

	switch (db_txn_get(c->db, id, t)) {
	case 0:
		return ctl_error(c, "transaction %s not found", db_txn_format_id(id, txn));
	case -1:
		return -1;
	}
	if (strcmp(t->state, state) != 0)
		return ctl_error(c, "%s is %s, not %s", db_txn_format_id(id, txn), t->state, state);
	return 0;
}

/* The retailer's SMS for a transaction that came by SMS, told once (notified). */
static int
ctl_txn_notify(struct ctl *c, struct ctl_txn_change *x)
{
	sms_render_txn(x->sms, sizeof x->sms, &x->t, x->balance, 0);
	if (strcmp(x->t.channel, "sms") != 0 || x->t.reply_to[0] == '\0')
		return 0;
	if (db_sms_out_add(c->db, x->t.reply_to, x->t.reply_ton, x->t.reply_npi, x->sms, 0, x->t.id) < 0 ||
	    db_txn_set_notified(c->db, x->t.id, x->t.state) != 0)
		return -1;
	x->sms_queued = 1;
	return 0;
}

/* Settlement, SMS and audit row in one transaction. */
static int
ctl_txn_resolve_tx(struct ctl *c, void *arg)
{
	struct ctl_txn_change *x = arg;
	char txn[24], provider[sizeof x->t.provider], after[160];
	int rc;

	if ((rc = ctl_txn_expect(c, x->id, DB_STATE_PENDING, &x->t)) != 0)
		return rc;
	/* the provider that had it, if the daemon recorded one: it answers for the money */
	strlcpy_safe(provider, x->t.provider[0] ? x->t.provider : "manual", sizeof provider);
	rc = engine_db_settle(c->db, x->id, x->success, x->success ? 0 : ENGINE_E_FAILED, provider,
	    x->ref, &x->t, &x->balance);
	if (rc == 0)
		return ctl_error(c, "%s is %s, not PENDING", db_txn_format_id(x->id, txn), x->t.state);
	if (rc < 0 || ctl_txn_notify(c, x) != 0)
		return -1;
	if (x->success)
		snprintf(after, sizeof after, "state=SUCCESS provider=%s ref=%s", provider, x->ref);
	else
		snprintf(after, sizeof after, "state=FAILED provider=%s error=%d", provider, ENGINE_E_FAILED);
	return db_audit_add(c->db, c->actor, "txn.resolve", db_txn_format_id(x->id, txn), "state=PENDING", after);
}

/* An operator reference as a provider would send one: printable, no blanks (it is a
 * token of the retailer's SMS). */
static int
ctl_ref_valid(const char *ref)
{
	size_t n = strlen(ref);

	if (n == 0 || n > sizeof ((struct db_txn *)0)->operator_ref - 1)
		return 0;
	for (const char *p = ref; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f)
			return 0;
	return 1;
}

/* Prints what a resolve or reverse did: the retailer's line, and where it went. */
static void
ctl_txn_change_print(const char *verb, const struct ctl_txn_change *x)
{
	char txn[24];

	printf("%s %s: %s%s%s\n", verb, db_txn_format_id(x->id, txn), x->sms,
	    x->sms_queued ? "; SMS queued to " : "", x->sms_queued ? x->t.reply_to : "");
}

/* Settles a PENDING transaction by hand, after the provider confirmed it some other way
 * (statement, phone call). success without --ref leaves the reference empty: it is the
 * provider's to give, never ours to invent. */
enum ctl_retval
ctl_txn_resolve(struct ctl *c, int argc, char **argv)
{
	const char *ref = NULL;
	struct ctl_opt opts[] = { { "--ref", &ref, NULL }, { NULL, NULL, NULL } };
	struct ctl_txn_change x;
	char *pos[2];
	int rc;

	if ((rc = ctl_args(c, argc, argv, opts, pos, 2, 2)) != 0)
		return rc;
	memset(&x, 0, sizeof x);
	if (strcasecmp(pos[1], "success") == 0)
		x.success = 1;
	else if (strcasecmp(pos[1], "failed") != 0)
		return ctl_usage(c, "outcome must be success or failed, not '%s'", pos[1]);
	if (ref != NULL && !x.success)
		return ctl_usage(c, "--ref goes with success only");
	if (ref != NULL && !ctl_ref_valid(ref))
		return ctl_error(c, "invalid reference '%s' (1 to 64 characters, no blanks)", ref);
	if ((x.id = ctl_txn_id(pos[0])) <= 0)
		return ctl_error(c, "invalid transaction id '%s' (TXN followed by digits)", pos[0]);
	x.ref = ref ? ref : "";
	if ((rc = ctl_tx(c, ctl_txn_resolve_tx, &x)) != CTL_OK)
		return rc;
	ctl_txn_change_print("resolved", &x);
	return CTL_OK;
}

/* Reversal, SMS and audit row in one transaction. */
static int
ctl_txn_reverse_tx(struct ctl *c, void *arg)
{
	struct ctl_txn_change *x = arg;
	char txn[24], before[80], after[CTL_NOTE_MAX + 80], buf[MONEY_BUFSZ];
	int rc;

	if ((rc = ctl_txn_expect(c, x->id, DB_STATE_SUCCESS, &x->t)) != 0)
		return rc;
	snprintf(before, sizeof before, "state=SUCCESS commission=%s", money_format(x->t.commission, buf));
	rc = engine_db_reverse(c->db, x->id, c->actor, &x->t, &x->balance);
	if (rc == 0)
		return ctl_error(c, "%s is %s, not SUCCESS", db_txn_format_id(x->id, txn), x->t.state);
	if (rc < 0 || ctl_txn_notify(c, x) != 0)
		return -1;
	snprintf(after, sizeof after, "state=REVERSED refunded=%s%s%s", money_format(x->t.amount, buf),
	    x->note[0] ? " note=" : "", x->note);
	return db_audit_add(c->db, c->actor, "txn.reverse", db_txn_format_id(x->id, txn), before, after);
}

/* Undoes a SUCCESS the operator reversed outside any callback: the amount back to the
 * wallet, the commission back from the retailer. */
enum ctl_retval
ctl_txn_reverse(struct ctl *c, int argc, char **argv)
{
	const char *note = NULL;
	struct ctl_opt opts[] = { { "--note", &note, NULL }, { NULL, NULL, NULL } };
	struct ctl_txn_change x;
	char *pos[1];
	int rc;

	if ((rc = ctl_args(c, argc, argv, opts, pos, 1, 1)) != 0)
		return rc;
	memset(&x, 0, sizeof x);
	if (note != NULL && strlen(note) > CTL_NOTE_MAX)
		return ctl_error(c, "note too long (at most %d bytes)", CTL_NOTE_MAX);
	for (const char *p = note; p != NULL && *p != '\0'; p++)
		if ((unsigned char)*p < 0x20)
			return ctl_error(c, "note must not contain control characters");
	if ((x.id = ctl_txn_id(pos[0])) <= 0)
		return ctl_error(c, "invalid transaction id '%s' (TXN followed by digits)", pos[0]);
	x.note = note ? note : "";
	if ((rc = ctl_tx(c, ctl_txn_reverse_tx, &x)) != CTL_OK)
		return rc;
	ctl_txn_change_print("reversed", &x);
	return CTL_OK;
}
