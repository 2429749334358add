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
	    " received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
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
	if (db_exec_stmt(db, st, "sms_in insert") != 0)
		return -1;
	m->id = sqlite3_last_insert_rowid(db->sql);
	return 0;
}

int
db_sms_in_done(struct db *db, int64_t id, int64_t txn)
{
	static const char sql[] = "UPDATE sms_in SET processed_at = ?2, txn_id = ?3 WHERE id = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, clock_now_ms());
	if (txn > 0)
		sqlite3_bind_int64(st, 3, txn);
	return db_exec_stmt(db, st, "sms_in done");
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

int64_t
db_sms_out_add(struct db *db, const char *dest, int ton, int npi, const char *text,
    int64_t sms_in, int64_t txn)
{
	static const char sql[] =
	    "INSERT INTO sms_out (dest_addr, dest_ton, dest_npi, text, sms_in_id, txn_id, created_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
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
	if (db_exec_stmt(db, st, "sms_out insert") != 0)
		return -1;
	return sqlite3_last_insert_rowid(db->sql);
}

int
db_sms_out_queued(struct db *db, int64_t after, struct db_sms_out *out, int n)
{
	static const char sql[] =
	    "SELECT id, dest_addr, dest_ton, dest_npi, text, attempts FROM sms_out"
	    " WHERE state = 'queued' AND id > ?1 ORDER BY id LIMIT ?2";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc, i = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, n);
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
