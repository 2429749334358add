/* db/txn.c: recharge transactions. State moves only forward and only from PENDING,
 * by conditional updates, so two settlements of one transaction cannot both win. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "db/internal.h"

#define DB_TXN_COLS \
	"id, retailer_id, channel, coalesce(request_id, ''), service, operator, target, circle," \
	" amount, commission, state, error_code, provider, operator_ref, reply_to, reply_ton," \
	" reply_npi, notified, created_at, updated_at, coalesce(final_at, 0) FROM txns"

char *
db_txn_format_id(int64_t id, char *buf)
{
	snprintf(buf, 24, "TXN%09" PRId64, id);
	return buf;
}

int64_t
db_txn_parse_id(const char *text)
{
	char *end;

	if (strncasecmp(text, "TXN", 3) != 0 || text[3] < '0' || text[3] > '9' || strlen(text) > 21)
		return -1;
	long long v = strtoll(text + 3, &end, 10);
	return *end == '\0' && v > 0 ? v : -1;
}

static void
db_txn_read(sqlite3_stmt *st, struct db_txn *t)
{
	t->id = sqlite3_column_int64(st, 0);
	t->retailer_id = sqlite3_column_int64(st, 1);
	db_col_text(st, 2, t->channel, sizeof t->channel);
	db_col_text(st, 3, t->request_id, sizeof t->request_id);
	db_col_text(st, 4, t->service, sizeof t->service);
	db_col_text(st, 5, t->operator_code, sizeof t->operator_code);
	db_col_text(st, 6, t->target, sizeof t->target);
	db_col_text(st, 7, t->circle, sizeof t->circle);
	t->amount = sqlite3_column_int64(st, 8);
	t->commission = sqlite3_column_int64(st, 9);
	db_col_text(st, 10, t->state, sizeof t->state);
	t->error_code = sqlite3_column_int(st, 11);
	db_col_text(st, 12, t->provider, sizeof t->provider);
	db_col_text(st, 13, t->operator_ref, sizeof t->operator_ref);
	db_col_text(st, 14, t->reply_to, sizeof t->reply_to);
	t->reply_ton = sqlite3_column_int(st, 15);
	t->reply_npi = sqlite3_column_int(st, 16);
	db_col_text(st, 17, t->notified, sizeof t->notified);
	t->created_at = sqlite3_column_int64(st, 18);
	t->updated_at = sqlite3_column_int64(st, 19);
	t->final_at = sqlite3_column_int64(st, 20);
}

int
db_txn_insert(struct db *db, struct db_txn *t)
{
	static const char sql[] =
	    "INSERT INTO txns (retailer_id, channel, request_id, service, operator, target, circle,"
	    " amount, state, reply_to, reply_ton, reply_npi, created_at, updated_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'PENDING', ?9, ?10, ?11, ?12, ?12)";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	t->created_at = t->updated_at = clock_now_ms();
	strcpy(t->state, DB_STATE_PENDING);
	sqlite3_bind_int64(st, 1, t->retailer_id);
	sqlite3_bind_text(st, 2, t->channel, -1, SQLITE_STATIC);
	if (t->request_id[0] != '\0')
		sqlite3_bind_text(st, 3, t->request_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, t->service, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, t->operator_code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, t->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, t->circle, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, t->amount);
	sqlite3_bind_text(st, 9, t->reply_to, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 10, t->reply_ton);
	sqlite3_bind_int(st, 11, t->reply_npi);
	sqlite3_bind_int64(st, 12, t->created_at);
	if (db_exec_stmt(db, st, "txn insert") != 0)
		return -1;
	t->id = sqlite3_last_insert_rowid(db->sql);
	return 0;
}

static int
db_txn_one(struct db *db, sqlite3_stmt *st, struct db_txn *out)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		db_txn_read(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "txn lookup");
}

int
db_txn_get(struct db *db, int64_t id, struct db_txn *out)
{
	static const char sql[] = "SELECT " DB_TXN_COLS " WHERE id = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return db_txn_one(db, st, out);
}

int
db_txn_by_request(struct db *db, int64_t retailer, const char *request_id, struct db_txn *out)
{
	static const char sql[] = "SELECT " DB_TXN_COLS " WHERE retailer_id = ?1 AND request_id = ?2";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, retailer);
	sqlite3_bind_text(st, 2, request_id, -1, SQLITE_STATIC);
	return db_txn_one(db, st, out);
}

int
db_txn_finish(struct db *db, int64_t id, const char *state, int error_code,
    const char *provider, const char *operator_ref, int64_t commission, struct db_txn *t)
{
	static const char sql[] =
	    "UPDATE txns SET state = ?2, error_code = ?3, provider = coalesce(?4, provider),"
	    " operator_ref = ?5, commission = ?6, updated_at = ?7, final_at = ?7"
	    " WHERE id = ?1 AND state = 'PENDING'";
	sqlite3_stmt *st = db_stmt(db, sql);
	int64_t now = clock_now_ms();

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, error_code);
	if (provider != NULL)
		sqlite3_bind_text(st, 4, provider, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, operator_ref ? operator_ref : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, commission);
	sqlite3_bind_int64(st, 7, now);
	if (db_exec_stmt(db, st, "txn finish") != 0)
		return -1;
	if (sqlite3_changes(db->sql) != 1)
		return 0;
	/* what the UPDATE wrote, column by column (UPDATE ... RETURNING measured slower
	 * than the SELECT it would save) */
	if (t != NULL) {
		strlcpy_safe(t->state, state, sizeof t->state);
		t->error_code = error_code;
		if (provider != NULL)
			strlcpy_safe(t->provider, provider, sizeof t->provider);
		strlcpy_safe(t->operator_ref, operator_ref ? operator_ref : "", sizeof t->operator_ref);
		t->commission = commission;
		t->updated_at = t->final_at = now;
	}
	return 1;
}

