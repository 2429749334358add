/* tools/provsim/callback.c: callbacks towards rechargd (--callback-url). A bounded
 * queue feeds at most PROVSIM_CB_FLIGHTS evhttp client requests at once, each on its
 * own connection (a fresh connection per callback: nothing is resent behind our back
 * on a dead keep-alive one). A callback proves itself with the shared secret (the
 * `secret` field and the X-Callback-Secret header) or, with callback_hmac, with the
 * hex HMAC-SHA256 of the raw body (of the whole raw query string for GET) in
 * X-Signature, as rechargd's http-json provider checks it. No answer or a 5xx is
 * retried callback_retries times, PROVSIM_CB_RETRY_MS apart. A connection is freed
 * from the queue's event, never from inside its own callback. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/common.h"
#include "tools/provsim/provsim.h"

static void provsim_callback_pump_cb(evutil_socket_t fd, short what, void *arg);

/* The queues and the event that runs them; -1 when out of memory. */
int
provsim_callback_init(struct provsim *sim)
{
	sim->cbq.v = calloc(PROVSIM_CB_QUEUE, sizeof *sim->cbq.v);
	sim->cbr.v = calloc(PROVSIM_CB_QUEUE, sizeof *sim->cbr.v);
	sim->cb_ev = evtimer_new(sim->base, provsim_callback_pump_cb, sim);
	return sim->cbq.v != NULL && sim->cbr.v != NULL && sim->cb_ev != NULL ? 0 : -1;
}

/* Flights still out are abandoned: their connections (and requests) freed unanswered. */
void
provsim_callback_free_all(struct provsim *sim)
{
	struct provsim_cb_flight *f, *next;

	for (f = sim->flights; f != NULL; f = next) {
		next = f->next;
		if (f->evcon != NULL)
			evhttp_connection_free(f->evcon);
		free(f);
	}
	sim->flights = NULL;
	sim->nflights = 0;
	if (sim->cb_ev != NULL)
		event_free(sim->cb_ev);
	sim->cb_ev = NULL;
	free(sim->cbq.v);
	free(sim->cbr.v);
	memset(&sim->cbq, 0, sizeof sim->cbq);
	memset(&sim->cbr, 0, sizeof sim->cbr);
}

/* Only plain http: the evhttp client speaks nothing else. */
int
provsim_callback_url_check(const char *url, const char **cause)
{
	struct evhttp_uri *u;
	int ok;

	if (url[0] == '\0')
		return 0;
	if ((u = evhttp_uri_parse(url)) == NULL) {
		*cause = "callback_url is not a URL";
		return -1;
	}
	ok = evhttp_uri_get_scheme(u) != NULL && strcasecmp(evhttp_uri_get_scheme(u), "http") == 0 &&
	    evhttp_uri_get_host(u) != NULL && evhttp_uri_get_host(u)[0] != '\0' &&
	    evhttp_uri_get_port(u) != 0;
	evhttp_uri_free(u);
	if (!ok)
		*cause = "callback_url must be http://HOST[:PORT]/PATH";
	return ok ? 0 : -1;
}

/* Arms the queue's event: at once, or when the head falls due. */
static void
provsim_callback_kick(struct provsim *sim, int64_t in_ms)
{
	struct timeval tv;

	if (in_ms < 0)
		in_ms = 0;
	tv.tv_sec = (time_t)(in_ms / 1000);
	tv.tv_usec = (suseconds_t)((in_ms % 1000) * 1000);
	evtimer_add(sim->cb_ev, &tv);
}

/* Appends a job; past PROVSIM_CB_QUEUE it is dropped and counted, never grown. */
static int
provsim_callback_push(struct provsim *sim, struct provsim_cb_ring *r,
    const struct provsim_cb_job *job)
{
	if (r->len >= PROVSIM_CB_QUEUE) {
		sim->st.callbacks_dropped++;
		log_warn("provsim: callback queue full: callback for %s dropped",
		    sim->txns[job->idx].id);
		return -1;
	}
	r->v[(r->head + r->len) % PROVSIM_CB_QUEUE] = *job;
	r->len++;
	return 0;
}

/* Takes the oldest job (the ring is not empty). */
static struct provsim_cb_job
provsim_callback_pop(struct provsim_cb_ring *r)
{
	struct provsim_cb_job job = r->v[r->head];

	r->head = (r->head + 1) % PROVSIM_CB_QUEUE;
	r->len--;
	return job;
}

