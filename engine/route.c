/* engine/route.c: from a durable hold to a provider's answer. Routes fail over to the
 * next provider only when one did not take the recharge; a provider outside this
 * process is recorded on the transaction before it is called, so a restart asks it for
 * the status instead of calling anyone again. Anything unknown stays PENDING and is
 * polled: nothing the provider may have done is failed here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "engine/internal.h"

struct provider *
engine_provider_find(struct engine *e, const char *name)
{
	for (int i = 0; i < e->nproviders; i++)
		if (strcmp(e->providers[i]->name, name) == 0)
			return e->providers[i];
	return NULL;
}

static void
engine_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine_flight *f = arg;
	struct engine *e = f->engine;

	switch (f->step) {
	case ENGINE_STEP_ROUTE:
		engine_dispatch_next(e, f);
		break;
	case ENGINE_STEP_POLL:
		engine_poll(e, f);
		break;
	case ENGINE_STEP_SETTLE:
		engine_settle_apply(e, f);
		break;
	}
}

/* The flight's next step after a pause (storage busy, or the polling interval). */
void
engine_later(struct engine *e, struct engine_flight *f, enum engine_step step, int seconds)
{
	struct timeval tv = { seconds, 0 };

	f->step = step;
	if (f->timer == NULL)
		f->timer = evtimer_new(e->base, engine_timer_cb, f);
	evtimer_add(f->timer, &tv);
}

/* Calls the provider now that (for one outside this process) it is on record. */
static void
engine_submit(struct engine *e, struct engine_flight *f, struct provider *p)
{
	struct db_txn t;
	int rc;

	if (f->settling)
		return;                /* decided: no call to make */
	rc = db_txn_get(batch_db(e->batch), f->txn, &t);
	if (rc == 0 || (rc == 1 && strcmp(t.state, DB_STATE_PENDING) != 0)) {
		engine_flight_remove(e, f->txn);   /* rolled back, or settled already */
		return;
	}
	if (rc < 0) {
		f->next_index--;                  /* the same provider, shortly */
		engine_later(e, f, ENGINE_STEP_ROUTE, 1);
		return;
	}
	f->calls++;
	f->asking = 0;
	p->ops->submit(p, &t);
}

static void
engine_recorded_cb(void *arg, int committed)
{
	struct engine_flight *f = arg;
	struct engine *e = f->engine;
	struct provider *p = engine_provider_find(e, f->provider);

	f->recording = 0;
	if (!committed) {
		f->next_index--;
		engine_later(e, f, ENGINE_STEP_ROUTE, 1);
		return;
	}
	if (p == NULL) {                      /* gone with a reload before the call */
		engine_dispatch_next(e, f);
		return;
	}
	engine_submit(e, f, p);
}

/* Tries the next provider on the route; with none left the recharge ends 2001. */
void
engine_dispatch_next(struct engine *e, struct engine_flight *f)
{
	char list[sizeof f->route], *save = NULL, *tok;
	int i = 0;

	strlcpy_safe(list, f->route, sizeof list);
	for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save), i++) {
		if (i < f->next_index)
			continue;
		f->next_index = i + 1;
		struct provider *p = engine_provider_find(e, tok);
		if (p == NULL) {
			log_warn("route for %s names unknown provider '%s'", f->operator_code, tok);
			continue;
		}
		if (engine_breaker_open(e, p))
			continue;
		strlcpy_safe(f->provider, p->name, sizeof f->provider);
		if (p->ops->in_process) {
			engine_submit(e, f, p);
			return;
		}
		/* on record before the call: a crash after it must not lead to a second call */
		/* degraded: not a new request, so not a refusal; the timer tries again */
		if (batch_degraded(e->batch) || batch_join(e->batch) != 0 ||
		    db_txn_set_provider(batch_db(e->batch), f->txn, p->name) != 0) {
			f->next_index--;
			engine_later(e, f, ENGINE_STEP_ROUTE, 1);
			return;
		}
		f->recording = 1;
		batch_defer(e->batch, engine_recorded_cb, f);
		return;
	}
	engine_settle(e, f, 0, ENGINE_E_DOWN, NULL, NULL);
}

/* After the hold is durable: pick the route and call the first provider. */
void
engine_dispatch(struct engine *e, struct engine_flight *f)
{
	int rc = db_route_get(batch_db(e->batch), f->operator_code, f->route, sizeof f->route);

	if (rc <= 0)
		strlcpy_safe(f->route, e->cfg->default_provider, sizeof f->route);
	f->next_index = 0;
	engine_dispatch_next(e, f);
}

/* The hold reached the disk (or did not: then the transaction never existed). */
void
engine_dispatch_cb(void *arg, int committed)
{
	struct engine_flight *f = arg;
	struct engine *e = f->engine;

	f->dispatch_pending = 0;
	if (!committed) {
		engine_flight_remove(e, f->txn);
		return;
	}
	engine_dispatch(e, f);
}

/* Asks the provider that has it; after status_poll_max the recharge waits for
 * rechargectl txn resolve (or a callback) without holding memory here. */