int
db_txn_set_provider(struct db *db, int64_t id, const char *provider)
{
	static const char sql[] = "UPDATE txns SET provider = ?2, updated_at = ?3 WHERE id = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, provider, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, clock_now_ms());
	return db_exec_stmt(db, st, "txn provider");
}

int
db_txn_set_notified(struct db *db, int64_t id, const char *state)
{
	static const char sql[] = "UPDATE txns SET notified = ?2 WHERE id = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	return db_exec_stmt(db, st, "txn notified");
}

int
db_txn_duplicate(struct db *db, int64_t retailer, const char *target,
    const char *operator_code, int64_t amount, int64_t since_ms)
{
	static const char sql[] =
	    "SELECT 1 FROM txns WHERE retailer_id = ?1 AND target = ?2 AND operator = ?3 AND amount = ?4"
	    " AND (state = 'PENDING' OR (state = 'SUCCESS' AND final_at >= ?5)) LIMIT 1";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, retailer);
	sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, operator_code, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, amount);
	sqlite3_bind_int64(st, 5, since_ms);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "duplicate check");
}

int
db_txn_sum_since(struct db *db, int64_t retailer, int64_t since_ms, int64_t *sum)
{
	static const char sql[] =
	    "SELECT coalesce(sum(amount), 0) FROM txns INDEXED BY txns_retailer_day"
	    " WHERE retailer_id = ?1 AND created_at >= ?2 AND state IN ('PENDING', 'SUCCESS')";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, retailer);
	sqlite3_bind_int64(st, 2, since_ms);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*sum = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : db_fail(db, rc, "daily sum");
}

int
db_txn_latest(struct db *db, int64_t retailer, struct db_txn *out, int n)
{
	/* the order txns_retailer_day keeps: a clock stepped back orders by time, not id */
	static const char sql[] = "SELECT " DB_TXN_COLS " INDEXED BY txns_retailer_day"
	    " WHERE retailer_id = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc, i = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, retailer);
	sqlite3_bind_int(st, 2, n);
	while (i < n && (rc = sqlite3_step(st)) == SQLITE_ROW)
		db_txn_read(st, &out[i++]);
	sqlite3_reset(st);
	return i;
}

