/* db/admin.c: the queries only the admin CLI needs: the audit trail, listings and
 * account history. Nothing here moves money; postings stay in ledger.c. */
#include <string.h>

#include "db/internal.h"

/* Written in the caller's transaction, so an action and its record commit together. */
int
db_audit_add(struct db *db, const char *actor, const char *action, const char *subject,
    const char *before, const char *after)
{
	static const char sql[] =
	    "INSERT INTO audit (at, actor, action, subject, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, clock_now_ms());
	sqlite3_bind_text(st, 2, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, subject ? subject : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, before ? before : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, after ? after : "", -1, SQLITE_STATIC);
	return db_exec_stmt(db, st, "audit insert");
}

/* Newest first: the recent change is usually the one asked about. */
int
db_audit_each(struct db *db, int limit, void (*cb)(void *, const struct db_audit *), void *arg)
{
	static const char sql[] =
	    "SELECT id, at, actor, action, subject, before, after FROM audit ORDER BY id DESC LIMIT ?1";
	sqlite3_stmt *st = db_stmt(db, sql);
	struct db_audit a;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int(st, 1, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		a.id = sqlite3_column_int64(st, 0);
		a.at = sqlite3_column_int64(st, 1);
		db_col_text(st, 2, a.actor, sizeof a.actor);
		db_col_text(st, 3, a.action, sizeof a.action);
		db_col_text(st, 4, a.subject, sizeof a.subject);
		db_col_text(st, 5, a.before, sizeof a.before);
		db_col_text(st, 6, a.after, sizeof a.after);
		cb(arg, &a);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "audit list");
}

/* Mobile before DTH within a plan, as the rate card reads. */
int
db_commission_each(struct db *db, void (*cb)(void *, const struct db_commission *), void *arg)
{
	static const char sql[] =
	    "SELECT c.plan, c.operator, c.rate_bp FROM commissions c JOIN operators o ON o.code = c.operator"
	    " ORDER BY c.plan, o.service DESC, c.operator";
	sqlite3_stmt *st = db_stmt(db, sql);
	struct db_commission c;
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		db_col_text(st, 0, c.plan, sizeof c.plan);
		db_col_text(st, 1, c.operator_code, sizeof c.operator_code);
		c.rate_bp = sqlite3_column_int(st, 2);
		cb(arg, &c);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "commission list");
}

/* Unrouted operators too: the list answers "where does a JIO recharge go". */
int
db_route_each(struct db *db, void (*cb)(void *, const struct db_route *), void *arg)
{
	static const char sql[] =
	    "SELECT o.code, o.service, o.enabled, coalesce(r.providers, '') FROM operators o"
	    " LEFT JOIN routes r ON r.operator = o.code ORDER BY o.service DESC, o.code";
	sqlite3_stmt *st = db_stmt(db, sql);
	struct db_route r;
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		db_col_text(st, 0, r.operator_code, sizeof r.operator_code);
		db_col_text(st, 1, r.service, sizeof r.service);
		r.enabled = sqlite3_column_int(st, 2);
		db_col_text(st, 3, r.providers, sizeof r.providers);
		cb(arg, &r);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "route list");
}

/* Reads one ledger row of the shape both history queries select. */
static void
db_entry_read(sqlite3_stmt *st, struct db_entry *e)
{
	e->posting = sqlite3_column_int64(st, 0);
	db_col_text(st, 1, e->kind, sizeof e->kind);
	e->txn = sqlite3_column_int64(st, 2);
	db_col_text(st, 3, e->actor, sizeof e->actor);
	db_col_text(st, 4, e->note, sizeof e->note);
	e->at = sqlite3_column_int64(st, 5);
	e->account = sqlite3_column_int64(st, 6);
	db_col_text(st, 7, e->account_name, sizeof e->account_name);
	e->amount = sqlite3_column_int64(st, 8);
	e->balance = sqlite3_column_int64(st, 9);
}

/* Steps st to the end, calling cb per row. */
static int
db_entry_iterate(struct db *db, sqlite3_stmt *st, void (*cb)(void *, const struct db_entry *),
    void *arg, const char *what)
{
	struct db_entry e;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		db_entry_read(st, &e);
		cb(arg, &e);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, what);
}

/* Running balances explain a wallet without arithmetic by the reader. */
int
db_account_history(struct db *db, int64_t account, int64_t owner, int limit,
    void (*cb)(void *, const struct db_entry *), void *arg)
{
	/* The running balance is summed over all of the account's lines, then cut. The
	 * lines come two ways (migration 9): without a transaction by ledger_lines_account;
	 * with one through the owner's transactions, their postings and the postings'
	 * lines (txns_retailer_day, postings_txn, ledger_lines_posting). */
	static const char sql[] =
	    "WITH l(lid, posting_id, account_id, amount) AS ("
	    "  SELECT rowid, posting_id, account_id, amount FROM ledger_lines"
	    "   WHERE account_id = ?1 AND txn_id IS NULL"
	    "  UNION ALL"
	    "  SELECT x.rowid, x.posting_id, x.account_id, x.amount FROM txns t"
	    "   JOIN postings q ON q.txn_id = t.id JOIN ledger_lines x ON x.posting_id = q.id"
	    "   WHERE (?3 = 0 OR t.retailer_id = ?3) AND x.account_id = ?1 AND x.txn_id IS NOT NULL)"
	    "SELECT * FROM (SELECT p.id, p.kind, coalesce(p.txn_id, 0), p.actor, p.note, p.created_at,"
	    " l.account_id, a.name, l.amount,"
	    " sum(l.amount) OVER (ORDER BY l.posting_id, l.lid ROWS UNBOUNDED PRECEDING) AS running"
	    " FROM l JOIN postings p ON p.id = l.posting_id JOIN accounts a ON a.id = l.account_id)"
	    " ORDER BY 1 DESC LIMIT ?2";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, account);
	sqlite3_bind_int(st, 2, limit > 0 ? limit : -1);
	sqlite3_bind_int64(st, 3, owner);
	return db_entry_iterate(db, st, cb, arg, "account history");
}

/* Every line of every posting of a transaction, with account names. */
int
db_txn_entries(struct db *db, int64_t txn, void (*cb)(void *, const struct db_entry *), void *arg)
{
	static const char sql[] =
	    "SELECT p.id, p.kind, coalesce(p.txn_id, 0), p.actor, p.note, p.created_at,"
	    " l.account_id, a.name, l.amount, 0"
	    " FROM postings p JOIN ledger_lines l ON l.posting_id = p.id JOIN accounts a ON a.id = l.account_id"
	    " WHERE p.txn_id = ?1 ORDER BY p.id, l.rowid";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, txn);
	return db_entry_iterate(db, st, cb, arg, "txn entries");
}

/* One count(*) query into *n. */
static int
db_count(struct db *db, const char *sql, int64_t *n, const char *what)
{
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : db_fail(db, rc, what);
}

/* How much detection data is loaded. */
int
db_series_count(struct db *db, int64_t *n)
{
	static const char sql[] = "SELECT count(*) FROM number_series";
	return db_count(db, sql, n, "series count");
}

/* Hashes that a new pepper would orphan. */
int
db_pin_hash_count(struct db *db, int64_t *n)
{
	static const char sql[] =
	    "SELECT (SELECT count(*) FROM retailers WHERE pin_hash <> '')"
	    " + (SELECT count(*) FROM admins WHERE pin_hash <> '')";
	return db_count(db, sql, n, "pin count");
}
