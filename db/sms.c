/* db/sms.c: the durable inbox (stored before deliver_sm_resp) and outbox (stored
 * before submit_sm, kept until the SMSC accepts). */
#include <stdlib.h>
#include <string.h>

#include "db/internal.h"

int
db_sms_in_add(struct db *db, struct db_sms_in *m)
{
	static const char sql[] =
	    "INSERT INTO sms_in (source_addr, source_ton, source_npi, dest_addr, data_coding, text,"
	    " received_at, fp) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	m->received_at = clock_now_ms();
	sqlite3_bind_text(st, 1, m->source_addr, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, m->source_ton);
	sqlite3_bind_int(st, 3, m->source_npi);
	sqlite3_bind_text(st, 4, m->dest_addr, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, m->data_coding);
	sqlite3_bind_text(st, 6, m->text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, m->received_at);
	if (m->fp != 0)
		sqlite3_bind_int64(st, 8, (int64_t)m->fp);
	if (db_exec_stmt(db, st, "sms_in insert") != 0)
		return -1;
	m->id = sqlite3_last_insert_rowid(db->sql);
	return 0;
}

int
db_sms_in_done(struct db *db, int64_t id, int64_t txn, const char *text, uint64_t fp)
{
	static const char sql[] =
	    "UPDATE sms_in SET processed_at = ?2, txn_id = ?3, text = coalesce(?4, text),"
	    " fp = coalesce(?5, fp) WHERE id = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, clock_now_ms());
	if (txn > 0)
		sqlite3_bind_int64(st, 3, txn);
	if (text != NULL)
		sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
	if (fp != 0)
		sqlite3_bind_int64(st, 5, (int64_t)fp);
	return db_exec_stmt(db, st, "sms_in done");
}

int
db_sms_in_each_recent(struct db *db, int n, void (*cb)(void *, const struct db_sms_in *), void *arg)
{
	static const char sql[] =
	    "SELECT id, source_addr, dest_addr, data_coding, received_at, fp FROM sms_in"
	    " WHERE id > (SELECT coalesce(max(id), 0) FROM sms_in) - ?1 AND processed_at IS NOT NULL"
	    " AND fp IS NOT NULL ORDER BY id DESC";
	sqlite3_stmt *st = db_stmt(db, sql);
	struct db_sms_in *m = xcalloc(1, sizeof *m);
	int rc;

	if (st == NULL) {
		free(m);
		return -1;
	}
	sqlite3_bind_int(st, 1, n);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		m->id = sqlite3_column_int64(st, 0);
		db_col_text(st, 1, m->source_addr, sizeof m->source_addr);
		db_col_text(st, 2, m->dest_addr, sizeof m->dest_addr);
		m->data_coding = sqlite3_column_int(st, 3);
		m->received_at = sqlite3_column_int64(st, 4);
		m->fp = (uint64_t)sqlite3_column_int64(st, 5);
		cb(arg, m);
	}
	sqlite3_reset(st);
	free(m);
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "recent MOs");
}

int
db_sms_in_pending(struct db *db, struct db_sms_in *out, int n)
{
	static const char sql[] =
	    "SELECT id, source_addr, source_ton, source_npi, dest_addr, data_coding, text, received_at"
	    " FROM sms_in WHERE processed_at IS NULL ORDER BY id LIMIT ?1";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc, i = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int(st, 1, n);
	while (i < n && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_sms_in *m = &out[i++];
		m->id = sqlite3_column_int64(st, 0);
		db_col_text(st, 1, m->source_addr, sizeof m->source_addr);
		m->source_ton = sqlite3_column_int(st, 2);
		m->source_npi = sqlite3_column_int(st, 3);
		db_col_text(st, 4, m->dest_addr, sizeof m->dest_addr);
		m->data_coding = sqlite3_column_int(st, 5);
		db_col_text(st, 6, m->text, sizeof m->text);
		m->received_at = sqlite3_column_int64(st, 7);
	}
	sqlite3_reset(st);
	return i;
}

