/* engine/settle.c: final states. A settlement's postings, the transaction's state and
 * the channel's reply are one savepoint; the flight is dropped only once that is on disk.
 * The database part is shared with rechargectl (txn resolve, txn reverse). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "engine/internal.h"

int
engine_db_settle(struct db *db, int64_t txn, int success, int code, const char *provider,
    const char *ref, struct db_txn *t, int64_t *balance)
{
	struct db_retailer r;
	int64_t commission = 0, wallet;

	if (db_txn_get(db, txn, t) != 1 || db_retailer_get(db, t->retailer_id, &r) != 1)
		return -1;
	if (strcmp(t->state, DB_STATE_PENDING) != 0)
		return 0;
	if (success) {
		int32_t rate = db_commission_rate(db, r.plan, t->operator_code);
		if (rate < 0)
			return -1;
		commission = money_commission(t->amount, rate);
		struct db_line paid[2] = { { DB_ACCOUNT_IN_FLIGHT, -t->amount }, { DB_ACCOUNT_PROVIDER, t->amount } };
		struct db_line comm[2] = { { DB_ACCOUNT_COMMISSION, -commission }, { r.commission_account, commission } };
		if (db_posting_add(db, "success", t->id, provider, NULL, paid, 2) != 1 ||
		    (commission > 0 && db_posting_add(db, "commission", t->id, provider, NULL, comm, 2) != 1))
			return -1;
		wallet = r.balance;   /* read above in this transaction; no posting touched it */
	} else {
		struct db_line refund[2] = { { DB_ACCOUNT_IN_FLIGHT, -t->amount }, { r.wallet_account, t->amount } };
		if (db_posting_add(db, "refund", t->id, provider ? provider : "engine", NULL, refund, 2) != 1)
			return -1;
		wallet = r.balance + t->amount;   /* the refund's line, applied to r.balance above */
	}
	/* the row and the balance as written, without reading them again */
	if (db_txn_finish(db, t->id, success ? DB_STATE_SUCCESS : DB_STATE_FAILED, code, provider,
	    ref, commission, t) != 1)
		return -1;
	*balance = wallet;
	return 1;
}

int
engine_db_reverse(struct db *db, int64_t txn, const char *actor, struct db_txn *t, int64_t *balance)
{
	struct db_retailer r;

	if (db_txn_get(db, txn, t) != 1 || db_retailer_get(db, t->retailer_id, &r) != 1)
		return -1;
	if (strcmp(t->state, DB_STATE_SUCCESS) != 0)
		return 0;
	/* the provider gives the money back; the commission earned on it goes back too */
	struct db_line refund[2] = { { DB_ACCOUNT_PROVIDER, -t->amount }, { r.wallet_account, t->amount } };
	struct db_line claw[2] = { { r.commission_account, -t->commission }, { DB_ACCOUNT_COMMISSION, t->commission } };
	if (db_posting_add(db, "reversal", t->id, actor, NULL, refund, 2) != 1 ||
	    (t->commission > 0 && db_posting_add(db, "clawback", t->id, actor, NULL, claw, 2) != 1) ||
	    db_txn_reverse(db, t->id) != 1 || db_txn_get(db, t->id, t) != 1 ||
	    db_account_balance(db, r.wallet_account, balance) != 1)
		return -1;
	return 1;
}

/* The flight goes only once its settlement is on disk; a failed commit settles again. */
static void
engine_settled_cb(void *arg, int committed)
{
	struct engine_flight *f = arg;

	f->settle_queued = 0;
	if (committed) {
		if (f->settle_waits)
			log_info("TXN%09lld: the outcome kept in memory is written", (long long)f->txn);
		f->settle_waits = 0;   /* a later episode for it is said again */
		/* counted once on disk: a rolled-back settlement is tried again, not counted twice */
		metrics_recharge(f->settle_success ? DB_STATE_SUCCESS : DB_STATE_FAILED, f->operator_code,
		    f->settle_provider[0] ? f->settle_provider : "-");
		engine_flight_remove(f->engine, f->txn);
	} else
		engine_later(f->engine, f, ENGINE_STEP_SETTLE, 1);
}

/* The batch that took settlements ended: the held ones go into the next, one turn later
 * (so the outbox pump and I/O run in between, not behind thousands of settlements). */
static void
engine_batch_settled_cb(void *arg, int committed)
{
	struct engine *e = arg;

	e->batch_settles = 0;
	if (e->nheld > 0)
		event_active(e->held_ev, EV_TIMEOUT, 0);
}

void
engine_settle_held_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	while (e->nheld > 0 && e->batch_settles < ENGINE_SETTLES_PER_BATCH) {
		struct engine_flight *f = engine_flight_find(e, e->held[e->held_head]);
		e->held_head++;
		e->nheld--;
		if (f != NULL && f->settle_held) {
			f->settle_held = 0;
			engine_settle_apply(e, f);
		}
	}
	if (e->nheld == 0)
		e->held_head = 0;
}

/* Puts a flight's settlement off to a later batch: one loop turn settles at most
 * ENGINE_SETTLES_PER_BATCH, however many provider answers fell due in it. */
