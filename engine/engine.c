/* engine/engine.c: a recharge from acceptance to settlement. The hold is taken by a
 * conditional debit before any provider hears of it; every state change is a
 * posting committed before anyone is told. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <event2/event.h>

#include "engine/internal.h"

static const struct { int code; const char *message; } engine_messages[] = {
	{ ENGINE_OK, "OK" },
	{ ENGINE_E_API_KEY, "Invalid API key" },
	{ ENGINE_E_BALANCE, "Insufficient balance" },
	{ ENGINE_E_MOBILE, "Invalid mobile number" },
	{ ENGINE_E_OPERATOR, "Invalid operator" },
	{ ENGINE_E_AMOUNT, "Invalid amount" },
	{ ENGINE_E_DUPLICATE, "Duplicate recharge" },
	{ ENGINE_E_RATE, "Rate limit exceeded" },
	{ ENGINE_E_PLAN, "Service not in your plan" },
	{ ENGINE_E_PARAM, "Missing or invalid parameter" },
	{ ENGINE_E_COMMAND, "Unknown command" },
	{ ENGINE_E_PIN, "Invalid PIN" },
	{ ENGINE_E_LOCKED, "Account locked" },
	{ ENGINE_E_UNREGISTERED, "Number not registered" },
	{ ENGINE_E_NOT_FOUND, "Transaction not found" },
	{ ENGINE_E_DAILY_LIMIT, "Daily limit reached" },
	{ ENGINE_E_DOWN, "Operator system down" },
	{ ENGINE_E_FAILED, "Recharge failed" },
	{ ENGINE_E_INTERNAL, "Internal error" },
	{ ENGINE_E_BUSY, "Service busy, retry later" },
};

const char *
engine_code_message(int code)
{
	for (size_t i = 0; i < sizeof engine_messages / sizeof engine_messages[0]; i++)
		if (engine_messages[i].code == code)
			return engine_messages[i].message;
	return "Internal error";
}

/* ---- flights: recharges waiting on a provider -------------------------------------- */

static struct engine_flight **
engine_flight_slot(struct engine *e, int64_t txn)
{
	struct engine_flight **pp = &e->flights[(uint64_t)txn % ENGINE_FLIGHT_BUCKETS];

	while (*pp != NULL && (*pp)->txn != txn)
		pp = &(*pp)->next;
	return pp;
}

struct engine_flight *
engine_flight_find(struct engine *e, int64_t txn)
{
	return *engine_flight_slot(e, txn);
}

struct engine_flight *
engine_flight_add(struct engine *e, int64_t txn, const char *operator_code)
{
	struct engine_flight **pp = engine_flight_slot(e, txn), *f;

	if (*pp != NULL)
		return *pp;
	f = xcalloc(1, sizeof *f);
	f->engine = e;
	f->txn = txn;
	strlcpy_safe(f->operator_code, operator_code, sizeof f->operator_code);
	*pp = f;
	e->ninflight++;
	return f;
}

void
engine_flight_remove(struct engine *e, int64_t txn)
{
	struct engine_flight **pp = engine_flight_slot(e, txn), *f = *pp;

	if (f == NULL)
		return;
	*pp = f->next;
	if (f->timer != NULL)
		event_free(f->timer);
	free(f);
	e->ninflight--;
}

const uint8_t *
engine_pepper(const struct engine *e)
{
	return e->pepper;
}

int
engine_inflight(const struct engine *e)
{
	return e->ninflight;
}

/* ---- acceptance -------------------------------------------------------------------- */

/* Midnight in Asia/Kolkata (UTC+05:30, no DST), in ms: daily limits reset there. */
static int64_t
engine_ist_day_start_ms(int64_t now_ms)
{
	const int64_t ist = 19800000, day = 86400000;
	return (now_ms + ist) / day * day - ist;
}

/* A DTH subscriber ID against its operator's pattern. */
static int
engine_subscriber_ok(const char *pattern, const char *id)
{
	int err;
	PCRE2_SIZE off;
	pcre2_code *re;
	pcre2_match_data *md;
	int rc;

	if (pattern[0] == '\0')
		return 1;
	re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
	if (re == NULL) {
		log_error("bad subscriber pattern '%s'", pattern);
		return 0;
	}
	md = pcre2_match_data_create_from_pattern(re, NULL);
	rc = pcre2_match(re, (PCRE2_SPTR)id, PCRE2_ZERO_TERMINATED, 0, 0, md, NULL);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return rc >= 0;
}

/* Amount in range, and in the list when the operator has one. */
static int
engine_amount_ok(const struct db_operator *op, int64_t amount)
{
	char list[sizeof op->denominations], *save = NULL, *tok;

	if (amount < op->min_amount || amount > op->max_amount)
		return 0;
	if (op->denominations[0] == '\0')
		return 1;
	strlcpy_safe(list, op->denominations, sizeof list);
	for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
		if (strtoll(tok, NULL, 10) == amount)
			return 1;
	return 0;
}


