/* db/party.c: retailers and admins, the people who may send commands. */
#include <string.h>

#include "db/internal.h"

#define DB_RETAILER_COLS \
	"r.id, r.msisdn, r.name, r.plan, r.wallet_account, r.commission_account, r.pin_hash," \
	" r.pin_failures, r.locked, r.blocked, r.disabled, r.daily_limit, r.bank_account," \
	" r.bank_ifsc, w.balance, c.balance, r.created_at" \
	" FROM retailers r JOIN accounts w ON w.id = r.wallet_account" \
	" JOIN accounts c ON c.id = r.commission_account"

static void
db_retailer_read(sqlite3_stmt *st, struct db_retailer *r)
{
	r->id = sqlite3_column_int64(st, 0);
	db_col_text(st, 1, r->msisdn, sizeof r->msisdn);
	db_col_text(st, 2, r->name, sizeof r->name);
	db_col_text(st, 3, r->plan, sizeof r->plan);
	r->wallet_account = sqlite3_column_int64(st, 4);
	r->commission_account = sqlite3_column_int64(st, 5);
	db_col_text(st, 6, r->pin_hash, sizeof r->pin_hash);
	r->pin_failures = sqlite3_column_int(st, 7);
	r->locked = sqlite3_column_int(st, 8);
	r->blocked = sqlite3_column_int(st, 9);
	r->disabled = sqlite3_column_int(st, 10);
	r->daily_limit = sqlite3_column_int64(st, 11);
	db_col_text(st, 12, r->bank_account, sizeof r->bank_account);
	db_col_text(st, 13, r->bank_ifsc, sizeof r->bank_ifsc);
	r->balance = sqlite3_column_int64(st, 14);
	r->commission = sqlite3_column_int64(st, 15);
	r->created_at = sqlite3_column_int64(st, 16);
}

/* One-row lookup shared by find and get. */
static int
db_retailer_one(struct db *db, sqlite3_stmt *st, struct db_retailer *out)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		db_retailer_read(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "retailer lookup");
}

int
db_retailer_find(struct db *db, const char *msisdn, struct db_retailer *out)
{
	static const char sql[] = "SELECT " DB_RETAILER_COLS " WHERE r.msisdn = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, msisdn, -1, SQLITE_STATIC);
	return db_retailer_one(db, st, out);
}

int
db_retailer_get(struct db *db, int64_t id, struct db_retailer *out)
{
	static const char sql[] = "SELECT " DB_RETAILER_COLS " WHERE r.id = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return db_retailer_one(db, st, out);
}

int
db_retailer_each(struct db *db, void (*cb)(void *, const struct db_retailer *), void *arg)
{
	static const char sql[] = "SELECT " DB_RETAILER_COLS " ORDER BY r.msisdn";
	sqlite3_stmt *st = db_stmt(db, sql);
	struct db_retailer r;
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		db_retailer_read(st, &r);
		cb(arg, &r);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "retailer list");
}

/* Creates an account row and returns its id, or -1. */
static int64_t
db_account_new(struct db *db, const char *kind, const char *name)
{
	static const char sql[] = "INSERT INTO accounts (kind, name) VALUES (?1, ?2)";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if (db_exec_stmt(db, st, "account insert") != 0)
		return -1;
	return sqlite3_last_insert_rowid(db->sql);
}

int
db_retailer_add(struct db *db, struct db_retailer *r)
{
	static const char sql[] =
	    "INSERT INTO retailers (msisdn, name, plan, wallet_account, commission_account, pin_hash,"
	    " daily_limit, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
	struct db_retailer old;
	char name[48];
	int found = db_retailer_find(db, r->msisdn, &old);

	if (found != 0)
		return found < 0 ? -1 : 0;
	snprintf(name, sizeof name, "wallet:%s", r->msisdn);
	if ((r->wallet_account = db_account_new(db, "wallet", name)) < 0)
		return -1;
	snprintf(name, sizeof name, "commission:%s", r->msisdn);
	if ((r->commission_account = db_account_new(db, "commission", name)) < 0)
		return -1;
	sqlite3_stmt *st = db_stmt(db, sql);
	if (st == NULL)
		return -1;
	r->created_at = clock_now_ms();
	sqlite3_bind_text(st, 1, r->msisdn, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->plan, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, r->wallet_account);
	sqlite3_bind_int64(st, 5, r->commission_account);
	sqlite3_bind_text(st, 6, r->pin_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, r->daily_limit);
	sqlite3_bind_int64(st, 8, r->created_at);
	if (db_exec_stmt(db, st, "retailer insert") != 0)
		return -1;
	r->id = sqlite3_last_insert_rowid(db->sql);
	return 1;
}

