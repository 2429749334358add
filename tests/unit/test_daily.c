/* tests/unit/test_daily.c: what the daily limit counts (PENDING and SUCCESS of this
 * retailer since the IST midnight given, that instant included) and that it reads only
 * the day's rows through txns_retailer_day, not the retailer's whole history; and that
 * a retailer's latest transactions (LAST, GET /api/v1/transactions) come newest first
 * through the same index, reading only the rows returned. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "common/common.h"
#include "db/db.h"
#include "db/internal.h"      /* the raw handle, to write history quickly */

/* 2026-11-30 00:00 Asia/Kolkata = 2026-11-29 18:30 UTC */
#define T_MIDNIGHT 1795977000000LL

static void
test_exec(struct db *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db->sql, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err ? err : "?");
}

/* One transaction of retailer r, amount paise, in state s, created at ms. */
static void
test_txn(struct db *db, int r, int amount, const char *s, long long ms)
{
	char sql[512];

	snprintf(sql, sizeof sql,
	    "INSERT INTO txns (retailer_id, channel, service, operator, target, amount, state,"
	    " provider, created_at, updated_at) VALUES (%d, 'api', 'MOBILE', 'AIRTEL',"
	    " '9876543210', %d, '%s', 'sim', %lld, %lld)", r, amount, s, ms, ms);
	test_exec(db, sql);
}

/* The daemon's own prepared statement whose text has what (db_stmt caches it). */
static sqlite3_stmt *
test_stmt(struct db *db, const char *what)
{
	for (sqlite3_stmt *st = sqlite3_next_stmt(db->sql, NULL); st; st = sqlite3_next_stmt(db->sql, st))
		if (strstr(sqlite3_sql(st), what) != NULL)
			return st;
	return NULL;
}

/* A fresh database with retailers 1 and 2 (daily limit Rs1000 each). */
struct fx {
	char dir[64];
	struct db *db;
};

static int
fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	char path[96], *cause = NULL;

	log_level = LOGL_ERROR;
	strcpy(fx->dir, "/tmp/rechargd-unit-daily-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(path, sizeof path, "%s/t.db", fx->dir);
	assert_non_null(fx->db = db_open(path, 1, &cause));
	test_exec(fx->db, "INSERT INTO accounts (id, kind, name) VALUES (101, 'wallet', 'w1'),"
	    " (102, 'commission', 'c1'), (103, 'wallet', 'w2'), (104, 'commission', 'c2');"
	    "INSERT INTO retailers (id, msisdn, name, plan, wallet_account, commission_account,"
	    " daily_limit, created_at) VALUES (1, '919800000001', 'A', 'starter', 101, 102, 100000, 0),"
	    " (2, '919800000002', 'B', 'starter', 103, 104, 100000, 0)");
	*state = fx;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[96];

	db_close(fx->db);
	snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static void
test_daily_sum(void **state)
{
	struct fx *fx = *state;
	struct db *db = fx->db;
	sqlite3_stmt *st;
	int64_t sum = -1;
	int steps;

	/* history: yesterday's, however many, never counts */
	test_exec(db, "BEGIN");
	for (int i = 0; i < 2000; i++)
		test_txn(db, 1, 1000, "SUCCESS", T_MIDNIGHT - 1 - (long long)i * 60000);
	test_exec(db, "COMMIT");
	test_txn(db, 1, 1, "PENDING", T_MIDNIGHT - 1);          /* 23:59:59.999 IST yesterday */
	test_txn(db, 1, 10, "PENDING", T_MIDNIGHT);             /* midnight itself: today */
	test_txn(db, 1, 100, "SUCCESS", T_MIDNIGHT + 3600000);
	test_txn(db, 1, 1000, "FAILED", T_MIDNIGHT + 3600000);    /* money came back */
	test_txn(db, 1, 10000, "REVERSED", T_MIDNIGHT + 3600000); /* money came back */
	test_txn(db, 2, 20000, "SUCCESS", T_MIDNIGHT + 3600000);  /* another retailer */
	assert_int_equal(db_txn_sum_since(db, 1, T_MIDNIGHT, &sum), 0);
	assert_int_equal(sum, 110);
	assert_int_equal(db_txn_sum_since(db, 2, T_MIDNIGHT, &sum), 0);
	assert_int_equal(sum, 20000);
	assert_int_equal(db_txn_sum_since(db, 3, T_MIDNIGHT, &sum), 0);
	assert_int_equal(sum, 0);
	/* a state change later (PENDING -> FAILED) takes the amount out */
	test_exec(db, "UPDATE txns SET state = 'FAILED' WHERE amount = 10 AND retailer_id = 1");
	assert_int_equal(db_txn_sum_since(db, 1, T_MIDNIGHT, &sum), 0);
	assert_int_equal(sum, 100);

	/* the cost: the statement the daemon runs reads the day's rows, not the 2,000 before */
	st = test_stmt(db, "coalesce(sum(amount), 0) FROM txns");
	assert_non_null(st);
	sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 1);
	assert_int_equal(db_txn_sum_since(db, 1, T_MIDNIGHT, &sum), 0);
	steps = sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 0);
	assert_in_range(steps, 1, 200);
	assert_int_equal(sqlite3_stmt_status(st, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0), 0);
}

static void
test_latest(void **state)
{
	struct fx *fx = *state;
	struct db *db = fx->db;
	struct db_txn t[3];
	sqlite3_stmt *st;

	test_exec(db, "BEGIN");
	for (int i = 0; i < 2000; i++)          /* amounts 1 .. 2000, oldest first */
		test_txn(db, 1 + (i % 2 == 1 && i > 1990), i + 1, "SUCCESS", T_MIDNIGHT + (long long)i * 1000);
	test_exec(db, "COMMIT");
	/* two in the same millisecond: the later id first */
	test_txn(db, 1, 5001, "PENDING", T_MIDNIGHT + 3000000);
	test_txn(db, 1, 5002, "PENDING", T_MIDNIGHT + 3000000);
	assert_int_equal(db_txn_latest(db, 1, t, 3), 3);
	assert_int_equal(t[0].amount, 5002);
	assert_int_equal(t[1].amount, 5001);
	assert_int_equal(t[2].amount, 1999);     /* 1992, 1994 .. 2000 are retailer 2's */
	assert_int_equal(db_txn_latest(db, 2, t, 3), 3);
	assert_int_equal(t[0].amount, 2000);
	assert_int_equal(t[2].amount, 1996);
	assert_int_equal(db_txn_latest(db, 3, t, 3), 0);
	/* the cost: the rows returned, not the 2,000 before */
	st = test_stmt(db, "ORDER BY created_at DESC");
	assert_non_null(st);
	sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 1);
	assert_int_equal(db_txn_latest(db, 1, t, 3), 3);
	assert_in_range(sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 0), 1, 300);
	assert_int_equal(sqlite3_stmt_status(st, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0), 0);
	assert_int_equal(sqlite3_stmt_status(st, SQLITE_STMTSTATUS_SORT, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_daily_sum, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_latest, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
