/* db/db.c: opening SQLite the way a ledger needs it, the statement cache and
 * transactions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/internal.h"

/* In memory below this, a temporary file above (a bulk statement of rechargectl). */
#define DB_STMTJRNL_SPILL (1 << 20)

/* A short wait only: the daemon retries on a timer rather than block its loop. */
#define DB_BUSY_TIMEOUT_MS 200

int
db_fail(struct db *db, int rc, const char *what)
{
	/* SQLITE_FULL, IOERR, NOMEM... may roll the whole transaction back */
	if (db->in_tx && sqlite3_get_autocommit(db->sql))
		db->aborted = 1;
	db->last_rc = rc;
	snprintf(db->error, sizeof db->error, "%s: %s", what, sqlite3_errmsg(db->sql));
	/* a statement's savepoint may absorb it, but the store is failing all the same */
	if (db->in_tx && !db->tx_fault && db_fault_class(rc) == DB_FAULT_STORAGE) {
		db->tx_fault = rc;
		memcpy(db->tx_fault_error, db->error, sizeof db->tx_fault_error);
	}
	return -1;
}

const char *
db_error(struct db *db)
{
	return db->error;
}

sqlite3_stmt *
db_stmt(struct db *db, const char *sql)
{
	int i, rc;
	sqlite3_stmt *st;

	for (i = 0; i < db->ncache; i++) {
		if (db->cache[i].text == sql) {
			st = db->cache[i].st;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	}
	rc = sqlite3_prepare_v3(db->sql, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		db_fail(db, rc, "prepare");
		return NULL;
	}
	if (db->ncache == DB_STMT_CACHE)
		fatal("db statement cache full: raise DB_STMT_CACHE");
	db->cache[db->ncache].text = sql;
	db->cache[db->ncache].st = st;
	db->ncache++;
	return st;
}

int
db_exec_stmt(struct db *db, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_fail(db, rc, what);
	sqlite3_reset(st);
	return 0;
}

void
db_col_text(sqlite3_stmt *st, int i, char *buf, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	strlcpy_safe(buf, t == NULL ? "" : (const char *)t, cap);
}

int
db_exec(struct db *db, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(db->sql, sql, NULL, NULL, &err);

	if (rc != SQLITE_OK) {
		db->last_rc = rc;
		snprintf(db->error, sizeof db->error, "%s", err ? err : sqlite3_errstr(rc));
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

/* Before SQLite initializes: no allocation statistics, which take a global mutex on
 * every malloc and free. Nothing reads them (sqlite3_memory_used is never called). */
static int db_stmtjrnl_spill_set;   /* else SQLite was initialized before: keep 64 KB */

static void
db_library_init(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);   /* MISUSE once initialized: harmless */
	/* A savepoint's statement journal stays in memory up to this size, in one chunk
	 * (see temp_store in db_open); a recharge's is some tens of KB. */
	db_stmtjrnl_spill_set = sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, DB_STMTJRNL_SPILL) == SQLITE_OK;
}

struct db *
db_open(const char *path, int create, char **cause)
{
	struct db *db = xcalloc(1, sizeof *db);
	/* one thread uses a connection (rechargd's loop, rechargectl's main): SQLite's
	 * per-call mutex was ~4% of the daemon's CPU under load */
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	int rc;

	db_library_init();
	rc = sqlite3_open_v2(path, &db->sql, flags, NULL);

	if (rc != SQLITE_OK) {
		if (asprintf(cause, "%s: %s", path, db->sql ? sqlite3_errmsg(db->sql) : sqlite3_errstr(rc)) < 0)
			*cause = NULL;
		db_close(db);
		return NULL;
	}
	sqlite3_extended_result_codes(db->sql, 1);
	sqlite3_busy_timeout(db->sql, DB_BUSY_TIMEOUT_MS);
	if (db_exec(db, "PRAGMA journal_mode=WAL") != 0 ||
	    db_exec(db, "PRAGMA synchronous=FULL") != 0 ||
	    /* Savepoints inside a group-commit transaction journal every page they touch.
	     * With SQLite's default 64 KB spill that went to /var/tmp (~30 pwrites per
	     * recharge); temp_store=MEMORY kept it in memory but in 1 KB chunks, ~5
	     * malloc/free per page. temp_store=FILE with DB_STMTJRNL_SPILL: memory in one
	     * chunk, a file only past 1 MB, which no recharge reaches. */
	    db_exec(db, db_stmtjrnl_spill_set ? "PRAGMA temp_store=FILE" : "PRAGMA temp_store=MEMORY") != 0 ||
	    db_exec(db, "PRAGMA foreign_keys=ON") != 0 ||
	    /* deleted rows (long MO parts) and overwritten ones leave no text behind */
	    db_exec(db, "PRAGMA secure_delete=FAST") != 0 ||
	    db_migrate(db, cause) != 0) {
		if (*cause == NULL && asprintf(cause, "%s: %s", path, db->error) < 0)
			*cause = NULL;
		db_close(db);
		return NULL;
	}
	return db;
}

/* Sized for the daemon's working set: every recharge dirties a leaf of each per-retailer
 * index (txns by retailer, day, duplicate key and request; ledger lines by account), so
 * with a few hundred active retailers SQLite's 2 MB default evicted and reread them, and
 * spilled dirty pages to the WAL mid-transaction (docs/performance.md). */
int
db_cache_set(struct db *db, int mb)
{
	char sql[64];

	snprintf(sql, sizeof sql, "PRAGMA cache_size=%d", -1024 * mb);
	return db_exec(db, sql);
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	for (int i = 0; i < db->ncache; i++)
		sqlite3_finalize(db->cache[i].st);
	db_refcache_free(db);
	sqlite3_close(db->sql);
	free(db);
}

int
db_aborted(struct db *db)
{
	return db->aborted;
}

const char *
db_tx_storage_fault(struct db *db)
{
	return db->tx_fault ? db->tx_fault_error : NULL;
}

int
db_begin(struct db *db)
{
	static const char sql[] = "BEGIN IMMEDIATE";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL || db_exec_stmt(db, st, "begin") != 0)
		return -1;
	db->in_tx = 1;
	db->aborted = 0;
	db->tx_fault = 0;
	/* no other connection commits until this transaction ends */
	if (db_ref_check(db) != 0) {
		db_rollback(db);
		return -1;
	}
	return 0;
}

