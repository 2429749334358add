/* db/fault.c: what a failure of SQLite means for the daemon (busy for a moment, or the
 * store itself cannot take writes), and the probe that tells when it can again. */
#include <stdio.h>

#include "db/internal.h"

enum db_fault
db_fault_class(int sqlite_rc)
{
	switch (sqlite_rc & 0xff) {
	case SQLITE_OK: case SQLITE_ROW: case SQLITE_DONE:
		return DB_FAULT_NONE;
	case SQLITE_BUSY: case SQLITE_LOCKED: case SQLITE_PROTOCOL:
		return DB_FAULT_BUSY;
	case SQLITE_FULL: case SQLITE_READONLY: case SQLITE_IOERR: case SQLITE_CANTOPEN:
	case SQLITE_CORRUPT: case SQLITE_NOTADB: case SQLITE_PERM:
		return DB_FAULT_STORAGE;
	default:
		return DB_FAULT_OTHER;
	}
}

enum db_fault
db_last_fault(struct db *db)
{
	return db_fault_class(db->last_rc);
}

int
db_probe_delay_ms(int failures)
{
	int ms = DB_PROBE_MIN_MS;

	for (int i = 1; i < failures && ms < DB_PROBE_MAX_MS; i++)
		ms *= 2;
	return ms < DB_PROBE_MAX_MS ? ms : DB_PROBE_MAX_MS;
}

/* Writing the schema version back dirties page 1, so the commit appends a WAL frame
 * and syncs it: the same path every batch takes, at the cost of one page. */
int
db_probe_write(struct db *db)
{
	char sql[64];
	int v = db_schema_version(db);

	if (v < 0) {
		db->last_rc = SQLITE_IOERR;
		snprintf(db->error, sizeof db->error, "probe: cannot read the schema version: %s",
		    sqlite3_errmsg(db->sql));
		return -1;
	}
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
	if (db_begin(db) != 0)
		return -1;
	if (db_exec(db, sql) != 0) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db);
}
