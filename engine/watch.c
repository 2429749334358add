/* engine/watch.c: the providers' health (failures in a row, the circuit breaker),
 * their balances, and recharges stuck PENDING; admins hear of the last two by SMS.
 * Health is kept in provider_state so rechargectl provider list can show it. */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "engine/internal.h"

#define ENGINE_WATCH_S 1

/* Writes a provider's health for rechargectl (best effort: information only). */
static void
engine_health_save(struct engine *e, struct provider *p)
{
	struct db_provider_state st;

	if (batch_degraded(e->batch) || batch_join(e->batch) != 0)
		return;
	memset(&st, 0, sizeof st);
	strlcpy_safe(st.name, p->name, sizeof st.name);
	st.failures = p->health.failures;
	st.breaker_open_until = p->health.breaker_open_until;
	st.last_ok_at = p->health.last_ok_at;
	strlcpy_safe(st.last_error, p->health.last_error, sizeof st.last_error);
	st.has_balance = p->health.has_balance;
	st.balance = p->health.balance;
	st.balance_at = p->health.balance_at;
	st.low_balance_alerted = p->health.low_balance_alerted;
	if (db_provider_state_put(batch_db(e->batch), &st) != 0)
		log_warn("provider %s: health not saved: %s", p->name, db_error(batch_db(e->batch)));
}

void
engine_health_ok(struct engine *e, struct provider *p)
{
	int changed = p->health.failures != 0 || p->health.breaker_open_until != 0;
	int64_t now = clock_now_ms();

	p->health.failures = 0;
	p->health.breaker_open_until = 0;
	if (changed)
		log_info("provider %s: healthy again, breaker closed", p->name);
	/* "last ok" for rechargectl provider list, at most once a minute when nothing changes */
	if (changed || now - p->health.last_ok_at > 60000) {
		p->health.last_ok_at = now;
		engine_health_save(e, p);
	}
}

void
engine_health_failed(struct engine *e, struct provider *p, const char *why)
{
	strlcpy_safe(p->health.last_error, why, sizeof p->health.last_error);
	if (++p->health.failures >= e->cfg->breaker_failures && p->health.breaker_open_until == 0) {
		p->health.breaker_open_until = clock_now_ms() + (int64_t)e->cfg->breaker_cooldown_s * 1000;
		log_warn("provider %s: %d failures in a row (%s): breaker open for %d s", p->name,
		    p->health.failures, why, e->cfg->breaker_cooldown_s);
	}
	engine_health_save(e, p);
}

/* 1 while the breaker keeps p off routes; after the cool-down one call may try it. */
int
engine_breaker_open(struct engine *e, struct provider *p)
{
	int64_t until = p->health.breaker_open_until;

	if (until == 0)
		return 0;
	if (clock_now_ms() < until) {
		log_debug("provider %s skipped: breaker open", p->name);
		return 1;
	}
	/* half open: this call decides; a failure opens it again at once */
	p->health.failures = e->cfg->breaker_failures - 1;
	p->health.breaker_open_until = 0;
	log_info("provider %s: breaker half open, trying it", p->name);
	return 0;
}

static void
engine_alert(struct engine *e, const char *text)
{
	log_warn("alert: %s", text);
	if (e->hooks.alert_cb != NULL && !batch_degraded(e->batch) && batch_join(e->batch) == 0)
		e->hooks.alert_cb(e->hooks.arg, text);
}

void
engine_provider_balance(struct engine *e, const char *provider, int ok, int64_t paise)
{
	struct provider *p = engine_provider_find(e, provider);
	char amt[MONEY_BUFSZ], low[MONEY_BUFSZ], text[160];

	if (p == NULL)
		return;
	if (!ok) {
		log_warn("provider %s: balance not read", provider);
		return;
	}
	p->health.has_balance = 1;
	p->health.balance = paise;
	p->health.balance_at = clock_now_ms();
	if (paise < e->cfg->low_balance && !p->health.low_balance_alerted) {
		p->health.low_balance_alerted = 1;
		snprintf(text, sizeof text, "ALERT provider %s balance Rs%s below Rs%s", provider,
		    money_format(paise, amt), money_format(e->cfg->low_balance, low));
		engine_alert(e, text);
	} else if (paise >= e->cfg->low_balance)
		p->health.low_balance_alerted = 0;
	engine_health_save(e, p);
}

static void
engine_stuck_one(void *arg, const struct db_txn *t)
{
	struct engine *e = arg;
	char text[160], id[24], amt[MONEY_BUFSZ];

	int s = e->cfg->stuck_pending_s;

	snprintf(text, sizeof text, "ALERT %s PENDING over %d %s: %s %s Rs%s at %s",
	    db_txn_format_id(t->id, id), s >= 120 ? s / 60 : s, s >= 120 ? "min" : "s", t->target,
	    t->operator_code, money_format(t->amount, amt), t->provider[0] ? t->provider : "no provider");
	engine_alert(e, text);
}

static void
engine_watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	int64_t now = clock_now_ms();

	if (now >= e->next_balance_ms) {
		e->next_balance_ms = now + (int64_t)e->cfg->balance_poll_s * 1000;
		for (int i = 0; i < e->nproviders; i++)
			if (e->providers[i]->ops->balance != NULL)
				e->providers[i]->ops->balance(e->providers[i]);
	}
	/* a read first: the write lock only when there is something to say */
	int64_t cutoff = now - (int64_t)e->cfg->stuck_pending_s * 1000;
	if (!batch_degraded(e->batch) && db_txn_any_stuck(batch_db(e->batch), cutoff) == 1 &&
	    batch_join(e->batch) == 0 &&
	    db_txn_each_stuck(batch_db(e->batch), cutoff, engine_stuck_one, e) < 0)
		log_warn("stuck check: %s", db_error(batch_db(e->batch)));
}

void
engine_watch_start(struct engine *e)
{
	struct timeval tv = { ENGINE_WATCH_S, 0 };

	/* health survives restarts: load what the last run knew */
	for (int i = 0; i < e->nproviders; i++) {
		struct db_provider_state st;
		struct provider *p = e->providers[i];
		if (db_provider_state_get(batch_db(e->batch), p->name, &st) == 1) {
			p->health.failures = st.failures;
			p->health.breaker_open_until = st.breaker_open_until;
			p->health.last_ok_at = st.last_ok_at;
			p->health.has_balance = st.has_balance;
			p->health.balance = st.balance;
			p->health.balance_at = st.balance_at;
			p->health.low_balance_alerted = st.low_balance_alerted;
		}
	}
	/* the first balances soon after start, not in the first instant */
	e->next_balance_ms = clock_now_ms() + (int64_t)(e->cfg->balance_poll_s < 30 ?
	    e->cfg->balance_poll_s : 30) * 1000;
	e->watch_ev = event_new(e->base, -1, EV_PERSIST, engine_watch_cb, e);
	event_add(e->watch_ev, &tv);
}

void
engine_watch_stop(struct engine *e)
{
	if (e->watch_ev != NULL)
		event_free(e->watch_ev);
	e->watch_ev = NULL;
}
