/* tests/unit/test_provider_http.c: the http-json provider through the HTTP client's
 * transport seam: template escaping in URL, form and JSON positions, dotted JSON paths,
 * every outcome mapping of SPEC section 10, balances read exactly, callback
 * authentication (compared with ct_equal, which this test wraps: mk/provider_http.mk),
 * the config checks, and whole recharges through a real engine on a temporary database. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <unistd.h>
#include <fcntl.h>
#include <cmocka.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/common.h"
#include "db/db.h"
#include "engine/internal.h"

/* ct_equal, counted (linked with -Wl,--wrap=ct_equal). */
int __real_ct_equal(const void *a, const void *b, size_t len);
static int ct_calls;
int
__wrap_ct_equal(const void *a, const void *b, size_t len)
{
	ct_calls++;
	return __real_ct_equal(a, b, len);
}

struct fixture {
	char dir[64];
	struct config *cfg;
	struct event_base *base;
	struct db *db;
	struct batch *batch;
	struct engine *engine;
	struct provider *p;           /* [provider.agg] */
	/* what the transport saw */
	int requests;
	enum http_method method;
	char url[4096], body[16384], headers[1024];
	int fresh, timeout_ms, pool_max;
	/* what it answers */
	enum http_result reply_result;
	int reply_status;
	const char *reply_body;
	size_t reply_len;
	/* what the provider told the engine */
	int answers;
	char answer_provider[32];
	int64_t answer_txn;
	struct provider_answer answer;
	/* what the engine told the channel */
	int finals, pendings;
	struct db_txn last;
};

static const char *base_conf =
    "[smpp]\nsystem_id = x\npassword = y\nsource_addr = 5555\n"
    "[engine]\ndefault_provider = agg\nstatus_poll_s = 1\nbalance_poll_s = 3600\n"
    "[provider.ok]\ntype = sim\n"
    "[provider.agg]\ntype = http-json\n";

/* A JSON aggregator with a nested status (docs/providers.md, example 1). */
static const char *json_agg =
    "recharge_url = https://api.example.in/v2/recharge\n"
    "recharge_method = POST\n"
    "content_type = application/json\n"
    "recharge_body = {\"number\":\"${mobile}\",\"operator\":\"${op}\",\"amount\":${amount},"
    "\"paise\":${amount_paise},\"circle\":\"${circle}\",\"client_ref\":\"${txn_id}\",\"key\":\"${secret}\"}\n"
    "status_url = https://api.example.in/v2/status?client_ref=${txn_id}&key=${secret}\n"
    "balance_url = https://api.example.in/v2/balance?key=${secret}\n"
    "secret = k3y&\"s3cret\"\n"
    "opcodes = AIRTEL:AT,JIO:JO\n"
    "status_field = data.txn.status\n"
    "ref_field = data.txn.operator_ref\n"
    "message_field = data.message\n"
    "balance_field = data.wallet.balance\n"
    "success_values = SUCCESS, success\n"
    "pending_values = PENDING,ACCEPTED\n"
    "failure_values = FAILED,REJECTED\n"
    "reversed_values = REVERSED,REFUNDED\n"
    "timeout_ms = 5000\n"
    "max_connections = 7\n"
    "callback_secret = cb-s3cret\n"
    "callback_txn_field = client_ref\n"
    "callback_status_field = status\n"
    "callback_ref_field = operator_ref\n";

/* A GET aggregator with flat numeric statuses (docs/providers.md, example 2). */
static const char *flat_agg =
    "recharge_url = http://pay.example.in/api/recharge.php?uid=u1&pwd=${secret}&mobile=${mobile}"
    "&opcode=${op}&amount=${amount}&circle=${circle}&reqid=${txn_id}\n"
    "status_url = http://pay.example.in/api/status.php?uid=u1&pwd=${secret}&reqid=${txn_id}\n"
    "secret = pw\n"
    "opcodes = AIRTEL:A,JIO:RJ,VI:V\n"
    "status_field = status\n"
    "ref_field = opid\n"
    "message_field = msg\n"
    "success_values = 1\n"
    "failure_values = 0,3\n"
    "pending_values = 2\n"
    "reversed_values = 4\n"
    "down_statuses = 502,503,429\n"
    "dedupes = yes\n"
    "callback_secret = cbflat\n"
    "callback_txn_field = reqid\n";

static struct fixture *the_fx;

static void
fake_transport(void *arg, const struct http_request *req, struct http_response *out)
{
	struct fixture *fx = arg;

	fx->requests++;
	fx->method = req->method;
	strlcpy_safe(fx->url, req->url, sizeof fx->url);
	strlcpy_safe(fx->body, req->body != NULL ? req->body : "", sizeof fx->body);
	fx->headers[0] = '\0';
	for (int i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
		strncat(fx->headers, req->headers[i], sizeof fx->headers - strlen(fx->headers) - 2);
		strcat(fx->headers, "\n");
	}
	fx->fresh = req->fresh;
	fx->timeout_ms = req->timeout_ms;
	fx->pool_max = req->pool_max;
	out->result = fx->reply_result;
	out->status = fx->reply_status;
	out->body = fx->reply_body;
	out->body_len = fx->reply_len > 0 ? fx->reply_len : (fx->reply_body ? strlen(fx->reply_body) : 0);
	out->error = "canned failure";
}

static void
observer(void *arg, const char *provider, int64_t txn, const struct provider_answer *a)
{
	struct fixture *fx = arg;

	fx->answers++;
	strlcpy_safe(fx->answer_provider, provider, sizeof fx->answer_provider);
	fx->answer_txn = txn;
	fx->answer = *a;
}

static int
fx_txn_cb(void *arg, const struct db_txn *t, enum engine_event ev, int64_t balance)
{
	struct fixture *fx = arg;

	if (ev == ENGINE_EVENT_PENDING)
		fx->pendings++;
	else
		fx->finals++;
	fx->last = *t;
	return 0;
}

static void
write_conf(const char *dir, const char *agg, const char *engine_extra)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof path, "%s/rechargd.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(base_conf, f);
	fputs(agg, f);
	if (engine_extra != NULL)
		fputs(engine_extra, f);
	fclose(f);
}

/* A real engine on a temporary database with [provider.agg] = agg. */
static struct fixture *
fx_open(const char *agg)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	char path[128], *cause = NULL;
	uint8_t pepper[PEPPER_LEN];

	strcpy(fx->dir, "/tmp/rechargd-phttp-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	write_conf(fx->dir, agg, NULL);
	snprintf(path, sizeof path, "%s/rechargd.conf", fx->dir);
	fx->cfg = config_load(path, &cause);
	if (fx->cfg == NULL)
		fail_msg("config: %s", cause);
	fx->db = db_open(fx->cfg->db_path, 1, &cause);
	assert_non_null(fx->db);
	fx->base = event_base_new();
	event_base_priority_init(fx->base, 3);
	fx->batch = batch_new(fx->base, fx->db);
	memset(pepper, 7, sizeof pepper);
	struct engine_hooks hooks = { .txn_cb = fx_txn_cb, .arg = fx };
	fx->engine = engine_new(fx->base, fx->batch, fx->cfg, pepper, &hooks, &cause);
	if (fx->engine == NULL)
		fail_msg("engine: %s", cause);
	fx->p = engine_provider_find(fx->engine, "agg");
	assert_non_null(fx->p);
	assert_non_null(provider_http_client(fx->base));
	http_client_set_transport_for_test(provider_http_client(fx->base), fake_transport, fx);
	provider_http_set_observer_for_test(observer, fx);
	fx->reply_result = HTTP_RESULT_OK;
	fx->reply_status = 200;
	the_fx = fx;
	return fx;
}

