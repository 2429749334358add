/* db/checkpoint.c: the WAL checkpoint off the event loop (issue 7). SQLite's automatic
 * checkpoint runs inside the COMMIT that crosses wal_autocheckpoint: on rechargd's one
 * loop it copied ~1000 pages into the database file and fsync'd it while every client
 * waited (11.6% of the loop under load). Here the loop's connection has no
 * autocheckpoint; its WAL hook wakes a thread with a connection of its own, which runs
 * PASSIVE checkpoints: no writer lock, so the loop keeps committing meanwhile.
 *
 * The thread shares with the loop only this struct (a mutex the loop takes with trylock,
 * never waiting; atomics) and SQLite's own file locks. It never logs (the log buffers
 * the loop's turn): it counts, keeps its last error, and the loop logs that.
 *
 * Under continuous writes the thread never finishes between a commit and the next BEGIN,
 * so the WAL is never wholly backfilled when a write starts and never restarts from its
 * beginning: it would grow for ever. In the last threshold before the limit the loop wakes
 * the thread every quarter of a threshold when it is idle, and at the limit (4 x) it
 * stops waking it and, once it is idle, runs one PASSIVE checkpoint itself, right after
 * a commit: it copies only what was committed since the thread's last pass began, and
 * with everything backfilled the next write transaction restarts the WAL. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/internal.h"

#define DB_CKPT_FRAMES 1000          /* SQLite's default wal_autocheckpoint */
#define DB_CKPT_LIMIT_FACTOR 4
#define DB_CKPT_CHASE 4              /* in the last threshold before the limit: every 1/4 */
#define DB_CKPT_LOG_MS 60000         /* the thread's errors: one line a minute at most */

struct db_checkpointer {
	struct db *db;                   /* the loop's connection */
	sqlite3 *sql;                    /* the thread's own, opened NOMUTEX */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int wake, stop;                  /* under mu */
	char error[200];                 /* under mu: the thread's last failure */
	atomic_int running;              /* woken and not idle again yet */
	atomic_uint_fast64_t done, busy, errors;    /* the thread's checkpoints */
	/* the loop's only */
	int threshold, limit;
	int frames, frames_max;          /* in the WAL at the last commit; the most seen */
	int asked_at;                    /* frames when the thread was last woken */
	uint64_t done_seen, errors_seen, errors_logged;
	int64_t logged_at;               /* ms, 0: never */
	uint64_t inline_done, inline_busy, inline_errors;
	int64_t inline_max_us;
};

/* The thread: one PASSIVE checkpoint per wake, until told to stop. */
static void *
db_checkpointer_main(void *arg)
{
	struct db_checkpointer *c = arg;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->wake && !c->stop) {
			atomic_store(&c->running, 0);
			pthread_cond_wait(&c->cv, &c->mu);
		}
		if (c->stop)
			break;
		c->wake = 0;
		pthread_mutex_unlock(&c->mu);
		int log = -1, done = -1;
		int rc = sqlite3_wal_checkpoint_v2(c->sql, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
		pthread_mutex_lock(&c->mu);
		if (rc == SQLITE_OK)
			atomic_fetch_add(&c->done, 1);
		else if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
			atomic_fetch_add(&c->busy, 1);    /* rechargectl's own checkpoint, a recovery */
		else {
			snprintf(c->error, sizeof c->error, "%s", sqlite3_errmsg(c->sql));
			atomic_fetch_add(&c->errors, 1);
		}
	}
	atomic_store(&c->running, 0);
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* The thread's counts into the metrics; its errors into the log, a line a minute. */
static void
db_checkpointer_collect(struct db_checkpointer *c)
{
	uint64_t done = atomic_load(&c->done), errors = atomic_load(&c->errors);
	int64_t now;

	for (; c->done_seen < done; c->done_seen++)
		metrics_inc(METRIC_CHECKPOINT_THREAD);
	if (errors == c->errors_seen)
		return;
	for (; c->errors_seen < errors; c->errors_seen++)
		metrics_inc(METRIC_CHECKPOINT_FAILED);
	now = clock_now_ms();
	if (c->logged_at != 0 && now - c->logged_at < DB_CKPT_LOG_MS)
		return;
	if (pthread_mutex_trylock(&c->mu) != 0)
		return;                      /* the thread is at its lock for a moment: next commit */
	log_warn("WAL checkpoint failed in the background (%llu times since the last line): %s",
	    (unsigned long long)(errors - c->errors_logged), c->error);
	pthread_mutex_unlock(&c->mu);
	c->errors_logged = errors;
	c->logged_at = now;
}

/* Signals the thread without waiting: when it holds its lock (a moment), the next
 * commit tries again. */
static void
db_checkpointer_wake(struct db_checkpointer *c)
{
	if (pthread_mutex_trylock(&c->mu) != 0)
		return;
	c->wake = 1;
	atomic_store(&c->running, 1);
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	c->asked_at = c->frames;
}

