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
	/* "+l.account_id" keeps SQLite off the account index: by account it would read
	 * every line of the wallet for each of its transactions (quadratic; minutes for a
	 * retailer with 15000 transactions), by posting it reads two or three. */
	{ "transaction's wallet movements differ from its state",
	  "SELECT 'TXN' || t.id || ' ' || t.state || ' amount ' || t.amount || ' wallet net '"
	  " || coalesce(sum(l.amount), 0) FROM txns t JOIN retailers r ON r.id = t.retailer_id"
	  " LEFT JOIN postings p ON p.txn_id = t.id"
	  " LEFT JOIN ledger_lines l ON l.posting_id = p.id AND +l.account_id = r.wallet_account"
	  " GROUP BY t.id HAVING coalesce(sum(l.amount), 0) <>"
	  " CASE WHEN t.state IN ('PENDING', 'SUCCESS') THEN -t.amount ELSE 0 END" },
	{ "transaction's commission differs from its state",
	  "SELECT 'TXN' || t.id || ' ' || t.state || ' commission ' || t.commission || ' credited '"
	  " || coalesce(sum(l.amount), 0) FROM txns t JOIN retailers r ON r.id = t.retailer_id"
	  " LEFT JOIN postings p ON p.txn_id = t.id"
	  " LEFT JOIN ledger_lines l ON l.posting_id = p.id AND +l.account_id = r.commission_account"
	  " GROUP BY t.id HAVING coalesce(sum(l.amount), 0) <>"
	  " CASE WHEN t.state = 'SUCCESS' THEN t.commission ELSE 0 END" },
	{ "transaction without exactly one hold",
	  "SELECT 'TXN' || t.id || ' holds ' || count(p.id) FROM txns t"
	  " LEFT JOIN postings p ON p.txn_id = t.id AND p.kind = 'hold' GROUP BY t.id HAVING count(p.id) <> 1" },
	{ "final state inconsistent",
	  "SELECT 'TXN' || id || ' ' || state || ' error ' || error_code || ' provider ' || provider FROM txns"
	  " WHERE (state = 'SUCCESS' AND (error_code <> 0 OR provider = ''))"
	  " OR (state = 'FAILED' AND error_code = 0) OR (state = 'PENDING' AND final_at IS NOT NULL)" },
	/* an account's history finds a line with a transaction through that transaction's
	 * retailer (db_account_history, migration 9): the line must say its posting's
	 * transaction, and a retailer account it moves must be that retailer's */
	{ "ledger line's transaction is not its posting's, or not its account owner's",
	  "SELECT 'posting ' || l.posting_id || ' line of TXN' || l.txn_id || ' on ' || a.name"
	  " FROM ledger_lines l JOIN postings p ON p.id = l.posting_id"
	  " JOIN accounts a ON a.id = l.account_id LEFT JOIN txns t ON t.id = l.txn_id"
	  " LEFT JOIN retailers r ON r.id = t.retailer_id WHERE l.txn_id IS NOT NULL"
	  " AND (l.txn_id IS NOT p.txn_id OR (a.kind <> 'system' AND (r.id IS NULL"
	  " OR l.account_id NOT IN (r.wallet_account, r.commission_account))))" },
	{ "ledger line on a missing account",
	  "SELECT 'posting ' || l.posting_id FROM ledger_lines l LEFT JOIN accounts a ON a.id = l.account_id"
	  " WHERE a.id IS NULL" },
	/* settlement (db/settle.c); a commission account may be negative: a clawback after
	 * payout stays owed until later commission covers it */
	{ "settled posting is not a commission or clawback",
	  "SELECT 'posting ' || s.posting_id || ' ' || coalesce(p.kind, 'missing') || ' in batch ' || s.batch_id"
	  " FROM settlement_items s LEFT JOIN postings p ON p.id = s.posting_id"
	  " WHERE p.kind IS NULL OR p.kind NOT IN ('commission', 'clawback')" },
	{ "settlement batch differs from its postings",
	  "SELECT 'batch ' || b.id || ' count ' || b.count || ' gross ' || b.gross || ', postings '"
	  " || coalesce(i.n, 0) || ' sum ' || (coalesce(i.total, 0) + coalesce(c.gross, 0))"
	  " FROM settlement_batches b LEFT JOIN (SELECT s.batch_id, count(*) AS n, sum(l.amount) AS total"
	  " FROM settlement_items s JOIN settlement_batches b2 ON b2.id = s.batch_id"
	  " JOIN retailers r2 ON r2.id = b2.retailer_id"
	  " JOIN ledger_lines l ON l.posting_id = s.posting_id AND +l.account_id = r2.commission_account"
	  " GROUP BY s.batch_id) i ON i.batch_id = b.id"
	  " LEFT JOIN settlement_batches c ON c.id = b.carried_from"
	  " WHERE b.count <> coalesce(i.n, 0) OR b.gross <> coalesce(i.total, 0) + coalesce(c.gross, 0)" },
	{ "settlement carry wrong",
	  "SELECT 'batch ' || b.id || ' carries batch ' || c.id FROM settlement_batches b"
	  " JOIN settlement_batches c ON c.id = b.carried_from"
	  " WHERE c.retailer_id <> b.retailer_id OR c.posting_id IS NOT NULL OR c.id >= b.id"
	  " OR EXISTS (SELECT 1 FROM settlement_batches m WHERE m.retailer_id = b.retailer_id"
	  " AND m.id > c.id AND m.id < b.id)"
	  " UNION ALL SELECT 'unpaid batch ' || c.id || ' not carried into the next one'"
	  " FROM settlement_batches c WHERE c.posting_id IS NULL"
	  " AND EXISTS (SELECT 1 FROM settlement_batches m WHERE m.retailer_id = c.retailer_id AND m.id > c.id)"
	  " AND NOT EXISTS (SELECT 1 FROM settlement_batches b WHERE b.carried_from = c.id)" },
	{ "paid settlement batch differs from its posting",
	  "SELECT 'batch ' || b.id || ' gross ' || b.gross || ' tds ' || b.tds || ' net ' || b.net"
	  " FROM settlement_batches b JOIN retailers r ON r.id = b.retailer_id"
	  " WHERE b.posting_id IS NOT NULL AND ("
	  " (SELECT kind FROM postings WHERE id = b.posting_id) IS NOT 'settlement'"
	  " OR coalesce((SELECT sum(amount) FROM ledger_lines WHERE posting_id = b.posting_id"
	  "  AND account_id = r.commission_account), 0) <> -b.gross"
	  " OR coalesce((SELECT sum(l.amount) FROM ledger_lines l JOIN accounts a ON a.id = l.account_id"
	  "  WHERE l.posting_id = b.posting_id AND a.kind = 'system' AND a.name = 'payout'), 0) <> b.net"
	  " OR coalesce((SELECT sum(l.amount) FROM ledger_lines l JOIN accounts a ON a.id = l.account_id"
	  "  WHERE l.posting_id = b.posting_id AND a.kind = 'system' AND a.name = 'tds'), 0) <> b.tds)"
	  " UNION ALL SELECT 'settlement posting ' || p.id || ' of no batch' FROM postings p"
	  " WHERE p.kind = 'settlement' AND NOT EXISTS (SELECT 1 FROM settlement_batches b WHERE b.posting_id = p.id)" },
	{ "payout or tds differs from the paid batches",
	  "SELECT a.name || ' ' || a.balance || ' batches ' || CASE a.name"
	  " WHEN 'payout' THEN (SELECT coalesce(sum(net), 0) FROM settlement_batches)"
	  " ELSE (SELECT coalesce(sum(tds), 0) FROM settlement_batches) END"
	  " FROM accounts a WHERE a.kind = 'system' AND a.name IN ('payout', 'tds') AND a.balance <> CASE a.name"
	  " WHEN 'payout' THEN (SELECT coalesce(sum(net), 0) FROM settlement_batches)"
	  " ELSE (SELECT coalesce(sum(tds), 0) FROM settlement_batches) END" },
	/* unsettled lines summed per account in one pass from the postings' kinds: by
	 * account there is no index for a recharge's lines (migration 9) */
	{ "unsettled commission differs from unsettled postings and carry",
	  "SELECT r.msisdn || ' commission ' || a.balance FROM retailers r"
	  " JOIN accounts a ON a.id = r.commission_account"
	  " LEFT JOIN (SELECT l.account_id, sum(l.amount) AS total FROM postings p"
	  "  JOIN ledger_lines l ON l.posting_id = p.id WHERE p.kind IN ('commission', 'clawback')"
	  "  AND NOT EXISTS (SELECT 1 FROM settlement_items s WHERE s.posting_id = p.id)"
	  "  GROUP BY l.account_id) u ON u.account_id = r.commission_account"
	  " WHERE a.balance <> coalesce(u.total, 0)"
	  " + coalesce((SELECT gross FROM settlement_batches b WHERE b.retailer_id = r.id"
	  "  AND b.posting_id IS NULL AND b.id = (SELECT max(id) FROM settlement_batches WHERE retailer_id = r.id)), 0)" },
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