int
db_commit(struct db *db)
{
	static const char sql[] = "COMMIT";
	sqlite3_stmt *st;

	if (db->aborted) {
		/* the cause is the statement's failure that made SQLite roll back */
		char cause[sizeof db->error];
		memcpy(cause, db->error, sizeof cause);
		snprintf(db->error, sizeof db->error, "commit: SQLite rolled the transaction back after %.200s",
		    cause);
		db_rollback(db);
		return -1;
	}
	st = db_stmt(db, sql);
	if (st == NULL || db_exec_stmt(db, st, "commit") != 0) {
		db_rollback(db);
		return -1;
	}
	db->in_tx = 0;
	return 0;
}

void
db_rollback(struct db *db)
{
	if (sqlite3_get_autocommit(db->sql) == 0) {
		int rc = db->last_rc;
		char keep[sizeof db->error];
		memcpy(keep, db->error, sizeof keep);
		db_exec(db, "ROLLBACK");
		db->last_rc = rc;
		memcpy(db->error, keep, sizeof keep);
	}
	db->in_tx = 0;
	db->aborted = 0;
	db->savepoints = 0;
	db_ref_flush(db);
}

int
db_in_transaction(struct db *db)
{
	return sqlite3_get_autocommit(db->sql) == 0;
}

int
db_savepoint(struct db *db)
{
	static const char sql[] = "SAVEPOINT m";
	sqlite3_stmt *st;

	/* outside a transaction a savepoint would open one that commits on release */
	if (db->aborted || !db->in_tx) {
		snprintf(db->error, sizeof db->error, "savepoint outside the batch's transaction");
		return -1;
	}
	st = db_stmt(db, sql);
	return st == NULL ? -1 : db_exec_stmt(db, st, "savepoint");
}

int
db_release(struct db *db)
{
	static const char sql[] = "RELEASE m";
	sqlite3_stmt *st = db_stmt(db, sql);

	return st == NULL ? -1 : db_exec_stmt(db, st, "release");
}

void
db_rollback_to(struct db *db)
{
	int rc = db->last_rc;
	char keep[sizeof db->error];

	memcpy(keep, db->error, sizeof keep);
	if (sqlite3_get_autocommit(db->sql) == 0) {
		db_exec(db, "ROLLBACK TO m");
		db_exec(db, "RELEASE m");
	}
	db_ref_flush(db);
	db->last_rc = rc;
	memcpy(db->error, keep, sizeof keep);
}

int
db_schema_version(struct db *db)
{
	static const char sql[] = "PRAGMA user_version";
	sqlite3_stmt *st = db_stmt(db, sql);
	int v = -1;

	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	if (st != NULL)
		sqlite3_reset(st);
	return v;
}
