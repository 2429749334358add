/* db/apikey.c: API keys. Only the hex SHA-256 of a key is stored, with its first
 * characters (the prefix) so lists can tell keys apart; the key itself never reaches
 * the database. */
#include <stdlib.h>
#include <string.h>

#include "db/internal.h"

#define DB_APIKEY_COLS "id, retailer_id, prefix, hash, allow_ips, created_at, revoked_at FROM api_keys"

static void
db_apikey_read(sqlite3_stmt *st, struct db_apikey *k)
{
	memset(k, 0, sizeof *k);
	k->id = sqlite3_column_int64(st, 0);
	k->retailer_id = sqlite3_column_int64(st, 1);
	db_col_text(st, 2, k->prefix, sizeof k->prefix);
	db_col_text(st, 3, k->hash, sizeof k->hash);
	db_col_text(st, 4, k->allow_ips, sizeof k->allow_ips);
	k->created_at = sqlite3_column_int64(st, 5);
	k->revoked_at = sqlite3_column_int64(st, 6);
}

/* created_at 0 means now; the stored time is written back with the id. 0 or -1 (an
 * unknown retailer fails its foreign key). */
int
db_apikey_add(struct db *db, struct db_apikey *k)
{
	static const char sql[] =
	    "INSERT INTO api_keys (retailer_id, prefix, hash, allow_ips, created_at, revoked_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	if (k->created_at <= 0)
		k->created_at = clock_now_ms();
	sqlite3_bind_int64(st, 1, k->retailer_id);
	sqlite3_bind_text(st, 2, k->prefix, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, k->hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, k->allow_ips, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, k->created_at);
	sqlite3_bind_int64(st, 6, k->revoked_at);
	if (db_exec_stmt(db, st, "api key insert") != 0)
		return -1;
	k->id = sqlite3_last_insert_rowid(db->sql);
	return 0;
}

/* By hash, revoked or not: the caller decides (revoked_at, allow-list). */
int
db_apikey_find(struct db *db, const char *hash, struct db_apikey *out)
{
	static const char sql[] = "SELECT " DB_APIKEY_COLS " WHERE hash = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		db_apikey_read(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "api key lookup");
}

/* All digits: an id; anything else is compared with the stored prefix exactly (keys
 * are case-sensitive). Only live keys are touched, so a second revoke returns 0. */
int
db_apikey_revoke(struct db *db, const char *id_or_prefix)
{
	static const char by_id[] =
	    "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at = 0";
	static const char by_prefix[] =
	    "UPDATE api_keys SET revoked_at = ?2 WHERE prefix = ?1 AND revoked_at = 0";
	size_t n = strlen(id_or_prefix);
	int is_id = n > 0 && n <= 18 && strspn(id_or_prefix, "0123456789") == n;
	sqlite3_stmt *st = db_stmt(db, is_id ? by_id : by_prefix);

	if (st == NULL)
		return -1;
	if (is_id)
		sqlite3_bind_int64(st, 1, strtoll(id_or_prefix, NULL, 10));
	else
		sqlite3_bind_text(st, 1, id_or_prefix, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, clock_now_ms());
	if (db_exec_stmt(db, st, "api key revoke") != 0)
		return -1;
	return sqlite3_changes(db->sql) > 0 ? 1 : 0;
}

/* Newest first. cb runs while the statement is active: it must not use the db. */
int
db_apikey_each(struct db *db, int64_t retailer, void (*cb)(void *, const struct db_apikey *), void *arg)
{
	static const char sql[] =
	    "SELECT " DB_APIKEY_COLS " WHERE ?1 = 0 OR retailer_id = ?1 ORDER BY id DESC";
	sqlite3_stmt *st = db_stmt(db, sql);
	struct db_apikey k;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, retailer);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		db_apikey_read(st, &k);
		cb(arg, &k);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "api key list");
}