/* Rows are read into a local first: the callback may run other statements. */
static int
db_txn_iterate(struct db *db, sqlite3_stmt *st, void (*cb)(void *, const struct db_txn *), void *arg)
{
	struct db_txn *rows = NULL, *grown;
	size_t n = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((grown = realloc(rows, cap * sizeof *rows)) == NULL) {
				free(rows);
				sqlite3_reset(st);
				return -1;
			}
			rows = grown;
		}
		db_txn_read(st, &rows[n++]);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(rows);
		return db_fail(db, rc, "txn list");
	}
	for (size_t i = 0; i < n; i++)
		cb(arg, &rows[i]);
	free(rows);
	return 0;
}

int
db_txn_each_pending(struct db *db, void (*cb)(void *, const struct db_txn *), void *arg)
{
	static const char sql[] = "SELECT " DB_TXN_COLS " WHERE state = 'PENDING' ORDER BY id";
	sqlite3_stmt *st = db_stmt(db, sql);

	return st == NULL ? -1 : db_txn_iterate(db, st, cb, arg);
}

int
db_txn_each(struct db *db, int64_t retailer, int limit,
    void (*cb)(void *, const struct db_txn *), void *arg)
{
	static const char sql[] =
	    "SELECT " DB_TXN_COLS " WHERE (?1 = 0 OR retailer_id = ?1) ORDER BY id DESC LIMIT ?2";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, retailer);
	sqlite3_bind_int(st, 2, limit > 0 ? limit : -1);
	return db_txn_iterate(db, st, cb, arg);
}

int
db_txn_each_unnotified(struct db *db, int64_t before_ms, void (*cb)(void *, const struct db_txn *), void *arg)
{
	static const char sql[] =
	    "SELECT " DB_TXN_COLS " WHERE state = 'PENDING' AND channel = 'sms' AND notified = ''"
	    " AND created_at <= ?1 ORDER BY id LIMIT 1000";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, before_ms);
	return db_txn_iterate(db, st, cb, arg);
}

int
db_txn_reverse(struct db *db, int64_t id)
{
	static const char sql[] =
	    "UPDATE txns SET state = 'REVERSED', updated_at = ?2 WHERE id = ?1 AND state = 'SUCCESS'";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, clock_now_ms());
	if (db_exec_stmt(db, st, "txn reverse") != 0)
		return -1;
	return sqlite3_changes(db->sql) == 1 ? 1 : 0;
}

int
db_txn_any_stuck(struct db *db, int64_t before_ms)
{
	static const char sql[] =
	    "SELECT 1 FROM txns WHERE state = 'PENDING' AND stuck_alerted = 0 AND created_at <= ?1 LIMIT 1";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, before_ms);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "stuck check");
}

int
db_txn_each_stuck(struct db *db, int64_t before_ms, void (*cb)(void *, const struct db_txn *), void *arg)
{
	static const char sql[] =
	    "SELECT " DB_TXN_COLS " WHERE state = 'PENDING' AND stuck_alerted = 0 AND created_at <= ?1"
	    " ORDER BY id LIMIT 100";
	static const char sql_mark[] = "UPDATE txns SET stuck_alerted = 1 WHERE id = ?1";
	struct db_txn rows[100];
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc, n = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, before_ms);
	while (n < 100 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		db_txn_read(st, &rows[n++]);
	sqlite3_reset(st);
	for (int i = 0; i < n; i++) {
		if ((st = db_stmt(db, sql_mark)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, rows[i].id);
		if (db_exec_stmt(db, st, "txn stuck mark") != 0)
			return -1;
		cb(arg, &rows[i]);
	}
	return n;
}

int
db_txn_settled(struct db *db, int64_t id)
{
	/* the state alone, by the primary key: the API's check after a settlement commits */
	static const char sql[] = "SELECT state <> 'PENDING' FROM txns WHERE id = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc, settled = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		settled = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return settled ? 1 : 0;
	return db_fail(db, rc, "txn state");
}
