/* db/provider.c: provider health, written by the daemon, read by rechargectl. */
#include <string.h>

#include "db/internal.h"

int
db_provider_state_put(struct db *db, const struct db_provider_state *p)
{
	static const char sql[] =
	    "INSERT INTO provider_state (name, failures, breaker_open_until, last_ok_at, last_error,"
	    " balance, balance_at, low_balance_alerted, updated_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (name) DO UPDATE SET"
	    " failures = excluded.failures, breaker_open_until = excluded.breaker_open_until,"
	    " last_ok_at = excluded.last_ok_at, last_error = excluded.last_error,"
	    " balance = excluded.balance, balance_at = excluded.balance_at,"
	    " low_balance_alerted = excluded.low_balance_alerted, updated_at = excluded.updated_at";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, p->failures);
	sqlite3_bind_int64(st, 3, p->breaker_open_until);
	if (p->last_ok_at > 0)
		sqlite3_bind_int64(st, 4, p->last_ok_at);
	sqlite3_bind_text(st, 5, p->last_error, -1, SQLITE_STATIC);
	if (p->has_balance) {
		sqlite3_bind_int64(st, 6, p->balance);
		sqlite3_bind_int64(st, 7, p->balance_at);
	}
	sqlite3_bind_int(st, 8, p->low_balance_alerted);
	sqlite3_bind_int64(st, 9, clock_now_ms());
	return db_exec_stmt(db, st, "provider state");
}

static void
db_provider_state_read(sqlite3_stmt *st, struct db_provider_state *p)
{
	memset(p, 0, sizeof *p);
	db_col_text(st, 0, p->name, sizeof p->name);
	p->failures = sqlite3_column_int(st, 1);
	p->breaker_open_until = sqlite3_column_int64(st, 2);
	p->last_ok_at = sqlite3_column_int64(st, 3);
	db_col_text(st, 4, p->last_error, sizeof p->last_error);
	p->has_balance = sqlite3_column_type(st, 5) != SQLITE_NULL;
	p->balance = sqlite3_column_int64(st, 5);
	p->balance_at = sqlite3_column_int64(st, 6);
	p->low_balance_alerted = sqlite3_column_int(st, 7);
	p->updated_at = sqlite3_column_int64(st, 8);
}

#define DB_PROVIDER_COLS "name, failures, breaker_open_until, last_ok_at, coalesce(last_error, ''),"\
	" balance, balance_at, low_balance_alerted, updated_at FROM provider_state"

int
db_provider_state_get(struct db *db, const char *name, struct db_provider_state *out)
{
	static const char sql[] = "SELECT " DB_PROVIDER_COLS " WHERE name = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		db_provider_state_read(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "provider state");
}

int
db_provider_state_each(struct db *db, void (*cb)(void *, const struct db_provider_state *), void *arg)
{
	static const char sql[] = "SELECT " DB_PROVIDER_COLS " ORDER BY name LIMIT 64";
	sqlite3_stmt *st = db_stmt(db, sql);
	struct db_provider_state rows[64];
	int rc, n = 0;

	if (st == NULL)
		return -1;
	while (n < 64 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		db_provider_state_read(st, &rows[n++]);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(db, rc, "provider states");
	for (int i = 0; i < n; i++)
		cb(arg, &rows[i]);
	return 0;
}
