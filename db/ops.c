/* db/ops.c: the edits and reports of the admin CLI beyond admin.c: retailer settings,
 * admin removal, operators, complaints, pruning the SMS tables and the daily report.
 * Money moves only in ledger.c; nothing here touches postings or balances. */
#include <string.h>

#include "db/internal.h"

/* Runs an UPDATE/DELETE bound by the caller; 1 when a row changed, 0 none, -1. */
static int
db_ops_change(struct db *db, sqlite3_stmt *st, const char *what)
{
	if (db_exec_stmt(db, st, what) != 0)
		return -1;
	return sqlite3_changes(db->sql) > 0 ? 1 : 0;
}

int
db_retailer_set_plan(struct db *db, int64_t id, const char *plan)
{
	static const char sql[] = "UPDATE retailers SET plan = ?2 WHERE id = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, plan, -1, SQLITE_STATIC);
	return db_exec_stmt(db, st, "retailer set plan");
}

int
db_retailer_set_limit(struct db *db, int64_t id, int64_t paise)
{
	static const char sql[] = "UPDATE retailers SET daily_limit = ?2 WHERE id = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, paise);
	return db_exec_stmt(db, st, "retailer set limit");
}

int
db_retailer_set_bank(struct db *db, int64_t id, const char *account, const char *ifsc)
{
	static const char sql[] = "UPDATE retailers SET bank_account = ?2, bank_ifsc = ?3 WHERE id = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ifsc, -1, SQLITE_STATIC);
	return db_exec_stmt(db, st, "retailer set bank");
}

int
db_admin_remove(struct db *db, const char *msisdn)
{
	static const char sql[] = "DELETE FROM admins WHERE msisdn = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, msisdn, -1, SQLITE_STATIC);
	return db_ops_change(db, st, "admin remove");
}

/* Mobile first, as the rate card and route list read; aliases folded into one column. */
int
db_operator_each(struct db *db, void (*cb)(void *, const struct db_operator *, const char *aliases),
    void *arg)
{
	static const char sql[] =
	    "SELECT o.code, o.service, o.min_amount, o.max_amount, o.denominations, o.subscriber_pattern,"
	    " o.enabled, coalesce((SELECT group_concat(alias, ',') FROM (SELECT alias FROM operator_aliases"
	    " WHERE code = o.code ORDER BY alias)), '') FROM operators o ORDER BY o.service DESC, o.code";
	sqlite3_stmt *st = db_stmt(db, sql);
	struct db_operator op;
	char aliases[256];
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		db_col_text(st, 0, op.code, sizeof op.code);
		db_col_text(st, 1, op.service, sizeof op.service);
		op.min_amount = sqlite3_column_int64(st, 2);
		op.max_amount = sqlite3_column_int64(st, 3);
		db_col_text(st, 4, op.denominations, sizeof op.denominations);
		db_col_text(st, 5, op.subscriber_pattern, sizeof op.subscriber_pattern);
		op.enabled = sqlite3_column_int(st, 6);
		db_col_text(st, 7, aliases, sizeof aliases);
		cb(arg, &op, aliases);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "operator list");
}

/* 1 when name is already an operator code or an alias (they share one namespace). */
static int
db_operator_name_taken(struct db *db, const char *name)
{
	static const char sql[] =
	    "SELECT 1 FROM operators WHERE code = upper(?1) UNION ALL"
	    " SELECT 1 FROM operator_aliases WHERE alias = upper(?1)";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "operator name");
}

