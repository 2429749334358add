/* db/batch.c: group commit on the event loop. One transaction per loop turn; the
 * deferred callbacks learn whether it reached the disk. A commit that fails because the
 * store cannot take writes (disk full, read-only, I/O error) puts the batch in the
 * degraded state: joins are refused at once until a probe write on a timer succeeds. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "db/internal.h"

#define BATCH_PRIORITY 2
/* An episode starting this soon after the last resume keeps the probe's backoff (a
 * one-page probe can succeed while real batches fail: an almost full disk), and the
 * degraded/resumed/commit-failed lines are said at most once in it. */
#define BATCH_FLAP_MS 60000

struct batch_deferred { batch_done_cb *cb; void *arg; };

struct batch {
	struct db *db;
	struct event *commit_ev;
	int open;
	struct batch_deferred *deferred;
	size_t ndeferred, cap;
	/* storage degraded: refuse joins until probe_ev finds the store writable */
	int degraded;
	int failures;                 /* probes failed in a row (the commit counts as one) */
	int64_t degraded_at;          /* ms */
	int64_t resumed_at, logged_at;  /* ms, 0 never: the last resume, the last degraded line */
	int quiet;                    /* this episode's lines go to debug (flapping) */
	unsigned quiet_episodes;      /* episodes not logged since the last degraded line */
	uint64_t refused, refused_before, failed_commits;
	struct event *probe_ev;
};

/* Storage failed again soon after the last degraded line: keep the log quiet. */
static int
batch_flapping(const struct batch *b, int64_t now)
{
	return b->logged_at != 0 && now - b->logged_at < BATCH_FLAP_MS;
}

/* The store cannot take writes: say so once, refuse, and probe with backoff. */
static void
batch_degrade(struct batch *b, const char *why)
{
	struct timeval tv;
	int ms;

	if (!b->degraded) {
		int64_t now = clock_now_ms();
		b->degraded = 1;
		if (b->resumed_at == 0 || now - b->resumed_at >= BATCH_FLAP_MS)
			b->failures = 0;
		b->degraded_at = now;
		b->refused_before = b->refused;
		b->quiet = batch_flapping(b, now);
		if (b->quiet)
			b->quiet_episodes++;
		else {
			log_error("storage degraded: %s; new work is refused (deliver_sm ESME_RX_T_APPN, "
			    "API 3002) until a write succeeds again%s", why,
			    b->quiet_episodes ? " (it came back and failed again meanwhile: see "
			    "rechargd_db_commit_failures_total)" : "");
			b->logged_at = now;
			b->quiet_episodes = 0;
		}
	}
	b->failures++;
	ms = db_probe_delay_ms(b->failures);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(b->probe_ev, &tv);
}

/* One probe write: 0 when the store takes writes (the state ends), -1 when not. */
int
batch_probe_now(struct batch *b)
{
	if (!b->degraded)
		return 0;
	if (b->open || db_probe_write(b->db) != 0) {
		log_debug("storage probe: %s", b->open ? "a batch is open" : db_error(b->db));
		batch_degrade(b, db_error(b->db));
		return -1;
	}
	b->degraded = 0;
	b->resumed_at = clock_now_ms();
	evtimer_del(b->probe_ev);
	log_at(b->quiet ? LOGL_DEBUG : LOGL_INFO, "storage resumed: writes succeed again after %lld s; %llu requests were refused meanwhile",
	    (long long)((clock_now_ms() - b->degraded_at + 500) / 1000),
	    (unsigned long long)(b->refused - b->refused_before));
	return 0;
}

static void
batch_probe_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)batch_probe_now(arg);
}

/* Ends the open transaction and tells everyone who waited on it. */
static void
batch_end(struct batch *b, int committed)
{
	size_t n = b->ndeferred;
	struct batch_deferred *list = b->deferred;

	b->open = 0;
	b->deferred = NULL;
	b->ndeferred = b->cap = 0;
	/* callbacks may join the next batch: they see a fresh list */
	for (size_t i = 0; i < n; i++)
		list[i].cb(list[i].arg, committed);
	free(list);
}

int
batch_commit(struct batch *b)
{
	char fault[256] = "";
	const char *tx_fault = db_tx_storage_fault(b->db);
	int ok;

	if (!b->open)
		return 0;
	if (tx_fault != NULL)
		strlcpy_safe(fault, tx_fault, sizeof fault);
	ok = db_commit(b->db) == 0;
	if (!ok) {
		b->failed_commits++;
		metrics_inc(METRIC_COMMIT_FAILED);
		log_at(db_last_fault(b->db) == DB_FAULT_STORAGE && batch_flapping(b, clock_now_ms()) ?
		    LOGL_DEBUG : LOGL_ERROR,
		    "commit failed, the whole batch rolled back: %s", db_error(b->db));
		/* before the callbacks, so what they retry is refused at once */
		if (db_last_fault(b->db) == DB_FAULT_STORAGE)
			batch_degrade(b, db_error(b->db));
	} else if (fault[0] != '\0') {
		/* A statement met the fault and its savepoint undid that one request (which
		 * was answered as failed); the rest of the batch is whole and is kept. But
		 * the store is failing: without this every request would try and log alone. */
		batch_degrade(b, fault);
	}
	batch_end(b, ok);
	return ok ? 0 : -1;
}

static void
batch_commit_cb(evutil_socket_t fd, short what, void *arg)
{
	batch_commit(arg);
}

struct batch *
batch_new(struct event_base *base, struct db *db)
{
	struct batch *b = xcalloc(1, sizeof *b);

	b->db = db;
	b->commit_ev = event_new(base, -1, 0, batch_commit_cb, b);
	event_priority_set(b->commit_ev, BATCH_PRIORITY);
	b->probe_ev = evtimer_new(base, batch_probe_cb, b);
	return b;
}

void
batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	/* a deferred callback may join a new batch: commit until none is left */
	for (int i = 0; i < 8 && b->open; i++)
		batch_commit(b);
	event_free(b->commit_ev);
	event_free(b->probe_ev);
	free(b);
}

int
batch_join(struct batch *b)
{
	if (b->open)
		return db_aborted(b->db) ? -1 : 0;
	if (b->degraded) {
		b->refused++;         /* cheap: no SQLite call, no log line */
		metrics_inc(METRIC_STORAGE_REFUSED);
		return -1;
	}
	if (db_begin(b->db) != 0) {
		if (db_last_fault(b->db) == DB_FAULT_STORAGE)
			batch_degrade(b, db_error(b->db));
		else
			log_warn("cannot open a transaction: %s", db_error(b->db));
		return -1;
	}
	b->open = 1;
	event_active(b->commit_ev, 0, 0);
	return 0;
}

void
batch_defer(struct batch *b, batch_done_cb *cb, void *arg)
{
	if (b->ndeferred == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct batch_deferred *d = realloc(b->deferred, cap * sizeof *d);
		if (d == NULL)
			fatal("out of memory");
		b->deferred = d;
		b->cap = cap;
	}
	b->deferred[b->ndeferred].cb = cb;
	b->deferred[b->ndeferred].arg = arg;
	b->ndeferred++;
}

struct db *
batch_db(struct batch *b)
{
	return b->db;
}

int
batch_is_open(const struct batch *b)
{
	return b->open;
}

int
batch_degraded(const struct batch *b)
{
	return b->degraded;
}

uint64_t
batch_refused_count(const struct batch *b)
{
	return b->refused;
}

uint64_t
batch_failed_commits(const struct batch *b)
{
	return b->failed_commits;
}
