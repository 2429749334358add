/* tests/unit/test_storage.c: what a SQLite failure means for the daemon (busy, or the
 * store cannot take writes: degraded) and the probe's bounded backoff. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <sys/resource.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <event2/event.h>

#include "common/common.h"
#include "db/db.h"
#include "db/internal.h"      /* the raw handle, for the test's own pragma */

static void
test_fault_class(void **state)
{
	assert_int_equal(db_fault_class(SQLITE_OK), DB_FAULT_NONE);
	assert_int_equal(db_fault_class(SQLITE_DONE), DB_FAULT_NONE);
	/* another writer: wait a moment, nothing is wrong with the disk */
	assert_int_equal(db_fault_class(SQLITE_BUSY), DB_FAULT_BUSY);
	assert_int_equal(db_fault_class(SQLITE_BUSY_SNAPSHOT), DB_FAULT_BUSY);
	assert_int_equal(db_fault_class(SQLITE_LOCKED), DB_FAULT_BUSY);
	/* the store: disk full (ENOSPC, or EFBIG under RLIMIT_FSIZE), read-only, I/O */
	assert_int_equal(db_fault_class(SQLITE_FULL), DB_FAULT_STORAGE);
	assert_int_equal(db_fault_class(SQLITE_READONLY), DB_FAULT_STORAGE);
	assert_int_equal(db_fault_class(SQLITE_READONLY_DBMOVED), DB_FAULT_STORAGE);
	assert_int_equal(db_fault_class(SQLITE_IOERR), DB_FAULT_STORAGE);
	assert_int_equal(db_fault_class(SQLITE_IOERR_WRITE), DB_FAULT_STORAGE);
	assert_int_equal(db_fault_class(SQLITE_IOERR_FSYNC), DB_FAULT_STORAGE);
	assert_int_equal(db_fault_class(SQLITE_CANTOPEN), DB_FAULT_STORAGE);
	assert_int_equal(db_fault_class(SQLITE_CORRUPT), DB_FAULT_STORAGE);
	/* this request only: a constraint or a bug must not take the service down */
	assert_int_equal(db_fault_class(SQLITE_CONSTRAINT), DB_FAULT_OTHER);
	assert_int_equal(db_fault_class(SQLITE_CONSTRAINT_CHECK), DB_FAULT_OTHER);
	assert_int_equal(db_fault_class(SQLITE_ERROR), DB_FAULT_OTHER);
	assert_int_equal(db_fault_class(SQLITE_MISUSE), DB_FAULT_OTHER);
}

static void
test_probe_delay(void **state)
{
	assert_int_equal(db_probe_delay_ms(0), DB_PROBE_MIN_MS);
	assert_int_equal(db_probe_delay_ms(1), DB_PROBE_MIN_MS);
	assert_int_equal(db_probe_delay_ms(2), 2 * DB_PROBE_MIN_MS);
	assert_int_equal(db_probe_delay_ms(3), 4 * DB_PROBE_MIN_MS);
	/* bounded: an outage of hours still probes every DB_PROBE_MAX_MS */
	assert_int_equal(db_probe_delay_ms(30), DB_PROBE_MAX_MS);
	assert_int_equal(db_probe_delay_ms(1 << 30), DB_PROBE_MAX_MS);
	for (int i = 1; i < 64; i++)
		assert_true(db_probe_delay_ms(i + 1) >= db_probe_delay_ms(i));
}

static void
test_done_cb(void *arg, int committed)
{
	*(int *)arg = committed;
}

static void
test_count_cb(void *arg, const struct db_audit *a)
{
	(*(int *)arg)++;
}

static int
test_audit_rows(struct db *db)
{
	int n = 0;

	assert_int_equal(db_audit_each(db, 0, test_count_cb, &n), 0);
	return n;
}

/* A real write failure (RLIMIT_FSIZE: EFBIG, as a full disk gives ENOSPC) at COMMIT:
 * the batch is rolled back whole, its waiters told, joins refused at once; once writes
 * work again the probe ends the state by itself. */
