/* db/settle.c: commission settlement batches (see db.h). Money moves only through
 * db_posting_add; what was settled is recorded per posting, so nothing settles twice. */
#include <stdlib.h>
#include <string.h>

#include "db/internal.h"

/* The commission and clawback postings of retailers' commission accounts not settled
 * yet and due by ?1 (ms): a commission when its transaction became final, a clawback
 * when it was posted. */
#define DB_SETTLE_DUE \
	" FROM postings p JOIN ledger_lines l ON l.posting_id = p.id" \
	" JOIN retailers r ON r.commission_account = l.account_id" \
	" LEFT JOIN txns t ON t.id = p.txn_id" \
	" WHERE p.kind IN ('commission', 'clawback')" \
	" AND NOT EXISTS (SELECT 1 FROM settlement_items s WHERE s.posting_id = p.id)" \
	" AND (CASE p.kind WHEN 'commission' THEN coalesce(t.final_at, p.created_at)" \
	" ELSE p.created_at END) < ?1"

/* The same for one retailer ?2, as due(posting, amount). A recharge's lines are not
 * indexed by account (migration 9): they come through the retailer's transactions; lines
 * without a transaction (written before the migration) through ledger_lines_account.
 * "+p.kind" and INDEXED BY keep SQLite from scanning every retailer's commissions. */
#define DB_SETTLE_DUE_COND \
	" +p.kind IN ('commission', 'clawback')" \
	" AND NOT EXISTS (SELECT 1 FROM settlement_items s WHERE s.posting_id = p.id)" \
	" AND (CASE p.kind WHEN 'commission' THEN coalesce(t.final_at, p.created_at)" \
	" ELSE p.created_at END) < ?1"
#define DB_SETTLE_DUE_ONE \
	"WITH due(posting, amount) AS (" \
	" SELECT p.id, l.amount FROM retailers r" \
	"  JOIN ledger_lines l ON l.account_id = r.commission_account AND l.txn_id IS NULL" \
	"  JOIN postings p ON p.id = l.posting_id LEFT JOIN txns t ON t.id = p.txn_id" \
	"  WHERE r.id = ?2 AND" DB_SETTLE_DUE_COND \
	" UNION ALL" \
	" SELECT p.id, l.amount FROM retailers r JOIN txns t INDEXED BY txns_retailer_day" \
	"  ON t.retailer_id = r.id" \
	"  JOIN postings p ON p.txn_id = t.id JOIN ledger_lines l ON l.posting_id = p.id" \
	"  AND l.account_id = r.commission_account AND l.txn_id IS NOT NULL" \
	"  WHERE r.id = ?2 AND" DB_SETTLE_DUE_COND ") "

int64_t
db_settle_tds(int64_t gross, int32_t tds_bp)
{
	if (gross <= 0 || tds_bp <= 0)
		return 0;
	/* half up: x.5 paise and above round to the next paisa */
	return (gross * tds_bp + 5000) / 10000;
}

int
db_settle_last_date(struct db *db, char out[11])
{
	static const char sql[] = "SELECT coalesce(max(date), '') FROM settlement_runs";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	out[0] = '\0';
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		db_col_text(st, 0, out, 11);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : db_fail(db, rc, "settlement last date");
}

int
db_settle_run_get(struct db *db, const char *date, int64_t *created_at, int64_t *batches)
{
	static const char sql[] = "SELECT created_at, batches FROM settlement_runs WHERE date = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, date, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*created_at = sqlite3_column_int64(st, 0);
		*batches = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "settlement run");
}

/* A system account by name (payout, tds): 0 or -1. */
static int
db_settle_account(struct db *db, const char *name, int64_t *id)
{
	static const char sql[] = "SELECT id FROM accounts WHERE name = ?1 AND kind = 'system'";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE) {
		snprintf(db->error, sizeof db->error, "system account %s missing", name);
		return -1;
	}
	return db_fail(db, rc, "system account");
}

