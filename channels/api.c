/* channels/api.c: the REST API of SPEC section 9 on evhttp (http.c passes requests on).
 *
 * A request is authenticated by its API key (SHA-256 looked up, compared in constant
 * time, revoked keys and addresses outside the key's allow-list refused alike: 1001),
 * rate-limited per key (token bucket), validated, and handed to the engine inside the
 * open batch. Every answer that tells of stored state is sent only after the batch it
 * read or wrote commits (a failed commit answers 3002). An accepted recharge waits for
 * its settlement, answered once the settlement is on disk, or for sync_wait_ms, then
 * answers pending. Money is written by money_format, never by jansson (it prints reals
 * inexactly). Keys are never logged, nor are URLs (a careless client may put one there).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "channels/channels.h"

#define API_KEY_MAX 128                /* longer is no key of ours: refused unhashed */
#define API_REQUEST_ID_MAX 64
#define API_VALUE_MAX 64               /* longest parameter value read */
#define API_WAIT_BUCKETS 1024
#define API_RATE_BUCKETS 1024
#define API_RATE_MAX 65536             /* keys the rate limiter remembers at once */
#define API_TXN_LIMIT_DEFAULT 50
#define API_TXN_LIMIT_MAX 500
#define API_TXN_SCAN 2000              /* newest transactions a statement looks through */
#define API_IST_MS 19800000LL          /* Asia/Kolkata: UTC+05:30, no DST */
#define API_DAY_MS 86400000LL

/* One request in our hands, from its arrival to its answer. */
struct api_call {
	struct api *api;                   /* NULL once the API is gone (shutdown) */
	struct evhttp_request *req;        /* NULL once answered */
	int refs;                          /* batch_defer callbacks still to come */

	/* the answer, kept while the batch it read waits to commit */
	int status, retry_after;
	struct evbuffer *body;

	/* an accepted recharge waiting for its settlement */
	int64_t txn;
	int waiting;                       /* in api->waiting */
	int accepted;                      /* its hold is on disk */
	int settling;                      /* its settlement waits on a commit */
	int timed_out;                     /* sync_wait_ms passed meanwhile */
	struct db_txn snap;                /* the settled transaction, as the engine told */
	int64_t snap_balance;
	struct event *timer;

	struct api_call *next_wait;
	struct api_call *prev, *next;      /* every live call */
};

/* A key's token bucket. */
struct api_rate {
	int64_t key_id;
	double tokens;
	int64_t at_ms;
	struct api_rate *next;
};

struct api {
	struct event_base *base;
	struct batch *batch;
	struct engine *engine;
	const struct config *cfg;
	struct api_call *calls;
	struct api_call *waiting[API_WAIT_BUCKETS];
	struct api_rate *rates[API_RATE_BUCKETS];
	int nrates;
};

/* What a request carried: a JSON object, or form fields (a form body or the query). */
struct api_params {
	json_t *json;
	struct evkeyvalq kv;
};

enum api_param_result {
	API_PARAM_ABSENT = 0,
	API_PARAM_OK = 1,
	API_PARAM_TYPE = -1,               /* not a string (or number where one is allowed) */
	API_PARAM_LONG = -2,               /* longer than the buffer */
};

/* ---- JSON text --------------------------------------------------------------------------
 * Bodies are written by hand: money goes in as our own two-decimal text, and every
 * string is escaped here. */

/* A JSON string literal of s (ASCII kept; control and non-ASCII bytes escaped or '?').
 * Runs of plain characters go in with one evbuffer_add each. */
static void
api_json_str(struct evbuffer *b, const char *s)
{
	char esc[8];

	evbuffer_add(b, "\"", 1);
	while (*s != '\0') {
		size_t n = 0;
		unsigned char ch;
		while ((ch = (unsigned char)s[n]) >= 0x20 && ch < 0x80 && ch != '"' && ch != '\\')
			n++;
		if (n > 0) {
			evbuffer_add(b, s, n);
			s += n;
			continue;
		}
		if (ch == '"' || ch == '\\')
			evbuffer_add(b, esc, (size_t)snprintf(esc, sizeof esc, "\\%c", ch));
		else if (ch < 0x20)
			evbuffer_add(b, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", ch));
		else
			evbuffer_add(b, "?", 1);
		s++;
	}
	evbuffer_add(b, "\"", 1);
}

/* ,"name":"value" (or null when value is empty and nullable). */
static void
api_json_field(struct evbuffer *b, const char *name, const char *value, int nullable)
{
	evbuffer_add_printf(b, ",\"%s\":", name);
	if (nullable && value[0] == '\0')
		evbuffer_add(b, "null", 4);
	else
		api_json_str(b, value);
}

/* ,"name":299.00 */
static void
api_json_money(struct evbuffer *b, const char *name, int64_t paise)
{
	char m[MONEY_BUFSZ];

	evbuffer_add_printf(b, ",\"%s\":%s", name, money_format(paise, m));
}

/* SPEC section 6: the HTTP status of each code. */
static int
api_http_status(int code)
{
	switch (code) {
	case ENGINE_E_API_KEY: case ENGINE_E_PIN: return 401;
	case ENGINE_E_BALANCE: return 402;
	case ENGINE_E_DUPLICATE: return 409;
	case ENGINE_E_RATE: return 429;
	case ENGINE_E_PLAN: case ENGINE_E_LOCKED: case ENGINE_E_UNREGISTERED:
	case ENGINE_E_DAILY_LIMIT: return 403;
	case ENGINE_E_NOT_FOUND: return 404;
	case ENGINE_E_DOWN: case ENGINE_E_BUSY: return 503;
	case ENGINE_E_INTERNAL: return 500;
	default: return 400;
	}
}

/* The reason phrase of each status we send. */
static const char *
api_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	default: return "Service Unavailable";
	}
}