/* The insert of both lanes; lane DB_LANE_ANSWER means "unless bulk is queued for dest". */
static int64_t
db_sms_out_insert(struct db *db, const char *dest, int ton, int npi, const char *text,
    int64_t sms_in, int64_t txn, int lane)
{
	static const char sql[] =
	    "INSERT INTO sms_out (dest_addr, dest_ton, dest_npi, text, sms_in_id, txn_id, created_at, lane)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, CASE WHEN ?8 = 1 OR EXISTS (SELECT 1 FROM sms_out"
	    " WHERE state = 'queued' AND dest_addr = ?1 AND lane = 1) THEN 1 ELSE 0 END)";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, dest, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, ton);
	sqlite3_bind_int(st, 3, npi);
	sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
	if (sms_in > 0)
		sqlite3_bind_int64(st, 5, sms_in);
	if (txn > 0)
		sqlite3_bind_int64(st, 6, txn);
	sqlite3_bind_int64(st, 7, clock_now_ms());
	sqlite3_bind_int(st, 8, lane);
	if (db_exec_stmt(db, st, "sms_out insert") != 0)
		return -1;
	return sqlite3_last_insert_rowid(db->sql);
}

int64_t
db_sms_out_add(struct db *db, const char *dest, int ton, int npi, const char *text,
    int64_t sms_in, int64_t txn)
{
	return db_sms_out_insert(db, dest, ton, npi, text, sms_in, txn, DB_LANE_BULK);
}

int64_t
db_sms_out_answer(struct db *db, const char *dest, int ton, int npi, const char *text,
    int64_t sms_in, int64_t txn)
{
	return db_sms_out_insert(db, dest, ton, npi, text, sms_in, txn, DB_LANE_ANSWER);
}

int
db_sms_out_queued(struct db *db, int lane, int64_t after, struct db_sms_out *out, int n)
{
	static const char sql[] =
	    "SELECT id, dest_addr, dest_ton, dest_npi, text, attempts FROM sms_out"
	    " WHERE state = 'queued' AND lane = ?3 AND id > ?1 ORDER BY id LIMIT ?2";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc, i = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, n);
	sqlite3_bind_int(st, 3, lane);
	while (i < n && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_sms_out *m = &out[i++];
		m->id = sqlite3_column_int64(st, 0);
		db_col_text(st, 1, m->dest_addr, sizeof m->dest_addr);
		m->dest_ton = sqlite3_column_int(st, 2);
		m->dest_npi = sqlite3_column_int(st, 3);
		db_col_text(st, 4, m->text, sizeof m->text);
		m->attempts = sqlite3_column_int(st, 5);
	}
	sqlite3_reset(st);
	return i;
}

int
db_sms_out_sent(struct db *db, int64_t id, const char *message_id)
{
	static const char sql[] =
	    "UPDATE sms_out SET state = 'sent', message_id = ?2, sent_at = ?3, attempts = attempts + 1"
	    " WHERE id = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, message_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, clock_now_ms());
	return db_exec_stmt(db, st, "sms_out sent");
}

int
db_sms_out_failed(struct db *db, int64_t id, const char *error)
{
	static const char sql[] =
	    "UPDATE sms_out SET state = 'failed', last_error = ?2, attempts = attempts + 1 WHERE id = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, error, -1, SQLITE_STATIC);
	return db_exec_stmt(db, st, "sms_out failed");
}

int
db_sms_out_attempt(struct db *db, int64_t id)
{
	static const char sql[] = "UPDATE sms_out SET attempts = attempts + 1 WHERE id = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return db_exec_stmt(db, st, "sms_out attempt");
}

int
db_unregistered_claim(struct db *db, const char *msisdn, const char *day)
{
	static const char sql[] =
	    "INSERT INTO unregistered_replies (msisdn, day) VALUES (?1, ?2)"
	    " ON CONFLICT (msisdn) DO UPDATE SET day = excluded.day WHERE day <> excluded.day";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, msisdn, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, day, -1, SQLITE_STATIC);
	if (db_exec_stmt(db, st, "unregistered claim") != 0)
		return -1;
	return sqlite3_changes(db->sql) == 1 ? 1 : 0;
}

/* Tries one spelling of a message id; 1 when a row took the receipt. */
static int
db_sms_out_dlr_one(struct db *db, const char *message_id, const char *stat)
{
	static const char sql[] = "UPDATE sms_out SET dlr_state = ?2 WHERE message_id = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, message_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, stat, -1, SQLITE_STATIC);
	if (db_exec_stmt(db, st, "sms_out dlr") != 0)
		return -1;
	return sqlite3_changes(db->sql) > 0;
}