static void
fx_close(struct fixture *fx)
{
	char cmd[128];

	provider_http_set_observer_for_test(NULL, NULL);
	batch_commit(fx->batch);       /* its deferred callbacks point into the engine */
	engine_free(fx->engine);
	assert_null(provider_http_client(fx->base));   /* the last provider took it along */
	batch_free(fx->batch);
	db_close(fx->db);
	event_base_free(fx->base);
	config_free(fx->cfg);
	snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	the_fx = NULL;
}

/* Why engine_new refuses [provider.agg] = agg (malloc'd), or NULL when it does not. */
static char *
fx_cause(const char *agg)
{
	char dir[64], path[128], cmd[128], *cause = NULL;
	struct config *cfg;
	struct event_base *base = event_base_new();
	uint8_t pepper[PEPPER_LEN] = { 0 };
	struct engine *e;
	struct db *db;
	struct batch *batch;

	strcpy(dir, "/tmp/rechargd-phttp-XXXXXX");
	assert_non_null(mkdtemp(dir));
	write_conf(dir, agg, NULL);
	snprintf(path, sizeof path, "%s/rechargd.conf", dir);
	cfg = config_load(path, &cause);
	if (cfg == NULL)
		fail_msg("config: %s", cause);
	db = db_open(cfg->db_path, 1, &cause);
	assert_non_null(db);
	batch = batch_new(base, db);
	e = engine_new(base, batch, cfg, pepper, NULL, &cause);
	if (e != NULL) {
		engine_free(e);
		cause = NULL;
	}
	batch_free(batch);
	db_close(db);
	config_free(cfg);
	event_base_free(base);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return cause;
}

/* Runs the loop until *counter reaches want (or 5 s passed). */
static void
wait_for(struct fixture *fx, int *counter, int want)
{
	for (int i = 0; i < 5000 && *counter < want; i++) {
		struct timeval tv = { 0, 1000 };
		event_base_loopexit(fx->base, &tv);
		event_base_dispatch(fx->base);
	}
	assert_int_equal(*counter, want);
}

static void
spin(struct fixture *fx, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(fx->base, &tv);
	event_base_dispatch(fx->base);
}

static struct db_txn
txn_make(int64_t id, const char *target, const char *op, int64_t amount, const char *circle)
{
	struct db_txn t;

	memset(&t, 0, sizeof t);
	t.id = id;
	strlcpy_safe(t.target, target, sizeof t.target);
	strlcpy_safe(t.operator_code, op, sizeof t.operator_code);
	strlcpy_safe(t.circle, circle, sizeof t.circle);
	strcpy(t.state, "PENDING");
	t.amount = amount;
	return t;
}

static void
reply(struct fixture *fx, enum http_result res, int status, const char *body)
{
	fx->reply_result = res;
	fx->reply_status = status;
	fx->reply_body = body;
	fx->reply_len = 0;
}

/* Submits a synthetic recharge (not in flight: the engine ignores the answer) and
 * returns what the provider answered. */
static struct provider_answer
submit(struct fixture *fx, enum http_result res, int status, const char *body)
{
	struct db_txn t = txn_make(42, "9876543210", "AIRTEL", 29900, "KA");
	int before = fx->answers;

	reply(fx, res, status, body);
	fx->p->ops->submit(fx->p, &t);
	assert_int_equal(fx->answers, before);        /* never from inside submit */
	wait_for(fx, &fx->answers, before + 1);
	assert_int_equal(fx->answer_txn, 42);
	assert_string_equal(fx->answer_provider, "agg");
	return fx->answer;
}

static struct provider_answer
status(struct fixture *fx, int status_code, const char *body)
{
	struct db_txn t = txn_make(43, "9876543210", "JIO", 1000, "DL");
	int before = fx->answers;

	reply(fx, HTTP_RESULT_OK, status_code, body);
	assert_non_null(fx->p->ops->status);
	fx->p->ops->status(fx->p, &t);
	wait_for(fx, &fx->answers, before + 1);
	return fx->answer;
}

/* Percent-decodes the value of key in the query of url (or a form body); 1 if found. */
static int
query_get(const char *q, const char *key, char *out, size_t cap)
{
	const char *s = strchr(q, '?') ? strchr(q, '?') + 1 : q;
	size_t klen = strlen(key);

	while (*s) {
		const char *amp = strchr(s, '&');
		size_t n = amp ? (size_t)(amp - s) : strlen(s);
		if (n > klen && strncmp(s, key, klen) == 0 && s[klen] == '=') {
			size_t o = 0;
			for (size_t i = klen + 1; i < n && o + 1 < cap; i++) {
				unsigned v;
				if (s[i] == '%' && sscanf(s + i + 1, "%2x", &v) == 1) {
					out[o++] = (char)v;
					i += 2;
				} else
					out[o++] = s[i];
			}
			out[o] = '\0';
			return 1;
		}
		s += n + (amp ? 1 : 0);
	}
	return 0;
}