/* {"status":"error","error_code":"1009","message":"Missing or invalid parameter: amount"} */
static struct evbuffer *
api_error_body(int code, const char *param)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add_printf(b, "{\"status\":\"error\",\"error_code\":\"%d\",\"message\":\"%s%s%s\"",
	    code, engine_code_message(code), param != NULL ? ": " : "", param != NULL ? param : "");
	return b;
}

/* A recharge's answer by the state it is in now (SPEC section 9); *status its HTTP status.
 * Written with one snprintf (the id is TXN and digits, the messages are ours: nothing to
 * escape), then added to the buffer at once. */
static struct evbuffer *
api_render_recharge(const struct db_txn *t, int64_t balance, int *status)
{
	struct evbuffer *b = evbuffer_new();
	char id[24], amount[MONEY_BUFSZ], commission[MONEY_BUFSZ], bal[MONEY_BUFSZ], text[512];
	int n;

	db_txn_format_id(t->id, id);
	money_format(t->amount, amount);
	money_format(balance, bal);
	*status = 200;
	if (strcmp(t->state, DB_STATE_FAILED) == 0 && t->error_code == ENGINE_E_DOWN) {
		n = snprintf(text, sizeof text, "{\"status\":\"error\",\"error_code\":\"%d\",\"message\":\"%s\","
		    "\"transaction_id\":\"%s\"}", ENGINE_E_DOWN, engine_code_message(ENGINE_E_DOWN), id);
		*status = api_http_status(ENGINE_E_DOWN);
	} else if (strcmp(t->state, DB_STATE_FAILED) == 0) {
		n = snprintf(text, sizeof text, "{\"status\":\"failed\",\"transaction_id\":\"%s\","
		    "\"error_code\":\"%d\",\"message\":\"%s\",\"amount\":%s,\"balance\":%s}", id,
		    ENGINE_E_FAILED, engine_code_message(ENGINE_E_FAILED), amount, bal);
	} else {
		const char *st = "pending", *msg = "Recharge pending";
		int success = strcmp(t->state, DB_STATE_SUCCESS) == 0;
		if (success)
			st = "success", msg = "Recharge successful";
		else if (strcmp(t->state, DB_STATE_REVERSED) == 0)
			st = "reversed", msg = "Recharge reversed";
		money_format(success ? t->commission : 0, commission);
		n = snprintf(text, sizeof text, "{\"status\":\"%s\",\"transaction_id\":\"%s\","
		    "\"message\":\"%s\",\"amount\":%s,\"commission\":%s,\"balance\":%s}", st, id, msg,
		    amount, commission, bal);
	}
	if (n > 0)
		evbuffer_add(b, text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
	return b;
}

/* The fields of a transaction in /status and /transactions (after an opening '{'). */
static void
api_render_txn_fields(struct evbuffer *b, const struct db_txn *t)
{
	char id[24], code[16], created[32], updated[32];

	db_txn_format_id(t->id, id);
	snprintf(code, sizeof code, "%d", t->error_code);
	evbuffer_add_printf(b, "\"transaction_id\":\"%s\"", id);
	api_json_field(b, "request_id", t->request_id, 1);
	api_json_field(b, "state", t->state, 0);
	api_json_field(b, "mobile", t->target, 0);
	api_json_field(b, "operator", t->operator_code, 0);
	api_json_money(b, "amount", t->amount);
	api_json_money(b, "commission", t->commission);
	api_json_field(b, "operator_ref", t->operator_ref, 1);
	api_json_field(b, "error_code", t->error_code != 0 ? code : "", 1);
	api_json_field(b, "created_at", clock_format_ist(t->created_at / 1000, created), 0);
	api_json_field(b, "updated_at", clock_format_ist(t->updated_at / 1000, updated), 0);
}

/* ---- calls: answered now, or after the commit of what they read ----------------------- */

/* Every request becomes a call, so it can outlive the callback that got it. */
static struct api_call *
api_call_new(struct api *a, struct evhttp_request *req)
{
	struct api_call *call = xcalloc(1, sizeof *call);

	call->api = a;
	call->req = req;
	call->next = a->calls;
	if (a->calls != NULL)
		a->calls->prev = call;
	a->calls = call;
	return call;
}

/* No longer waiting for a settlement. */
static void
api_wait_remove(struct api_call *call)
{
	struct api_call **pp;

	if (!call->waiting)
		return;
	pp = &call->api->waiting[(uint64_t)call->txn % API_WAIT_BUCKETS];
	while (*pp != NULL && *pp != call)
		pp = &(*pp)->next_wait;
	if (*pp != NULL)
		*pp = call->next_wait;
	call->waiting = 0;
}

/* Frees the call once it is answered and no batch still holds it. */
static void
api_call_release(struct api_call *call)
{
	if (call->req != NULL || call->refs > 0)
		return;
	if (call->api != NULL) {
		api_wait_remove(call);
		if (call->prev != NULL)
			call->prev->next = call->next;
		else
			call->api->calls = call->next;
		if (call->next != NULL)
			call->next->prev = call->prev;
	}
	if (call->timer != NULL)
		event_free(call->timer);
	if (call->body != NULL)
		evbuffer_free(call->body);
	free(call);
}

/* Writes the kept answer out (a client gone meanwhile: evhttp just frees the request). */
static void
api_call_write(struct api_call *call)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(call->req);
	char retry[16];

	evhttp_add_header(out, "Content-Type", "application/json");
	evhttp_add_header(out, "Cache-Control", "no-store");
	if (call->retry_after > 0) {
		snprintf(retry, sizeof retry, "%d", call->retry_after);
		evhttp_add_header(out, "Retry-After", retry);
	}
	metrics_http_request(call->status);
	evhttp_send_reply(call->req, call->status, api_reason(call->status), call->body);
	call->req = NULL;
	if (call->timer != NULL)
		evtimer_del(call->timer);
	if (call->api != NULL)
		api_wait_remove(call);
}