static void
engine_settle_hold(struct engine *e, struct engine_flight *f)
{
	if (e->held_head + e->nheld == e->held_cap) {
		if (e->held_head > 0) {
			memmove(e->held, e->held + e->held_head, e->nheld * sizeof *e->held);
			e->held_head = 0;
		} else {
			size_t cap = e->held_cap ? e->held_cap * 2 : 256;
			int64_t *n = xcalloc(cap, sizeof *n);
			if (e->nheld > 0)
				memcpy(n, e->held, e->nheld * sizeof *n);
			free(e->held);
			e->held = n;
			e->held_cap = cap;
		}
	}
	e->held[e->held_head + e->nheld++] = f->txn;
	f->settle_held = 1;
}

/* Records what the flight is to become, then applies it. */
void
engine_settle(struct engine *e, struct engine_flight *f, int success, int code,
    const char *provider, const char *ref)
{
	/* a poll still armed would find the state decided in the open batch and free the
	 * flight before engine_settled_cb runs (heap use after free under load) */
	if (f->timer != NULL)
		evtimer_del(f->timer);
	f->settling = 1;
	f->settle_success = success;
	f->settle_code = code;
	strlcpy_safe(f->settle_provider, provider ? provider : "", sizeof f->settle_provider);
	strlcpy_safe(f->settle_ref, ref ? ref : "", sizeof f->settle_ref);
	engine_settle_apply(e, f);
}

/* Final state, its postings and the channel's reply, in one savepoint of the batch. */
void
engine_settle_apply(struct engine *e, struct engine_flight *f)
{
	struct db *db = batch_db(e->batch);
	const char *provider = f->settle_provider[0] ? f->settle_provider : NULL;
	struct db_txn t;
	int64_t balance = 0;
	int rc;

	if (f->settle_held)
		return;                       /* its turn comes (engine_settle_held_cb) */
	if (e->batch_settles >= ENGINE_SETTLES_PER_BATCH && !e->settle_flush) {
		engine_settle_hold(e, f);
		return;
	}
	if (batch_degraded(e->batch) || batch_join(e->batch) != 0 || db_savepoint(db) != 0) {
		/* the provider did it: the outcome stays here (a flight, bounded by
		 * max_inflight) until it is written; a restart meanwhile polls (design.md) */
		if (!f->settle_waits++)
			log_warn("TXN%09lld: %s from %s (provider reference %s) kept in memory until "
			    "storage takes writes", (long long)f->txn,
			    f->settle_success ? DB_STATE_SUCCESS : DB_STATE_FAILED,
			    f->settle_provider[0] ? f->settle_provider : "-",
			    f->settle_ref[0] ? f->settle_ref : "-");
		engine_later(e, f, ENGINE_STEP_SETTLE, 1);
		return;
	}
	rc = engine_db_settle(db, f->txn, f->settle_success, f->settle_code, provider, f->settle_ref,
	    &t, &balance);
	if (rc == 0) {
		/* settled already (rechargectl txn resolve, before a restart): nothing to do */
		db_release(db);
		engine_flight_remove(e, f->txn);
		return;
	}
	if (rc < 0 || (e->hooks.txn_cb != NULL &&
	    e->hooks.txn_cb(e->hooks.arg, &t, ENGINE_EVENT_FINAL, balance) != 0) || db_release(db) != 0) {
		log_error("settling TXN%09lld failed: %s", (long long)f->txn, db_error(db));
		db_rollback_to(db);
		engine_later(e, f, ENGINE_STEP_SETTLE, 1);
		return;
	}
	char id[24], amt[MONEY_BUFSZ];
	log_info("%s %s%s%s via %s Rs%s", db_txn_format_id(t.id, id), t.state, f->settle_code ? " " : "",
	    f->settle_code ? engine_code_message(f->settle_code) : "", provider ? provider : "-",
	    money_format(t.amount, amt));
	f->settle_queued = 1;
	batch_defer(e->batch, engine_settled_cb, f);
	if (e->batch_settles++ == 0)
		batch_defer(e->batch, engine_batch_settled_cb, e);
}

int
engine_reverse(struct engine *e, int64_t txn, const char *provider)
{
	struct db *db = batch_db(e->batch);
	struct db_txn t;
	int64_t balance;
	int rc;

	if (batch_join(e->batch) != 0 || db_savepoint(db) != 0) {
		log_warn("TXN%09lld: reversal by %s not recorded now: %s", (long long)txn, provider, db_error(db));
		return -1;
	}
	rc = engine_db_reverse(db, txn, provider, &t, &balance);
	if (rc < 0 || (rc == 1 && e->hooks.txn_cb != NULL &&
	    e->hooks.txn_cb(e->hooks.arg, &t, ENGINE_EVENT_REVERSED, balance) != 0) || db_release(db) != 0) {
		log_error("reversing TXN%09lld failed: %s", (long long)txn, db_error(db));
		db_rollback_to(db);
		return -1;
	}
	if (rc == 1)
		log_info("TXN%09lld REVERSED by %s: refunded, commission clawed back", (long long)txn, provider);
	return 0;
}
