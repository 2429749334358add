/* tools/provsim/txn.c: the ledger. Every recharge the simulator takes is a record
 * found by its txn_id (an open-addressing index), so a second request for it is a
 * duplicate, never a second recharge. Records are never evicted: past max_txns new
 * recharges are refused with 503 (not taken), which keeps idempotency exact. The
 * balance moves with the records: debited when taken, refunded on failure and
 * reversal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/common.h"
#include "tools/provsim/provsim.h"

#define PROVSIM_TXNS_FIRST 1024

static void provsim_txn_timer_cb(evutil_socket_t fd, short what, void *arg);

/* Small to start with; grows by doubling up to --max-txns. */
int
provsim_txn_init(struct provsim *sim)
{
	sim->txns_cap = PROVSIM_TXNS_FIRST;
	if (sim->txns_cap > sim->opt.max_txns)
		sim->txns_cap = sim->opt.max_txns > 0 ? sim->opt.max_txns : 1;
	sim->txns = calloc(sim->txns_cap, sizeof *sim->txns);
	sim->index_cap = 2 * PROVSIM_TXNS_FIRST;
	sim->index = calloc(sim->index_cap, sizeof *sim->index);
	sim->next_ref = 1;
	return sim->txns != NULL && sim->index != NULL ? 0 : -1;
}

/* Timers first: they point into the table. */
void
provsim_txn_free_all(struct provsim *sim)
{
	for (uint32_t i = 0; i < sim->ntxns; i++)
		if (sim->txns[i].timer != NULL) {
			event_free(sim->txns[i].timer->ev);
			free(sim->txns[i].timer);
		}
	free(sim->txns);
	free(sim->index);
	sim->txns = NULL;
	sim->index = NULL;
	sim->ntxns = 0;
}

/* FNV-1a: txn ids are short and mostly digits. */
static uint32_t
provsim_txn_hash(const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id != '\0'; id++)
		h = (h ^ (uint8_t)*id) * 16777619u;
	return h;
}

/* Linear probing; the index is never more than half full. */
static void
provsim_txn_index_put(uint32_t *index, uint32_t cap, const char *id, uint32_t idx)
{
	uint32_t i = provsim_txn_hash(id) & (cap - 1);

	while (index[i] != 0)
		i = (i + 1) & (cap - 1);
	index[i] = idx + 1;
}

/* NULL when the simulator never took that txn_id. */
struct provsim_txn *
provsim_txn_find(struct provsim *sim, const char *id)
{
	uint32_t i;

	if (id == NULL)
		return NULL;
	for (i = provsim_txn_hash(id) & (sim->index_cap - 1); sim->index[i] != 0;
	    i = (i + 1) & (sim->index_cap - 1))
		if (strcmp(sim->txns[sim->index[i] - 1].id, id) == 0)
			return &sim->txns[sim->index[i] - 1];
	return NULL;
}

/* Timers and callbacks keep an index: records move when the table grows. */
uint32_t
provsim_txn_index(const struct provsim *sim, const struct provsim_txn *t)
{
	return (uint32_t)(t - sim->txns);
}

/* Room for one more record: grows the table and the index (half full at most). */
static int
provsim_txn_grow(struct provsim *sim)
{
	if (sim->ntxns == sim->txns_cap) {
		uint32_t cap = sim->txns_cap * 2;
		struct provsim_txn *v;

		if (cap > sim->opt.max_txns)
			cap = sim->opt.max_txns;
		if ((v = realloc(sim->txns, (size_t)cap * sizeof *v)) == NULL)
			return -1;
		memset(v + sim->txns_cap, 0, (size_t)(cap - sim->txns_cap) * sizeof *v);
		sim->txns = v;
		sim->txns_cap = cap;
	}
	if ((uint64_t)(sim->ntxns + 1) * 2 > sim->index_cap) {
		uint32_t cap = sim->index_cap * 2;
		uint32_t *index = calloc(cap, sizeof *index);

		if (index == NULL)
			return -1;
		for (uint32_t i = 0; i < sim->ntxns; i++)
			provsim_txn_index_put(index, cap, sim->txns[i].id, i);
		free(sim->index);
		sim->index = index;
		sim->index_cap = cap;
	}
	return 0;
}

/* Moves t to st, keeping the counts by status. */
static void
provsim_txn_set(struct provsim *sim, struct provsim_txn *t, enum provsim_status st)
{
	if (t->status != PROVSIM_ST_NOT_FOUND)
		sim->st.by_status[t->status]--;
	t->status = (uint8_t)st;
	sim->st.by_status[st]++;
}

/* At most one timer per txn: settle, then perhaps reverse. */
static void
provsim_txn_timer_cancel(struct provsim_txn *t)
{
	if (t->timer == NULL)
		return;
	event_free(t->timer->ev);
	free(t->timer);
	t->timer = NULL;
}