/* 3002 in place of whatever was kept. */
static void
api_call_set_busy(struct api_call *call)
{
	if (call->body != NULL)
		evbuffer_free(call->body);
	call->body = api_error_body(ENGINE_E_BUSY, NULL);
	evbuffer_add(call->body, "}", 1);
	call->status = api_http_status(ENGINE_E_BUSY);
	call->retry_after = 1;
}

/* The batch the answer read from ended: send it, or 3002 if it is not on disk. */
static void
api_call_send_done_cb(void *arg, int committed)
{
	struct api_call *call = arg;

	call->refs--;
	if (call->req != NULL) {
		if (!committed)
			api_call_set_busy(call);
		api_call_write(call);
	}
	api_call_release(call);
}

/* Answers with body (taken over). What it says may come from the open batch: then it
 * goes out once that batch commits, or as 3002 if the commit fails. */
static void
api_call_send(struct api_call *call, int status, struct evbuffer *body, int retry_after)
{
	struct api *a = call->api;

	if (call->body != NULL)
		evbuffer_free(call->body);
	call->status = status;
	call->body = body;
	call->retry_after = retry_after;
	api_wait_remove(call);
	if (call->timer != NULL)
		evtimer_del(call->timer);
	if (a != NULL && batch_is_open(a->batch)) {
		call->refs++;
		batch_defer(a->batch, api_call_send_done_cb, call);
		return;
	}
	api_call_write(call);
	api_call_release(call);
}

/* An error answer (param: the parameter a 1009 names). */
static void
api_call_error(struct api_call *call, int code, const char *param)
{
	struct evbuffer *b = api_error_body(code, code == ENGINE_E_PARAM ? param : NULL);

	evbuffer_add(b, "}", 1);
	api_call_send(call, api_http_status(code), b,
	    code == ENGINE_E_BUSY || code == ENGINE_E_DOWN ? 1 : 0);
}

/* ---- parameters --------------------------------------------------------------------- */

/* What the parsers allocated. */
static void
api_params_free(struct api_params *p)
{
	if (p->json != NULL)
		json_decref(p->json);
	evhttp_clear_headers(&p->kv);
}

/* name=value&... into p->kv; 0 or -1 (malformed). text is NUL-terminated. */
static int
api_params_form(struct api_params *p, const char *text)
{
	return text[0] == '\0' ? 0 : evhttp_parse_query_str(text, &p->kv);
}

/* A POST body: a JSON object (by its content type, or when it starts with '{': curl -d
 * sends JSON labelled as a form), else form fields. 0, or -1 when malformed. */