static int
count_char(const char *s, char c)
{
	int n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

/* ---- templates -------------------------------------------------------------------------- */

/* Hostile bytes in every variable stay data in a URL, a form body and a JSON body. */
#define HOSTILE_TARGET "98\"&m=2 \\\xc3\xa9\xff\xf0\x9f\x98\x80/?#"
#define HOSTILE_CODE "A\"&o=x y\xc3\xa9<>{}"

static void
test_template_url_escaping(void **state)
{
	struct fixture *fx = fx_open(
	    "recharge_url = https://x.example/r/${op}?m=${mobile}&o=${op}&c=${circle}&t=${txn_id}&a=${amount}&p=${amount_paise}&k=${secret}&n=${operator}\n"
	    "secret = s&k=1 \"q\"\n"
	    "opcodes = AIRTEL:" HOSTILE_CODE "\n"
	    "status_field = s\nsuccess_values = ok\nfailure_values = no\n");
	struct db_txn t = txn_make(123, HOSTILE_TARGET, "AIRTEL", 29950, "\"}");
	char v[256];

	reply(fx, HTTP_RESULT_OK, 200, "{\"s\":\"ok\"}");
	fx->p->ops->submit(fx->p, &t);
	wait_for(fx, &fx->answers, 1);
	assert_int_equal(fx->method, HTTP_GET);
	/* nothing outside the unreserved set is left raw */
	assert_int_equal(count_char(fx->url, '&'), 7);
	assert_int_equal(count_char(fx->url, '?'), 1);
	assert_null(strchr(fx->url, ' '));
	assert_null(strchr(fx->url, '"'));
	assert_null(strchr(fx->url, '#'));
	for (const char *s = fx->url; *s; s++)
		assert_true((unsigned char)*s < 0x80);
	assert_non_null(strstr(fx->url, "/r/A%22%26o%3Dx%20y%C3%A9%3C%3E%7B%7D?"));
	assert_true(query_get(fx->url, "m", v, sizeof v));
	assert_string_equal(v, HOSTILE_TARGET);
	assert_true(query_get(fx->url, "o", v, sizeof v));
	assert_string_equal(v, HOSTILE_CODE);
	assert_true(query_get(fx->url, "c", v, sizeof v));
	assert_string_equal(v, "\"}");
	assert_true(query_get(fx->url, "t", v, sizeof v));
	assert_string_equal(v, "TXN000000123");
	assert_true(query_get(fx->url, "a", v, sizeof v));
	assert_string_equal(v, "299.50");
	assert_true(query_get(fx->url, "p", v, sizeof v));
	assert_string_equal(v, "29950");
	assert_true(query_get(fx->url, "k", v, sizeof v));
	assert_string_equal(v, "s&k=1 \"q\"");
	assert_true(query_get(fx->url, "n", v, sizeof v));
	assert_string_equal(v, "AIRTEL");
	/* an operator without an opcode goes by its canonical name; whole amounts bare */
	t = txn_make(124, "9876543210", "JIO", 29900, "KA");
	fx->p->ops->submit(fx->p, &t);
	wait_for(fx, &fx->answers, 2);
	assert_true(query_get(fx->url, "o", v, sizeof v));
	assert_string_equal(v, "JIO");
	assert_true(query_get(fx->url, "a", v, sizeof v));
	assert_string_equal(v, "299");
	fx_close(fx);
}

static void
test_template_form_escaping(void **state)
{
	struct fixture *fx = fx_open(
	    "recharge_url = https://x.example/r\nrecharge_method = post\n"
	    "recharge_body = mobile=${mobile}&op=${op}&amount=${amount}&key=${secret}\n"
	    "secret = s&k=1 \"q\"\n"
	    "opcodes = AIRTEL:" HOSTILE_CODE "\n"
	    "status_field = s\nsuccess_values = ok\nfailure_values = no\n");
	struct db_txn t = txn_make(7, HOSTILE_TARGET, "AIRTEL", 1000, "KA");
	char v[256];

	reply(fx, HTTP_RESULT_OK, 200, "{\"s\":\"ok\"}");
	fx->p->ops->submit(fx->p, &t);
	wait_for(fx, &fx->answers, 1);
	assert_int_equal(fx->method, HTTP_POST);
	assert_non_null(strstr(fx->headers, "Content-Type: application/x-www-form-urlencoded\n"));
	assert_string_equal(fx->url, "https://x.example/r");
	assert_int_equal(count_char(fx->body, '&'), 3);
	assert_int_equal(count_char(fx->body, '='), 4);
	assert_true(query_get(fx->body, "mobile", v, sizeof v));
	assert_string_equal(v, HOSTILE_TARGET);
	assert_true(query_get(fx->body, "op", v, sizeof v));
	assert_string_equal(v, HOSTILE_CODE);
	assert_true(query_get(fx->body, "amount", v, sizeof v));
	assert_string_equal(v, "10");
	assert_true(query_get(fx->body, "key", v, sizeof v));
	assert_string_equal(v, "s&k=1 \"q\"");
	fx_close(fx);
}

static void
test_template_json_escaping(void **state)
{
	struct fixture *fx = fx_open(json_agg);
	struct db_txn t = txn_make(9, HOSTILE_TARGET, "AIRTEL", 29950, "\"}");
	json_t *j;
	json_error_t err;

	/* the mapping for AIRTEL is AT; make it hostile through the target and circle */
	reply(fx, HTTP_RESULT_OK, 200, "{\"data\":{\"txn\":{\"status\":\"SUCCESS\"}}}");
	fx->p->ops->submit(fx->p, &t);
	wait_for(fx, &fx->answers, 1);
	assert_int_equal(fx->method, HTTP_POST);
	assert_non_null(strstr(fx->headers, "Content-Type: application/json\n"));
	for (const char *s = fx->body; *s; s++)
		assert_true((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x80);
	j = json_loads(fx->body, 0, &err);
	if (j == NULL)
		fail_msg("body is not JSON: %s: %s", err.text, fx->body);
	assert_int_equal(json_object_size(j), 7);
	/* the invalid byte becomes U+FFFD; everything else comes back as it was */
	assert_string_equal(json_string_value(json_object_get(j, "number")),
	    "98\"&m=2 \\\xc3\xa9\xef\xbf\xbd\xf0\x9f\x98\x80/?#");
	assert_string_equal(json_string_value(json_object_get(j, "operator")), "AT");
	assert_string_equal(json_string_value(json_object_get(j, "circle")), "\"}");
	assert_string_equal(json_string_value(json_object_get(j, "client_ref")), "TXN000000009");
	assert_string_equal(json_string_value(json_object_get(j, "key")), "k3y&\"s3cret\"");
	assert_true(json_is_real(json_object_get(j, "amount")));
	assert_non_null(strstr(fx->body, "\"amount\":299.50,"));
	assert_non_null(strstr(fx->body, "\"paise\":29950,"));
	json_decref(j);
	fx_close(fx);
}

/* The secret and the query of a URL never reach the log. */
static void
test_no_secret_in_logs(void **state)
{
	struct fixture *fx = fx_open(flat_agg);
	char path[128], buf[8192];
	int saved = dup(2), fd;
	ssize_t n;
	int level = log_level;

	snprintf(path, sizeof path, "%s/log", fx->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	dup2(fd, 2);
	log_level = LOGL_TRACE;
	submit(fx, HTTP_RESULT_OK, 200, "{\"status\":1,\"opid\":\"X1\"}");
	submit(fx, HTTP_RESULT_TIMEOUT, 0, NULL);
	submit(fx, HTTP_RESULT_CONNECT_FAILED, 0, NULL);
	status(fx, 200, "{\"status\":2}");
	log_level = level;
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "http://pay.example.in/api/recharge.php"));
	assert_null(strstr(buf, "pwd"));
	assert_null(strstr(buf, "=pw"));
	assert_null(strstr(buf, "uid=u1"));
	fx_close(fx);
}

/* ---- outcomes ------------------------------------------------------------------------------- */

static void
test_outcomes_json(void **state)
{
	struct fixture *fx = fx_open(json_agg);
	struct provider_answer a;

	a = submit(fx, HTTP_RESULT_OK, 200, "{\"data\":{\"txn\":{\"status\":\"SUCCESS\",\"operator_ref\":"
	    "\"BX12345\"},\"message\":\"Recharge done\"}}");
	assert_int_equal(a.result, PROVIDER_SUCCESS);
	assert_string_equal(a.ref, "BX12345");
	assert_string_equal(a.message, "Recharge done");
	assert_int_equal(fx->fresh, 1);                /* a recharge: its own connection */
	assert_int_equal(fx->timeout_ms, 5000);
	assert_int_equal(fx->pool_max, 7);
	assert_string_equal(fx->url, "https://api.example.in/v2/recharge");
	/* values are case-insensitive and trimmed */
	a = submit(fx, HTTP_RESULT_OK, 200, "{\"data\":{\"txn\":{\"status\":\" Success \"}}}");
	assert_int_equal(a.result, PROVIDER_SUCCESS);
	assert_string_equal(a.ref, "");               /* none given: none made up */
	a = submit(fx, HTTP_RESULT_OK, 200, "{\"data\":{\"txn\":{\"status\":\"rejected\"},\"message\":\"Invalid number\"}}");
	assert_int_equal(a.result, PROVIDER_FAILED);
	assert_string_equal(a.message, "Invalid number");
	a = submit(fx, HTTP_RESULT_OK, 202, "{\"data\":{\"txn\":{\"status\":\"ACCEPTED\"}}}");
	assert_int_equal(a.result, PROVIDER_PENDING);
	/* not taken: nothing sent, or a status in down_statuses (503 by default) */
	assert_int_equal(submit(fx, HTTP_RESULT_CONNECT_FAILED, 0, NULL).result, PROVIDER_DOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 503, "{\"data\":{\"txn\":{\"status\":\"FAILED\"}}}").result,
	    PROVIDER_DOWN);
	/* sent, and then anything else: unknown */
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 500, "{\"data\":{\"txn\":{\"status\":\"FAILED\"}}}").result,
	    PROVIDER_UNKNOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 502, "").result, PROVIDER_UNKNOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 404, "{}").result, PROVIDER_UNKNOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 301, "").result, PROVIDER_UNKNOWN);
	a = submit(fx, HTTP_RESULT_TIMEOUT, 0, NULL);
	assert_int_equal(a.result, PROVIDER_UNKNOWN);
	assert_non_null(strstr(a.message, "5000 ms"));
	assert_int_equal(submit(fx, HTTP_RESULT_ERROR, 0, NULL).result, PROVIDER_UNKNOWN);
	/* garbage */
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 200, "<html>502 Bad Gateway</html>").result, PROVIDER_UNKNOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 200, "").result, PROVIDER_UNKNOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 200, "{\"data\":{\"txn\":{\"status\":\"SUCC").result,
	    PROVIDER_UNKNOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 200, "{\"data\":{\"txn\":{\"status\":01}}}").result,
	    PROVIDER_UNKNOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 200, "\"SUCCESS\"").result, PROVIDER_UNKNOWN);
	/* a status value in no list, or none at all */
	a = submit(fx, HTTP_RESULT_OK, 200, "{\"data\":{\"txn\":{\"status\":\"ON_HOLD\"}}}");
	assert_int_equal(a.result, PROVIDER_UNKNOWN);
	assert_non_null(strstr(a.message, "ON_HOLD"));
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 200, "{\"data\":{\"txn\":{}}}").result, PROVIDER_UNKNOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 200, "{\"data\":{\"txn\":{\"status\":null}}}").result,
	    PROVIDER_UNKNOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 200, "{\"data\":{\"txn\":{\"status\":{\"x\":1}}}}").result,
	    PROVIDER_UNKNOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 200, "{\"data\":{\"txn\":\"SUCCESS\"}}").result,
	    PROVIDER_UNKNOWN);
	/* a body over 64 KiB is an error after sending */
	{
		size_t n = HTTP_BODY_MAX + 1;
		char *big = malloc(n + 1);
		memset(big, ' ', n);
		const char *ok = "{\"data\":{\"txn\":{\"status\":\"SUCCESS\"}}}";
		memcpy(big, ok, strlen(ok));
		big[n] = '\0';
		reply(fx, HTTP_RESULT_OK, 200, big);
		struct db_txn t = txn_make(42, "9876543210", "AIRTEL", 29900, "KA");
		int before = fx->answers;
		fx->p->ops->submit(fx->p, &t);
		wait_for(fx, &fx->answers, before + 1);
		assert_int_equal(fx->answer.result, PROVIDER_UNKNOWN);
		free(big);
	}
	fx_close(fx);
}