int
db_operator_add(struct db *db, const struct db_operator *op)
{
	static const char sql[] =
	    "INSERT INTO operators (code, service, min_amount, max_amount, denominations,"
	    " subscriber_pattern, enabled) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
	sqlite3_stmt *st;
	int taken = db_operator_name_taken(db, op->code);

	if (taken != 0)
		return taken < 0 ? -1 : 0;
	if ((st = db_stmt(db, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, op->code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, op->service, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, op->min_amount);
	sqlite3_bind_int64(st, 4, op->max_amount);
	sqlite3_bind_text(st, 5, op->denominations, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, op->subscriber_pattern, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, op->enabled ? 1 : 0);
	db_ref_flush(db);
	return db_exec_stmt(db, st, "operator insert") == 0 ? 1 : -1;
}

int
db_operator_alias_add(struct db *db, const char *alias, const char *code)
{
	static const char sql[] = "INSERT INTO operator_aliases (alias, code) VALUES (upper(?1), ?2)";
	sqlite3_stmt *st;
	int taken = db_operator_name_taken(db, alias);

	if (taken != 0)
		return taken < 0 ? -1 : 0;
	if ((st = db_stmt(db, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, alias, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, code, -1, SQLITE_STATIC);
	db_ref_flush(db);
	return db_exec_stmt(db, st, "alias insert") == 0 ? 1 : -1;
}

int
db_operator_update(struct db *db, const struct db_operator *op)
{
	static const char sql[] =
	    "UPDATE operators SET min_amount = ?2, max_amount = ?3, denominations = ?4,"
	    " subscriber_pattern = ?5, enabled = ?6 WHERE code = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, op->code, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, op->min_amount);
	sqlite3_bind_int64(st, 3, op->max_amount);
	sqlite3_bind_text(st, 4, op->denominations, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, op->subscriber_pattern, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, op->enabled ? 1 : 0);
	db_ref_flush(db);
	return db_ops_change(db, st, "operator update");
}

#define DB_COMPLAINT_COLS \
	"c.id, c.retailer_id, r.msisdn, c.txn_id, c.text, c.state, c.note, c.created_at," \
	" coalesce(c.closed_at, 0) FROM complaints c JOIN retailers r ON r.id = c.retailer_id"

static void
db_complaint_read(sqlite3_stmt *st, struct db_complaint *m)
{
	m->id = sqlite3_column_int64(st, 0);
	m->retailer_id = sqlite3_column_int64(st, 1);
	db_col_text(st, 2, m->msisdn, sizeof m->msisdn);
	m->txn_id = sqlite3_column_int64(st, 3);
	db_col_text(st, 4, m->text, sizeof m->text);
	db_col_text(st, 5, m->state, sizeof m->state);
	db_col_text(st, 6, m->note, sizeof m->note);
	m->created_at = sqlite3_column_int64(st, 7);
	m->closed_at = sqlite3_column_int64(st, 8);
}

int
db_complaint_get(struct db *db, int64_t id, struct db_complaint *out)
{
	static const char sql[] = "SELECT " DB_COMPLAINT_COLS " WHERE c.id = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		db_complaint_read(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "complaint get");
}

int
db_complaint_each(struct db *db, int open_only, void (*cb)(void *, const struct db_complaint *),
    void *arg)
{
	static const char sql[] =
	    "SELECT " DB_COMPLAINT_COLS " WHERE ?1 = 0 OR c.state = 'open' ORDER BY c.id DESC";
	sqlite3_stmt *st = db_stmt(db, sql);
	struct db_complaint m;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int(st, 1, open_only ? 1 : 0);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		db_complaint_read(st, &m);
		cb(arg, &m);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "complaint list");
}

int
db_complaint_close(struct db *db, int64_t id, const char *note)
{
	static const char sql[] =
	    "UPDATE complaints SET state = 'closed', note = ?2, closed_at = ?3 WHERE id = ?1 AND state = 'open'";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, note, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, clock_now_ms());
	return db_ops_change(db, st, "complaint close");
}

/* What prune removes. An inbox row stays while a kept reply points at it (foreign key):
 * the delete runs after the replies' and asks sms_out as it is then; the select, run
 * before any delete, asks for the replies that will be kept instead. Same rows. */
#define DB_SMS_OUT_PRUNABLE \
	"created_at < ?1 AND state IN ('sent', 'failed')" \
	" AND (txn_id IS NULL OR txn_id NOT IN (SELECT id FROM txns WHERE state = 'PENDING'))"
#define DB_SMS_IN_PRUNABLE \
	"received_at < ?1 AND processed_at IS NOT NULL" \
	" AND (txn_id IS NULL OR txn_id NOT IN (SELECT id FROM txns WHERE state = 'PENDING'))"
#define DB_SMS_MAXCOLS 32

/* Steps a SELECT * and hands each row to cb as text. 0, 1 (cb stopped) or -1. */
static int
db_sms_rows(struct db *db, sqlite3_stmt *st, const char *table, db_sms_row_cb cb, void *arg)
{
	const char *names[DB_SMS_MAXCOLS], *values[DB_SMS_MAXCOLS];
	int rc, i, n = sqlite3_column_count(st);

	if (n > DB_SMS_MAXCOLS) {
		sqlite3_reset(st);
		return db_fail(db, SQLITE_ERROR, "sms archive: too many columns");
	}
	for (i = 0; i < n; i++)
		names[i] = sqlite3_column_name(st, i);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < n; i++)
			values[i] = (const char *)sqlite3_column_text(st, i);
		if (cb(arg, table, n, names, values) != 0) {
			sqlite3_reset(st);
			return 1;
		}
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "sms archive select");
}