static int
api_params_body(struct api_params *p, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *type = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	size_t len = evbuffer_get_length(in), i;
	const char *body = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
	json_error_t err;
	char *text;
	int rc;

	for (i = 0; i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'); i++)
		;
	if ((i < len && (body[i] == '{' || body[i] == '[')) || (type != NULL && strstr(type, "json") != NULL)) {
		/* not NUL-terminated: json_loadb, with its length */
		p->json = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
		if (p->json == NULL || !json_is_object(p->json))
			return -1;
		return 0;
	}
	if (memchr(body, '\0', len) != NULL)
		return -1;
	text = xcalloc(1, len + 1);
	memcpy(text, body, len);
	rc = api_params_form(p, text);
	free(text);
	return rc;
}

/* One parameter's text into buf. numbers: a JSON number is accepted too (integers as
 * they are, reals with up to 15 significant digits, which reproduces any amount of
 * at most two decimals exactly and keeps more decimals visible). */
static enum api_param_result
api_param(struct api_params *p, const char *name, char *buf, size_t cap, int numbers)
{
	const char *s = NULL;
	int n;

	buf[0] = '\0';
	if (p->json != NULL) {
		json_t *v = json_object_get(p->json, name);
		if (v == NULL || json_is_null(v))
			return API_PARAM_ABSENT;
		if (json_is_string(v)) {
			if (memchr(json_string_value(v), '\0', json_string_length(v)) != NULL)
				return API_PARAM_TYPE;
			s = json_string_value(v);
		} else if (numbers && json_is_integer(v)) {
			n = snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			return n < 0 || (size_t)n >= cap ? API_PARAM_LONG : API_PARAM_OK;
		} else if (numbers && json_is_real(v)) {
			n = snprintf(buf, cap, "%.15g", json_real_value(v));
			return n < 0 || (size_t)n >= cap ? API_PARAM_LONG : API_PARAM_OK;
		} else
			return API_PARAM_TYPE;
	} else if ((s = evhttp_find_header(&p->kv, name)) == NULL)
		return API_PARAM_ABSENT;
	if (strlen(s) >= cap)
		return API_PARAM_LONG;
	strlcpy_safe(buf, s, cap);
	return API_PARAM_OK;
}

/* 1 to 64 printable ASCII characters. */
static int
api_request_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > API_REQUEST_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* ---- auth and rate --------------------------------------------------------------------- */

/* The client address, for the allow-list and the log. */
static const char *
api_peer(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	char *addr = NULL;
	ev_uint16_t port;

	if (evcon == NULL)
		return "";
	evhttp_connection_get_peer(evcon, &addr, &port);
	return addr != NULL ? addr : "";
}

/* The key from X-API-Key, or from the body when body_key is set (never the URL). Fills
 * *k, and *r when r is not NULL. ENGINE_OK, ENGINE_E_API_KEY, ENGINE_E_BUSY or
 * ENGINE_E_INTERNAL. */
static int
api_authenticate(struct api *a, struct evhttp_request *req, struct api_params *p, int body_key,
    struct db_apikey *k, struct db_retailer *r)
{
	const char *hdr = evhttp_find_header(evhttp_request_get_input_headers(req), "X-API-Key");
	struct db *db = batch_db(a->batch);
	const char *ip = api_peer(req);
	char key[API_KEY_MAX + 1], hash[APIKEY_HASH_BUFSZ];
	int rc;

	if (hdr != NULL) {
		if (strlen(hdr) > API_KEY_MAX)
			return ENGINE_E_API_KEY;
		strlcpy_safe(key, hdr, sizeof key);
	} else if (!body_key || api_param(p, "api_key", key, sizeof key, 0) != API_PARAM_OK)
		return ENGINE_E_API_KEY;
	if (key[0] == '\0')
		return ENGINE_E_API_KEY;
	apikey_hash(key, hash);
	explicit_bzero(key, sizeof key);
	if (hash[0] == '\0')
		return ENGINE_E_INTERNAL;
	if ((rc = db_apikey_find(db, hash, k)) < 0)
		return ENGINE_E_BUSY;
	if (rc == 0 || strlen(k->hash) != 64 || !ct_equal(k->hash, hash, 64)) {
		log_debug("api: unknown key from %s", ip);
		return ENGINE_E_API_KEY;
	}
	if (k->revoked_at != 0) {
		log_info("api: revoked key %s (id %lld) from %s", k->prefix, (long long)k->id, ip);
		return ENGINE_E_API_KEY;
	}
	if (!apikey_ip_allowed(k->allow_ips, ip)) {
		log_info("api: key %s (id %lld) from %s: address not allowed", k->prefix, (long long)k->id, ip);
		return ENGINE_E_API_KEY;
	}
	if (r != NULL && (rc = db_retailer_get(db, k->retailer_id, r)) <= 0)
		return rc < 0 ? ENGINE_E_BUSY : ENGINE_E_API_KEY;
	return ENGINE_OK;
}

/* Drops buckets that have refilled: a full bucket is the same as none. */
static void
api_rate_sweep(struct api *a, int64_t now)
{
	double rate = a->cfg->rate_limit_per_key, burst = a->cfg->rate_burst;

	for (int i = 0; i < API_RATE_BUCKETS; i++) {
		struct api_rate **pp = &a->rates[i];
		while (*pp != NULL) {
			struct api_rate *rt = *pp;
			if (rt->tokens + (double)(now - rt->at_ms) * rate / 1000.0 >= burst) {
				*pp = rt->next;
				free(rt);
				a->nrates--;
			} else
				pp = &rt->next;
		}
	}
}

/* Takes a token from the key's bucket: 0, or -1 with *retry_after (seconds). */
static int
api_rate_take(struct api *a, int64_t key_id, int *retry_after)
{
	double rate = a->cfg->rate_limit_per_key, burst = a->cfg->rate_burst;
	struct api_rate **head = &a->rates[(uint64_t)key_id % API_RATE_BUCKETS], *rt;
	int64_t now = clock_mono_ms();

	for (rt = *head; rt != NULL && rt->key_id != key_id; rt = rt->next)
		;
	if (rt == NULL) {
		if (a->nrates >= API_RATE_MAX)
			api_rate_sweep(a, now);
		if (a->nrates >= API_RATE_MAX)
			return 0;              /* bounded memory first: this key goes unmetered */
		rt = xcalloc(1, sizeof *rt);
		rt->key_id = key_id;
		rt->tokens = burst;
		rt->at_ms = now;
		rt->next = *head;
		*head = rt;
		a->nrates++;
	}
	rt->tokens += (double)(now - rt->at_ms) * rate / 1000.0;
	if (rt->tokens > burst)
		rt->tokens = burst;
	rt->at_ms = now;
	if (rt->tokens >= 1.0) {
		rt->tokens -= 1.0;
		return 0;
	}
	*retry_after = (int)ceil((1.0 - rt->tokens) / rate);
	if (*retry_after < 1)
		*retry_after = 1;
	return -1;
}

/* Auth and rate limit; on failure the call is answered and -1 returned. With id_only
 * only r->id is set: the caller reads the retailer itself (a recharge, inside the batch;
 * retailers are never deleted and api_keys.retailer_id is a foreign key). */
static int
api_admit(struct api *a, struct api_call *call, struct api_params *p, int body_key,
    struct db_retailer *r, int id_only)
{
	struct db_apikey k;
	int rc, retry;

	if ((rc = api_authenticate(a, call->req, p, body_key, &k, id_only ? NULL : r)) != ENGINE_OK) {
		api_call_error(call, rc, NULL);
		return -1;
	}
	if (api_rate_take(a, k.id, &retry) != 0) {
		struct evbuffer *b = api_error_body(ENGINE_E_RATE, NULL);
		evbuffer_add(b, "}", 1);
		log_debug("api: key %s over its rate limit", k.prefix);
		api_call_send(call, api_http_status(ENGINE_E_RATE), b, retry);
		return -1;
	}
	if (id_only)
		r->id = k.retailer_id;
	return 0;
}

/* ---- recharges: accepted, then answered when settled (or pending) ---------------------- */

/* The transaction as it stands now, with the wallet now. */
static void
api_answer_txn_now(struct api_call *call)
{
	struct db *db = batch_db(call->api->batch);
	struct db_retailer r;
	struct db_txn t;
	int status;

	if (db_txn_get(db, call->txn, &t) != 1 || db_retailer_get(db, t.retailer_id, &r) != 1) {
		api_call_error(call, ENGINE_E_BUSY, NULL);
		return;
	}
	struct evbuffer *b = api_render_recharge(&t, r.balance, &status);
	api_call_send(call, status, b, status == 503 ? 1 : 0);
}

/* sync_wait_ms passed without a settlement: pending (or whatever it is by now). */
static void
api_wait_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct api_call *call = arg;

	if (call->req == NULL)
		return;
	if (call->settling) {
		call->timed_out = 1;       /* the settlement's commit answers, one turn away */
		return;
	}
	api_answer_txn_now(call);
}