/* A state change to tell: queued now, sent by the pump in order. */
void
provsim_callback_queue(struct provsim *sim, uint32_t idx, enum provsim_status st)
{
	struct provsim_cb_job job;

	if (sim->set.callback_url[0] == '\0')
		return;
	memset(&job, 0, sizeof job);
	job.idx = idx;
	job.status = (uint8_t)st;
	job.due_ms = provsim_now_ms();
	if (provsim_callback_push(sim, &sim->cbq, &job) == 0)
		provsim_callback_kick(sim, 0);
}

/* The request is over (req NULL: no answer). Counted here; the connection is freed
 * by the pump, outside libevent's own call stack for it. */
static void
provsim_callback_done_cb(struct evhttp_request *req, void *arg)
{
	struct provsim_cb_flight *f = arg;
	struct provsim *sim = f->sim;
	struct provsim_txn *t = &sim->txns[f->job.idx];
	int code = req != NULL ? evhttp_request_get_response_code(req) : 0;

	t->last_cb_code = code;
	if (code >= 200 && code < 300) {
		sim->st.callbacks_sent++;
		t->cb_sent++;
		log_info("provsim: callback %s %s -> %d", t->id,
		    provsim_status_name((enum provsim_status)f->job.status), code);
	} else {
		sim->st.callbacks_failed++;
		t->cb_failed++;
		log_warn("provsim: callback %s %s -> %d%s", t->id,
		    provsim_status_name((enum provsim_status)f->job.status), code,
		    code == 0 ? " (no answer)" : "");
		if ((code == 0 || code >= 500) && f->job.attempt < sim->set.callback_retries) {
			struct provsim_cb_job job = f->job;

			job.attempt++;
			job.due_ms = provsim_now_ms() + PROVSIM_CB_RETRY_MS;
			if (provsim_callback_push(sim, &sim->cbr, &job) == 0)
				sim->st.callbacks_retried++;
		}
	}
	f->job.attempt = UINT8_MAX;  /* done: the pump frees it */
	provsim_callback_kick(sim, 0);
}

/* Appends name=value (URL-encoded) to a form. */
static void
provsim_form_add(struct evbuffer *b, const char *name, const char *value)
{
	char *enc = evhttp_encode_uri(value);

	evbuffer_add_printf(b, "%s%s=%s", evbuffer_get_length(b) > 0 ? "&" : "", name,
	    enc != NULL ? enc : "");
	free(enc);
}

/* The callback's fields, as a form or a JSON object. */
static char *
provsim_callback_body(struct provsim *sim, const struct provsim_txn *t,
    enum provsim_status st, int form, int with_secret)
{
	const char *status = provsim_shape_status_word(sim->opt.shape, st);
	const char *ref = st == PROVSIM_ST_SUCCESS || st == PROVSIM_ST_REVERSED ? t->ref : "";
	const char *msg = provsim_txn_message(t, st);
	char amt[MONEY_BUFSZ];
	char *out;

	money_format(t->amount, amt);
	if (form) {
		struct evbuffer *b = evbuffer_new();
		size_t n;

		provsim_form_add(b, "txn_id", t->id);
		provsim_form_add(b, "status", status);
		provsim_form_add(b, "ref", ref);
		provsim_form_add(b, "message", msg);
		provsim_form_add(b, "amount", amt);
		if (with_secret)
			provsim_form_add(b, "secret", sim->set.callback_secret);
		n = evbuffer_get_length(b);
		out = xcalloc(1, n + 1);
		evbuffer_remove(b, out, n);
		evbuffer_free(b);
		return out;
	}
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "txn_id", t->id, "status", status,
	    "ref", ref, "message", msg, "amount", amt);
	if (with_secret)
		json_object_set_new(o, "secret", json_string(sim->set.callback_secret));
	out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return out != NULL ? out : xstrdup("{}");
}