void
engine_poll(struct engine *e, struct engine_flight *f)
{
	struct provider *p = engine_provider_find(e, f->provider);
	struct db_txn t;
	int rc;

	if (f->settling)
		return;            /* decided: engine_settled_cb removes it once on disk */
	if (p == NULL || p->ops->status == NULL) {
		if (p != NULL && p->ops->in_process)
			return;        /* the sim settles by itself */
		log_warn("TXN%09lld: provider '%s' cannot be asked; waiting for a callback or "
		    "rechargectl txn resolve", (long long)f->txn, f->provider);
		engine_flight_remove(e, f->txn);
		return;
	}
	if (f->polls >= e->cfg->status_poll_max) {
		log_warn("TXN%09lld: still unknown after %d status queries to %s; waiting for a "
		    "callback or rechargectl txn resolve", (long long)f->txn, f->polls, f->provider);
		engine_flight_remove(e, f->txn);
		return;
	}
	rc = db_txn_get(batch_db(e->batch), f->txn, &t);
	if (rc == 0 || (rc == 1 && strcmp(t.state, DB_STATE_PENDING) != 0)) {
		engine_flight_remove(e, f->txn);   /* settled meanwhile (resolve, callback) */
		return;
	}
	if (rc < 0) {
		engine_later(e, f, ENGINE_STEP_POLL, 1);
		return;
	}
	f->polls++;
	f->asking = 1;
	p->ops->status(p, &t);
}

/* The provider has it or may have it: poll later (and tell the retailer PENDING when
 * the provider says so). */
static void
engine_answer_pending(struct engine *e, struct engine_flight *f, const char *provider,
    const struct provider_answer *a)
{
	struct db *db = batch_db(e->batch);
	struct db_txn t;
	struct db_retailer r;

	if (!batch_degraded(e->batch) && batch_join(e->batch) == 0 && db_txn_get(db, f->txn, &t) == 1 &&
	    strcmp(t.state, DB_STATE_PENDING) == 0) {
		/* who has it: an in-process provider was not recorded before the call */
		if (t.provider[0] == '\0' && db_txn_set_provider(db, f->txn, provider) == 0)
			strlcpy_safe(t.provider, provider, sizeof t.provider);
		if (a->result == PROVIDER_PENDING && db_retailer_get(db, t.retailer_id, &r) == 1 &&
		    e->hooks.txn_cb != NULL)
			(void)e->hooks.txn_cb(e->hooks.arg, &t, ENGINE_EVENT_PENDING, r.balance);
	}
	engine_later(e, f, ENGINE_STEP_POLL, e->cfg->status_poll_s);
}

void
engine_provider_answer(struct engine *e, int64_t txn, const char *provider, const struct provider_answer *a)
{
	struct engine_flight *f = engine_flight_find(e, txn);
	struct provider *p = engine_provider_find(e, provider);
	int asking;

	if (f == NULL || f->settling) {
		log_warn("answer from %s for TXN%09lld that is not in flight: ignored", provider, (long long)txn);
		return;
	}
	asking = f->asking;
	f->asking = 0;
	if (p != NULL) {
		if (a->result == PROVIDER_DOWN || a->result == PROVIDER_UNKNOWN)
			engine_health_failed(e, p, a->message[0] ? a->message : "no answer");
		else
			engine_health_ok(e, p);
	}
	switch (a->result) {
	case PROVIDER_SUCCESS:
		engine_settle(e, f, 1, 0, provider, a->ref);
		break;
	case PROVIDER_FAILED:
	case PROVIDER_REVERSED:          /* undone before it was ever final: a failure */
		engine_settle(e, f, 0, ENGINE_E_FAILED, provider, a->ref);
		break;
	case PROVIDER_DOWN:
		if (asking) {                  /* the status is what is unavailable */
			engine_later(e, f, ENGINE_STEP_POLL, e->cfg->status_poll_s);
			break;
		}
		log_info("TXN%09lld: provider %s did not take it (%s)", (long long)txn, provider, a->message);
		engine_dispatch_next(e, f);
		break;
	case PROVIDER_PENDING:
	case PROVIDER_UNKNOWN:
		if (a->result == PROVIDER_UNKNOWN)
			log_warn("TXN%09lld: outcome at %s unknown (%s): stays PENDING, polled",
			    (long long)txn, provider, a->message[0] ? a->message : "no answer");
		engine_answer_pending(e, f, provider, a);
		break;
	}
}

int
engine_provider_callback(struct engine *e, const char *provider, const struct provider_callback *cb)
{
	struct provider *p = engine_provider_find(e, provider);
	struct provider_answer a;
	struct engine_flight *f;
	struct db_txn t;
	int64_t txn = 0;
	int rc;

	if (p == NULL || p->ops->callback == NULL)
		return 404;
	memset(&a, 0, sizeof a);
	if ((rc = p->ops->callback(p, cb, &txn, &a)) != 0)
		return rc;
	if ((rc = db_txn_get(batch_db(e->batch), txn, &t)) < 0)
		return 503;
	if (rc == 0)
		return 404;
	/* a provider settles only what it was given */
	if (strcmp(t.provider, p->name) != 0) {
		log_warn("callback from %s for TXN%09lld, which is %s's: refused", p->name,
		    (long long)txn, t.provider[0] ? t.provider : "no provider's");
		return 403;
	}
	if (strcmp(t.state, DB_STATE_PENDING) == 0) {
		if ((f = engine_flight_find(e, txn)) == NULL) {
			f = engine_flight_add(e, txn, t.operator_code);
			strlcpy_safe(f->provider, p->name, sizeof f->provider);
		} else if (f->settling && !f->settle_queued)
			return 503;        /* decided, kept, not on disk: say it again later (in
			                    * this batch it is answered after the commit) */
		f->asking = 1;             /* a DOWN here says nothing of the recharge */
		engine_provider_answer(e, txn, p->name, &a);
		return 200;
	}
	if (strcmp(t.state, DB_STATE_SUCCESS) == 0 && a.result == PROVIDER_REVERSED)
		return engine_reverse(e, txn, p->name) == 0 ? 200 : 503;
	/* final already: only a reversal of a SUCCESS changes anything */
	log_info("callback from %s for TXN%09lld (%s) with result %d: nothing to change, kept for "
	    "reconciliation", p->name, (long long)txn, t.state, (int)a.result);
	return 200;
}