/* At the limit, the thread idle: what it has not copied yet, on the loop. */
static void
db_checkpointer_inline(struct db_checkpointer *c)
{
	int log = -1, done = -1;
	int64_t t0 = clock_mono_us(), us;
	int rc = sqlite3_wal_checkpoint_v2(c->db->sql, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);

	us = clock_mono_us() - t0;
	if (rc == SQLITE_OK) {
		c->inline_done++;
		metrics_inc(METRIC_CHECKPOINT_INLINE);
		if (us > c->inline_max_us)
			c->inline_max_us = us;
		log_trace("WAL checkpoint on the loop: %d of %d frames backfilled in %lld us", done, log,
		    (long long)us);
	} else if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
		c->inline_busy++;            /* another process checkpoints: the next commit retries */
	} else {
		c->inline_errors++;
		metrics_inc(METRIC_CHECKPOINT_FAILED);
		/* a full disk is the batch's business (degraded): not a line per commit */
		log_at(db_fault_class(rc) == DB_FAULT_STORAGE ? LOGL_DEBUG : LOGL_WARN,
		    "WAL checkpoint on the loop failed: %s", sqlite3_errmsg(c->db->sql));
	}
}

/* After each commit that wrote frames (SQLite's WAL hook, on the loop). Always
 * SQLITE_OK: anything else would make the COMMIT that already succeeded report failure. */
static int
db_checkpointer_hook(void *arg, sqlite3 *sql, const char *name, int frames)
{
	struct db_checkpointer *c = arg;
	int idle = !atomic_load(&c->running);

	if (frames < c->frames)
		c->asked_at = 0;             /* the WAL restarted from its beginning */
	c->frames = frames;
	if (frames > c->frames_max)
		c->frames_max = frames;
	db_checkpointer_collect(c);
	if (frames >= c->limit) {
		if (idle)
			db_checkpointer_inline(c);
	} else if (frames - c->asked_at >= c->threshold ||
	    (idle && frames >= c->limit - c->threshold && frames - c->asked_at >= c->threshold / DB_CKPT_CHASE))
		db_checkpointer_wake(c);     /* near the limit: more often, so the loop's share is small */
	return SQLITE_OK;
}

struct db_checkpointer *
db_checkpointer_start(struct db *db, const char *path, int threshold, char **cause)
{
	struct db_checkpointer *c;
	sigset_t all, old;
	int rc;

	*cause = NULL;
	if (!sqlite3_threadsafe()) {
		if (asprintf(cause, "SQLite was built without thread support (SQLITE_THREADSAFE=0)") < 0)
			*cause = NULL;
		return NULL;
	}
	c = xcalloc(1, sizeof *c);
	c->db = db;
	c->threshold = threshold > 0 ? threshold : DB_CKPT_FRAMES;
	c->limit = DB_CKPT_LIMIT_FACTOR * c->threshold;
	rc = sqlite3_open_v2(path, &c->sql, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_extended_result_codes(c->sql, 1);
		/* the checkpoint syncs the WAL before copying and the database file after, as
		 * the loop's connection would (synchronous is per connection); reading the
		 * journal mode opens the WAL, without which a checkpoint does nothing */
		rc = sqlite3_exec(c->sql, "PRAGMA synchronous=FULL; PRAGMA journal_mode", NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK) {
		if (asprintf(cause, "%s: %s", path, c->sql ? sqlite3_errmsg(c->sql) : sqlite3_errstr(rc)) < 0)
			*cause = NULL;
		sqlite3_close(c->sql);
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	/* signals stay the loop's (libevent's handlers) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&c->thread, NULL, db_checkpointer_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		if (asprintf(cause, "cannot start the checkpoint thread: %s", strerror(rc)) < 0)
			*cause = NULL;
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		sqlite3_close(c->sql);
		free(c);
		return NULL;
	}
	/* replaces SQLite's automatic checkpoint (itself a WAL hook) on the loop's connection */
	sqlite3_wal_hook(db->sql, db_checkpointer_hook, c);
	return c;
}

void
db_checkpointer_stop(struct db_checkpointer *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	/* the last commits and the checkpoint at close are SQLite's own again */
	sqlite3_wal_autocheckpoint(c->db->sql, DB_CKPT_FRAMES);
	c->logged_at = 0;
	db_checkpointer_collect(c);
	log_info("WAL checkpoints: %llu in the background (%llu busy, %llu failed), %llu on the loop "
	    "(longest %lld us); the WAL held at most %d frames",
	    (unsigned long long)atomic_load(&c->done), (unsigned long long)atomic_load(&c->busy),
	    (unsigned long long)atomic_load(&c->errors), (unsigned long long)c->inline_done,
	    (long long)c->inline_max_us, c->frames_max);
	sqlite3_close(c->sql);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void
db_checkpointer_stats(struct db_checkpointer *c, struct db_checkpoint_stats *out)
{
	memset(out, 0, sizeof *out);
	if (c == NULL)
		return;
	out->thread = atomic_load(&c->done);
	out->thread_busy = atomic_load(&c->busy);
	out->thread_errors = atomic_load(&c->errors);
	out->inline_done = c->inline_done;
	out->inline_max_us = c->inline_max_us;
	out->wal_frames = c->frames;
	out->wal_frames_max = c->frames_max;
}
