/* tools/provsim/control.c: one table of settings (name, type, range, help) that both
 * the command line (--latency-ms 200) and POST /_control ({"latency_ms":200}) go
 * through, so the two never disagree. A control request is checked whole on a copy
 * of the settings and applied only when every key is good. The simulator's own
 * endpoints live here too: /_control, /_stats, /_txn. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "common/common.h"
#include "tools/provsim/provsim.h"

#define PROVSIM_FOR_MS_MAX 86400000

/* Enum settings are stored through an int: they must have its size. */
_Static_assert(sizeof(enum provsim_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum provsim_then) == sizeof(int), "enum size");
_Static_assert(sizeof(enum provsim_garbage) == sizeof(int), "enum size");

enum provsim_set_type { PROVSIM_SET_INT, PROVSIM_SET_BOOL, PROVSIM_SET_ENUM, PROVSIM_SET_STR };

struct provsim_set_entry {
	const char *name;
	enum provsim_set_type type;
	size_t off;
	int min, max;               /* INT */
	const char *const *names;   /* ENUM: names[i] is value i + base */
	int base;
	const char *help;
};

static const char *const provsim_mode_names[] = { "success", "pending", "failure", "503", "500",
	"hang", "garbage", "mix", NULL };
static const char *const provsim_then_names[] = { "both", "callback", "poll", NULL };
static const char *const provsim_garbage_names[] = { "cycle", "html", "truncated", "types",
	"empty", NULL };
static const char *const provsim_method_names[] = { "POST", "GET", NULL };
static const char *const provsim_body_names[] = { "auto", "json", "form", NULL };

#define S_OFF(f) offsetof(struct provsim_settings, f)
static const struct provsim_set_entry provsim_set_table[] = {
	{ "mode", PROVSIM_SET_ENUM, S_OFF(mode), 0, 0, provsim_mode_names, 0,
	  "what recharges get: success|pending|failure|503|500|hang|garbage|mix" },
	{ "latency_ms", PROVSIM_SET_INT, S_OFF(latency_ms), 0, 600000, NULL, 0,
	  "time before each API answer" },
	{ "jitter_ms", PROVSIM_SET_INT, S_OFF(jitter_ms), 0, 600000, NULL, 0,
	  "plus 0..N ms at random" },
	{ "success_pct", PROVSIM_SET_INT, S_OFF(success_pct), 0, 100, NULL, 0,
	  "pending, mix and 5xx-taken recharges: the share that succeeds" },
	{ "pending_pct", PROVSIM_SET_INT, S_OFF(pending_pct), 0, 100, NULL, 0,
	  "mix: the share answered PENDING first" },
	{ "down_pct", PROVSIM_SET_INT, S_OFF(down_pct), 0, 100, NULL, 0, "mix: 503" },
	{ "error_pct", PROVSIM_SET_INT, S_OFF(error_pct), 0, 100, NULL, 0, "mix: 500" },
	{ "hang_pct", PROVSIM_SET_INT, S_OFF(hang_pct), 0, 100, NULL, 0, "mix: never answered" },
	{ "garbage_pct", PROVSIM_SET_INT, S_OFF(garbage_pct), 0, 100, NULL, 0,
	  "mix: a body no parser should accept" },
	{ "pending_then", PROVSIM_SET_ENUM, S_OFF(pending_then), 0, 0, provsim_then_names, 0,
	  "how a PENDING one becomes final: both|callback|poll" },
	{ "settle_ms", PROVSIM_SET_INT, S_OFF(settle_ms), 0, 86400000, NULL, 0,
	  "PENDING to final after this" },
	{ "reverse_pct", PROVSIM_SET_INT, S_OFF(reverse_pct), 0, 100, NULL, 0,
	  "share of successes reversed later" },
	{ "reverse_ms", PROVSIM_SET_INT, S_OFF(reverse_ms), 0, 86400000, NULL, 0,
	  "a drawn reversal comes this long after the success" },
	{ "error_done", PROVSIM_SET_BOOL, S_OFF(error_done), 0, 1, NULL, 0,
	  "a 500, hang or garbage answer still does the recharge (1) or not (0)" },
	{ "garbage", PROVSIM_SET_ENUM, S_OFF(garbage), 0, 0, provsim_garbage_names, 0,
	  "garbage bodies: cycle|html|truncated|types|empty" },
	{ "callback_url", PROVSIM_SET_STR, S_OFF(callback_url), 0, 0, NULL, 0,
	  "http://HOST:PORT/PATH callbacks go to (empty: none)" },
	{ "callback_method", PROVSIM_SET_ENUM, S_OFF(callback_get), 0, 0, provsim_method_names, 0,
	  "POST (a body) or GET (a query string)" },
	{ "callback_body", PROVSIM_SET_ENUM, S_OFF(callback_body), 0, 0, provsim_body_names, -1,
	  "auto (json shape: JSON, flat: form)|json|form" },
	{ "callback_secret", PROVSIM_SET_STR, S_OFF(callback_secret), 0, 0, NULL, 0,
	  "shared secret: `secret` field and X-Callback-Secret header" },
	{ "callback_hmac", PROVSIM_SET_BOOL, S_OFF(callback_hmac), 0, 1, NULL, 0,
	  "sign with HMAC-SHA256(secret, body) in X-Signature instead" },
	{ "callback_all", PROVSIM_SET_BOOL, S_OFF(callback_all), 0, 1, NULL, 0,
	  "callbacks for recharges final at once too" },
	{ "callback_retries", PROVSIM_SET_INT, S_OFF(callback_retries), 0, 10, NULL, 0,
	  "retries of a callback without answer or with a 5xx" },
	{ "key", PROVSIM_SET_STR, S_OFF(key), 0, 0, NULL, 0,
	  "json shape: the API key required (key field or X-Api-Key)" },
	{ "uid", PROVSIM_SET_STR, S_OFF(uid), 0, 0, NULL, 0, "flat shape: uid required" },
	{ "pwd", PROVSIM_SET_STR, S_OFF(pwd), 0, 0, NULL, 0, "flat shape: pwd required" },
};
#define PROVSIM_NSET ((int)(sizeof provsim_set_table / sizeof provsim_set_table[0]))

