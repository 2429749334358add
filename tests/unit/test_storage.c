/* tests/unit/test_storage.c: what a SQLite failure means for the daemon (busy, or the
 * store cannot take writes: degraded) and the probe's bounded backoff. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "db/db.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_class),
		cmocka_unit_test(test_probe_delay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
