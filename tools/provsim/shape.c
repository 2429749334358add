/* tools/provsim/shape.c: the two API shapes. "json" is a modern aggregator (POST
 * /recharge with a JSON or form body, a nested status in data.txn.status); "flat" is
 * the PHP kind (GET /api/recharge.php?uid=&pwd=&mn=&op=&amt=&reqid=, answering
 * {"STATUS":"1",...} with digits for states). Either shape's field names are accepted
 * in either, from the query string and the body alike, so a client configured a little
 * differently still gets through; answers are always in the run's shape. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "common/common.h"
#include "tools/provsim/provsim.h"

/* Each shape has its own paths; anything else is 404. */
int
provsim_shape_route(enum provsim_shape shape, const char *path, enum provsim_call_kind *kind)
{
	static const char *json_paths[] = { "/recharge", "/status", "/balance" };
	static const char *flat_paths[] = { "/api/recharge.php", "/api/status.php",
	    "/api/balance.php" };
	const char **paths = shape == PROVSIM_SHAPE_JSON ? json_paths : flat_paths;

	for (int i = 0; i < 3; i++)
		if (strcmp(path, paths[i]) == 0) {
			*kind = (enum provsim_call_kind)i;
			return 0;
		}
	return -1;
}

/* Frees the copies; leaves an empty call (amount unknown). */
void
provsim_call_clear(struct provsim_call *call)
{
	free(call->txn_id);
	free(call->mobile);
	free(call->op);
	free(call->amount);
	free(call->circle);
	free(call->key);
	free(call->uid);
	free(call->pwd);
	memset(call, 0, sizeof *call);
	call->amount_paise = -1;
}

/* The field a request name fills, or NULL for a name we do not know. */
static char **
provsim_call_field(struct provsim_call *call, const char *name)
{
	static const struct { const char *name; size_t off; } names[] = {
		{ "txn_id", offsetof(struct provsim_call, txn_id) },
		{ "reqid", offsetof(struct provsim_call, txn_id) },
		{ "mobile", offsetof(struct provsim_call, mobile) },
		{ "mn", offsetof(struct provsim_call, mobile) },
		{ "operator", offsetof(struct provsim_call, op) },
		{ "op", offsetof(struct provsim_call, op) },
		{ "amount", offsetof(struct provsim_call, amount) },
		{ "amt", offsetof(struct provsim_call, amount) },
		{ "circle", offsetof(struct provsim_call, circle) },
		{ "key", offsetof(struct provsim_call, key) },
		{ "uid", offsetof(struct provsim_call, uid) },
		{ "pwd", offsetof(struct provsim_call, pwd) },
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(name, names[i].name) == 0)
			return (char **)((char *)call + names[i].off);
	return NULL;
}

/* A later source of the same field wins (the body over the query). */
static void
provsim_call_put(struct provsim_call *call, const char *name, const char *value)
{
	char **f = provsim_call_field(call, name);

	if (f == NULL || value == NULL)
		return;
	free(*f);
	*f = xstrdup(value);
}

/* name=value&... into call; -1 when evhttp finds it malformed. */
static int
provsim_call_form(struct provsim_call *call, const char *text)
{
	struct evkeyvalq q;
	struct evkeyval *kv;

	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(text, &q) < 0) {
		evhttp_clear_headers(&q);
		return -1;
	}
	TAILQ_FOREACH(kv, &q, next)
		provsim_call_put(call, kv->key, kv->value);
	evhttp_clear_headers(&q);
	return 0;
}

/* A JSON object's scalar members into call; other types are left out (absent). */
static int
provsim_call_json(struct provsim_call *call, const char *body, size_t len)
{
	json_error_t err;
	json_t *o = json_loadb(body, len, 0, &err), *v;
	const char *name;
	char num[64];

	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		return -1;
	}
	json_object_foreach(o, name, v) {
		if (json_is_string(v))
			provsim_call_put(call, name, json_string_value(v));
		else if (json_is_integer(v)) {
			snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
			provsim_call_put(call, name, num);
		} else if (json_is_real(v) && isfinite(json_real_value(v)) &&
		    fabs(json_real_value(v)) < 1e13) {
			snprintf(num, sizeof num, "%.2f", json_real_value(v));
			provsim_call_put(call, name, num);
		}
	}
	json_decref(o);
	return 0;
}