/* The defaults docs/provsim.md lists: a well-behaved aggregator. */
void
provsim_settings_defaults(struct provsim_settings *s)
{
	memset(s, 0, sizeof *s);
	s->mode = PROVSIM_MODE_SUCCESS;
	s->success_pct = 100;
	s->pending_then = PROVSIM_THEN_BOTH;
	s->settle_ms = 2000;
	s->reverse_ms = 1000;
	s->error_done = 1;
	s->garbage = PROVSIM_GARBAGE_CYCLE;
	s->callback_body = -1;
	s->callback_retries = 2;
}

/* The table is private: main.c builds its options from these. */
const char *
provsim_settings_name(int i)
{
	return i >= 0 && i < PROVSIM_NSET ? provsim_set_table[i].name : NULL;
}

/* Booleans take no value on the command line. */
int
provsim_settings_is_bool(int i)
{
	return i >= 0 && i < PROVSIM_NSET && provsim_set_table[i].type == PROVSIM_SET_BOOL;
}

/* One line for --help. */
const char *
provsim_settings_help(int i)
{
	return i >= 0 && i < PROVSIM_NSET ? provsim_set_table[i].help : NULL;
}

/* Test scripts write 1, true or yes alike; -1 for anything else. */
static int
provsim_bool_parse(const char *v)
{
	if (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
	    strcasecmp(v, "on") == 0)
		return 1;
	if (strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 ||
	    strcasecmp(v, "off") == 0)
		return 0;
	return -1;
}

/* Both entry points end here, so a value means the same wherever it comes from. */
int
provsim_settings_set(struct provsim_settings *s, const char *name, const char *value,
    const char **cause)
{
	char key[64];
	const struct provsim_set_entry *e = NULL;
	char *end;
	long n;
	int *ip;

	if (strlcpy_safe(key, name, sizeof key) >= sizeof key)
		return 1;
	for (char *p = key; *p != '\0'; p++)
		if (*p == '-')
			*p = '_';
	for (int i = 0; i < PROVSIM_NSET; i++)
		if (strcmp(provsim_set_table[i].name, key) == 0)
			e = &provsim_set_table[i];
	if (e == NULL)
		return 1;
	ip = (int *)((char *)s + e->off);
	switch (e->type) {
	case PROVSIM_SET_INT:
		n = strtol(value, &end, 10);
		if (end == value || *end != '\0' || n < e->min || n > e->max) {
			*cause = "a number out of range";
			return -1;
		}
		*ip = (int)n;
		return 0;
	case PROVSIM_SET_BOOL:
		if ((n = provsim_bool_parse(value)) < 0) {
			*cause = "want 1 or 0 (true or false)";
			return -1;
		}
		*ip = (int)n;
		return 0;
	case PROVSIM_SET_ENUM:
		for (int i = 0; e->names[i] != NULL; i++)
			if (strcasecmp(e->names[i], value) == 0 ||
			    (e->names == provsim_mode_names && ((i == PROVSIM_MODE_DOWN &&
			    strcasecmp(value, "down") == 0) || (i == PROVSIM_MODE_ERROR &&
			    strcasecmp(value, "error") == 0)))) {
				*ip = i + e->base;
				return 0;
			}
		*cause = "not one of the names it takes";
		return -1;
	case PROVSIM_SET_STR:
		if (strlen(value) >= PROVSIM_STR_MAX) {
			*cause = "too long";
			return -1;
		}
		if (e->off == S_OFF(callback_url) && provsim_callback_url_check(value, cause) < 0)
			return -1;
		strlcpy_safe((char *)s + e->off, value, PROVSIM_STR_MAX);
		return 0;
	}
	return 1;
}

