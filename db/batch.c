/* db/batch.c: group commit on the event loop. One transaction per loop turn; the
 * deferred callbacks learn whether it reached the disk. */
#include <stdlib.h>

#include <event2/event.h>

#include "db/internal.h"

#define BATCH_PRIORITY 2

struct batch_deferred { batch_done_cb *cb; void *arg; };

struct batch {
	struct db *db;
	struct event *commit_ev;
	int open;
	struct batch_deferred *deferred;
	size_t ndeferred, cap;
};

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
	int ok;

	if (!b->open)
		return 0;
	ok = db_commit(b->db) == 0;
	if (!ok)
		log_error("commit failed: %s", db_error(b->db));
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
	free(b);
}

int
batch_join(struct batch *b)
{
	if (b->open)
		return db_aborted(b->db) ? -1 : 0;
	if (db_begin(b->db) != 0) {
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