/* Settle or reverse t in ms; replaces its timer if it had one. */
static void
provsim_txn_timer_arm(struct provsim *sim, struct provsim_txn *t, enum provsim_timer_kind kind,
    int ms)
{
	struct provsim_timer *tm = xcalloc(1, sizeof *tm);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	provsim_txn_timer_cancel(t);
	tm->sim = sim;
	tm->idx = provsim_txn_index(sim, t);
	tm->kind = kind;
	tm->ev = evtimer_new(sim->base, provsim_txn_timer_cb, tm);
	evtimer_add(tm->ev, &tv);
	t->timer = tm;
}

/* Only what was debited comes back, and only once. */
static void
provsim_txn_refund(struct provsim *sim, struct provsim_txn *t)
{
	if (t->debited) {
		sim->balance += t->amount;
		t->debited = 0;
	}
}

/* A SUCCESS gets its operator reference, and perhaps a reversal later. */
static void
provsim_txn_succeed(struct provsim *sim, struct provsim_txn *t)
{
	snprintf(t->ref, sizeof t->ref, sim->opt.shape == PROVSIM_SHAPE_JSON ? "OPR%09llu" :
	    "OP%010llu", (unsigned long long)sim->next_ref++);
	provsim_txn_set(sim, t, PROVSIM_ST_SUCCESS);
	if (sim->set.reverse_pct > 0 && (int)random_below(100) < sim->set.reverse_pct)
		provsim_txn_timer_arm(sim, t, PROVSIM_TIMER_REVERSE, sim->set.reverse_ms);
}

/* Whether a change of state is told by callback: not when callbacks are only for
 * pending ones and this one was never pending. */
static int
provsim_txn_tells(const struct provsim *sim)
{
	return sim->set.callback_url[0] != '\0' && sim->set.pending_then != PROVSIM_THEN_POLL;
}

/* A PENDING one becomes final (settle_ms after it was taken). */
static void
provsim_txn_settle(struct provsim *sim, struct provsim_txn *t)
{
	t->settled_ms = provsim_now_ms();
	t->hidden = sim->set.pending_then == PROVSIM_THEN_CALLBACK;
	if (t->final == PROVSIM_ST_SUCCESS)
		provsim_txn_succeed(sim, t);
	else {
		t->reason = PROVSIM_REASON_DECLINED;
		provsim_txn_refund(sim, t);
		provsim_txn_set(sim, t, PROVSIM_ST_FAILED);
	}
	log_info("provsim: %s settled %s%s", t->id, provsim_status_name(t->status),
	    t->hidden ? " (status endpoint keeps saying PENDING)" : "");
	if (provsim_txn_tells(sim))
		provsim_callback_queue(sim, provsim_txn_index(sim, t), t->status);
}

/* A txn's timer fired: settle it or reverse it. */
static void
provsim_txn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct provsim_timer *tm = arg;
	struct provsim *sim = tm->sim;
	struct provsim_txn *t = &sim->txns[tm->idx];
	enum provsim_timer_kind kind = tm->kind;
	const char *cause;

	provsim_txn_timer_cancel(t);
	if (kind == PROVSIM_TIMER_SETTLE)
		provsim_txn_settle(sim, t);
	else if (provsim_txn_reverse(sim, t, &cause) < 0)
		log_info("provsim: %s not reversed: %s", t->id, cause);
}

/* The operator took a success back: refunded, told by callback. */
int
provsim_txn_reverse(struct provsim *sim, struct provsim_txn *t, const char **cause)
{
	if (t->status != PROVSIM_ST_SUCCESS) {
		*cause = t->status == PROVSIM_ST_REVERSED ? "already reversed" :
		    "only a SUCCESS can be reversed";
		return -1;
	}
	provsim_txn_timer_cancel(t);
	provsim_txn_refund(sim, t);
	provsim_txn_set(sim, t, PROVSIM_ST_REVERSED);
	t->hidden = 0;
	t->reversed_ms = provsim_now_ms();
	sim->st.reversals++;
	log_info("provsim: %s REVERSED", t->id);
	if (provsim_txn_tells(sim))
		provsim_callback_queue(sim, provsim_txn_index(sim, t), PROVSIM_ST_REVERSED);
	return 0;
}

/* With pending_then = callback the status endpoint lags behind the truth. */
enum provsim_status
provsim_txn_reported(const struct provsim *sim, const struct provsim_txn *t)
{
	if (t->hidden && (t->status == PROVSIM_ST_SUCCESS || t->status == PROVSIM_ST_FAILED))
		return PROVSIM_ST_PENDING;
	return (enum provsim_status)t->status;
}