/* The settings as JSON; secrets only as "(set)". */
static json_t *
provsim_settings_json(const struct provsim *sim)
{
	json_t *o = json_object();
	char bal[MONEY_BUFSZ];

	for (int i = 0; i < PROVSIM_NSET; i++) {
		const struct provsim_set_entry *e = &provsim_set_table[i];
		const int *ip = (const int *)((const char *)&sim->set + e->off);
		const char *str = (const char *)&sim->set + e->off;

		switch (e->type) {
		case PROVSIM_SET_INT:
			json_object_set_new(o, e->name, json_integer(*ip));
			break;
		case PROVSIM_SET_BOOL:
			json_object_set_new(o, e->name, json_boolean(*ip));
			break;
		case PROVSIM_SET_ENUM:
			json_object_set_new(o, e->name, json_string(e->names[*ip - e->base]));
			break;
		case PROVSIM_SET_STR:
			if (strcmp(e->name, "callback_url") == 0 || str[0] == '\0')
				json_object_set_new(o, e->name, json_string(str));
			else
				json_object_set_new(o, e->name, json_string("(set)"));
			break;
		}
	}
	json_object_set_new(o, "shape", json_string(sim->opt.shape == PROVSIM_SHAPE_JSON ?
	    "json" : "flat"));
	json_object_set_new(o, "balance", json_string(money_format(sim->balance, bal)));
	json_object_set_new(o, "restore_pending", json_boolean(sim->restore_ev != NULL &&
	    evtimer_pending(sim->restore_ev, NULL)));
	return o;
}

/* The balance is state, not a setting: for_ms never restores it. */
int
provsim_balance_set(struct provsim *sim, const char *text, const char **cause)
{
	int64_t paise;

	if (money_parse(text, &paise) != MONEY_OK) {
		*cause = "balance wants rupees such as 5000 or 5000.50";
		return -1;
	}
	sim->balance = paise;
	return 0;
}

/* for_ms is over: the settings from before that control come back. */
static void
provsim_restore_cb(evutil_socket_t fd, short what, void *arg)
{
	struct provsim *sim = arg;

	sim->set = sim->saved;
	log_info("provsim: control: for_ms over, settings restored (mode %s)",
	    provsim_mode_names[sim->set.mode]);
}

/* A request's control pairs: a JSON object, or a form (body or query string). Values
 * become text; -1 with *cause when a value is not a scalar. Caller clears q. */
static int
provsim_control_pairs(struct evhttp_request *req, struct evkeyvalq *q, const char **cause)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	char *body = NULL, num[64];
	size_t len;
	const char *p;

	if (query != NULL && evhttp_parse_query_str(query, q) < 0) {
		*cause = "malformed query string";
		return -1;
	}
	if (!provsim_body(req, &body, &len))
		return 0;
	for (p = body; *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'; p++)
		;
	if (*p != '{') {
		struct evkeyvalq f;
		struct evkeyval *kv;

		TAILQ_INIT(&f);
		if (strlen(body) != len || evhttp_parse_query_str(body, &f) < 0) {
			evhttp_clear_headers(&f);
			free(body);
			*cause = "malformed form body";
			return -1;
		}
		TAILQ_FOREACH(kv, &f, next)
			evhttp_add_header(q, kv->key, kv->value);
		evhttp_clear_headers(&f);
		free(body);
		return 0;
	}
	json_error_t err;
	json_t *o = json_loadb(body, len, 0, &err), *v;
	const char *name;

	free(body);
	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		*cause = "body is not a JSON object";
		return -1;
	}
	json_object_foreach(o, name, v) {
		const char *text = NULL;

		if (json_is_string(v))
			text = json_string_value(v);
		else if (json_is_integer(v)) {
			snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
			text = num;
		} else if (json_is_boolean(v))
			text = json_is_true(v) ? "1" : "0";
		else if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 1e13) {
			snprintf(num, sizeof num, "%.2f", json_real_value(v));
			text = num;
		}
		if (text == NULL || strlen(name) > 64) {
			json_decref(o);
			*cause = "a value is not a string, number or boolean";
			return -1;
		}
		evhttp_add_header(q, name, text);
	}
	json_decref(o);
	return 0;
}