/* One int64 row of a statement already bound (count and sum, ids). 0 or -1. */
static int
db_settle_row(struct db *db, sqlite3_stmt *st, int64_t *a, int64_t *b, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW) {
		*a = sqlite3_column_int64(st, 0);
		if (b != NULL)
			*b = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : db_fail(db, rc, what);
}

/* Retailers with something due, in id order; *ids malloc'd. Count or -1. */
static int
db_settle_retailers(struct db *db, int64_t end_ms, int64_t **ids)
{
	static const char sql[] = "SELECT DISTINCT r.id" DB_SETTLE_DUE " ORDER BY r.id";
	sqlite3_stmt *st = db_stmt(db, sql);
	int n = 0, cap = 0, rc;

	*ids = NULL;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, end_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			int64_t *grown = realloc(*ids, (size_t)(cap = cap ? cap * 2 : 64) * sizeof **ids);
			if (grown == NULL) {
				sqlite3_reset(st);
				free(*ids);
				*ids = NULL;
				snprintf(db->error, sizeof db->error, "out of memory");
				return -1;
			}
			*ids = grown;
		}
		(*ids)[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(*ids);
		*ids = NULL;
		return db_fail(db, rc, "settlement retailers");
	}
	return n;
}

/* One retailer's batch: its due postings, the carry, the payout posting. 0 or -1. */
static int
db_settle_retailer(struct db *db, const char *date, int64_t end_ms, int32_t tds_bp, const char *actor,
    int64_t retailer, int64_t payout, int64_t tds_account)
{
	static const char sql_due[] =
	    DB_SETTLE_DUE_ONE "SELECT count(*), coalesce(sum(amount), 0) FROM due";
	static const char sql_prev[] =
	    "SELECT id, gross FROM settlement_batches WHERE retailer_id = ?1 AND posting_id IS NULL"
	    " AND id = (SELECT max(id) FROM settlement_batches WHERE retailer_id = ?1)";
	static const char sql_account[] = "SELECT commission_account, 0 FROM retailers WHERE id = ?1";
	static const char sql_posting[] = "SELECT max(id), 0 FROM postings";
	static const char sql_batch[] =
	    "INSERT INTO settlement_batches (date, retailer_id, count, gross, tds, net, carried_from,"
	    " created_at, posting_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
	static const char sql_items[] =
	    DB_SETTLE_DUE_ONE "INSERT INTO settlement_items (posting_id, batch_id) SELECT posting, ?3 FROM due";
	sqlite3_stmt *st;
	int64_t count = 0, sum = 0, prev = 0, carry = 0, account = 0, posting = 0, gross, tds = 0, net = 0;
	int64_t batch;

	if ((st = db_stmt(db, sql_due)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, end_ms);
	sqlite3_bind_int64(st, 2, retailer);
	if (db_settle_row(db, st, &count, &sum, "settlement due") != 0)
		return -1;
	if ((st = db_stmt(db, sql_prev)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, retailer);
	if (sqlite3_step(st) == SQLITE_ROW) {
		prev = sqlite3_column_int64(st, 0);
		carry = sqlite3_column_int64(st, 1);
	}
	if (sqlite3_reset(st) != SQLITE_OK)
		return db_fail(db, sqlite3_errcode(db->sql), "settlement carry");
	gross = sum + carry;
	if (gross > 0) {
		tds = db_settle_tds(gross, tds_bp);
		net = gross - tds;
		if ((st = db_stmt(db, sql_account)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, retailer);
		if (db_settle_row(db, st, &account, NULL, "settlement account") != 0)
			return -1;
		char note[64];
		snprintf(note, sizeof note, "commission settlement %s", date);
		struct db_line lines[3] = { { account, -gross }, { payout, net }, { tds_account, tds } };
		if (db_posting_add(db, "settlement", 0, actor, note, lines, 3) != 1)
			return -1;
		if ((st = db_stmt(db, sql_posting)) == NULL ||
		    db_settle_row(db, st, &posting, NULL, "settlement posting") != 0)
			return -1;
	}
	if ((st = db_stmt(db, sql_batch)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, date, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, retailer);
	sqlite3_bind_int64(st, 3, count);
	sqlite3_bind_int64(st, 4, gross);
	sqlite3_bind_int64(st, 5, tds);
	sqlite3_bind_int64(st, 6, net);
	if (prev > 0)
		sqlite3_bind_int64(st, 7, prev);
	sqlite3_bind_int64(st, 8, clock_now_ms());
	if (posting > 0)
		sqlite3_bind_int64(st, 9, posting);
	if (db_exec_stmt(db, st, "settlement batch") != 0)
		return -1;
	batch = sqlite3_last_insert_rowid(db->sql);
	if ((st = db_stmt(db, sql_items)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, end_ms);
	sqlite3_bind_int64(st, 2, retailer);
	sqlite3_bind_int64(st, 3, batch);
	if (db_exec_stmt(db, st, "settlement items") != 0)
		return -1;
	if (sqlite3_changes(db->sql) != count) {
		snprintf(db->error, sizeof db->error, "settlement batch %lld: %d postings, expected %lld",
		    (long long)batch, sqlite3_changes(db->sql), (long long)count);
		return -1;
	}
	return 0;
}

int
db_settle_run(struct db *db, const char *date, int64_t end_ms, int32_t tds_bp, const char *actor)
{
	static const char sql_run[] =
	    "INSERT INTO settlement_runs (date, actor, batches, created_at) VALUES (?1, ?2, 0, ?3)";
	static const char sql_count[] = "UPDATE settlement_runs SET batches = ?2 WHERE date = ?1";
	sqlite3_stmt *st;
	int64_t payout, tds_account, *ids;
	int n;

	if (db_settle_account(db, "payout", &payout) != 0 || db_settle_account(db, "tds", &tds_account) != 0)
		return -1;
	if ((st = db_stmt(db, sql_run)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, date, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, actor, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, clock_now_ms());
	if (db_exec_stmt(db, st, "settlement run") != 0)
		return -1;
	if ((n = db_settle_retailers(db, end_ms, &ids)) < 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (db_settle_retailer(db, date, end_ms, tds_bp, actor, ids[i], payout, tds_account) != 0) {
			free(ids);
			return -1;
		}
	free(ids);
	if ((st = db_stmt(db, sql_count)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, date, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n);
	if (db_exec_stmt(db, st, "settlement run count") != 0)
		return -1;
	return n;
}

int
db_settle_each(struct db *db, const char *date, void (*cb)(void *, const struct db_settle_batch *),
    void *arg)
{
	static const char sql[] =
	    "SELECT b.id, b.date, b.retailer_id, r.msisdn, r.name, r.bank_account, r.bank_ifsc, b.count,"
	    " b.gross, b.tds, b.net, coalesce(b.carried_from, 0), coalesce(b.posting_id, 0), b.created_at"
	    " FROM settlement_batches b JOIN retailers r ON r.id = b.retailer_id WHERE b.date = ?1"
	    " ORDER BY b.id";
	sqlite3_stmt *st = db_stmt(db, sql);
	struct db_settle_batch b;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, date, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		b.id = sqlite3_column_int64(st, 0);
		db_col_text(st, 1, b.date, sizeof b.date);
		b.retailer_id = sqlite3_column_int64(st, 2);
		db_col_text(st, 3, b.msisdn, sizeof b.msisdn);
		db_col_text(st, 4, b.name, sizeof b.name);
		db_col_text(st, 5, b.bank_account, sizeof b.bank_account);
		db_col_text(st, 6, b.bank_ifsc, sizeof b.bank_ifsc);
		b.count = sqlite3_column_int64(st, 7);
		b.gross = sqlite3_column_int64(st, 8);
		b.tds = sqlite3_column_int64(st, 9);
		b.net = sqlite3_column_int64(st, 10);
		b.carried_from = sqlite3_column_int64(st, 11);
		b.posting_id = sqlite3_column_int64(st, 12);
		b.created_at = sqlite3_column_int64(st, 13);
		cb(arg, &b);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "settlement batches");
}
