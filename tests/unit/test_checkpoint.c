/* tests/unit/test_checkpoint.c: db/checkpoint.c, the WAL checkpoint thread. Continuous
 * write transactions through a database opened as the daemon opens it, with the
 * checkpointer on: the -wal file stays bounded (the thread alone would let it grow: it
 * never finishes between a commit and the next BEGIN, so the WAL never restarts), the
 * rows reach the database file itself, and a stop joins the thread. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "common/common.h"
#include "db/db.h"
#include "db/internal.h"      /* the raw handle, for the test's own table */

#define THRESHOLD 100          /* frames; the limit is 4 x */
#define TXNS 1000               /* ~10,000 frames: 25 times the limit */
#define ROWS_PER_TXN 8         /* ~3 KB each: about 8-10 pages a commit */

static char dir[64], path[96], walpath[104];

static int
setup(void **state)
{
	strcpy(dir, "/tmp/test_checkpoint.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof path, "%s/t.db", dir);
	snprintf(walpath, sizeof walpath, "%s-wal", path);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static off_t
file_size(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 ? st.st_size : -1;
}

/* Rows in the database file alone: a copy without its -wal holds what was checkpointed. */
static int64_t
rows_in_file(void)
{
	char copy[128], cmd[600];
	sqlite3 *s = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	snprintf(copy, sizeof copy, "%s/copy.db", dir);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s' && rm -f '%s-wal' '%s-shm'", path, copy, copy, copy);
	if (system(cmd) != 0)
		return -1;
	if (sqlite3_open_v2(copy, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(s, "SELECT count(*) FROM t", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(s);
	return n;
}

static void
test_wal_bounded(void **state)
{
	char *cause = NULL;
	struct db *db = db_open(path, 1, &cause);
	struct db_checkpointer *c;
	struct db_checkpoint_stats st;
	sqlite3_stmt *ins;
	off_t wal_max = 0, bound;
	int64_t rows;

	assert_non_null(db);
	assert_int_equal(db_exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)"), 0);
	c = db_checkpointer_start(db, path, THRESHOLD, &cause);
	assert_non_null(c);
	assert_int_equal(sqlite3_prepare_v2(db->sql, "INSERT INTO t (v) VALUES (randomblob(3000))", -1, &ins,
	    NULL), SQLITE_OK);
	for (int i = 0; i < TXNS; i++) {
		assert_int_equal(db_begin(db), 0);
		for (int j = 0; j < ROWS_PER_TXN; j++) {
			assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
			sqlite3_reset(ins);
		}
		assert_int_equal(db_commit(db), 0);
		off_t w = file_size(walpath);
		if (w > wal_max)
			wal_max = w;
	}
	sqlite3_finalize(ins);
	db_checkpointer_stats(c, &st);
	/* The limit, plus what the writer committed while the thread's last pass ended:
	 * ~450 frames here, 1,600 under ASan on a busy machine (the overshoot is time, not
	 * frames). Without the loop's checkpoint at the limit the WAL never restarts and
	 * holds every frame written (~10,000). */
	bound = (off_t)3000 * (4096 + 24) + 32;
	print_message("# %d commits: -wal at most %lld bytes (bound %lld), %d frames; "
	    "checkpoints: %llu by the thread (%llu busy), %llu inline (longest %lld us)\n",
	    TXNS, (long long)wal_max, (long long)bound, st.wal_frames_max,
	    (unsigned long long)st.thread, (unsigned long long)st.thread_busy,
	    (unsigned long long)st.inline_done, (long long)st.inline_max_us);
	assert_true(st.thread > 0);                 /* the thread did the copying */
	assert_int_equal(st.thread_errors, 0);
	assert_true(st.wal_frames_max <= 3000);
	assert_true(st.inline_done >= 1);
	assert_true(wal_max > 0 && wal_max <= bound);
	db_checkpointer_stop(c);
	/* checkpointed rows are in the database file itself: all but the last limit's worth */
	rows = rows_in_file();
	print_message("# rows in the database file without its WAL: %lld of %d\n", (long long)rows,
	    TXNS * ROWS_PER_TXN);
	assert_true(rows >= TXNS * ROWS_PER_TXN / 2 && rows <= TXNS * ROWS_PER_TXN);
	db_close(db);
	/* SQLite's checkpoint at close: everything, and the WAL gone */
	assert_int_equal(rows_in_file(), TXNS * ROWS_PER_TXN);
	assert_int_equal(file_size(walpath), -1);
}

/* Below the limit the loop never checkpoints: what reaches the database file is the
 * thread's work, done while the writer goes on. */
static void
test_thread_copies(void **state)
{
	char *cause = NULL;
	struct db *db = db_open(path, 1, &cause);
	struct db_checkpointer *c;
	struct db_checkpoint_stats st;
	int64_t rows = -1;

	assert_non_null(db);
	assert_int_equal(db_exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)"), 0);
	c = db_checkpointer_start(db, path, THRESHOLD, &cause);
	assert_non_null(c);
	/* ~2.5 thresholds of frames in transactions of ~10 */
	for (int i = 0; i < 25; i++)
		assert_int_equal(db_exec(db, "BEGIN IMMEDIATE; INSERT INTO t (v) SELECT randomblob(3000) "
		    "FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL "
		    "SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8); COMMIT"), 0);
	for (int i = 0; i < 500; i++) {              /* at most 5 s */
		db_checkpointer_stats(c, &st);
		if (st.thread >= 2 && (rows = rows_in_file()) > 0)
			break;
		usleep(10000);
	}
	db_checkpointer_stats(c, &st);
	print_message("# %d frames in the WAL; %llu checkpoints by the thread; rows in the file: %lld\n",
	    st.wal_frames, (unsigned long long)st.thread, (long long)rows);
	assert_true(st.wal_frames < 4 * THRESHOLD);
	assert_int_equal(st.inline_done, 0);
	assert_true(st.thread >= 2);
	assert_true(rows >= 8);                      /* at least the first threshold's rows */
	db_checkpointer_stop(c);
	db_close(db);
}

/* rechargectl and tests open the store without a thread: SQLite's autocheckpoint as before. */
static void
test_no_thread_without_start(void **state)
{
	char *cause = NULL;
	struct db *db = db_open(path, 1, &cause);
	struct db_checkpoint_stats st;

	assert_non_null(db);
	db_checkpointer_stats(NULL, &st);
	assert_int_equal(st.thread + st.inline_done, 0);
	db_checkpointer_stop(NULL);
	/* a start and an immediate stop: the thread joins, the connection works on */
	struct db_checkpointer *c = db_checkpointer_start(db, path, 0, &cause);
	assert_non_null(c);
	db_checkpointer_stop(c);
	assert_int_equal(db_probe_write(db), 0);
	db_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wal_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread_copies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_thread_without_start, setup, teardown),
	};
	log_level = LOGL_WARN;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
