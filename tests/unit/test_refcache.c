/* tests/unit/test_refcache.c: the daemon's reference lookups answered from memory
 * (db/refcache.c) never answer what the database no longer says: a change committed by
 * another connection (rechargectl) is seen at the next transaction, or within 100 ms
 * outside one; this connection's own writes at once; a rolled-back write is forgotten. And a
 * repeated lookup does not run its statement again. */
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
#include "db/internal.h"      /* the raw handle, to count a statement's steps */

struct fx {
	char dir[64], path[96];
	struct db *daemon;            /* with the cache, like rechargd's */
	struct db *ctl;               /* without, like rechargectl's */
};

static int
fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	char *cause = NULL;

	log_level = LOGL_ERROR;
	strcpy(fx->dir, "/tmp/rechargd-unit-ref-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof fx->path, "%s/t.db", fx->dir);
	assert_non_null(fx->ctl = db_open(fx->path, 1, &cause));
	assert_non_null(fx->daemon = db_open(fx->path, 0, &cause));
	db_refcache_enable(fx->daemon);
	*state = fx;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[128];

	db_close(fx->daemon);
	db_close(fx->ctl);
	snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* VM steps run so far by the prepared statement whose text contains what. */
static int
steps(struct db *db, const char *what)
{
	for (sqlite3_stmt *st = sqlite3_next_stmt(db->sql, NULL); st; st = sqlite3_next_stmt(db->sql, st))
		if (strstr(sqlite3_sql(st), what) != NULL)
			return sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 0);
	return 0;
}

static void
route_is(struct db *db, const char *op, const char *want)
{
	char got[256] = "";
	int rc = db_route_get(db, op, got, sizeof got);

	if (want == NULL)
		assert_int_equal(rc, 0);
	else {
		assert_int_equal(rc, 1);
		assert_string_equal(got, want);
	}
}

static void
test_served_from_memory(void **state)
{
	struct fx *fx = *state;
	struct db_operator op;
	char sop[16], circle[3];
	int n;

	assert_int_equal(db_route_set(fx->ctl, "JIO", "sim"), 0);
	assert_int_equal(db_begin(fx->daemon), 0);
	route_is(fx->daemon, "JIO", "sim");
	assert_int_equal(db_operator_find(fx->daemon, "AIRTEL", &op), 1);
	assert_int_equal(db_operator_find(fx->daemon, "NOSUCH", &op), 0);
	assert_int_equal(db_series_find(fx->daemon, "0000000000", sop, circle), 0);
	assert_int_equal(db_plan_has_service(fx->daemon, "starter", "MOBILE"), 1);
	assert_int_equal(db_plan_has_service(fx->daemon, "starter", "FASTAG"), 0);
	n = steps(fx->daemon, "FROM routes") + steps(fx->daemon, "FROM operators") +
	    steps(fx->daemon, "FROM number_series") + steps(fx->daemon, "FROM plans");
	assert_true(n > 0);
	/* the same questions again in the transaction: the same answers, no statement run */
	for (int i = 0; i < 3; i++) {
		route_is(fx->daemon, "JIO", "sim");
		assert_int_equal(db_operator_find(fx->daemon, "AIRTEL", &op), 1);
		assert_string_equal(op.code, "AIRTEL");
		assert_string_equal(op.service, "MOBILE");
		assert_int_equal(db_operator_find(fx->daemon, "NOSUCH", &op), 0);
		assert_int_equal(db_series_find(fx->daemon, "0000000000", sop, circle), 0);
		assert_int_equal(db_plan_has_service(fx->daemon, "starter", "MOBILE"), 1);
		assert_int_equal(db_plan_has_service(fx->daemon, "starter", "FASTAG"), 0);
	}
	assert_int_equal(steps(fx->daemon, "FROM routes") + steps(fx->daemon, "FROM operators") +
	    steps(fx->daemon, "FROM number_series") + steps(fx->daemon, "FROM plans"), n);
	assert_int_equal(db_commit(fx->daemon), 0);
}

static void
test_other_connection(void **state)
{
	struct fx *fx = *state;
	struct db_operator op;

	assert_int_equal(db_route_set(fx->ctl, "JIO", "sim"), 0);
	route_is(fx->daemon, "JIO", "sim");
	/* outside a transaction: seen within 100 ms (DB_REF_OUTSIDE_MS) */
	assert_int_equal(db_route_set(fx->ctl, "JIO", "agg,sim"), 0);
	usleep(120 * 1000);
	route_is(fx->daemon, "JIO", "agg,sim");
	/* inside one: kept for it (no one else commits meanwhile), seen at the next */
	assert_int_equal(db_begin(fx->daemon), 0);
	route_is(fx->daemon, "JIO", "agg,sim");
	assert_int_equal(db_operator_find(fx->daemon, "AIRTEL", &op), 1);
	assert_int_equal(op.enabled, 1);
	assert_int_equal(db_commit(fx->daemon), 0);
	assert_int_equal(db_route_set(fx->ctl, "JIO", "other"), 0);
	op.enabled = 0;
	assert_int_equal(db_operator_update(fx->ctl, &op), 1);
	assert_int_equal(db_begin(fx->daemon), 0);
	route_is(fx->daemon, "JIO", "other");
	assert_int_equal(db_operator_find(fx->daemon, "AIRTEL", &op), 1);
	assert_int_equal(op.enabled, 0);
	assert_int_equal(db_commit(fx->daemon), 0);
}

static void
test_own_writes_and_rollback(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(db_begin(fx->daemon), 0);
	route_is(fx->daemon, "JIO", NULL);
	assert_int_equal(db_route_set(fx->daemon, "JIO", "sim"), 0);
	route_is(fx->daemon, "JIO", "sim");
	assert_int_equal(db_commission_rate(fx->daemon, "starter", "JIO") >= 0, 1);
	assert_int_equal(db_commission_set(fx->daemon, "starter", "JIO", 123), 0);
	assert_int_equal(db_commission_rate(fx->daemon, "starter", "JIO"), 123);
	/* a savepoint's write read back, then rolled back: the old answer again */
	assert_int_equal(db_savepoint(fx->daemon), 0);
	assert_int_equal(db_route_set(fx->daemon, "JIO", "gone"), 0);
	route_is(fx->daemon, "JIO", "gone");
	db_rollback_to(fx->daemon);
	route_is(fx->daemon, "JIO", "sim");
	assert_int_equal(db_commit(fx->daemon), 0);
	route_is(fx->ctl, "JIO", "sim");
	/* a whole transaction rolled back */
	assert_int_equal(db_begin(fx->daemon), 0);
	assert_int_equal(db_route_set(fx->daemon, "JIO", "gone"), 0);
	route_is(fx->daemon, "JIO", "gone");
	db_rollback(fx->daemon);
	route_is(fx->daemon, "JIO", "sim");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_served_from_memory, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_other_connection, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_own_writes_and_rollback, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