/* Flat numeric codes: 1 and "1" are the same; dedupes lets recharges reuse connections. */
static void
test_outcomes_flat_numeric(void **state)
{
	struct fixture *fx = fx_open(flat_agg);
	struct provider_answer a;

	a = submit(fx, HTTP_RESULT_OK, 200, "{\"status\":1,\"opid\":98765432101234,\"msg\":\"ok\"}");
	assert_int_equal(a.result, PROVIDER_SUCCESS);
	assert_string_equal(a.ref, "98765432101234");  /* the digits as sent, no double */
	assert_int_equal(fx->fresh, 0);
	assert_int_equal(fx->method, HTTP_GET);
	assert_string_equal(fx->url, "http://pay.example.in/api/recharge.php?uid=u1&pwd=pw&mobile=9876543210"
	    "&opcode=A&amount=299&circle=KA&reqid=TXN000000042");
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 200, "{\"status\":\"1\"}").result, PROVIDER_SUCCESS);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 200, "{\"status\":0}").result, PROVIDER_FAILED);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 200, "{\"status\":3}").result, PROVIDER_FAILED);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 200, "{\"status\":2}").result, PROVIDER_PENDING);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 200, "{\"status\":1.0}").result, PROVIDER_UNKNOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 200, "{\"status\":-1}").result, PROVIDER_UNKNOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 200, "{\"status\":true}").result, PROVIDER_UNKNOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 200, "{\"status\":[1]}").result, PROVIDER_UNKNOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 502, "").result, PROVIDER_DOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 429, "").result, PROVIDER_DOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 503, "").result, PROVIDER_DOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 500, "").result, PROVIDER_UNKNOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 504, "").result, PROVIDER_UNKNOWN);
	fx_close(fx);
}

static void
test_json_paths(void **state)
{
	struct fixture *fx = fx_open(
	    "recharge_url = https://x.example/r\n"
	    "status_field = result.items.0.state\n"
	    "ref_field = result.items.0.ids.op\n"
	    "success_values = true,7\n"
	    "failure_values = false\n");
	struct provider_answer a;

	a = submit(fx, HTTP_RESULT_OK, 200,
	    "{\"result\":{\"items\":[{\"state\":true,\"ids\":{\"op\":\"R-1\"}},{\"state\":false}]}}");
	assert_int_equal(a.result, PROVIDER_SUCCESS);
	assert_string_equal(a.ref, "R-1");
	a = submit(fx, HTTP_RESULT_OK, 200, "{\"result\":{\"items\":[{\"state\":false}]}}");
	assert_int_equal(a.result, PROVIDER_FAILED);
	a = submit(fx, HTTP_RESULT_OK, 200, "{\"result\":{\"items\":[{\"state\":7,\"ids\":{\"op\":12.50}}]}}");
	assert_int_equal(a.result, PROVIDER_SUCCESS);
	assert_string_equal(a.ref, "12.50");
	a = submit(fx, HTTP_RESULT_OK, 200, "{\"result\":{\"items\":[{\"state\":\"7\"}]}}");
	assert_int_equal(a.result, PROVIDER_SUCCESS);
	/* missing at each level */
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 200, "{\"result\":{\"items\":[]}}").result, PROVIDER_UNKNOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 200, "{\"result\":{}}").result, PROVIDER_UNKNOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 200, "{\"result\":[]}").result, PROVIDER_UNKNOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 200, "[]").result, PROVIDER_UNKNOWN);
	assert_int_equal(submit(fx, HTTP_RESULT_OK, 200, "{\"result\":{\"items\":{\"0\":{\"state\":7}}}}").result,
	    PROVIDER_SUCCESS);
	/* escaped keys and strings around numbers do not confuse the number reader */
	a = submit(fx, HTTP_RESULT_OK, 200,
	    "{\"x\":\"a\\\"1,2\",\"result\":{\"items\":[{\"state\":7,\"ids\":{\"op\":\"-5e3\"}}]},\"y\":-0.5e+2}");
	assert_int_equal(a.result, PROVIDER_SUCCESS);
	assert_string_equal(a.ref, "-5e3");
	fx_close(fx);
}