int
engine_recharge_accept(struct engine *e, const struct engine_recharge *req, struct engine_outcome *out)
{
	struct db *db = batch_db(e->batch);
	const struct db_retailer *r = req->retailer;
	struct db_operator op;
	char series_op[16] = "", series_circle[3] = "";
	struct db_txn *t = &out->txn;
	int rc;

	memset(out, 0, sizeof *out);
	out->balance = r->balance;

	/* operator: as given, or detected from the number series (a hint only) */
	if (!req->dth && (rc = db_series_find(db, req->target, series_op, series_circle)) < 0)
		return out->code = ENGINE_E_BUSY;
	if (req->operator_code[0] == '\0') {
		if (req->dth || series_op[0] == '\0')
			return out->code = ENGINE_E_OPERATOR;
		rc = db_operator_find(db, series_op, &op);
	} else
		rc = db_operator_find(db, req->operator_code, &op);
	if (rc < 0)
		return out->code = ENGINE_E_BUSY;
	if (rc == 0 || !op.enabled || (strcmp(op.service, "DTH") == 0) != (req->dth != 0))
		return out->code = ENGINE_E_OPERATOR;
	if (req->dth && !engine_subscriber_ok(op.subscriber_pattern, req->target))
		return out->code = ENGINE_E_MOBILE;
	if (req->circle[0] != '\0' && (rc = db_circle_exists(db, req->circle)) <= 0) {
		if (rc < 0)
			return out->code = ENGINE_E_BUSY;
		out->param = "circle";
		return out->code = ENGINE_E_PARAM;
	}
	if (!engine_amount_ok(&op, req->amount))
		return out->code = ENGINE_E_AMOUNT;
	if ((rc = db_plan_has_service(db, r->plan, op.service)) <= 0)
		return out->code = rc < 0 ? ENGINE_E_BUSY : ENGINE_E_PLAN;
	int64_t now = clock_now_ms();
	if (r->daily_limit > 0) {
		int64_t today;
		if (db_txn_sum_since(db, r->id, engine_ist_day_start_ms(now), &today) != 0)
			return out->code = ENGINE_E_BUSY;
		if (today + req->amount > r->daily_limit)
			return out->code = ENGINE_E_DAILY_LIMIT;
	}
	rc = db_txn_duplicate(db, r->id, req->target, op.code, req->amount,
	    now - (int64_t)e->cfg->duplicate_window_s * 1000);
	if (rc != 0)
		return out->code = rc < 0 ? ENGINE_E_BUSY : ENGINE_E_DUPLICATE;
	if (r->balance < req->amount) {   /* fast path; the conditional debit decides */
		out->need = req->amount;
		return out->code = ENGINE_E_BALANCE;
	}

	/* the hold: transaction row and posting commit together or not at all */
	memset(t, 0, sizeof *t);
	t->retailer_id = r->id;
	strlcpy_safe(t->channel, req->channel, sizeof t->channel);
	strlcpy_safe(t->request_id, req->request_id ? req->request_id : "", sizeof t->request_id);
	strlcpy_safe(t->service, op.service, sizeof t->service);
	strlcpy_safe(t->operator_code, op.code, sizeof t->operator_code);
	strlcpy_safe(t->target, req->target, sizeof t->target);
	strlcpy_safe(t->circle, req->circle[0] ? req->circle : series_circle, sizeof t->circle);
	t->amount = req->amount;
	strlcpy_safe(t->reply_to, req->reply_to ? req->reply_to : "", sizeof t->reply_to);
	t->reply_ton = req->reply_ton;
	t->reply_npi = req->reply_npi;
	if (db_savepoint(db) != 0)
		return out->code = ENGINE_E_BUSY;
	struct db_line hold[2] = { { r->wallet_account, -req->amount }, { DB_ACCOUNT_IN_FLIGHT, req->amount } };
	if (db_txn_insert(db, t) != 0 || (rc = db_posting_add(db, "hold", t->id, "engine", NULL, hold, 2)) < 0) {
		db_rollback_to(db);
		log_error("recharge hold failed: %s", db_error(db));
		return out->code = ENGINE_E_BUSY;
	}
	if (rc == 0) {
		db_rollback_to(db);
		db_account_balance(db, r->wallet_account, &out->balance);
		out->need = req->amount;
		return out->code = ENGINE_E_BALANCE;
	}
	if (db_release(db) != 0) {
		db_rollback_to(db);
		return out->code = ENGINE_E_BUSY;
	}
	db_account_balance(db, r->wallet_account, &out->balance);

	/* A savepoint of the caller rolled back after an earlier acceptance leaves a flight
	 * whose id the next insert reuses: it is that flight, dispatched once. */
	struct engine_flight *f = engine_flight_add(e, t->id, op.code);
	strlcpy_safe(f->operator_code, op.code, sizeof f->operator_code);
	if (!f->dispatch_pending) {
		f->dispatch_pending = 1;
		batch_defer(e->batch, engine_dispatch_cb, f);
	}
	char id[24], amt[MONEY_BUFSZ];
	log_info("%s accepted: retailer %s %s %s Rs%s via %s", db_txn_format_id(t->id, id), r->msisdn,
	    t->operator_code, t->target, money_format(t->amount, amt), t->channel);
	return out->code = ENGINE_OK;
}