/* The hold's batch ended: wait for the settlement, or tell it did not happen. */
static void
api_accept_done_cb(void *arg, int committed)
{
	struct api_call *call = arg;
	int ms;

	call->refs--;
	if (call->req == NULL || call->api == NULL) {
		api_call_release(call);
		return;
	}
	if (!committed) {
		/* nothing was held; the same request_id may be sent again */
		api_call_error(call, ENGINE_E_BUSY, NULL);
		return;
	}
	call->accepted = 1;
	ms = call->api->cfg->sync_wait_ms;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	call->timer = evtimer_new(call->api->base, api_wait_timeout_cb, call);
	evtimer_add(call->timer, &tv);
}

/* The settlement's batch ended: answer from it if it is on disk. */
static void
api_settle_done_cb(void *arg, int committed)
{
	struct api_call *call = arg;
	int status;

	call->refs--;
	call->settling = 0;
	if (call->req == NULL || call->api == NULL) {
		api_call_release(call);
		return;
	}
	/* a savepoint rolled back after the event leaves the transaction PENDING: the
	 * engine settles it again later, and tells us again (the state alone tells: the
	 * answer is rendered from the snapshot). The read goes inside the next batch,
	 * joined here: outside a transaction every read opens and closes its own (WAL
	 * locks), and a batch ends with up to 128 of these (the engine's cap). The state
	 * only moves forward, so what that batch did already cannot make a PENDING one look
	 * settled; refused (storage degraded), the read goes outside as before. */
	if (committed)
		(void)batch_join(call->api->batch);
	if (committed && db_txn_settled(batch_db(call->api->batch), call->txn) == 1) {
		struct evbuffer *b = api_render_recharge(&call->snap, call->snap_balance, &status);
		/* what it tells is on disk: no need to wait for a later batch */
		if (call->body != NULL)
			evbuffer_free(call->body);
		call->status = status;
		call->body = b;
		call->retry_after = status == 503 ? 1 : 0;
		api_call_write(call);
		api_call_release(call);
		return;
	}
	if (call->timed_out)
		api_answer_txn_now(call);
}

int
api_txn_event(struct api *a, const struct db_txn *t, enum engine_event ev, int64_t balance)
{
	struct api_call *call;

	/* only a settlement answers; a provider's "pending" does not end the wait */
	if (ev != ENGINE_EVENT_FINAL || strcmp(t->channel, "api") != 0)
		return 0;
	for (call = a->waiting[(uint64_t)t->id % API_WAIT_BUCKETS]; call != NULL; call = call->next_wait)
		if (call->txn == t->id && call->req != NULL)
			break;
	if (call == NULL)
		return 0;
	call->snap = *t;
	call->snap_balance = balance;
	if (!call->settling) {
		call->settling = 1;
		call->refs++;
		batch_defer(a->batch, api_settle_done_cb, call);
	}
	return 0;
}

