/* db/ledger.c: double-entry postings. Balances change only here, and only together
 * with the ledger lines that explain them. */
#include "db/internal.h"

int
db_posting_add(struct db *db, const char *kind, int64_t txn, const char *actor,
    const char *note, const struct db_line *lines, int n)
{
	static const char sql_posting[] =
	    "INSERT INTO postings (kind, txn_id, actor, note, created_at) VALUES (?1, ?2, ?3, ?4, ?5)";
	/* txn_id: the posting's transaction, so its lines are found through it, not by
	 * account (ledger_lines_account indexes only the lines without one) */
	static const char sql_line[] =
	    "INSERT INTO ledger_lines (posting_id, account_id, amount, txn_id) VALUES (?1, ?2, ?3, ?6)";
	/* a recharge's postings all have two lines: one statement for both */
	static const char sql_pair[] =
	    "INSERT INTO ledger_lines (posting_id, account_id, amount, txn_id)"
	    " VALUES (?1, ?2, ?3, ?6), (?1, ?4, ?5, ?6)";
	/* the conditional update: never read-modify-write in C */
	static const char sql_apply[] =
	    "UPDATE accounts SET balance = balance + ?2 WHERE id = ?1"
	    " AND (kind <> 'wallet' OR balance + ?2 >= 0)";
	sqlite3_stmt *st;
	int64_t sum = 0, posting;

	for (int i = 0; i < n; i++)
		sum += lines[i].amount;
	if (sum != 0 || n < 2 || n > DB_POSTING_MAX_LINES) {
		snprintf(db->error, sizeof db->error, "posting %s does not balance", kind);
		return -1;
	}
	/* apply the balance changes first: an overdraw stops before anything is written */
	for (int i = 0; i < n; i++) {
		if ((st = db_stmt(db, sql_apply)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, lines[i].account);
		sqlite3_bind_int64(st, 2, lines[i].amount);
		if (db_exec_stmt(db, st, "posting apply") != 0)
			return -1;
		if (sqlite3_changes(db->sql) != 1) {
			if (i > 0) {
				snprintf(db->error, sizeof db->error, "posting %s: overdraw after %d lines", kind, i);
				return -1;   /* the caller rolls back its savepoint */
			}
			return 0;
		}
	}
	if ((st = db_stmt(db, sql_posting)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	if (txn > 0)
		sqlite3_bind_int64(st, 2, txn);
	sqlite3_bind_text(st, 3, actor ? actor : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, note ? note : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, clock_now_ms());
	if (db_exec_stmt(db, st, "posting insert") != 0)
		return -1;
	posting = sqlite3_last_insert_rowid(db->sql);
	if (n == 2) {
		if ((st = db_stmt(db, sql_pair)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, posting);
		sqlite3_bind_int64(st, 2, lines[0].account);
		sqlite3_bind_int64(st, 3, lines[0].amount);
		sqlite3_bind_int64(st, 4, lines[1].account);
		sqlite3_bind_int64(st, 5, lines[1].amount);
		if (txn > 0)
			sqlite3_bind_int64(st, 6, txn);
		return db_exec_stmt(db, st, "ledger lines") != 0 ? -1 : 1;
	}
	for (int i = 0; i < n; i++) {
		if ((st = db_stmt(db, sql_line)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, posting);
		sqlite3_bind_int64(st, 2, lines[i].account);
		sqlite3_bind_int64(st, 3, lines[i].amount);
		if (txn > 0)
			sqlite3_bind_int64(st, 6, txn);
		if (db_exec_stmt(db, st, "ledger line") != 0)
			return -1;
	}
	return 1;
}

int
db_account_balance(struct db *db, int64_t account, int64_t *balance)
{
	static const char sql[] = "SELECT balance FROM accounts WHERE id = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, account);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*balance = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "account balance");
}