/* A refused control changes nothing and says which key was wrong. */
static void
provsim_control_refuse(struct evhttp_request *req, int code, const char *key, const char *why)
{
	log_info("provsim: control refused: %s%s%s", key != NULL ? key : "", key != NULL ? ": " : "",
	    why);
	provsim_reply_json(req, code, json_pack("{s:s, s:s?}", "error", why, "key", key));
}

/* GET shows the settings; POST changes them, all or nothing. */
void
provsim_control_handle(struct provsim *sim, struct evhttp_request *req)
{
	struct provsim_settings copy = sim->set;
	struct evkeyvalq q;
	struct evkeyval *kv;
	const char *cause = NULL, *balance = NULL, *reverse = NULL;
	struct provsim_txn *rt = NULL;
	long for_ms = -1;
	int r;

	if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
		provsim_reply_json(req, 200, provsim_settings_json(sim));
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		provsim_control_refuse(req, 405, NULL, "GET or POST");
		return;
	}
	TAILQ_INIT(&q);
	if (provsim_control_pairs(req, &q, &cause) < 0) {
		evhttp_clear_headers(&q);
		provsim_control_refuse(req, 400, NULL, cause);
		return;
	}
	TAILQ_FOREACH(kv, &q, next) {
		if ((r = provsim_settings_set(&copy, kv->key, kv->value, &cause)) < 0) {
			provsim_control_refuse(req, 400, kv->key, cause);
			evhttp_clear_headers(&q);
			return;
		}
		if (r == 0)
			continue;
		if (strcmp(kv->key, "balance") == 0) {
			int64_t paise;

			if (money_parse(kv->value, &paise) != MONEY_OK) {
				provsim_control_refuse(req, 400, kv->key, "want rupees such as 5000.50");
				evhttp_clear_headers(&q);
				return;
			}
			balance = kv->value;
		} else if (strcmp(kv->key, "reverse_txn") == 0)
			reverse = kv->value;
		else if (strcmp(kv->key, "for_ms") == 0) {
			char *end;

			for_ms = strtol(kv->value, &end, 10);
			if (end == kv->value || *end != '\0' || for_ms < 1 || for_ms > PROVSIM_FOR_MS_MAX) {
				provsim_control_refuse(req, 400, kv->key, "want 1 to 86400000 ms");
				evhttp_clear_headers(&q);
				return;
			}
		} else {
			provsim_control_refuse(req, 400, kv->key, "no such setting");
			evhttp_clear_headers(&q);
			return;
		}
	}
	if (reverse != NULL) {
		rt = provsim_txn_find(sim, reverse);
		if (rt == NULL || rt->status != PROVSIM_ST_SUCCESS) {
			provsim_control_refuse(req, rt == NULL ? 404 : 409, "reverse_txn", rt == NULL ?
			    "no such txn" : "only a SUCCESS can be reversed");
			evhttp_clear_headers(&q);
			return;
		}
	}

	/* all good: apply */
	if (sim->restore_ev != NULL)
		evtimer_del(sim->restore_ev);
	if (for_ms > 0) {
		struct timeval tv = { for_ms / 1000, (for_ms % 1000) * 1000 };

		sim->saved = sim->set;
		if (sim->restore_ev == NULL)
			sim->restore_ev = evtimer_new(sim->base, provsim_restore_cb, sim);
		evtimer_add(sim->restore_ev, &tv);
	}
	sim->set = copy;
	if (balance != NULL)
		(void)provsim_balance_set(sim, balance, &cause);
	if (rt != NULL)
		(void)provsim_txn_reverse(sim, rt, &cause);
	TAILQ_FOREACH(kv, &q, next)
		log_info("provsim: control: %s = %s", kv->key, strstr(kv->key, "secret") != NULL ||
		    strcmp(kv->key, "key") == 0 || strcmp(kv->key, "pwd") == 0 ? "(set)" : kv->value);
	evhttp_clear_headers(&q);
	provsim_reply_json(req, 200, provsim_settings_json(sim));
}