/* Query first, then the body, then X-Api-Key: whatever a client sends is read. */
int
provsim_shape_parse(struct evhttp_request *req, struct provsim_call *call, const char **cause)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	const char *hkey;
	char *body = NULL;
	size_t len = 0;
	int64_t paise;

	memset(call, 0, sizeof *call);
	call->amount_paise = -1;
	if (query != NULL && provsim_call_form(call, query) < 0) {
		*cause = "malformed query string";
		return -1;
	}
	if (provsim_body(req, &body, &len)) {
		const char *p = body;
		int json, r;

		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		json = *p == '{' || *p == '[';
		if (strlen(body) != len) {
			*cause = "NUL byte in the body";
			free(body);
			return -1;
		}
		r = json ? provsim_call_json(call, body, len) : provsim_call_form(call, body);
		free(body);
		if (r < 0) {
			*cause = json ? "body is not a JSON object" : "malformed form body";
			return -1;
		}
	}
	if ((hkey = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Api-Key")) != NULL)
		provsim_call_put(call, "key", hkey);
	if (call->amount != NULL && money_parse(call->amount, &paise) == MONEY_OK)
		call->amount_paise = paise;
	return 0;
}

/* The words of /_txn and /_stats, whatever the shape. */
const char *
provsim_status_name(enum provsim_status st)
{
	static const char *names[] = { "NOT_FOUND", "PENDING", "SUCCESS", "FAILED", "REVERSED" };

	return (unsigned)st < PROVSIM_ST_COUNT ? names[st] : "NOT_FOUND";
}

/* Words for json, digits for flat. */
const char *
provsim_shape_status_word(enum provsim_shape shape, enum provsim_status st)
{
	static const char *digits[] = { "4", "0", "1", "2", "3" };

	if (shape == PROVSIM_SHAPE_JSON)
		return provsim_status_name(st);
	return (unsigned)st < PROVSIM_ST_COUNT ? digits[st] : "4";
}

/* The message an aggregator would send with that state. */
const char *
provsim_txn_message(const struct provsim_txn *t, enum provsim_status st)
{
	switch (st) {
	case PROVSIM_ST_PENDING: return "Recharge in process";
	case PROVSIM_ST_SUCCESS: return "Recharge successful";
	case PROVSIM_ST_REVERSED: return "Recharge reversed by the operator";
	case PROVSIM_ST_FAILED:
		switch (t != NULL ? t->reason : PROVSIM_REASON_DECLINED) {
		case PROVSIM_REASON_BALANCE: return "Insufficient balance with the provider";
		case PROVSIM_REASON_INVALID: return "Invalid mobile, operator or amount";
		default: return "Recharge failed at the operator";
		}
	default: return "No such transaction";
	}
}

/* Dumps v (reference taken) into a new buffer. */
static struct evbuffer *
provsim_shape_dump(json_t *v)
{
	struct evbuffer *b = evbuffer_new();
	char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (s != NULL) {
		evbuffer_add(b, s, strlen(s));
		evbuffer_add(b, "\n", 1);
	}
	free(s);
	json_decref(v);
	return b;
}

/* A recharge or status answer; txn_id is echoed even when unknown. */
struct evbuffer *
provsim_shape_txn_answer(struct provsim *sim, enum provsim_status st, const struct provsim_txn *t,
    const char *txn_id, const char *message)
{
	const char *ref = t != NULL && (st == PROVSIM_ST_SUCCESS || st == PROVSIM_ST_REVERSED) ?
	    t->ref : "";
	char amt[MONEY_BUFSZ];
	json_t *o;

	if (message == NULL)
		message = provsim_txn_message(t, st);
	if (sim->opt.shape == PROVSIM_SHAPE_FLAT) {
		o = json_pack("{s:s, s:s, s:s, s:s}", "STATUS",
		    provsim_shape_status_word(sim->opt.shape, st), "OPID", ref, "MSG", message,
		    "REQID", txn_id);
		if (t != NULL)
			json_object_set_new(o, "AMT", json_string(money_format(t->amount, amt)));
		return provsim_shape_dump(o);
	}
	o = json_pack("{s:s, s:s, s:s, s:s}", "txn_id", txn_id, "status",
	    provsim_shape_status_word(sim->opt.shape, st), "ref", ref, "message", message);
	if (t != NULL)
		json_object_set_new(o, "amount", json_string(money_format(t->amount, amt)));
	return provsim_shape_dump(json_pack("{s:{s:o}}", "data", "txn", o));
}

/* The balance as two-decimal text, never a float. */
struct evbuffer *
provsim_shape_balance_answer(struct provsim *sim)
{
	char bal[MONEY_BUFSZ];

	money_format(sim->balance, bal);
	if (sim->opt.shape == PROVSIM_SHAPE_FLAT)
		return provsim_shape_dump(json_pack("{s:s}", "BAL", bal));
	return provsim_shape_dump(json_pack("{s:{s:s}}", "data", "balance", bal));
}

/* A refusal reads as a failure: nothing was taken. */
struct evbuffer *
provsim_shape_error_answer(struct provsim *sim, const char *message)
{
	if (sim->opt.shape == PROVSIM_SHAPE_FLAT)
		return provsim_shape_dump(json_pack("{s:s, s:s, s:s}", "STATUS", "2", "OPID", "",
		    "MSG", message));
	return provsim_shape_dump(json_pack("{s:{s:{s:s, s:s}}}", "data", "txn", "status",
	    "FAILED", "message", message));
}

/* Bodies no client may take for an answer: HTML, JSON cut short, the right keys with
 * the wrong types (never a type a lenient parser could read as a status), nothing. */
struct evbuffer *
provsim_shape_garbage(struct provsim *sim)
{
	static const char *json_kinds[] = {
		"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>\n",
		"{\"data\":{\"txn\":{\"status\":\"SUCC",
		"{\"data\":{\"txn\":{\"status\":[\"SUCCESS\"],\"ref\":{},\"message\":7},"
		    "\"balance\":{\"x\":1}}}\n",
		"",
	};
	static const char *flat_kinds[] = {
		"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>\n",
		"{\"STATUS\":\"1\",\"OPI",
		"{\"STATUS\":[\"1\"],\"OPID\":{},\"MSG\":7,\"BAL\":[]}\n",
		"",
	};
	const char **kinds = sim->opt.shape == PROVSIM_SHAPE_JSON ? json_kinds : flat_kinds;
	struct evbuffer *b = evbuffer_new();
	int k;

	if (sim->set.garbage == PROVSIM_GARBAGE_CYCLE)
		k = (int)(sim->garbage_turn++ % 4);
	else
		k = (int)sim->set.garbage - 1;
	evbuffer_add(b, kinds[k], strlen(kinds[k]));
	return b;
}