int
db_sms_out_dlr(struct db *db, const char *message_id, const char *stat)
{
	char alt[32];
	char *end;
	int rc = db_sms_out_dlr_one(db, message_id, stat);

	if (rc != 0 || *message_id == '\0' || strlen(message_id) > 16)
		return rc;
	/* SMSCs quote an id in hex in submit_sm_resp and in decimal in the receipt, or
	 * the other way round */
	unsigned long long v = strtoull(message_id, &end, 10);
	if (*end == '\0') {
		snprintf(alt, sizeof alt, "%llx", v);
		if ((rc = db_sms_out_dlr_one(db, alt, stat)) != 0)
			return rc;
		snprintf(alt, sizeof alt, "%llX", v);
		if ((rc = db_sms_out_dlr_one(db, alt, stat)) != 0)
			return rc;
	}
	v = strtoull(message_id, &end, 16);
	if (*end == '\0') {
		snprintf(alt, sizeof alt, "%llu", v);
		return db_sms_out_dlr_one(db, alt, stat);
	}
	return 0;
}

int
db_sms_part_add(struct db *db, const char *source, int ref, int total, int seq, int data_coding,
    const uint8_t *body, size_t len)
{
	static const char sql_add[] =
	    "INSERT INTO sms_parts (source_addr, ref, total, seq, data_coding, body, received_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING";
	static const char sql_count[] =
	    "SELECT count(*) FROM sms_parts WHERE source_addr = ?1 AND ref = ?2 AND total = ?3";
	sqlite3_stmt *st = db_stmt(db, sql_add);
	int rc, n = -1;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, ref);
	sqlite3_bind_int(st, 3, total);
	sqlite3_bind_int(st, 4, seq);
	sqlite3_bind_int(st, 5, data_coding);
	sqlite3_bind_blob(st, 6, len > 0 ? (const void *)body : "", (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, clock_now_ms());
	if (db_exec_stmt(db, st, "sms part insert") != 0 || (st = db_stmt(db, sql_count)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, ref);
	sqlite3_bind_int(st, 3, total);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? n : db_fail(db, rc, "sms part count");
}

int
db_sms_part_take(struct db *db, const char *source, int ref, int total, uint8_t *out, size_t cap)
{
	static const char sql_get[] =
	    "SELECT body FROM sms_parts WHERE source_addr = ?1 AND ref = ?2 AND total = ?3 ORDER BY seq";
	static const char sql_del[] =
	    "DELETE FROM sms_parts WHERE source_addr = ?1 AND ref = ?2 AND total = ?3";
	sqlite3_stmt *st = db_stmt(db, sql_get);
	size_t len = 0;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, ref);
	sqlite3_bind_int(st, 3, total);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		if (n > cap - len) {
			sqlite3_reset(st);
			snprintf(db->error, sizeof db->error, "long MO over %zu octets", cap);
			return -1;
		}
		if (n > 0)
			memcpy(out + len, sqlite3_column_blob(st, 0), n);
		len += n;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, "sms part read");
	if ((st = db_stmt(db, sql_del)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, ref);
	sqlite3_bind_int(st, 3, total);
	if (db_exec_stmt(db, st, "sms part delete") != 0)
		return -1;
	return (int)len;
}

int
db_sms_part_expire(struct db *db, int64_t before_ms,
    void (*cb)(void *, const char *source, int ref, int have, int total), void *arg)
{
	static const char sql_old[] =
	    "SELECT source_addr, ref, total, count(*) FROM sms_parts GROUP BY source_addr, ref, total"
	    " HAVING min(received_at) < ?1 LIMIT 100";
	static const char sql_del[] =
	    "DELETE FROM sms_parts WHERE source_addr = ?1 AND ref = ?2 AND total = ?3";
	struct { char source[24]; int ref, total, have; } old[100];
	sqlite3_stmt *st = db_stmt(db, sql_old);
	int rc, n = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, before_ms);
	while (n < 100 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		db_col_text(st, 0, old[n].source, sizeof old[n].source);
		old[n].ref = sqlite3_column_int(st, 1);
		old[n].total = sqlite3_column_int(st, 2);
		old[n].have = sqlite3_column_int(st, 3);
		n++;
	}
	sqlite3_reset(st);
	for (int i = 0; i < n; i++) {
		if ((st = db_stmt(db, sql_del)) == NULL)
			return -1;
		sqlite3_bind_text(st, 1, old[i].source, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, old[i].ref);
		sqlite3_bind_int(st, 3, old[i].total);
		if (db_exec_stmt(db, st, "sms part expire") != 0)
			return -1;
		cb(arg, old[i].source, old[i].ref, old[i].have, old[i].total);
	}
	return n;
}
