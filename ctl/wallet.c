/* ctl/wallet.c: wallet credit, debit and show. A credit is a posting from the funding
 * account (cash received offline) to the wallet, a debit the reverse (a correction or a
 * refund of cash); balances change only through postings. */
#include <string.h>

#include "ctl/ctl.h"

#define CTL_NOTE_MAX 120
#define CTL_HISTORY_DEFAULT 20

struct ctl_wallet_crediting {
	char msisdn[MSISDN_BUFSZ];
	int64_t amount;
	const char *note;
	int debit;                     /* 0: funding -> wallet; 1: wallet -> funding */
	int64_t before, after;
};

/* A posting's note: bounded, no control characters; "" when none. 0 or CTL_ERROR. */
static int
ctl_wallet_note(struct ctl *c, const char *note, const char **out)
{
	if (note != NULL && strlen(note) > CTL_NOTE_MAX)
		return ctl_error(c, "note too long (at most %d bytes)", CTL_NOTE_MAX);
	for (const char *p = note; p != NULL && *p != '\0'; p++)
		if ((unsigned char)*p < 0x20)
			return ctl_error(c, "note must not contain control characters");
	*out = note ? note : "";
	return 0;
}

/* Posting, new balance and audit row in one transaction; a debit's posting refuses an
 * overdraw. */
static int
ctl_wallet_move_tx(struct ctl *c, void *arg)
{
	struct ctl_wallet_crediting *w = arg;
	struct db_retailer r;
	struct db_line lines[2];
	char before[48], after[48], buf[MONEY_BUFSZ];

	switch (db_retailer_find(c->db, w->msisdn, &r)) {
	case 0:
		return ctl_error(c, "retailer %s not found", w->msisdn);
	case -1:
		return -1;
	}
	w->before = r.balance;
	/* a credit moves money from funding into the wallet, a debit back */
	lines[0].account = w->debit ? r.wallet_account : DB_ACCOUNT_FUNDING;
	lines[0].amount = -w->amount;
	lines[1].account = w->debit ? DB_ACCOUNT_FUNDING : r.wallet_account;
	lines[1].amount = w->amount;
	switch (db_posting_add(c->db, w->debit ? "debit" : "credit", 0, c->actor, w->note, lines, 2)) {
	case 1:
		break;
	case 0:        /* only an overdraw refuses, and a credit cannot overdraw */
		if (!w->debit)
			return ctl_error(c, "the ledger refused the credit");
		return ctl_error(c, "insufficient balance: %s has %s", w->msisdn,
		    money_format(r.balance, buf));
	default:
		return -1;
	}
	if (db_account_balance(c->db, r.wallet_account, &w->after) != 1)
		return -1;
	snprintf(before, sizeof before, "balance=%s", money_format(w->before, buf));
	snprintf(after, sizeof after, "balance=%s", money_format(w->after, buf));
	return db_audit_add(c->db, c->actor, w->debit ? "wallet.debit" : "wallet.credit", w->msisdn,
	    before, after);
}

/* wallet credit and wallet debit: MSISDN AMOUNT [--note T]. */
static enum ctl_retval
ctl_wallet_move(struct ctl *c, int argc, char **argv, int debit)
{
	const char *note = NULL;
	struct ctl_opt opts[] = { { "--note", &note, NULL }, { NULL, NULL, NULL } };
	struct ctl_wallet_crediting w;
	char *pos[2], amt[MONEY_BUFSZ], bal[MONEY_BUFSZ];
	int rc;

	if ((rc = ctl_args(c, argc, argv, opts, pos, 2, 2)) != 0)
		return rc;
	memset(&w, 0, sizeof w);
	w.debit = debit;
	if (ctl_parse_msisdn(c, pos[0], w.msisdn) != 0 || ctl_parse_amount(c, pos[1], &w.amount) != 0 ||
	    ctl_wallet_note(c, note, &w.note) != 0)
		return CTL_ERROR;
	if ((rc = ctl_tx(c, ctl_wallet_move_tx, &w)) != CTL_OK)
		return rc;
	printf("%s %s %s %s; balance %s\n", debit ? "debited" : "credited", money_format(w.amount, amt),
	    debit ? "from" : "to", w.msisdn, money_format(w.after, bal));
	return CTL_OK;
}

