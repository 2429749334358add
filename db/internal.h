/* db/internal.h: shared by the files of db/ only (the public header is db/db.h). */
#ifndef RECHARGD_DB_INTERNAL_H
#define RECHARGD_DB_INTERNAL_H

#include <stdio.h>
#include <sqlite3.h>

#include "common/common.h"
#include "db/db.h"

#define DB_STMT_CACHE 128

struct db {
	sqlite3 *sql;
	int in_tx;
	int aborted;                   /* SQLite rolled back the open transaction itself */
	int savepoints;
	int last_rc;
	char error[256];
	int tx_fault;                  /* a storage fault (db_fault_class) inside the open transaction */
	char tx_fault_error[256];      /* its message, kept past later errors */
	struct { const char *text; sqlite3_stmt *st; } cache[DB_STMT_CACHE];
	int ncache;
};

/* Prepared once per statement text (keyed by the string's address), reset and
 * cleared for reuse. Returns NULL on error (db->error set). */
sqlite3_stmt *db_stmt(struct db *db, const char *sql);
/* Records a failure of rc for what and returns -1. */
int db_fail(struct db *db, int rc, const char *what);
/* Runs a statement that returns no rows; 0 or -1. */
int db_exec_stmt(struct db *db, sqlite3_stmt *st, const char *what);
/* Runs SQL without results (pragmas); -1 with db->error and last_rc set. */
int db_exec(struct db *db, const char *sql);
/* Copies column i as text into buf. */
void db_col_text(sqlite3_stmt *st, int i, char *buf, size_t cap);
int db_migrate(struct db *db, char **cause);
/* party.c: runs a PIN-failure statement (?1 id, ?2 limit, RETURNING pin_failures). */
int db_pin_failure_count(struct db *db, const char *sql, int64_t id, int limit, const char *what);

#endif