/* POST /api/v1/recharge {api_key, mobile, operator, amount, circle?, request_id?} */
static void
api_recharge(struct api *a, struct api_call *call, struct api_params *p)
{
	struct db *db = batch_db(a->batch);
	char mobile[API_VALUE_MAX], op[API_VALUE_MAX], amount_text[API_VALUE_MAX];
	char circle[API_VALUE_MAX], request_id[API_REQUEST_ID_MAX + 2];
	char target[MOBILE_BUFSZ > 24 ? MOBILE_BUFSZ : 24];
	struct db_retailer r;
	struct db_operator dop;
	struct db_txn t;
	struct engine_outcome out;
	int64_t amount;
	int rc, dth = 0;

	if (api_admit(a, call, p, 1, &r, 1) != 0)
		return;
	rc = api_param(p, "request_id", request_id, sizeof request_id, 0);
	if (rc < 0 || (rc == API_PARAM_OK && !api_request_id_ok(request_id))) {
		api_call_error(call, ENGINE_E_PARAM, "request_id");
		return;
	}
	if ((rc = api_param(p, "mobile", mobile, sizeof mobile, 1)) == API_PARAM_LONG) {
		api_call_error(call, ENGINE_E_MOBILE, NULL);
		return;
	}
	if (rc != API_PARAM_OK || mobile[0] == '\0') {
		api_call_error(call, ENGINE_E_PARAM, "mobile");
		return;
	}
	if ((rc = api_param(p, "operator", op, sizeof op, 0)) == API_PARAM_LONG) {
		api_call_error(call, ENGINE_E_OPERATOR, NULL);
		return;
	}
	if (rc != API_PARAM_OK || op[0] == '\0') {
		api_call_error(call, ENGINE_E_PARAM, "operator");
		return;
	}
	if ((rc = api_param(p, "amount", amount_text, sizeof amount_text, 1)) == API_PARAM_LONG) {
		api_call_error(call, ENGINE_E_AMOUNT, NULL);
		return;
	}
	if (rc != API_PARAM_OK || amount_text[0] == '\0') {
		api_call_error(call, ENGINE_E_PARAM, "amount");
		return;
	}
	if (money_parse(amount_text, &amount) != MONEY_OK) {
		api_call_error(call, ENGINE_E_AMOUNT, NULL);
		return;
	}
	rc = api_param(p, "circle", circle, sizeof circle, 0);
	if (rc < 0 || (rc == API_PARAM_OK && circle[0] != '\0' && (strlen(circle) != 2 ||
	    !isalpha((unsigned char)circle[0]) || !isalpha((unsigned char)circle[1])))) {
		api_call_error(call, ENGINE_E_PARAM, "circle");
		return;
	}
	circle[0] = (char)toupper((unsigned char)circle[0]);
	if (circle[0] != '\0')
		circle[1] = (char)toupper((unsigned char)circle[1]);

	/* a repeat is a read (on the daemon's one connection it sees the open batch too):
	 * answered even when new work is pushed back */
	if (request_id[0] != '\0') {
		if ((rc = db_txn_by_request(db, r.id, request_id, &t)) < 0) {
			api_call_error(call, ENGINE_E_BUSY, NULL);
			return;
		}
		if (rc == 1) {
			/* the first call's transaction as it stands now, nothing held */
			int status;
			struct evbuffer *b;
			if (db_retailer_get(db, r.id, &r) != 1) {
				api_call_error(call, ENGINE_E_BUSY, NULL);
				return;
			}
			b = api_render_recharge(&t, r.balance, &status);
			api_call_send(call, status, b, status == 503 ? 1 : 0);
			return;
		}
	}
	/* back-pressure: the client retries, with its request_id */
	if (engine_inflight(a->engine) >= a->cfg->max_inflight || batch_join(a->batch) != 0) {
		api_call_error(call, ENGINE_E_BUSY, NULL);
		return;
	}
	/* inside the batch: what this loop turn already did counts */
	if ((rc = db_retailer_get(db, r.id, &r)) != 1) {
		api_call_error(call, rc < 0 ? ENGINE_E_BUSY : ENGINE_E_API_KEY, NULL);
		return;
	}
	if (r.locked || r.blocked || r.disabled) {
		api_call_error(call, ENGINE_E_LOCKED, NULL);
		return;
	}
	/* a DTH operator's "mobile" is the subscriber ID, checked against its pattern */
	if ((rc = db_operator_find(db, op, &dop)) < 0) {
		api_call_error(call, ENGINE_E_BUSY, NULL);
		return;
	}
	if (rc == 1 && strcmp(dop.service, "DTH") == 0) {
		dth = 1;
		if (strlen(mobile) >= sizeof target || strspn(mobile, "0123456789") != strlen(mobile)) {
			api_call_error(call, ENGINE_E_MOBILE, NULL);
			return;
		}
		strlcpy_safe(target, mobile, sizeof target);
	} else if (mobile_normalize(mobile, target) != 0) {
		api_call_error(call, ENGINE_E_MOBILE, NULL);
		return;
	}

	struct engine_recharge req = {
		.retailer = &r, .channel = "api", .dth = dth, .target = target,
		.operator_code = op, .circle = circle, .amount = amount, .request_id = request_id,
		.reply_to = "",
	};
	if (engine_recharge_accept(a->engine, &req, &out) != ENGINE_OK) {
		struct evbuffer *b = api_error_body(out.code, out.code == ENGINE_E_PARAM ? out.param : NULL);
		if (out.code == ENGINE_E_BALANCE) {
			api_json_money(b, "required_amount", out.need);
			api_json_money(b, "current_balance", out.balance);
		}
		evbuffer_add(b, "}", 1);
		api_call_send(call, api_http_status(out.code), b, out.code == ENGINE_E_BUSY ? 1 : 0);
		return;
	}
	/* wait for the hold's commit, then for the settlement (api_txn_event) */
	call->txn = out.txn.id;
	call->waiting = 1;
	call->next_wait = a->waiting[(uint64_t)call->txn % API_WAIT_BUCKETS];
	a->waiting[(uint64_t)call->txn % API_WAIT_BUCKETS] = call;
	call->refs++;
	batch_defer(a->batch, api_accept_done_cb, call);
}