static void
test_status_and_reversal(void **state)
{
	struct fixture *fx = fx_open(json_agg);
	struct provider_answer a;

	a = status(fx, 200, "{\"data\":{\"txn\":{\"status\":\"SUCCESS\",\"operator_ref\":\"OP9\"}}}");
	assert_int_equal(a.result, PROVIDER_SUCCESS);
	assert_string_equal(a.ref, "OP9");
	assert_int_equal(fx->method, HTTP_GET);
	assert_int_equal(fx->fresh, 0);                /* a question may reuse a connection */
	assert_string_equal(fx->url, "https://api.example.in/v2/status?client_ref=TXN000000043&key=k3y%26%22s3cret%22");
	assert_int_equal(status(fx, 200, "{\"data\":{\"txn\":{\"status\":\"refunded\"}}}").result, PROVIDER_REVERSED);
	assert_int_equal(status(fx, 200, "{\"data\":{\"txn\":{\"status\":\"PENDING\"}}}").result, PROVIDER_PENDING);
	assert_int_equal(status(fx, 200, "{\"data\":{\"txn\":{\"status\":\"FAILED\"}}}").result, PROVIDER_FAILED);
	assert_int_equal(status(fx, 503, "").result, PROVIDER_DOWN);
	assert_int_equal(status(fx, 500, "").result, PROVIDER_UNKNOWN);
	assert_int_equal(status(fx, 200, "nope").result, PROVIDER_UNKNOWN);
	fx_close(fx);
}

/* Without status_url or balance_url the engine sees no hook: it cannot ask. */
static void
test_hooks_follow_urls(void **state)
{
	struct fixture *fx = fx_open("recharge_url = https://x.example/r\nstatus_field = s\n"
	    "success_values = ok\nfailure_values = no\n");

	assert_null(fx->p->ops->status);
	assert_null(fx->p->ops->balance);
	assert_non_null(fx->p->ops->submit);
	assert_non_null(fx->p->ops->callback);
	assert_string_equal(fx->p->ops->type, "http-json");
	assert_int_equal(fx->p->ops->in_process, 0);
	fx_close(fx);
	fx = fx_open(json_agg);
	assert_non_null(fx->p->ops->status);
	assert_non_null(fx->p->ops->balance);
	fx_close(fx);
}

/* ---- balances ------------------------------------------------------------------------------ */

static int64_t
balance(struct fixture *fx, const char *body, int *ok)
{
	int before = fx->requests;

	fx->p->health.has_balance = 0;
	fx->p->health.balance = -777;
	reply(fx, HTTP_RESULT_OK, 200, body);
	fx->p->ops->balance(fx->p);
	wait_for(fx, &fx->requests, before + 1);
	spin(fx, 5);
	*ok = fx->p->health.has_balance;
	return fx->p->health.balance;
}

static void
test_balance_exact(void **state)
{
	struct fixture *fx = fx_open(json_agg);
	int ok;

	assert_int_equal(balance(fx, "{\"data\":{\"wallet\":{\"balance\":1234.10}}}", &ok), 123410);
	assert_true(ok);
	assert_string_equal(fx->url, "https://api.example.in/v2/balance?key=k3y%26%22s3cret%22");
	assert_int_equal(fx->fresh, 0);
	assert_int_equal(balance(fx, "{\"data\":{\"wallet\":{\"balance\":99999999999.99}}}", &ok),
	    9999999999999LL);
	assert_true(ok);
	assert_int_equal(balance(fx, "{\"data\":{\"wallet\":{\"balance\":\"250.5\"}}}", &ok), 25050);
	assert_true(ok);
	assert_int_equal(balance(fx, "{\"data\":{\"wallet\":{\"balance\":17}}}", &ok), 1700);
	assert_true(ok);
	/* digits past the paisa are cut, never rounded through a double */
	assert_int_equal(balance(fx, "{\"data\":{\"wallet\":{\"balance\":0.2999}}}", &ok), 29);
	assert_true(ok);
	assert_int_equal(balance(fx, "{\"data\":{\"wallet\":{\"balance\":-12.5}}}", &ok), -1250);
	assert_true(ok);
	balance(fx, "{\"data\":{\"wallet\":{\"balance\":1e5}}}", &ok);
	assert_false(ok);
	balance(fx, "{\"data\":{\"wallet\":{}}}", &ok);
	assert_false(ok);
	balance(fx, "{\"data\":{\"wallet\":{\"balance\":\"12,345.00\"}}}", &ok);
	assert_false(ok);
	balance(fx, "garbage", &ok);
	assert_false(ok);
	fx_close(fx);
}

/* ---- callbacks ------------------------------------------------------------------------------ */

static int
callback(struct fixture *fx, const char *query, const char *ctype, const char *body,
    const char *secret_hdr, const char *sig_hdr, int64_t *txn, struct provider_answer *a)
{
	struct provider_callback cb = {
		.method = body ? "POST" : "GET", .query = query, .body = (const uint8_t *)body,
		.body_len = body ? strlen(body) : 0, .content_type = ctype,
		.secret_header = secret_hdr, .signature_header = sig_hdr,
	};

	*txn = 0;
	memset(a, 0, sizeof *a);
	return fx->p->ops->callback(fx->p, &cb, txn, a);
}