int
db_sms_prune_each(struct db *db, int64_t before_ms, db_sms_row_cb cb, void *arg)
{
	static const char sql_out[] = "SELECT * FROM sms_out WHERE " DB_SMS_OUT_PRUNABLE " ORDER BY id";
	static const char sql_in[] =
	    "SELECT * FROM sms_in WHERE " DB_SMS_IN_PRUNABLE
	    " AND id NOT IN (SELECT sms_in_id FROM sms_out WHERE sms_in_id IS NOT NULL"
	    "  AND NOT (" DB_SMS_OUT_PRUNABLE "))"
	    " ORDER BY id";
	sqlite3_stmt *st;
	int rc;

	if ((st = db_stmt(db, sql_out)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, before_ms);
	if ((rc = db_sms_rows(db, st, "sms_out", cb, arg)) != 0)
		return rc;
	if ((st = db_stmt(db, sql_in)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, before_ms);
	return db_sms_rows(db, st, "sms_in", cb, arg);
}

/* Replies go first: an inbox row stays while a kept reply points at it (foreign key). */
int
db_sms_prune(struct db *db, int64_t before_ms, int64_t *n_in, int64_t *n_out)
{
	static const char sql_out[] = "DELETE FROM sms_out WHERE " DB_SMS_OUT_PRUNABLE;
	static const char sql_in[] =
	    "DELETE FROM sms_in WHERE " DB_SMS_IN_PRUNABLE
	    " AND id NOT IN (SELECT sms_in_id FROM sms_out WHERE sms_in_id IS NOT NULL)";
	sqlite3_stmt *st;

	if ((st = db_stmt(db, sql_out)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, before_ms);
	if (db_exec_stmt(db, st, "sms_out prune") != 0)
		return -1;
	*n_out = sqlite3_changes(db->sql);
	if ((st = db_stmt(db, sql_in)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, before_ms);
	if (db_exec_stmt(db, st, "sms_in prune") != 0)
		return -1;
	*n_in = sqlite3_changes(db->sql);
	return 0;
}

/* One pass over the day's transactions, grouped four ways; totals first. */
int
db_report_each(struct db *db, int64_t from_ms, int64_t to_ms,
    void (*cb)(void *, const struct db_report_row *), void *arg)
{
	static const char sql[] =
	    "WITH d AS (SELECT t.state, t.operator, t.provider, r.msisdn, t.amount, t.commission"
	    " FROM txns t JOIN retailers r ON r.id = t.retailer_id"
	    " WHERE t.created_at >= ?1 AND t.created_at < ?2)"
	    " SELECT 0, 'total', '', count(*), coalesce(sum(amount), 0), coalesce(sum(commission), 0) FROM d"
	    " UNION ALL SELECT 1, 'state', state, count(*), sum(amount), sum(commission) FROM d GROUP BY state"
	    " UNION ALL SELECT 2, 'operator', operator, count(*), sum(amount), sum(commission) FROM d"
	    "  GROUP BY operator"
	    " UNION ALL SELECT 3, 'provider', CASE provider WHEN '' THEN '-' ELSE provider END, count(*),"
	    "  sum(amount), sum(commission) FROM d GROUP BY provider"
	    " UNION ALL SELECT 4, 'retailer', msisdn, count(*), sum(amount), sum(commission) FROM d"
	    "  GROUP BY msisdn"
	    " ORDER BY 1, 3";
	sqlite3_stmt *st = db_stmt(db, sql);
	struct db_report_row row;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, from_ms);
	sqlite3_bind_int64(st, 2, to_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		db_col_text(st, 1, row.group, sizeof row.group);
		db_col_text(st, 2, row.key, sizeof row.key);
		row.count = sqlite3_column_int64(st, 3);
		row.amount = sqlite3_column_int64(st, 4);
		row.commission = sqlite3_column_int64(st, 5);
		cb(arg, &row);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "daily report");
}