/* ---- reads -------------------------------------------------------------------------- */

/* GET|POST /api/v1/balance */
static void
api_balance(struct api *a, struct api_call *call, struct api_params *p, int body_key)
{
	char bal[MONEY_BUFSZ], commission[MONEY_BUFSZ];
	struct db_retailer r;
	struct evbuffer *b;

	if (api_admit(a, call, p, body_key, &r, 0) != 0)
		return;
	b = evbuffer_new();
	evbuffer_add_printf(b, "{\"status\":\"success\",\"balance\":%s,\"commission_unsettled\":%s}",
	    money_format(r.balance, bal), money_format(r.commission, commission));
	api_call_send(call, 200, b, 0);
}

/* GET|POST /api/v1/status with transaction_id or request_id */
static void
api_status(struct api *a, struct api_call *call, struct api_params *p, int body_key)
{
	char txn_id[API_VALUE_MAX], request_id[API_REQUEST_ID_MAX + 2];
	struct db_retailer r;
	struct db_txn t;
	struct evbuffer *b;
	int rc, rc_req;

	if (api_admit(a, call, p, body_key, &r, 0) != 0)
		return;
	rc = api_param(p, "transaction_id", txn_id, sizeof txn_id, 0);
	rc_req = api_param(p, "request_id", request_id, sizeof request_id, 0);
	if (rc == API_PARAM_OK && txn_id[0] != '\0')
		rc = engine_txn_lookup(a->engine, &r, txn_id, &t);
	else if (rc == API_PARAM_LONG)
		rc = ENGINE_E_NOT_FOUND;
	else if (rc == API_PARAM_ABSENT && rc_req == API_PARAM_OK && api_request_id_ok(request_id)) {
		rc = db_txn_by_request(batch_db(a->batch), r.id, request_id, &t);
		rc = rc < 0 ? ENGINE_E_BUSY : rc == 0 ? ENGINE_E_NOT_FOUND : ENGINE_OK;
	} else {
		api_call_error(call, ENGINE_E_PARAM, rc == API_PARAM_ABSENT && rc_req != API_PARAM_ABSENT ?
		    "request_id" : "transaction_id");
		return;
	}
	if (rc != ENGINE_OK) {
		api_call_error(call, rc, NULL);
		return;
	}
	b = evbuffer_new();
	evbuffer_add_printf(b, "{\"status\":\"success\",");
	api_render_txn_fields(b, &t);
	evbuffer_add(b, "}", 1);
	api_call_send(call, 200, b, 0);
}

/* "2026-11-29" -> the start of that day in Asia/Kolkata, in ms; 0 or -1. */
static int
api_parse_day(const char *s, int64_t *ms)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d, n = 0;

	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
	    s[4] != '-' || s[7] != '-' || strspn(s, "0123456789-") != 10)
		return -1;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap))
		return -1;
	/* days from the civil date (Howard Hinnant's algorithm) */
	int yy = y - (m <= 2), era = yy / 400, yoe = yy - era * 400;
	int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t days = (int64_t)era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
	*ms = days * API_DAY_MS - API_IST_MS;
	return 0;
}