/* Sends one callback; 0, or -1 when it could not even be started (counted failed). */
static int
provsim_callback_send(struct provsim *sim, const struct provsim_cb_job *job)
{
	const struct provsim_settings *s = &sim->set;
	const struct provsim_txn *t = &sim->txns[job->idx];
	struct evhttp_uri *u = evhttp_uri_parse(s->callback_url);
	const char *host, *path, *query;
	struct provsim_cb_flight *f;
	struct evhttp_request *req;
	struct evkeyvalq *h;
	int form = s->callback_body < 0 ? sim->opt.shape == PROVSIM_SHAPE_FLAT : s->callback_body;
	int with_secret = s->callback_secret[0] != '\0' && !s->callback_hmac;
	char *body, *target;
	int port, r;

	if (u == NULL || (host = evhttp_uri_get_host(u)) == NULL) {
		evhttp_uri_free(u);
		return -1;
	}
	port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
	path = evhttp_uri_get_path(u) != NULL && evhttp_uri_get_path(u)[0] != '\0' ?
	    evhttp_uri_get_path(u) : "/";
	query = evhttp_uri_get_query(u);
	body = provsim_callback_body(sim, t, (enum provsim_status)job->status,
	    s->callback_get ? 1 : form, with_secret);
	if (s->callback_get)
		r = asprintf(&target, "%s?%s%s%s", path, query != NULL ? query : "",
		    query != NULL && query[0] != '\0' ? "&" : "", body);
	else
		r = asprintf(&target, "%s%s%s", path, query != NULL ? "?" : "",
		    query != NULL ? query : "");
	if (r < 0) {
		free(body);
		evhttp_uri_free(u);
		return -1;
	}

	f = xcalloc(1, sizeof *f);
	f->sim = sim;
	f->job = *job;
	f->evcon = evhttp_connection_base_new(sim->base, sim->dns, host, (unsigned short)port);
	if (f->evcon == NULL) {
		free(f);
		free(target);
		free(body);
		evhttp_uri_free(u);
		return -1;
	}
	evhttp_connection_set_timeout(f->evcon, PROVSIM_CB_TIMEOUT_S);
	evhttp_connection_set_retries(f->evcon, 0);
	req = evhttp_request_new(provsim_callback_done_cb, f);
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", host);
	evhttp_add_header(h, "Connection", "close");
	evhttp_add_header(h, "User-Agent", "provsim");
	if (with_secret)
		evhttp_add_header(h, "X-Callback-Secret", s->callback_secret);
	if (s->callback_hmac && s->callback_secret[0] != '\0') {
		uint8_t mac[EVP_MAX_MD_SIZE];
		unsigned int maclen = 0;
		char hex[2 * EVP_MAX_MD_SIZE + 1];
		/* the raw body; for GET the whole raw query string, the URL's own part too */
		const char *signed_part = s->callback_get ? strchr(target, '?') + 1 : body;

		HMAC(EVP_sha256(), s->callback_secret, (int)strlen(s->callback_secret),
		    (const uint8_t *)signed_part, strlen(signed_part), mac, &maclen);
		hex_encode(mac, maclen, hex);
		evhttp_add_header(h, "X-Signature", hex);
	}
	if (!s->callback_get) {
		evhttp_add_header(h, "Content-Type", form ? "application/x-www-form-urlencoded" :
		    "application/json");
		evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
	}
	f->next = sim->flights;
	if (f->next != NULL)
		f->next->prev = f;
	sim->flights = f;
	sim->nflights++;
	log_debug("provsim: callback %s %s %s %s", t->id,
	    provsim_status_name((enum provsim_status)job->status), s->callback_get ? "GET" : "POST",
	    s->callback_url);
	if (evhttp_make_request(f->evcon, req, s->callback_get ? EVHTTP_REQ_GET : EVHTTP_REQ_POST,
	    target) < 0) {
		/* the request is not queued on the connection: ours to free */
		evhttp_request_free(req);
		f->job.attempt = UINT8_MAX;
		sim->st.callbacks_failed++;
		provsim_callback_kick(sim, 0);
	}
	free(target);
	free(body);
	evhttp_uri_free(u);
	return 0;
}

/* Frees finished flights, then starts queued callbacks while there is room in
 * flight. */
static void
provsim_callback_pump_cb(evutil_socket_t fd, short what, void *arg)
{
	struct provsim *sim = arg;
	struct provsim_cb_flight *f, *next;
	int64_t now = provsim_now_ms();

	for (f = sim->flights; f != NULL; f = next) {
		next = f->next;
		if (f->job.attempt != UINT8_MAX)
			continue;
		if (f->prev != NULL)
			f->prev->next = f->next;
		else
			sim->flights = f->next;
		if (f->next != NULL)
			f->next->prev = f->prev;
		sim->nflights--;
		evhttp_connection_free(f->evcon);
		free(f);
	}
	/* retries that are due first, then new ones; a retry not yet due waits alone */
	while (sim->nflights < PROVSIM_CB_FLIGHTS) {
		struct provsim_cb_job job;

		if (sim->cbr.len > 0 && sim->cbr.v[sim->cbr.head].due_ms <= now)
			job = provsim_callback_pop(&sim->cbr);
		else if (sim->cbq.len > 0)
			job = provsim_callback_pop(&sim->cbq);
		else {
			if (sim->cbr.len > 0)
				provsim_callback_kick(sim, sim->cbr.v[sim->cbr.head].due_ms - now);
			return;
		}
		if (sim->set.callback_url[0] == '\0' || provsim_callback_send(sim, &job) < 0) {
			sim->st.callbacks_failed++;
			sim->txns[job.idx].cb_failed++;
		}
	}
}
