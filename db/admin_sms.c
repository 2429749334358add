/* db/admin_sms.c: what admin phones need beyond party.c: their PIN failure count and
 * lockout (the SMS admin commands), and the admin list and unlock of the CLI. */
#include <string.h>

#include "db/internal.h"

int
db_admin_pin_failed(struct db *db, int64_t id, int limit)
{
	static const char sql[] =
	    "UPDATE admins SET pin_failures = pin_failures + 1,"
	    " locked = CASE WHEN pin_failures + 1 >= ?2 THEN 1 ELSE locked END"
	    " WHERE id = ?1 RETURNING pin_failures";

	return db_pin_failure_count(db, sql, id, limit, "admin pin failed");
}

int
db_admin_pin_ok(struct db *db, int64_t id)
{
	static const char sql[] = "UPDATE admins SET pin_failures = 0 WHERE id = ?1 AND pin_failures <> 0";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return db_exec_stmt(db, st, "admin pin ok");
}

int
db_admin_unlock(struct db *db, int64_t id)
{
	static const char sql[] = "UPDATE admins SET locked = 0, pin_failures = 0 WHERE id = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return db_exec_stmt(db, st, "admin unlock");
}

int
db_admin_list(struct db *db, void (*cb)(void *, const struct db_admin *), void *arg)
{
	static const char sql[] =
	    "SELECT id, msisdn, pin_hash, pin_failures, locked FROM admins ORDER BY msisdn";
	sqlite3_stmt *st = db_stmt(db, sql);
	struct db_admin a;
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		a.id = sqlite3_column_int64(st, 0);
		db_col_text(st, 1, a.msisdn, sizeof a.msisdn);
		db_col_text(st, 2, a.pin_hash, sizeof a.pin_hash);
		a.pin_failures = sqlite3_column_int(st, 3);
		a.locked = sqlite3_column_int(st, 4);
		cb(arg, &a);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "admin list");
}