static void
test_callback_secret(void **state)
{
	struct fixture *fx = fx_open(json_agg);
	struct provider_answer a;
	int64_t txn;
	int calls;

	/* query string, secret parameter */
	assert_int_equal(callback(fx, "client_ref=TXN000000123&status=SUCCESS&operator_ref=OP1&secret=cb-s3cret",
	    NULL, NULL, NULL, NULL, &txn, &a), 0);
	assert_int_equal(txn, 123);
	assert_int_equal(a.result, PROVIDER_SUCCESS);
	assert_string_equal(a.ref, "OP1");
	/* form body, header secret */
	assert_int_equal(callback(fx, NULL, "application/x-www-form-urlencoded",
	    "client_ref=TXN000000124&status=rejected&message=no+such+number", "cb-s3cret", NULL, &txn, &a), 0);
	assert_int_equal(txn, 124);
	assert_int_equal(a.result, PROVIDER_FAILED);
	/* JSON body, secret inside, a reversal; numbers as text */
	assert_int_equal(callback(fx, NULL, "application/json",
	    "{\"client_ref\":\"TXN000000125\",\"status\":\"REVERSED\",\"operator_ref\":555,\"secret\":\"cb-s3cret\"}",
	    NULL, NULL, &txn, &a), 0);
	assert_int_equal(txn, 125);
	assert_int_equal(a.result, PROVIDER_REVERSED);
	assert_string_equal(a.ref, "555");
	/* a status in no list: accepted, unknown (the engine keeps polling) */
	assert_int_equal(callback(fx, "client_ref=TXN000000126&status=WHAT", NULL, NULL, "cb-s3cret", NULL,
	    &txn, &a), 0);
	assert_int_equal(a.result, PROVIDER_UNKNOWN);
	/* refused: wrong, missing, a prefix, longer, empty; each compared with ct_equal */
	calls = ct_calls;
	assert_int_equal(callback(fx, "client_ref=TXN000000123&status=SUCCESS&secret=cb-s3creT",
	    NULL, NULL, NULL, NULL, &txn, &a), 403);
	assert_int_equal(callback(fx, "client_ref=TXN000000123&status=SUCCESS", NULL, NULL, NULL, NULL,
	    &txn, &a), 403);
	assert_int_equal(callback(fx, "client_ref=TXN000000123&status=SUCCESS", NULL, NULL, "cb-s3", NULL,
	    &txn, &a), 403);
	assert_int_equal(callback(fx, "client_ref=TXN000000123&status=SUCCESS", NULL, NULL,
	    "cb-s3cret-and-more", NULL, &txn, &a), 403);
	assert_int_equal(callback(fx, "client_ref=TXN000000123&status=SUCCESS&secret=", NULL, NULL, NULL,
	    NULL, &txn, &a), 403);
	assert_int_equal(ct_calls - calls, 4);          /* every one present went through it */
	/* a wrong header is not rescued by a right parameter */
	assert_int_equal(callback(fx, "client_ref=TXN000000123&status=SUCCESS&secret=cb-s3cret", NULL, NULL,
	    "wrong", NULL, &txn, &a), 403);
	/* a signature alone proves nothing without callback_hmac */
	assert_int_equal(callback(fx, "client_ref=TXN000000123&status=SUCCESS", NULL, NULL, NULL,
	    "00", &txn, &a), 403);
	/* proven, but no transaction named: 400 */
	assert_int_equal(callback(fx, "status=SUCCESS", NULL, NULL, "cb-s3cret", NULL, &txn, &a), 400);
	assert_int_equal(callback(fx, "client_ref=123&status=SUCCESS", NULL, NULL, "cb-s3cret", NULL,
	    &txn, &a), 400);
	assert_int_equal(callback(fx, NULL, "application/json", "{not json", "cb-s3cret", NULL, &txn, &a), 400);
	assert_true(ct_calls > calls + 4);
	fx_close(fx);
}

static void
hmac_hex(const char *key, const char *body, char out[65])
{
	uint8_t mac[32];
	unsigned int len = 0;

	HMAC(EVP_sha256(), key, (int)strlen(key), (const uint8_t *)body, strlen(body), mac, &len);
	hex_encode(mac, 32, out);
}

static void
test_callback_hmac(void **state)
{
	struct fixture *fx = fx_open("recharge_url = https://x.example/r\n"
	    "status_field = data.status\nref_field = data.ref\n"
	    "success_values = 00\nfailure_values = 01\nreversed_values = 09\n"
	    "callback_secret = hm@c-key\ncallback_hmac = true\n"
	    "callback_txn_field = data.txn\ncallback_status_field = data.status\n"
	    "callback_ref_field = data.ref\n");
	const char *body = "{\"data\":{\"txn\":\"TXN000000777\",\"status\":\"00\",\"ref\":\"Z9\"}}";
	struct provider_answer a;
	char sig[65], upper[80];
	int64_t txn;
	int calls;

	hmac_hex("hm@c-key", body, sig);
	calls = ct_calls;
	assert_int_equal(callback(fx, NULL, "application/json", body, NULL, sig, &txn, &a), 0);
	assert_int_equal(ct_calls, calls + 1);
	assert_int_equal(txn, 777);
	assert_int_equal(a.result, PROVIDER_SUCCESS);
	assert_string_equal(a.ref, "Z9");
	/* upper-case hex and a sha256= prefix are the same signature */
	snprintf(upper, sizeof upper, "sha256=%s", sig);
	for (char *s = upper + 7; *s; s++)
		*s = (char)toupper((unsigned char)*s);
	assert_int_equal(callback(fx, NULL, "application/json", body, NULL, upper, &txn, &a), 0);
	/* wrong: one hex digit off, another key, a changed body, missing, short */
	sig[10] = sig[10] == '0' ? '1' : '0';
	calls = ct_calls;
	assert_int_equal(callback(fx, NULL, "application/json", body, NULL, sig, &txn, &a), 403);
	assert_int_equal(ct_calls, calls + 1);
	hmac_hex("other", body, sig);
	assert_int_equal(callback(fx, NULL, "application/json", body, NULL, sig, &txn, &a), 403);
	hmac_hex("hm@c-key", body, sig);
	assert_int_equal(callback(fx, NULL, "application/json",
	    "{\"data\":{\"txn\":\"TXN000000777\",\"status\":\"09\",\"ref\":\"Z9\"}}", NULL, sig, &txn, &a), 403);
	assert_int_equal(callback(fx, NULL, "application/json", body, NULL, NULL, &txn, &a), 403);
	sig[63] = '\0';
	assert_int_equal(callback(fx, NULL, "application/json", body, NULL, sig, &txn, &a), 403);
	/* the shared secret is no substitute for the signature in HMAC mode */
	assert_int_equal(callback(fx, "secret=hm%40c-key", "application/json", body, "hm@c-key", NULL,
	    &txn, &a), 403);
	/* a field added in the query of a signed body is not read */
	hmac_hex("hm@c-key", "{\"data\":{\"txn\":\"TXN000000778\"}}", sig);
	assert_int_equal(callback(fx, "data.status=00", "application/json", "{\"data\":{\"txn\":\"TXN000000778\"}}",
	    NULL, sig, &txn, &a), 0);
	assert_int_equal(a.result, PROVIDER_UNKNOWN);
	fx_close(fx);

	/* GET callbacks: the raw query string is what is signed */
	fx = fx_open("recharge_url = https://x.example/r\nstatus_field = s\n"
	    "success_values = 1\nfailure_values = 0\n"
	    "callback_secret = k\ncallback_hmac = yes\n");
	hmac_hex("k", "txn_id=TXN000000900&status=1&ref=AB%2012", sig);
	assert_int_equal(callback(fx, "txn_id=TXN000000900&status=1&ref=AB%2012", NULL, NULL, NULL, sig,
	    &txn, &a), 0);
	assert_int_equal(txn, 900);
	assert_int_equal(a.result, PROVIDER_SUCCESS);
	assert_string_equal(a.ref, "AB 12");
	assert_int_equal(callback(fx, "txn_id=TXN000000900&status=0&ref=AB%2012", NULL, NULL, NULL, sig,
	    &txn, &a), 403);
	fx_close(fx);
}

