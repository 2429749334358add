/* engine/provider_sim.c: the built-in simulated operator, for the demo and load tests.
 * Each call draws its outcome: down_pct not taken, pending_pct answered PENDING and
 * settled by itself pending_settle_ms later, else success_pct SUCCESS or FAILED. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "engine/internal.h"

static const char *const provider_sim_keys[] = {
	"latency_ms", "success_pct", "pending_pct", "down_pct", "pending_settle_ms", NULL,
};

struct provider_sim {
	int latency_ms, success_pct, pending_pct, down_pct, pending_settle_ms;
};

/* One call in hand. Calls belong to the module, not the provider, so a SIGHUP that
 * replaces the provider does not lose them. */
struct provider_sim_call {
	struct engine *engine;
	char name[32];
	int64_t txn;
	int settle_later_ms;          /* >0: answered PENDING first, this much later final */
	struct provider_answer answer;
	struct event *ev;
	struct provider_sim_call *prev, *next;
};

static struct provider_sim_call *provider_sim_calls;

static int
provider_sim_int(const struct config_provider *cfg, const char *key, int def, int max, char **cause)
{
	const char *v = config_provider_get(cfg, key);
	char *end;
	long x;

	if (v == NULL)
		return def;
	x = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || x < 0 || x > max) {
		if (*cause == NULL && asprintf(cause, "key '%s': not an integer from 0 to %d", key, max) < 0)
			*cause = NULL;
		return def;
	}
	return (int)x;
}

static int
provider_sim_init(struct provider *p, const struct config_provider *cfg, char **cause)
{
	struct provider_sim *s = xcalloc(1, sizeof *s);

	*cause = NULL;
	s->latency_ms = provider_sim_int(cfg, "latency_ms", 0, 600000, cause);
	s->success_pct = provider_sim_int(cfg, "success_pct", 100, 100, cause);
	s->pending_pct = provider_sim_int(cfg, "pending_pct", 0, 100, cause);
	s->down_pct = provider_sim_int(cfg, "down_pct", 0, 100, cause);
	s->pending_settle_ms = provider_sim_int(cfg, "pending_settle_ms", 5000, 86400000, cause);
	if (*cause != NULL) {
		free(s);
		return -1;
	}
	p->state = s;
	return 0;
}

static void
provider_sim_call_free(struct provider_sim_call *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		provider_sim_calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	event_free(c->ev);
	free(c);
}

static void
provider_sim_fire_cb(evutil_socket_t fd, short what, void *arg)
{
	struct provider_sim_call *c = arg;
	struct provider_answer a = c->answer;

	if (c->settle_later_ms > 0) {
		/* first the pending answer, then the real one later */
		struct timeval tv = { c->settle_later_ms / 1000, (c->settle_later_ms % 1000) * 1000 };
		struct provider_answer pending = { .result = PROVIDER_PENDING };
		strcpy(pending.message, "pending at operator");
		c->settle_later_ms = 0;
		evtimer_add(c->ev, &tv);
		engine_provider_answer(c->engine, c->txn, c->name, &pending);
		return;
	}
	struct engine *e = c->engine;
	char name[32];
	int64_t txn = c->txn;
	strlcpy_safe(name, c->name, sizeof name);
	provider_sim_call_free(c);
	engine_provider_answer(e, txn, name, &a);
}

static void
provider_sim_submit(struct provider *p, const struct db_txn *t)
{
	struct provider_sim *s = p->state;
	struct provider_sim_call *c = xcalloc(1, sizeof *c);
	struct timeval tv = { s->latency_ms / 1000, (s->latency_ms % 1000) * 1000 };

	c->engine = p->engine;
	strlcpy_safe(c->name, p->name, sizeof c->name);
	c->txn = t->id;
	if (random_below(100) < (uint32_t)s->down_pct) {
		c->answer.result = PROVIDER_DOWN;
		strcpy(c->answer.message, "simulated outage");
	} else {
		if (random_below(100) < (uint32_t)s->pending_pct)
			c->settle_later_ms = s->pending_settle_ms > 0 ? s->pending_settle_ms : 1;
		if (random_below(100) < (uint32_t)s->success_pct) {
			c->answer.result = PROVIDER_SUCCESS;
			/* an operator-style reference, made by the simulated operator itself */
			snprintf(c->answer.ref, sizeof c->answer.ref, "SIM%08u", random_below(100000000));
		} else {
			c->answer.result = PROVIDER_FAILED;
			strcpy(c->answer.message, "simulated failure");
		}
	}
	c->ev = evtimer_new(p->base, provider_sim_fire_cb, c);
	c->next = provider_sim_calls;
	if (c->next != NULL)
		c->next->prev = c;
	provider_sim_calls = c;
	evtimer_add(c->ev, &tv);
}

static void
provider_sim_free(struct provider *p)
{
	free(p->state);
}

/* Frees the calls of one engine (shutdown); their recharges stay PENDING in the
 * database and resume at the next start. */
void
provider_sim_forget(struct engine *e)
{
	struct provider_sim_call *c = provider_sim_calls, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		if (c->engine == e)
			provider_sim_call_free(c);
	}
}

const struct provider_ops provider_sim_ops = {
	.type = "sim",
	.keys = provider_sim_keys,
	.in_process = 1,
	.init = provider_sim_init,
	.submit = provider_sim_submit,
	.free = provider_sim_free,
};