int
db_retailer_set_pin(struct db *db, int64_t id, const char *pin_hash)
{
	static const char sql[] = "UPDATE retailers SET pin_hash = ?2, pin_failures = 0 WHERE id = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, pin_hash, -1, SQLITE_STATIC);
	return db_exec_stmt(db, st, "retailer set pin");
}

/* Runs an "add one failure, lock at the limit, RETURNING pin_failures" statement: the
 * count and the lock change in one statement, so two wrong PINs in one batch count twice. */
int
db_pin_failure_count(struct db *db, const char *sql, int64_t id, int limit, const char *what)
{
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc, n = -1;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, limit);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return db_fail(db, rc, what);
	return n;
}

int
db_retailer_pin_failed(struct db *db, int64_t id, int limit)
{
	static const char sql[] =
	    "UPDATE retailers SET pin_failures = pin_failures + 1,"
	    " locked = CASE WHEN pin_failures + 1 >= ?2 THEN 1 ELSE locked END"
	    " WHERE id = ?1 RETURNING pin_failures";

	return db_pin_failure_count(db, sql, id, limit, "pin failed");
}

int
db_retailer_pin_ok(struct db *db, int64_t id)
{
	static const char sql[] = "UPDATE retailers SET pin_failures = 0 WHERE id = ?1 AND pin_failures <> 0";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return db_exec_stmt(db, st, "pin ok");
}

int
db_retailer_set_flag(struct db *db, int64_t id, const char *flag, int value)
{
	static const char sql_locked[] = "UPDATE retailers SET locked = ?2, pin_failures = 0 WHERE id = ?1";
	static const char sql_blocked[] = "UPDATE retailers SET blocked = ?2 WHERE id = ?1";
	static const char sql_disabled[] = "UPDATE retailers SET disabled = ?2 WHERE id = ?1";
	const char *sql = strcmp(flag, "locked") == 0 ? sql_locked :
	    strcmp(flag, "blocked") == 0 ? sql_blocked :
	    strcmp(flag, "disabled") == 0 ? sql_disabled : NULL;
	sqlite3_stmt *st;

	if (sql == NULL || (st = db_stmt(db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, value);
	return db_exec_stmt(db, st, "retailer flag");
}

int
db_admin_find(struct db *db, const char *msisdn, struct db_admin *out)
{
	static const char sql[] = "SELECT id, msisdn, pin_hash, pin_failures, locked FROM admins WHERE msisdn = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, msisdn, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(st, 0);
		db_col_text(st, 1, out->msisdn, sizeof out->msisdn);
		db_col_text(st, 2, out->pin_hash, sizeof out->pin_hash);
		out->pin_failures = sqlite3_column_int(st, 3);
		out->locked = sqlite3_column_int(st, 4);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "admin find");
}

int
db_admin_add(struct db *db, const char *msisdn, const char *pin_hash)
{
	static const char sql[] =
	    "INSERT INTO admins (msisdn, pin_hash, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, msisdn, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, pin_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, clock_now_ms());
	if (db_exec_stmt(db, st, "admin insert") != 0)
		return -1;
	return sqlite3_changes(db->sql) == 1 ? 1 : 0;
}

int
db_admin_each(struct db *db, void (*cb)(void *, const char *msisdn), void *arg)
{
	static const char sql[] = "SELECT msisdn FROM admins ORDER BY msisdn LIMIT 100";
	sqlite3_stmt *st = db_stmt(db, sql);
	char list[100][16];
	int rc, n = 0;

	if (st == NULL)
		return -1;
	while (n < 100 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		db_col_text(st, 0, list[n++], sizeof list[0]);
	sqlite3_reset(st);
	for (int i = 0; i < n; i++)
		cb(arg, list[i]);
	return 0;
}