/* A provider without callback_secret accepts no callbacks at all. */
static void
test_callback_needs_secret(void **state)
{
	struct fixture *fx = fx_open("recharge_url = https://x.example/r\nstatus_field = s\n"
	    "success_values = ok\nfailure_values = no\n");
	struct provider_answer a;
	int64_t txn;

	assert_int_equal(callback(fx, "txn_id=TXN000000001&s=ok&secret=", NULL, NULL, "", NULL, &txn, &a), 403);
	assert_int_equal(callback(fx, "txn_id=TXN000000001&s=ok", NULL, NULL, NULL, NULL, &txn, &a), 403);
	fx_close(fx);
}

/* ---- config ------------------------------------------------------------------------------ */

static void
expect_cause(const char *agg, const char *want)
{
	char *cause = fx_cause(agg);

	if (cause == NULL)
		fail_msg("accepted, expected '%s'", want);
	if (strstr(cause, want) == NULL || strstr(cause, "[provider.agg]") == NULL ||
	    strstr(cause, "rechargd.conf:") == NULL)
		fail_msg("cause '%s' lacks '%s'", cause, want);
	free(cause);
}

#define MIN_OK "status_field = s\nsuccess_values = ok\nfailure_values = no\n"

static void
test_config_errors(void **state)
{
	char *cause;

	/* the two examples and the minimum are fine */
	assert_null(fx_cause(json_agg));
	assert_null(fx_cause(flat_agg));
	assert_null(fx_cause("recharge_url = https://x.example/r\n" MIN_OK));

	expect_cause("recharge_url = https://x.example/r?m=${mobile}&x=${nope}\n" MIN_OK,
	    "key 'recharge_url': unknown template variable ${nope}");
	expect_cause("recharge_url = https://x.example/r\nrecharge_method = POST\n"
	    "recharge_body = {\"a\":\"${Mobile}\"}\n" MIN_OK, "key 'recharge_body': unknown template variable ${Mobile}");
	expect_cause("recharge_url = https://x.example/r\nstatus_url = https://x.example/s?t=${txn}\n" MIN_OK,
	    "key 'status_url': unknown template variable ${txn}");
	expect_cause("recharge_url = https://x.example/r?m=${mobile\n" MIN_OK, "key 'recharge_url': '${' without");
	expect_cause(MIN_OK, "key 'recharge_url': required");
	expect_cause("recharge_url = https://x.example/r\nrecharge_method = PUT\n" MIN_OK, "key 'recharge_method'");
	expect_cause("recharge_url = ftp://x.example/r\n" MIN_OK, "key 'recharge_url': not an http");
	expect_cause("recharge_url = x.example/r\n" MIN_OK, "key 'recharge_url': not an http");
	expect_cause("recharge_url = https://x.example/r a\n" MIN_OK, "key 'recharge_url': not a valid URL");
	expect_cause("recharge_url = https://x.example/r\nbalance_url = https://x.example/b?m=${mobile}\n"
	    "balance_field = b\n" MIN_OK, "key 'balance_url': ${mobile} has no value here");
	expect_cause("recharge_url = https://x.example/r\nbalance_url = https://x.example/b\n" MIN_OK,
	    "key 'balance_field': required");
	expect_cause("recharge_url = https://x.example/r\nrecharge_method = POST\n" MIN_OK,
	    "key 'recharge_body': required");
	expect_cause("recharge_url = https://x.example/r\nrecharge_body = a=1\n" MIN_OK,
	    "key 'recharge_body': only with recharge_method = POST");
	expect_cause("recharge_url = https://x.example/r\nrecharge_method = POST\nrecharge_body = a=1\n"
	    "content_type = text/plain\n" MIN_OK, "key 'content_type'");
	expect_cause("recharge_url = https://x.example/r\nrecharge_method = POST\n"
	    "recharge_body = {\"m\":${mobile}}\n" MIN_OK, "key 'recharge_body': ${mobile} must stand inside quotes");
	expect_cause("recharge_url = https://x.example/r\nrecharge_method = POST\n"
	    "recharge_body = {\"m\":\"${mobile}\",}\n" MIN_OK, "key 'recharge_body': not JSON");
	/* "\${" inside a JSON string is still a variable (the renderer expands it): an
	 * unclosed one is refused, not rendered past the end (found by fuzz_provider) */
	expect_cause("recharge_url = https://x.example/r\nrecharge_method = POST\n"
	    "recharge_body = \"\\${mobile\"\n" MIN_OK, "key 'recharge_body': '${' without");
	expect_cause("recharge_url = https://x.example/r\nrecharge_method = POST\n"
	    "recharge_body = {\"m\":\"\\${nope}\"}\n" MIN_OK,
	    "key 'recharge_body': unknown template variable ${nope}");
	expect_cause("recharge_url = https://x.example/r?k=${secret}\n" MIN_OK, "key 'secret': required");
	expect_cause("recharge_url = https://x.example/r\nsuccess_values = ok\nfailure_values = no\n",
	    "key 'status_field': required");
	expect_cause("recharge_url = https://x.example/r\nstatus_field = s\nfailure_values = no\n",
	    "key 'success_values': required");
	expect_cause("recharge_url = https://x.example/r\nstatus_field = s\nsuccess_values = ok\n",
	    "key 'failure_values': required");
	expect_cause("recharge_url = https://x.example/r\nstatus_field = s\nsuccess_values = ok,1\n"
	    "failure_values = no\npending_values = 1\n", "key 'pending_values': '1' is also in success_values");
	expect_cause("recharge_url = https://x.example/r\nstatus_field = s\nsuccess_values = ok,,x\n"
	    "failure_values = no\n", "key 'success_values': an empty value");
	expect_cause("recharge_url = https://x.example/r\nstatus_field = a..b\n"
	    "success_values = ok\nfailure_values = no\n", "key 'status_field'");
	expect_cause("recharge_url = https://x.example/r\ndown_statuses = 200\n" MIN_OK, "key 'down_statuses'");
	expect_cause("recharge_url = https://x.example/r\ndown_statuses = 503,abc\n" MIN_OK, "key 'down_statuses'");
	expect_cause("recharge_url = https://x.example/r\ntimeout_ms = 0\n" MIN_OK, "key 'timeout_ms'");
	expect_cause("recharge_url = https://x.example/r\nmax_connections = 0\n" MIN_OK, "key 'max_connections'");
	expect_cause("recharge_url = https://x.example/r\ndedupes = maybe\n" MIN_OK, "key 'dedupes'");
	expect_cause("recharge_url = https://x.example/r\nopcodes = AIRTEL\n" MIN_OK, "key 'opcodes'");
	expect_cause("recharge_url = https://x.example/r\ncallback_hmac = yes\n" MIN_OK, "key 'callback_secret'");
	cause = fx_cause("recharge_url = https://x.example/r\nheaders = X: y\n" MIN_OK);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "key 'headers': unknown key for a provider of type http-json"));
	free(cause);
	/* the cause never quotes a secret */
	cause = fx_cause("recharge_url = https://x.example/r?k=${secret}&${bad}\nsecret = TOPSECRET\n" MIN_OK);
	assert_non_null(cause);
	assert_null(strstr(cause, "TOPSECRET"));
	free(cause);
}

