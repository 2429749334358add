/* db/refdata.c: operators, plans, circles, commissions, number series, routes. */
#include <string.h>

#include "db/internal.h"

static int
db_operator_query(struct db *db, const char *code_or_alias, struct db_operator *out)
{
	static const char sql[] =
	    "SELECT code, service, min_amount, max_amount, denominations, subscriber_pattern, enabled"
	    " FROM operators WHERE code = upper(?1)"
	    " OR code = (SELECT code FROM operator_aliases WHERE alias = upper(?1))";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, code_or_alias, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		db_col_text(st, 0, out->code, sizeof out->code);
		db_col_text(st, 1, out->service, sizeof out->service);
		out->min_amount = sqlite3_column_int64(st, 2);
		out->max_amount = sqlite3_column_int64(st, 3);
		db_col_text(st, 4, out->denominations, sizeof out->denominations);
		db_col_text(st, 5, out->subscriber_pattern, sizeof out->subscriber_pattern);
		out->enabled = sqlite3_column_int(st, 6);
		sqlite3_reset(st);
		return 1;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "operator find");
}

int
db_operator_find(struct db *db, const char *code_or_alias, struct db_operator *out)
{
	union db_ref_value v;
	int rc = db_ref_get(db, DB_REF_OPERATOR, code_or_alias, NULL, &v);

	if (rc >= 0) {
		if (rc == 1)
			*out = v.op;
		return rc;
	}
	if ((rc = db_operator_query(db, code_or_alias, &v.op)) == 1)
		*out = v.op;
	db_ref_put(db, DB_REF_OPERATOR, code_or_alias, NULL, rc, &v);
	return rc;
}

/* Runs a one-row existence query bound to up to two texts. */
static int
db_exists(struct db *db, const char *sql, const char *a, const char *b)
{
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b != NULL)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, "lookup");
}

/* db_exists through the reference cache, keyed by kind and the bound texts. */
static int
db_exists_kept(struct db *db, int kind, const char *sql, const char *a, const char *b)
{
	int rc = db_ref_get(db, kind, a, b, NULL);

	if (rc < 0) {
		rc = db_exists(db, sql, a, b);
		db_ref_put(db, kind, a, b, rc, NULL);
	}
	return rc;
}

int
db_plan_exists(struct db *db, const char *plan)
{
	static const char sql[] = "SELECT 1 FROM plans WHERE name = lower(?1)";
	return db_exists(db, sql, plan, NULL);
}

int
db_plan_has_service(struct db *db, const char *plan, const char *service)
{
	static const char sql[] =
	    "SELECT 1 FROM plans WHERE name = ?1 AND instr(',' || services || ',', ',' || ?2 || ',') > 0";
	return db_exists_kept(db, DB_REF_PLAN_SERVICE, sql, plan, service);
}

int
db_circle_exists(struct db *db, const char *circle)
{
	static const char sql[] = "SELECT 1 FROM circles WHERE code = upper(?1)";
	return db_exists_kept(db, DB_REF_CIRCLE, sql, circle, NULL);
}

int32_t
db_commission_rate(struct db *db, const char *plan, const char *operator_code)
{
	static const char sql[] = "SELECT rate_bp FROM commissions WHERE plan = ?1 AND operator = ?2";
	sqlite3_stmt *st;
	union db_ref_value v;
	int rc;
	int32_t rate = 0;

	if (db_ref_get(db, DB_REF_COMMISSION, plan, operator_code, &v) == 1)
		return v.rate;
	if ((st = db_stmt(db, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, plan, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, operator_code, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rate = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(db, rc, "commission rate");
	v.rate = rate;
	db_ref_put(db, DB_REF_COMMISSION, plan, operator_code, 1, &v);
	return rate;
}

int
db_commission_set(struct db *db, const char *plan, const char *operator_code, int32_t rate_bp)
{
	static const char sql[] =
	    "INSERT INTO commissions (plan, operator, rate_bp) VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (plan, operator) DO UPDATE SET rate_bp = excluded.rate_bp";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, plan, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, operator_code, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, rate_bp);
	db_ref_flush(db);
	return db_exec_stmt(db, st, "commission set");
}

int
db_series_find(struct db *db, const char *mobile, char operator_code[16], char circle[3])
{
	static const char sql[] = "SELECT operator, circle FROM number_series WHERE prefix = substr(?1, 1, 4)";
	sqlite3_stmt *st;
	int rc = db_ref_series_get(db, mobile, operator_code, circle);

	if (rc >= 0)
		return rc;
	if ((st = db_stmt(db, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, mobile, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		db_col_text(st, 0, operator_code, 16);
		db_col_text(st, 1, circle, 3);
		sqlite3_reset(st);
		db_ref_series_put(db, mobile, 1, operator_code, circle);
		return 1;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, "series find");
	db_ref_series_put(db, mobile, 0, NULL, NULL);
	return 0;
}

/* replace: an import overrides; without it (init) an admin's earlier import stays. */
int
db_series_put(struct db *db, const char *prefix, const char *operator_code, const char *circle,
    int replace)
{
	static const char sql_replace[] =
	    "INSERT INTO number_series (prefix, operator, circle) VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (prefix) DO UPDATE SET operator = excluded.operator, circle = excluded.circle";
	static const char sql_keep[] =
	    "INSERT INTO number_series (prefix, operator, circle) VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (prefix) DO NOTHING";
	sqlite3_stmt *st = db_stmt(db, replace ? sql_replace : sql_keep);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, operator_code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, circle, -1, SQLITE_STATIC);
	db_ref_flush(db);
	if (db_exec_stmt(db, st, "series put") != 0)
		return -1;
	return sqlite3_changes(db->sql) == 1 ? 1 : 0;
}

int
db_route_get(struct db *db, const char *operator_code, char *out, size_t cap)
{
	static const char sql[] = "SELECT providers FROM routes WHERE operator = ?1";
	sqlite3_stmt *st;
	union db_ref_value v;
	int rc, keep = cap <= sizeof v.route;   /* a kept answer is what this cap would get */

	if (keep && (rc = db_ref_get(db, DB_REF_ROUTE, operator_code, NULL, &v)) >= 0) {
		if (rc == 1)
			strlcpy_safe(out, v.route, cap);
		return rc;
	}
	if ((st = db_stmt(db, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, operator_code, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		db_col_text(st, 0, v.route, sizeof v.route);
		strlcpy_safe(out, v.route, cap);
		sqlite3_reset(st);
		if (keep)
			db_ref_put(db, DB_REF_ROUTE, operator_code, NULL, 1, &v);
		return 1;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, "route get");
	if (keep)
		db_ref_put(db, DB_REF_ROUTE, operator_code, NULL, 0, NULL);
	return 0;
}

int
db_route_set(struct db *db, const char *operator_code, const char *providers)
{
	static const char sql[] =
	    "INSERT INTO routes (operator, providers) VALUES (?1, ?2)"
	    " ON CONFLICT (operator) DO UPDATE SET providers = excluded.providers";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, operator_code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, providers, -1, SQLITE_STATIC);
	db_ref_flush(db);
	return db_exec_stmt(db, st, "route set");
}