/* GET /api/v1/transactions?from=&to=&limit= : the retailer's statement, newest first. */
static void
api_transactions(struct api *a, struct api_call *call, struct api_params *p)
{
	static struct db_txn rows[API_TXN_SCAN];
	char from[API_VALUE_MAX], to[API_VALUE_MAX], limit_text[API_VALUE_MAX], *end;
	int64_t from_ms = 0, to_ms = INT64_MAX;
	struct db_retailer r;
	struct evbuffer *b;
	long limit = API_TXN_LIMIT_DEFAULT;
	int n, count = 0;

	if (api_admit(a, call, p, 0, &r, 0) != 0)
		return;
	if (api_param(p, "from", from, sizeof from, 0) != API_PARAM_ABSENT &&
	    (from[0] == '\0' || api_parse_day(from, &from_ms) != 0)) {
		api_call_error(call, ENGINE_E_PARAM, "from");
		return;
	}
	if (api_param(p, "to", to, sizeof to, 0) != API_PARAM_ABSENT) {
		if (to[0] == '\0' || api_parse_day(to, &to_ms) != 0 || to_ms < from_ms) {
			api_call_error(call, ENGINE_E_PARAM, "to");
			return;
		}
		to_ms += API_DAY_MS;       /* the whole of that day */
	}
	if (api_param(p, "limit", limit_text, sizeof limit_text, 0) != API_PARAM_ABSENT) {
		limit = strtol(limit_text, &end, 10);
		if (limit_text[0] == '\0' || *end != '\0' || limit < 1 || limit > API_TXN_LIMIT_MAX) {
			api_call_error(call, ENGINE_E_PARAM, "limit");
			return;
		}
	}
	if ((n = db_txn_latest(batch_db(a->batch), r.id, rows, API_TXN_SCAN)) < 0) {
		api_call_error(call, ENGINE_E_BUSY, NULL);
		return;
	}
	b = evbuffer_new();
	evbuffer_add_printf(b, "{\"status\":\"success\",\"transactions\":[");
	for (int i = 0; i < n && count < limit; i++) {
		if (rows[i].created_at < from_ms || rows[i].created_at >= to_ms)
			continue;
		evbuffer_add_printf(b, "%s{", count > 0 ? "," : "");
		api_render_txn_fields(b, &rows[i]);
		evbuffer_add(b, "}", 1);
		count++;
	}
	evbuffer_add_printf(b, "],\"count\":%d}", count);
	api_call_send(call, 200, b, 0);
}

/* ---- routing ---------------------------------------------------------------------------- */

/* 405 with the methods the path takes. */
static void
api_method_not_allowed(struct api_call *call, const char *allow)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(call->req), "Allow", allow);
	evbuffer_add_printf(b, "{\"status\":\"error\",\"message\":\"Method not allowed\"}");
	api_call_send(call, 405, b, 0);
}

void
api_handle(struct api *a, struct evhttp_request *req, const char *path)
{
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	struct api_call *call = api_call_new(a, req);
	struct api_params p;
	int post = method == EVHTTP_REQ_POST, get = method == EVHTTP_REQ_GET;
	enum { RECHARGE, BALANCE, STATUS, TRANSACTIONS } what;
	char *q;

	memset(&p, 0, sizeof p);
	TAILQ_INIT(&p.kv);
	if (strcmp(path, "/api/v1/recharge") == 0)
		what = RECHARGE;
	else if (strcmp(path, "/api/v1/balance") == 0)
		what = BALANCE;
	else if (strcmp(path, "/api/v1/status") == 0)
		what = STATUS;
	else if (strcmp(path, "/api/v1/transactions") == 0)
		what = TRANSACTIONS;
	else {
		struct evbuffer *b = evbuffer_new();
		evbuffer_add_printf(b, "{\"status\":\"error\",\"message\":\"Not found\"}");
		api_call_send(call, 404, b, 0);
		return;
	}
	if ((what == RECHARGE && !post) || (what == TRANSACTIONS && !get) || (!get && !post)) {
		api_method_not_allowed(call, what == RECHARGE ? "POST" : what == TRANSACTIONS ? "GET" : "GET, POST");
		return;
	}
	/* POST: the body; GET: the query string (never a key: that comes in X-API-Key) */
	if (post && api_params_body(&p, req) != 0) {
		api_params_free(&p);
		api_call_error(call, ENGINE_E_PARAM, "body");
		return;
	}
	if (get && query != NULL) {
		q = xstrdup(query);
		if (api_params_form(&p, q) != 0) {
			free(q);
			api_params_free(&p);
			api_call_error(call, ENGINE_E_PARAM, "query");
			return;
		}
		free(q);
	}
	switch (what) {
	case RECHARGE: api_recharge(a, call, &p); break;
	case BALANCE: api_balance(a, call, &p, post); break;
	case STATUS: api_status(a, call, &p, post); break;
	case TRANSACTIONS: api_transactions(a, call, &p); break;
	}
	api_params_free(&p);
}

/* ---- life cycle ---------------------------------------------------------------------------- */

struct api *
api_new(struct event_base *base, struct batch *batch, struct engine *engine, const struct config *cfg)
{
	struct api *a = xcalloc(1, sizeof *a);

	a->base = base;
	a->batch = batch;
	a->engine = engine;
	a->cfg = cfg;
	return a;
}

void
api_set_engine(struct api *a, struct engine *e, const struct config *cfg)
{
	a->engine = e;
	a->cfg = cfg;
}

void
api_free(struct api *a)
{
	struct api_call *call, *next;

	if (a == NULL)
		return;
	/* stopping: an accepted recharge is on disk, pending or settled: say which */
	for (call = a->calls; call != NULL; call = next) {
		next = call->next;
		if (call->req != NULL && call->accepted && !call->settling && !batch_is_open(a->batch))
			api_answer_txn_now(call);          /* may free call */
	}
	/* the rest may retry; calls a batch still holds are freed when it ends */
	for (call = a->calls; call != NULL; call = next) {
		next = call->next;
		api_wait_remove(call);
		if (call->req != NULL) {
			api_call_set_busy(call);
			api_call_write(call);
		}
		call->api = NULL;
		call->prev = call->next = NULL;
		api_call_release(call);
	}
	for (int i = 0; i < API_RATE_BUCKETS; i++)
		while (a->rates[i] != NULL) {
			struct api_rate *rt = a->rates[i];
			a->rates[i] = rt->next;
			free(rt);
		}
	free(a);
}