/* Cash received offline becomes wallet balance only through a posting. */
enum ctl_retval
ctl_wallet_credit(struct ctl *c, int argc, char **argv)
{
	return ctl_wallet_move(c, argc, argv, 0);
}

/* Takes money back out of a wallet; never below zero. */
enum ctl_retval
ctl_wallet_debit(struct ctl *c, int argc, char **argv)
{
	return ctl_wallet_move(c, argc, argv, 1);
}

struct ctl_wallet_history {
	struct ctl_json json;
	int as_json;
};

/* One ledger line of wallet show. */
static void
ctl_wallet_entry_cb(void *arg, const struct db_entry *e)
{
	struct ctl_wallet_history *h = arg;
	char when[32], amt[MONEY_BUFSZ], bal[MONEY_BUFSZ], txn[24];

	if (e->txn > 0)
		db_txn_format_id(e->txn, txn);
	else
		strcpy(txn, "-");
	if (h->as_json) {
		struct ctl_json *j = &h->json;
		ctl_json_open(j, NULL, '{');
		ctl_json_int(j, "posting", e->posting);
		ctl_json_str(j, "at", ctl_time(e->at, when));
		ctl_json_str(j, "kind", e->kind);
		ctl_json_money(j, "amount", e->amount);
		ctl_json_money(j, "balance", e->balance);
		if (e->txn > 0)
			ctl_json_str(j, "txn", txn);
		else
			ctl_json_null(j, "txn");
		ctl_json_str(j, "actor", e->actor);
		ctl_json_str(j, "note", e->note);
		ctl_json_close(j, '}');
		return;
	}
	printf("  %-25s %-10s %12s %13s %-13s %s\n", ctl_time(e->at, when), e->kind,
	    money_format(e->amount, amt), money_format(e->balance, bal), txn, e->note);
}

/* Balance plus the latest lines with running balances, to explain it. */
enum ctl_retval
ctl_wallet_show(struct ctl *c, int argc, char **argv)
{
	const char *limit_text = NULL;
	struct ctl_wallet_history h = { .as_json = 0 };
	struct ctl_opt opts[] = {
		{ "--json", NULL, &h.as_json }, { "--limit", &limit_text, NULL }, { NULL, NULL, NULL },
	};
	struct db_retailer r;
	char *pos[1], bal[MONEY_BUFSZ], com[MONEY_BUFSZ];
	int rc, limit = CTL_HISTORY_DEFAULT;

	if ((rc = ctl_args(c, argc, argv, opts, pos, 1, 1)) != 0)
		return rc;
	if (limit_text != NULL && ctl_parse_limit(c, limit_text, &limit) != 0)
		return CTL_ERROR;
	if (ctl_find_retailer(c, pos[0], &r) != 0)
		return CTL_ERROR;
	if (h.as_json) {
		struct ctl_json *j = &h.json;
		ctl_json_begin(j, stdout);
		ctl_json_open(j, NULL, '{');
		ctl_json_str(j, "msisdn", r.msisdn);
		ctl_json_str(j, "name", r.name);
		ctl_json_money(j, "balance", r.balance);
		ctl_json_money(j, "commission", r.commission);
		ctl_json_open(j, "entries", '[');
	} else {
		printf("wallet of %s (%s)\nbalance:     %s\ncommission:  %s (unsettled)\n", r.msisdn, r.name,
		    money_format(r.balance, bal), money_format(r.commission, com));
		printf("latest entries:\n  %-25s %-10s %12s %13s %-13s %s\n", "AT (IST)", "KIND", "AMOUNT",
		    "BALANCE", "TXN", "NOTE");
	}
	if (db_account_history(c->db, r.wallet_account, r.id, limit, ctl_wallet_entry_cb, &h) != 0)
		return ctl_db_error(c);
	if (h.as_json) {
		ctl_json_close(&h.json, ']');
		ctl_json_close(&h.json, '}');
		ctl_json_end(&h.json);
	}
	return CTL_OK;
}