/* ---- restart ------------------------------------------------------------------------------ */

static void
engine_resume_one(void *arg, const struct db_txn *t)
{
	struct engine *e = arg;
	struct engine_flight *f;

	if (engine_flight_find(e, t->id) != NULL)
		return;            /* in hand already: its own dispatch comes */
	f = engine_flight_add(e, t->id, t->operator_code);
	/* The built-in sim lives in this process, so what it had in hand died with the
	 * last one: calling it again cannot double a recharge. A provider outside the
	 * process that may have it (recorded before it was called) is asked for the
	 * status, never called again (docs/design.md). */
	struct provider *p = t->provider[0] ? engine_provider_find(e, t->provider) : NULL;
	if (t->provider[0] == '\0' || (p != NULL && p->ops->in_process)) {
		engine_dispatch(e, f);
		return;
	}
	strlcpy_safe(f->provider, t->provider, sizeof f->provider);
	f->step = ENGINE_STEP_POLL;
	engine_poll(e, f);
}

int
engine_resume(struct engine *e)
{
	int before = e->ninflight;

	if (db_txn_each_pending(batch_db(e->batch), engine_resume_one, e) != 0)
		return -1;
	if (e->ninflight > before)
		log_info("resumed %d pending recharges", e->ninflight - before);
	return 0;
}

/* ---- life cycle ---------------------------------------------------------------------------- */

struct engine *
engine_new(struct event_base *base, struct batch *batch, const struct config *cfg,
    const uint8_t pepper[PEPPER_LEN], const struct engine_hooks *hooks, char **cause)
{
	struct engine *e = xcalloc(1, sizeof *e);

	e->base = base;
	e->batch = batch;
	e->cfg = cfg;
	memcpy(e->pepper, pepper, PEPPER_LEN);
	if (hooks != NULL)
		e->hooks = *hooks;
	if (engine_providers_create(e, cfg, e->providers, &e->nproviders, cause) != 0) {
		free(e);
		return NULL;
	}
	e->held_ev = event_new(base, -1, 0, engine_settle_held_cb, e);
	engine_watch_start(e);
	return e;
}

int
engine_reload(struct engine *e, const struct config *cfg, char **cause)
{
	struct provider *fresh[ENGINE_MAX_PROVIDERS];
	int n;

	if (engine_providers_create(e, cfg, fresh, &n, cause) != 0)
		return -1;
	/* answers for calls already made come back by name, so old providers may go;
	 * health carries over by name */
	for (int i = 0; i < n; i++) {
		struct provider *old = engine_provider_find(e, fresh[i]->name);
		if (old != NULL)
			memcpy(&fresh[i]->health, &old->health, sizeof old->health);
	}
	engine_providers_free(e->providers, e->nproviders);
	memcpy(e->providers, fresh, sizeof fresh[0] * (size_t)n);
	e->nproviders = n;
	e->cfg = cfg;
	return 0;
}

void
engine_flush_kept(struct engine *e)
{
	if (e == NULL || batch_probe_now(e->batch) != 0)
		return;
	e->settle_flush = 1;
	for (int i = 0; i < ENGINE_FLIGHT_BUCKETS; i++) {
		struct engine_flight *f = e->flights[i], *next;
		for (; f != NULL; f = next) {
			next = f->next;       /* settling again may remove f, and only f */
			if (!f->settling || f->settle_queued)
				continue;
			if (f->timer != NULL)
				evtimer_del(f->timer);
			f->settle_held = 0;   /* now, not a later batch */
			engine_settle_apply(e, f);
		}
	}
	e->settle_flush = 0;
}

/* What the provider did but the disk never got: said with what an operator needs. */
static void
engine_flight_lost(const struct engine_flight *f)
{
	const char *state = f->settle_success ? "success" : "failed";

	log_error("TXN%09lld: %s from %s (provider reference %s) was not written before the "
	    "stop; if it is still PENDING after the restart (a provider without a status query "
	    "cannot be asked) run: rechargectl txn resolve TXN%09lld %s%s%s", (long long)f->txn,
	    f->settle_success ? DB_STATE_SUCCESS : DB_STATE_FAILED,
	    f->settle_provider[0] ? f->settle_provider : "-", f->settle_ref[0] ? f->settle_ref : "-",
	    (long long)f->txn, state, f->settle_ref[0] ? " --ref " : "", f->settle_ref);
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	provider_sim_forget(e);
	engine_watch_stop(e);
	engine_providers_free(e->providers, e->nproviders);
	if (e->held_ev != NULL)
		event_free(e->held_ev);
	free(e->held);
	for (int i = 0; i < ENGINE_FLIGHT_BUCKETS; i++) {
		while (e->flights[i] != NULL) {
			struct engine_flight *f = e->flights[i];
			e->flights[i] = f->next;
			if (f->settling)
				engine_flight_lost(f);
			if (f->timer != NULL)
				event_free(f->timer);
			free(f);
		}
	}
	free(e);
}