/* The counters tests assert on (duplicates above all). */
void
provsim_stats_handle(struct provsim *sim, struct evhttp_request *req)
{
	const struct provsim_stats *st = &sim->st;
	json_t *by = json_object(), *o;
	char bal[MONEY_BUFSZ];

	for (int i = PROVSIM_ST_PENDING; i < PROVSIM_ST_COUNT; i++)
		json_object_set_new(by, provsim_status_name((enum provsim_status)i),
		    json_integer((json_int_t)st->by_status[i]));
	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "requests", (json_int_t)st->requests,
	    "recharge_requests", (json_int_t)st->recharge_requests,
	    "status_requests", (json_int_t)st->status_requests,
	    "balance_requests", (json_int_t)st->balance_requests,
	    "control_requests", (json_int_t)st->control_requests,
	    "recharges_done", (json_int_t)st->recharges_done,
	    "duplicates", (json_int_t)st->duplicates,
	    "by_status", by,
	    "answered_503", (json_int_t)st->answered_503,
	    "answered_500", (json_int_t)st->answered_500,
	    "answered_garbage", (json_int_t)st->answered_garbage,
	    "not_found", (json_int_t)st->not_found,
	    "auth_failed", (json_int_t)st->auth_failed,
	    "bad_requests", (json_int_t)st->bad_requests,
	    "refused_full", (json_int_t)st->refused_full);
	json_object_update_missing_new(o, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
	    " s:I, s:I, s:I, s:I, s:I, s:s}",
	    "hung", (json_int_t)sim->nhung,
	    "hung_total", (json_int_t)st->hung_total,
	    "hung_released", (json_int_t)st->hung_released,
	    "hung_refused", (json_int_t)st->hung_refused,
	    "delayed", (json_int_t)sim->ndelayed,
	    "latency_skipped", (json_int_t)st->latency_skipped,
	    "reversals", (json_int_t)st->reversals,
	    "callbacks_sent", (json_int_t)st->callbacks_sent,
	    "callbacks_failed", (json_int_t)st->callbacks_failed,
	    "callbacks_dropped", (json_int_t)st->callbacks_dropped,
	    "callbacks_retried", (json_int_t)st->callbacks_retried,
	    "callbacks_queued", (json_int_t)(sim->cbq.len + sim->cbr.len),
	    "callbacks_in_flight", (json_int_t)sim->nflights,
	    "txns", (json_int_t)sim->ntxns,
	    "balance", money_format(sim->balance, bal)));
	provsim_reply_json(req, 200, o);
}

/* One txn as the simulator believes it, to compare with rechargd's row. */
void
provsim_txn_handle(struct provsim *sim, struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	static const char *via_names[] = { "answer", "503", "500", "hang", "garbage" };
	struct evkeyvalq q;
	const char *id;
	struct provsim_txn *t;
	char amt[MONEY_BUFSZ];
	json_t *o;

	TAILQ_INIT(&q);
	if (query == NULL || evhttp_parse_query_str(query, &q) < 0 ||
	    (id = evhttp_find_header(&q, "txn_id")) == NULL) {
		evhttp_clear_headers(&q);
		provsim_reply_json(req, 400, json_pack("{s:s}", "error", "want ?txn_id=ID"));
		return;
	}
	if ((t = provsim_txn_find(sim, id)) == NULL) {
		provsim_reply_json(req, 404, json_pack("{s:s, s:b, s:s}", "txn_id", id, "done", 0,
		    "status", "NOT_FOUND"));
		evhttp_clear_headers(&q);
		return;
	}
	evhttp_clear_headers(&q);
	o = json_pack("{s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}",
	    "txn_id", t->id, "done", 1,
	    "status", provsim_status_name((enum provsim_status)t->status),
	    "reported", provsim_status_name(provsim_txn_reported(sim, t)),
	    "ref", t->ref, "amount", money_format(t->amount, amt),
	    "mobile", t->mobile, "operator", t->op, "circle", t->circle,
	    "message", provsim_txn_message(t, (enum provsim_status)t->status),
	    "via", via_names[t->via],
	    "requests", (json_int_t)t->requests,
	    "duplicates", (json_int_t)(t->requests - 1));
	json_object_update_missing_new(o, json_pack("{s:b, s:I, s:I, s:i, s:I, s:I, s:I}",
	    "debited", t->debited,
	    "callbacks_sent", (json_int_t)t->cb_sent,
	    "callbacks_failed", (json_int_t)t->cb_failed,
	    "last_callback_code", t->last_cb_code,
	    "created_ms", (json_int_t)t->created_ms,
	    "settled_ms", (json_int_t)t->settled_ms,
	    "reversed_ms", (json_int_t)t->reversed_ms));
	provsim_reply_json(req, 200, o);
}
