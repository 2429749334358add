/* db/check.c: every ledger invariant of SPEC section 5, recomputed from the rows.
 * Each query lists violations; none listed means the invariant holds. */
#include <string.h>

#include "db/internal.h"

struct db_invariant {
	const char *what;
	const char *sql;      /* each row: one violation, first column describes it */
};

static const struct db_invariant db_invariants[] = {
	{ "posting does not sum to zero",
	  "SELECT 'posting ' || posting_id || ' sums to ' || sum(amount) FROM ledger_lines"
	  " GROUP BY posting_id HAVING sum(amount) <> 0" },
	{ "posting with fewer than two lines",
	  "SELECT 'posting ' || p.id FROM postings p LEFT JOIN ledger_lines l ON l.posting_id = p.id"
	  " GROUP BY p.id HAVING count(l.account_id) < 2" },
	{ "account balance differs from its ledger",
	  "SELECT a.name || ' balance ' || a.balance || ' ledger ' || coalesce(s.total, 0)"
	  " FROM accounts a LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ledger_lines"
	  " GROUP BY account_id) s ON s.account_id = a.id WHERE a.balance <> coalesce(s.total, 0)" },
	{ "wallet below zero",
	  "SELECT name || ' ' || balance FROM accounts WHERE kind = 'wallet' AND balance < 0" },
	{ "holds differ from PENDING transactions",
	  "SELECT 'in_flight ' || a.balance || ' pending ' || coalesce((SELECT sum(amount) FROM txns"
	  " WHERE state = 'PENDING'), 0) FROM accounts a WHERE a.id = 2"
	  " AND a.balance <> coalesce((SELECT sum(amount) FROM txns WHERE state = 'PENDING'), 0)" },
	{ "transaction's wallet movements differ from its state",
	  "SELECT 'TXN' || t.id || ' ' || t.state || ' amount ' || t.amount || ' wallet net '"
	  " || coalesce(sum(l.amount), 0) FROM txns t JOIN retailers r ON r.id = t.retailer_id"
	  " LEFT JOIN postings p ON p.txn_id = t.id"
	  " LEFT JOIN ledger_lines l ON l.posting_id = p.id AND l.account_id = r.wallet_account"
	  " GROUP BY t.id HAVING coalesce(sum(l.amount), 0) <>"
	  " CASE WHEN t.state IN ('PENDING', 'SUCCESS') THEN -t.amount ELSE 0 END" },
	{ "transaction's commission differs from its state",
	  "SELECT 'TXN' || t.id || ' ' || t.state || ' commission ' || t.commission || ' credited '"
	  " || coalesce(sum(l.amount), 0) FROM txns t JOIN retailers r ON r.id = t.retailer_id"
	  " LEFT JOIN postings p ON p.txn_id = t.id"
	  " LEFT JOIN ledger_lines l ON l.posting_id = p.id AND l.account_id = r.commission_account"
	  " GROUP BY t.id HAVING coalesce(sum(l.amount), 0) <>"
	  " CASE WHEN t.state = 'SUCCESS' THEN t.commission ELSE 0 END" },
	{ "transaction without exactly one hold",
	  "SELECT 'TXN' || t.id || ' holds ' || count(p.id) FROM txns t"
	  " LEFT JOIN postings p ON p.txn_id = t.id AND p.kind = 'hold' GROUP BY t.id HAVING count(p.id) <> 1" },
	{ "final state inconsistent",
	  "SELECT 'TXN' || id || ' ' || state || ' error ' || error_code || ' provider ' || provider FROM txns"
	  " WHERE (state = 'SUCCESS' AND (error_code <> 0 OR provider = ''))"
	  " OR (state = 'FAILED' AND error_code = 0) OR (state = 'PENDING' AND final_at IS NOT NULL)" },
	{ "ledger line on a missing account",
	  "SELECT 'posting ' || l.posting_id FROM ledger_lines l LEFT JOIN accounts a ON a.id = l.account_id"
	  " WHERE a.id IS NULL" },
};

int
db_check(struct db *db, void (*report)(void *, const char *), void *arg)
{
	int violations = 0;
	char line[512];

	for (size_t i = 0; i < sizeof db_invariants / sizeof db_invariants[0]; i++) {
		sqlite3_stmt *st = db_stmt(db, db_invariants[i].sql);
		int rc;
		if (st == NULL)
			return -1;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const unsigned char *t = sqlite3_column_text(st, 0);
			snprintf(line, sizeof line, "%s: %s", db_invariants[i].what, t ? (const char *)t : "?");
			report(arg, line);
			violations++;
		}
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return db_fail(db, rc, db_invariants[i].what);
	}
	return violations;
}