/* Every http-json section in docs/providers.md is accepted as written. */
static void
test_docs_examples(void **state)
{
	FILE *f = fopen("docs/providers.md", "r");
	char line[1024], section[8192];
	int in_block = 0, in_section = 0, n = 0;

	if (f == NULL)
		skip();
	section[0] = '\0';
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "```", 3) == 0) {
			if (in_section) {
				char *cause = fx_cause(section);
				if (cause != NULL)
					fail_msg("docs/providers.md example %d: %s", n, cause);
				n++;
			}
			in_block = !in_block && strncmp(line, "```ini", 6) == 0;
			in_section = 0;
			section[0] = '\0';
			continue;
		}
		if (!in_block)
			continue;
		if (strncmp(line, "[provider.", 10) == 0 || strcmp(line, "type = http-json\n") == 0) {
			in_section = 1;
			continue;
		}
		if (in_section)
			strncat(section, line, sizeof section - strlen(section) - 1);
	}
	fclose(f);
	assert_int_equal(n, 2);
}

/* ---- whole recharges through the engine ---------------------------------------------------- */

static void
retailer_with(struct fixture *fx, const char *msisdn, int64_t paise, struct db_retailer *r)
{
	memset(r, 0, sizeof *r);
	strcpy(r->msisdn, msisdn);
	strcpy(r->name, "Shop");
	strcpy(r->plan, "starter");
	assert_int_equal(batch_join(fx->batch), 0);
	assert_int_equal(db_retailer_add(fx->db, r), 1);
	struct db_line credit[2] = { { DB_ACCOUNT_FUNDING, -paise }, { r->wallet_account, paise } };
	assert_int_equal(db_posting_add(fx->db, "credit", 0, "test", NULL, credit, 2), 1);
	assert_int_equal(batch_commit(fx->batch), 0);
	assert_int_equal(db_retailer_find(fx->db, msisdn, r), 1);
}

static int64_t
recharge(struct fixture *fx, const struct db_retailer *r, const char *target, const char *op, int64_t amount)
{
	struct engine_outcome out;
	struct engine_recharge req = { .retailer = r, .channel = "api", .target = target,
		.operator_code = op, .circle = "", .amount = amount, .request_id = "", .reply_to = "" };

	assert_int_equal(batch_join(fx->batch), 0);
	assert_int_equal(engine_recharge_accept(fx->engine, &req, &out), ENGINE_OK);
	return out.txn.id;
}

static void
test_engine_success(void **state)
{
	struct fixture *fx = fx_open(json_agg);
	struct db_retailer r;
	struct db_txn t;
	int64_t id;

	retailer_with(fx, "919800000001", 100000, &r);
	reply(fx, HTTP_RESULT_OK, 200, "{\"data\":{\"txn\":{\"status\":\"SUCCESS\",\"operator_ref\":\"BX777\"}}}");
	id = recharge(fx, &r, "9876543210", "AIRTEL", 29900);
	wait_for(fx, &fx->finals, 1);
	assert_string_equal(fx->last.state, "SUCCESS");
	assert_string_equal(fx->last.operator_ref, "BX777");
	assert_string_equal(fx->last.provider, "agg");
	assert_int_equal(fx->requests, 1);
	assert_int_equal(fx->fresh, 1);
	assert_non_null(strstr(fx->body, "\"amount\":299,"));
	assert_non_null(strstr(fx->body, "\"operator\":\"AT\""));
	spin(fx, 20);
	assert_int_equal(db_txn_get(fx->db, id, &t), 1);
	assert_string_equal(t.state, "SUCCESS");
	fx_close(fx);
}

/* 503 from the first provider: the next one on the route takes it. */
static void
test_engine_down_fails_over(void **state)
{
	struct fixture *fx = fx_open(json_agg);
	struct db_retailer r;

	retailer_with(fx, "919800000002", 100000, &r);
	assert_int_equal(batch_join(fx->batch), 0);
	assert_int_equal(db_route_set(fx->db, "JIO", "agg,ok"), 0);
	assert_int_equal(batch_commit(fx->batch), 0);
	reply(fx, HTTP_RESULT_OK, 503, "Service Unavailable");
	recharge(fx, &r, "9876543210", "JIO", 5000);
	wait_for(fx, &fx->finals, 1);
	assert_string_equal(fx->last.state, "SUCCESS");
	assert_string_equal(fx->last.provider, "ok");
	assert_int_equal(fx->requests, 1);
	/* alone on its route, not taken at all: 2001, refunded */
	reply(fx, HTTP_RESULT_CONNECT_FAILED, 0, NULL);
	recharge(fx, &r, "9876543211", "AIRTEL", 5000);
	wait_for(fx, &fx->finals, 2);
	assert_string_equal(fx->last.state, "FAILED");
	assert_int_equal(fx->last.error_code, ENGINE_E_DOWN);
	fx_close(fx);
}

/* A timeout after sending: stays PENDING, polled via status_url, settled by its answer. */
static void
test_engine_unknown_is_polled(void **state)
{
	struct fixture *fx = fx_open(json_agg);
	struct db_retailer r;
	struct db_txn t;
	int64_t id;

	retailer_with(fx, "919800000003", 100000, &r);
	reply(fx, HTTP_RESULT_TIMEOUT, 0, NULL);
	id = recharge(fx, &r, "9876543210", "AIRTEL", 1000);
	wait_for(fx, &fx->answers, 1);
	assert_int_equal(fx->answer.result, PROVIDER_UNKNOWN);
	spin(fx, 50);
	assert_int_equal(fx->finals, 0);
	assert_int_equal(db_txn_get(fx->db, id, &t), 1);
	assert_string_equal(t.state, "PENDING");
	assert_string_equal(t.provider, "agg");
	/* the poll (status_poll_s = 1) asks and gets the truth */
	reply(fx, HTTP_RESULT_OK, 200, "{\"data\":{\"txn\":{\"status\":\"SUCCESS\",\"operator_ref\":\"LATE1\"}}}");
	wait_for(fx, &fx->finals, 1);
	assert_int_equal(fx->requests, 2);
	assert_non_null(strstr(fx->url, "/v2/status?client_ref=TXN"));
	assert_int_equal(fx->fresh, 0);
	assert_string_equal(fx->last.state, "SUCCESS");
	assert_string_equal(fx->last.operator_ref, "LATE1");
	fx_close(fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_template_url_escaping),
		cmocka_unit_test(test_template_form_escaping),
		cmocka_unit_test(test_template_json_escaping),
		cmocka_unit_test(test_no_secret_in_logs),
		cmocka_unit_test(test_outcomes_json),
		cmocka_unit_test(test_outcomes_flat_numeric),
		cmocka_unit_test(test_json_paths),
		cmocka_unit_test(test_status_and_reversal),
		cmocka_unit_test(test_hooks_follow_urls),
		cmocka_unit_test(test_balance_exact),
		cmocka_unit_test(test_callback_secret),
		cmocka_unit_test(test_callback_hmac),
		cmocka_unit_test(test_callback_needs_secret),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_docs_examples),
		cmocka_unit_test(test_engine_success),
		cmocka_unit_test(test_engine_down_fails_over),
		cmocka_unit_test(test_engine_unknown_is_polled),
	};
	log_level = LOGL_ERROR;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