static void
test_batch_degrades_and_resumes(void **state)
{
	char dir[] = "/tmp/rechargd-unit-storage-XXXXXX", path[64], *cause = NULL;
	struct rlimit old, lim;
	struct event_base *base;
	struct batch *b;
	struct db *db;
	int committed = -1, rc, before;

	log_level = LOGL_ERROR;       /* the migrations are not news here */
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/t.db", dir);
	db = db_open(path, 1, &cause);
	assert_non_null(db);
	base = event_base_new();
	assert_int_equal(event_base_priority_init(base, 3), 0);
	b = batch_new(base, db);
	before = test_audit_rows(db);

	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 1;
	assert_int_equal(batch_join(b), 0);
	assert_int_equal(db_audit_add(db, "test", "write", "a", "", ""), 0);
	batch_defer(b, test_done_cb, &committed);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = batch_commit(b);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);

	assert_int_equal(rc, -1);
	assert_int_equal(committed, 0);
	assert_int_equal(db_last_fault(db), DB_FAULT_STORAGE);
	assert_int_equal(batch_degraded(b), 1);
	assert_int_equal(batch_failed_commits(b), 1);
	assert_int_equal(test_audit_rows(db), before);        /* nothing half-written */
	assert_int_equal(batch_join(b), -1);                   /* refused, no transaction */
	assert_int_equal(batch_is_open(b), 0);
	assert_false(db_in_transaction(db));
	assert_int_equal(batch_refused_count(b), 1);

	/* writes work again: the first probe (DB_PROBE_MIN_MS) ends the state */
	struct timeval tv = { 1, 0 };
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	assert_int_equal(batch_degraded(b), 0);
	assert_int_equal(batch_join(b), 0);
	assert_int_equal(db_audit_add(db, "test", "write", "b", "", ""), 0);
	committed = -1;
	batch_defer(b, test_done_cb, &committed);
	assert_int_equal(batch_commit(b), 0);
	assert_int_equal(committed, 1);
	assert_int_equal(test_audit_rows(db), before + 1);

	batch_free(b);
	event_base_free(base);
	db_close(db);
	snprintf(path, sizeof path, "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

/* A statement (not COMMIT) meets a full store: its savepoint undoes that request, the
 * rest of the batch is committed, and the degraded state starts all the same. */
static void
test_statement_fault_degrades(void **state)
{
	char dir[] = "/tmp/rechargd-unit-storage-XXXXXX", path[64], *cause = NULL;
	struct event_base *base;
	struct batch *b;
	struct db *db;
	int committed = -1, before;

	log_level = LOGL_ERROR;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/t.db", dir);
	db = db_open(path, 1, &cause);
	assert_non_null(db);
	base = event_base_new();
	assert_int_equal(event_base_priority_init(base, 3), 0);
	b = batch_new(base, db);
	before = test_audit_rows(db);

	assert_int_equal(batch_join(b), 0);
	assert_int_equal(db_savepoint(db), 0);
	assert_int_equal(db_audit_add(db, "test", "write", "a", "", ""), 0);
	assert_int_equal(db_release(db), 0);
	/* a real SQLITE_FULL from a statement makes SQLite roll back the whole transaction
	 * (the commit then fails: tested above); READONLY or IOERR from one statement leave
	 * it open, as db_fail records here */
	assert_int_equal(db_savepoint(db), 0);
	assert_int_equal(db_fail(db, SQLITE_IOERR_WRITE, "audit insert"), -1);
	assert_int_equal(db_last_fault(db), DB_FAULT_STORAGE);
	db_rollback_to(db);
	batch_defer(b, test_done_cb, &committed);
	assert_int_equal(batch_commit(b), 0);
	assert_int_equal(committed, 1);
	assert_int_equal(test_audit_rows(db), before + 1);    /* the other request kept */
	assert_int_equal(batch_degraded(b), 1);
	assert_int_equal(batch_join(b), -1);

	struct timeval tv = { 1, 0 };
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	assert_int_equal(batch_degraded(b), 0);

	batch_free(b);
	event_base_free(base);
	db_close(db);
	snprintf(path, sizeof path, "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

/* A commit that fails with the file size limit (EFBIG, as ENOSPC) while the limit holds. */
static void
test_commit_fails(struct batch *b, struct db *db)
{
	struct rlimit old, lim;
	int committed = -1;

	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 1;
	assert_int_equal(batch_join(b), 0);
	assert_int_equal(db_audit_add(db, "test", "write", "x", "", ""), 0);
	batch_defer(b, test_done_cb, &committed);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(batch_commit(b), -1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(committed, 0);
	assert_int_equal(batch_degraded(b), 1);
}

/* Runs the loop for ms milliseconds, with the file size limit at 1 byte if full. */
static void
test_loop(struct event_base *base, int ms, int full)
{
	struct rlimit old, lim;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 1;
	if (full)
		assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	if (full)
		assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
}

/* A probe that fails keeps the state and backs off (250 ms, then 500 ms); one that
 * succeeds ends it. An episode right after a resume keeps the backoff: a one-page probe
 * may succeed while real batches fail, and must not bring a failed batch every 250 ms. */
static void
test_probe_fails_then_flaps(void **state)
{
	char dir[] = "/tmp/rechargd-unit-storage-XXXXXX", path[64], *cause = NULL;
	struct event_base *base;
	struct batch *b;
	struct db *db;

	log_level = LOGL_ERROR;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/t.db", dir);
	db = db_open(path, 1, &cause);
	assert_non_null(db);
	base = event_base_new();
	assert_int_equal(event_base_priority_init(base, 3), 0);
	b = batch_new(base, db);

	test_commit_fails(b, db);
	/* the first probe (250 ms) fails: still degraded, refusals cheap */
	test_loop(base, 400, 1);
	assert_int_equal(batch_degraded(b), 1);
	assert_int_equal(batch_join(b), -1);
	assert_false(db_in_transaction(db));
	/* the second (500 ms after the first) succeeds */
	test_loop(base, 700, 0);
	assert_int_equal(batch_degraded(b), 0);

	/* fails again at once: the next probe is not back at 250 ms */
	test_commit_fails(b, db);
	test_loop(base, 350, 0);
	assert_int_equal(batch_degraded(b), 1);
	test_loop(base, 1500, 0);
	assert_int_equal(batch_degraded(b), 0);

	batch_free(b);
	event_base_free(base);
	db_close(db);
	snprintf(path, sizeof path, "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_class),
		cmocka_unit_test(test_probe_delay),
		cmocka_unit_test(test_batch_degrades_and_resumes),
		cmocka_unit_test(test_statement_fault_degrades),
		cmocka_unit_test(test_probe_fails_then_flaps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
