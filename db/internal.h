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
	struct db_refcache *ref;       /* reference data in memory (refcache.c); NULL: off */
};

/* refcache.c: what a reference lookup answered, kept until the tables may have changed */
enum { DB_REF_OPERATOR = 1, DB_REF_PLAN_SERVICE, DB_REF_COMMISSION, DB_REF_ROUTE, DB_REF_CIRCLE };
union db_ref_value {
	struct db_operator op;
	int32_t rate;
	char route[256];
};
/* The cached answer (1 found, 0 not found, value in *out) or -1: not cached, ask SQLite. */
int db_ref_get(struct db *db, int kind, const char *a, const char *b, union db_ref_value *out);
/* Keeps an answer (rc 0 or 1) of a lookup by a (and b); value may be NULL. */
void db_ref_put(struct db *db, int kind, const char *a, const char *b, int rc, const union db_ref_value *v);
/* The same for number series, by the mobile's first four digits. */
int db_ref_series_get(struct db *db, const char *mobile, char operator_code[16], char circle[3]);
void db_ref_series_put(struct db *db, const char *mobile, int rc, const char *operator_code, const char *circle);
/* Drops every answer: a reference table was written, or a rollback undid reads. */
void db_ref_flush(struct db *db);
/* Flushes if another connection committed since it last looked (PRAGMA data_version). */
int db_ref_check(struct db *db);
void db_refcache_free(struct db *db);

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