/* Decided before anything else, so a 503 never touches the ledger. */
enum provsim_fate
provsim_txn_fate(struct provsim *sim)
{
	const struct provsim_settings *s = &sim->set;
	int r;

	switch (s->mode) {
	case PROVSIM_MODE_DOWN: return PROVSIM_FATE_DOWN;
	case PROVSIM_MODE_ERROR: return PROVSIM_FATE_ERROR;
	case PROVSIM_MODE_HANG: return PROVSIM_FATE_HANG;
	case PROVSIM_MODE_GARBAGE: return PROVSIM_FATE_GARBAGE;
	case PROVSIM_MODE_MIX:
		r = (int)random_below(100);
		if ((r -= s->down_pct) < 0)
			return PROVSIM_FATE_DOWN;
		if ((r -= s->error_pct) < 0)
			return PROVSIM_FATE_ERROR;
		if ((r -= s->hang_pct) < 0)
			return PROVSIM_FATE_HANG;
		if ((r -= s->garbage_pct) < 0)
			return PROVSIM_FATE_GARBAGE;
		return PROVSIM_FATE_ANSWER;
	default:
		return PROVSIM_FATE_ANSWER;
	}
}

/* The outcome a taken recharge ends with, and whether it is PENDING first. */
static enum provsim_status
provsim_txn_draw(struct provsim *sim, enum provsim_fate via, int *pending)
{
	const struct provsim_settings *s = &sim->set;
	int success = (int)random_below(100) < s->success_pct;

	*pending = 0;
	switch (s->mode) {
	case PROVSIM_MODE_SUCCESS: return PROVSIM_ST_SUCCESS;
	case PROVSIM_MODE_FAILURE: return PROVSIM_ST_FAILED;
	case PROVSIM_MODE_PENDING:
		*pending = via == PROVSIM_FATE_ANSWER;
		break;
	case PROVSIM_MODE_MIX:
		*pending = via == PROVSIM_FATE_ANSWER && (int)random_below(100) < s->pending_pct;
		break;
	default:
		break;
	}
	return success ? PROVSIM_ST_SUCCESS : PROVSIM_ST_FAILED;
}

/* The only place a recharge is done: once per txn_id. */
struct provsim_txn *
provsim_txn_take(struct provsim *sim, const struct provsim_call *call, enum provsim_fate via)
{
	struct provsim_txn *t;
	enum provsim_status final;
	int pending;

	if (sim->ntxns >= sim->opt.max_txns || provsim_txn_grow(sim) < 0) {
		sim->st.refused_full++;
		if (!sim->full_warned++)
			log_warn("provsim: %u txns tracked (--max-txns): new recharges get 503",
			    sim->ntxns);
		return NULL;
	}
	t = &sim->txns[sim->ntxns];
	memset(t, 0, sizeof *t);
	strlcpy_safe(t->id, call->txn_id, sizeof t->id);
	provsim_txn_index_put(sim->index, sim->index_cap, t->id, sim->ntxns);
	sim->ntxns++;
	sim->st.recharges_done++;
	t->via = (uint8_t)via;
	t->requests = 1;
	t->created_ms = provsim_now_ms();
	t->amount = call->amount_paise > 0 ? call->amount_paise : 0;
	if (call->mobile != NULL)
		strlcpy_safe(t->mobile, call->mobile, sizeof t->mobile);
	if (call->op != NULL)
		strlcpy_safe(t->op, call->op, sizeof t->op);
	if (call->circle != NULL)
		strlcpy_safe(t->circle, call->circle, sizeof t->circle);

	if (call->mobile == NULL || call->mobile[0] == '\0' || strlen(call->mobile) > PROVSIM_FIELD_MAX ||
	    call->op == NULL || call->op[0] == '\0' || strlen(call->op) > PROVSIM_FIELD_MAX ||
	    call->amount_paise <= 0) {
		t->reason = PROVSIM_REASON_INVALID;
		provsim_txn_set(sim, t, PROVSIM_ST_FAILED);
		return t;
	}
	final = provsim_txn_draw(sim, via, &pending);
	if (t->amount > sim->balance) {
		t->reason = PROVSIM_REASON_BALANCE;
		provsim_txn_set(sim, t, PROVSIM_ST_FAILED);
		return t;
	}
	sim->balance -= t->amount;
	t->debited = 1;
	t->final = (uint8_t)final;
	if (pending) {
		provsim_txn_set(sim, t, PROVSIM_ST_PENDING);
		provsim_txn_timer_arm(sim, t, PROVSIM_TIMER_SETTLE, sim->set.settle_ms);
		return t;
	}
	t->settled_ms = t->created_ms;
	if (final == PROVSIM_ST_SUCCESS)
		provsim_txn_succeed(sim, t);
	else {
		t->reason = PROVSIM_REASON_DECLINED;
		provsim_txn_refund(sim, t);
		provsim_txn_set(sim, t, PROVSIM_ST_FAILED);
	}
	if (sim->set.callback_all && provsim_txn_tells(sim))
		provsim_callback_queue(sim, provsim_txn_index(sim, t), t->status);
	return t;
}
