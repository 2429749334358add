/* tools/provsim/sim.c: the simulator object. One evhttp server; each API request gets
 * its fate first (answer, 503, 500, hang, garbage), then its effect on the ledger, then
 * its answer: now, after the latency, or never. evhttp does not notice a client that
 * gives up while we hold its request, so hung requests are looked at every
 * PROVSIM_HUNG_CHECK_MS and their connection freed once the client has closed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>

#include "common/common.h"
#include "tools/provsim/provsim.h"

#define PROVSIM_EMFILE_PAUSE_MS 100

static void provsim_request_cb(struct evhttp_request *req, void *arg);

/* Wall clock for the ledger's times and the hung requests' ages. */
int64_t
provsim_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* The reason phrase evhttp puts on the status line. */
static const char *
provsim_reason_phrase(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

/* ---- answers ---------------------------------------------------------------------- */

/* Takes d off the list of answers waiting for their latency. */
static void
provsim_delayed_unlink(struct provsim *sim, struct provsim_delayed *d)
{
	if (d->prev != NULL)
		d->prev->next = d->next;
	else
		sim->delayed = d->next;
	if (d->next != NULL)
		d->next->prev = d->prev;
	sim->ndelayed--;
}

/* The latency is over: the answer goes. */
static void
provsim_delayed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct provsim_delayed *d = arg;

	provsim_delayed_unlink(d->sim, d);
	evhttp_send_reply(d->req, d->code, provsim_reason_phrase(d->code), d->body);
	evbuffer_free(d->body);
	event_free(d->ev);
	free(d);
}

/* Latency lives here: the answer is built now and held on a timer. */
void
provsim_reply(struct provsim *sim, struct evhttp_request *req, int code, struct evbuffer *body,
    int delay_ms)
{
	struct provsim_delayed *d;
	struct timeval tv;

	if (delay_ms > 0 && sim->ndelayed >= PROVSIM_MAX_DELAYED) {
		sim->st.latency_skipped++;
		delay_ms = 0;
	}
	if (delay_ms <= 0) {
		evhttp_send_reply(req, code, provsim_reason_phrase(code), body);
		evbuffer_free(body);
		return;
	}
	d = xcalloc(1, sizeof *d);
	d->sim = sim;
	d->req = req;
	d->code = code;
	d->body = body;
	d->ev = evtimer_new(sim->base, provsim_delayed_cb, d);
	d->next = sim->delayed;
	if (d->next != NULL)
		d->next->prev = d;
	sim->delayed = d;
	sim->ndelayed++;
	tv.tv_sec = delay_ms / 1000;
	tv.tv_usec = (delay_ms % 1000) * 1000;
	evtimer_add(d->ev, &tv);
}

/* The simulator's own endpoints: compact, sorted keys. */
void
provsim_reply_json(struct evhttp_request *req, int code, json_t *v)
{
	struct evbuffer *b = evbuffer_new();
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "application/json");
	if (s != NULL) {
		evbuffer_add(b, s, strlen(s));
		evbuffer_add(b, "\n", 1);
	}
	free(s);
	json_decref(v);
	evhttp_send_reply(req, code, provsim_reason_phrase(code), b);
	evbuffer_free(b);
}

/* evhttp bodies are not NUL-terminated: a terminated copy. */
int
provsim_body(struct evhttp_request *req, char **out, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = in != NULL ? evbuffer_get_length(in) : 0;

	*out = NULL;
	*len = 0;
	if (n == 0)
		return 0;
	*out = xcalloc(1, n + 1);
	evbuffer_copyout(in, *out, n);
	*len = n;
	return 1;
}

/* ---- hung requests ------------------------------------------------------------------- */

/* Holds req unanswered; 0, or -1 when PROVSIM_MAX_HUNG are held already. */
static int
provsim_hang(struct provsim *sim, struct evhttp_request *req)
{
	if (sim->nhung >= sim->opt.max_hung)
		return -1;
	sim->hung[sim->nhung].req = req;
	sim->hung[sim->nhung].since_ms = provsim_now_ms();
	sim->nhung++;
	sim->st.hung_total++;
	return 0;
}

/* A held client that closed its end is gone: free its connection (and our request). */
static void
provsim_hung_check_cb(evutil_socket_t fd_unused, short what, void *arg)
{
	struct provsim *sim = arg;
	uint32_t i = 0;

	while (i < sim->nhung) {
		struct evhttp_request *req = sim->hung[i].req;
		struct evhttp_connection *evcon = evhttp_request_get_connection(req);
		struct bufferevent *bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
		int fd = bev != NULL ? (int)bufferevent_getfd(bev) : -1;
		char c;
		ssize_t n = fd >= 0 ? recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) : 0;

		if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))) {
			i++;
			continue;
		}
		log_info("provsim: hung client gone after %lld ms",
		    (long long)(provsim_now_ms() - sim->hung[i].since_ms));
		sim->hung[i] = sim->hung[--sim->nhung];
		sim->st.hung_released++;
		if (evcon != NULL)
			evhttp_connection_free(evcon);
		else
			evhttp_request_free(req);
	}
}

/* ---- the API ------------------------------------------------------------------------- */

/* A txn_id we keep: 1 to PROVSIM_ID_MAX printable bytes, no spaces or quotes. */
static int
provsim_txn_id_ok(const char *id)
{
	size_t n = id != NULL ? strlen(id) : 0;

	if (n == 0 || n > PROVSIM_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f || id[i] == '"' ||
		    id[i] == '\\')
			return 0;
	return 1;
}

/* The credentials of the shape: key for json, uid and pwd for flat; unset: anyone. */
static int
provsim_auth_ok(const struct provsim *sim, const struct provsim_call *call)
{
	const struct provsim_settings *s = &sim->set;

	if (sim->opt.shape == PROVSIM_SHAPE_JSON)
		return s->key[0] == '\0' || (call->key != NULL && strcmp(call->key, s->key) == 0);
	if (s->uid[0] != '\0' && (call->uid == NULL || strcmp(call->uid, s->uid) != 0))
		return 0;
	return s->pwd[0] == '\0' || (call->pwd != NULL && strcmp(call->pwd, s->pwd) == 0);
}

/* What a proxy in front of a dead aggregator sends: HTML, not JSON. */
static struct evbuffer *
provsim_text_body(struct evhttp_request *req, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/html");
	evbuffer_add_printf(b, "<html><body><h1>%s</h1></body></html>\n", text);
	return b;
}

/* Answers per fate: the normal body, or the failure the fate stands for. */
static void
provsim_api_answer(struct provsim *sim, struct evhttp_request *req, enum provsim_fate fate,
    struct evbuffer *body, int delay_ms)
{
	switch (fate) {
	case PROVSIM_FATE_ANSWER:
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
		    "application/json");
		provsim_reply(sim, req, 200, body, delay_ms);
		return;
	case PROVSIM_FATE_DOWN:
		sim->st.answered_503++;
		provsim_reply(sim, req, 503, provsim_text_body(req, "503 Service Unavailable"), delay_ms);
		break;
	case PROVSIM_FATE_ERROR:
		sim->st.answered_500++;
		provsim_reply(sim, req, 500, provsim_text_body(req, "500 Internal Server Error"),
		    delay_ms);
		break;
	case PROVSIM_FATE_GARBAGE:
		sim->st.answered_garbage++;
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
		    "application/json");
		provsim_reply(sim, req, 200, provsim_shape_garbage(sim), delay_ms);
		break;
	case PROVSIM_FATE_HANG:
		/* room was checked before anything was taken */
		if (provsim_hang(sim, req) < 0) {
			sim->st.hung_refused++;
			sim->st.answered_503++;
			provsim_reply(sim, req, 503, provsim_text_body(req, "503 Service Unavailable"), 0);
		}
		break;
	}
	if (body != NULL)
		evbuffer_free(body);
}

/* For the request log. */
static const char *
provsim_fate_name(enum provsim_fate f)
{
	static const char *names[] = { "answer", "503", "500", "hang", "garbage" };

	return names[f];
}

/* A recharge: duplicates are counted and answered from the record; a new one is taken
 * when answered (or, with error_done, when failed after "taking" it). */
static void
provsim_api_recharge(struct provsim *sim, struct evhttp_request *req, struct provsim_call *call,
    enum provsim_fate fate, int delay_ms)
{
	struct provsim_txn *t = provsim_txn_find(sim, call->txn_id);
	struct evbuffer *body = NULL;
	int dup = t != NULL;

	if (t != NULL) {
		sim->st.duplicates++;
		t->requests++;
		log_warn("provsim: DUPLICATE recharge request for %s (%u requests)", t->id,
		    t->requests);
	} else if (fate != PROVSIM_FATE_DOWN) {
		if (fate == PROVSIM_FATE_HANG && sim->nhung >= sim->opt.max_hung) {
			sim->st.hung_refused++;
			fate = PROVSIM_FATE_DOWN;
		} else if (fate == PROVSIM_FATE_ANSWER || sim->set.error_done) {
			if ((t = provsim_txn_take(sim, call, fate)) == NULL)
				fate = PROVSIM_FATE_DOWN;
		}
	}
	if (fate == PROVSIM_FATE_ANSWER)
		body = provsim_shape_txn_answer(sim, provsim_txn_reported(sim, t), t, t->id, NULL);
	log_info("provsim: %s recharge %s -> %s%s%s%s", evhttp_request_get_command(req) ==
	    EVHTTP_REQ_POST ? "POST" : "GET", call->txn_id, provsim_fate_name(fate),
	    fate == PROVSIM_FATE_ANSWER ? " " : "",
	    fate == PROVSIM_FATE_ANSWER ? provsim_status_name(provsim_txn_reported(sim, t)) : "",
	    dup ? " (duplicate)" : t != NULL ? "" : " (not taken)");
	provsim_api_answer(sim, req, fate, body, delay_ms);
}

/* A request refused before anything is taken: at once, in the shape's words. */
static void
provsim_api_refuse(struct provsim *sim, struct evhttp_request *req, const char *path, int code,
    const char *why)
{
	log_info("provsim: %s -> %d %s", path, code, why);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "application/json");
	provsim_reply(sim, req, code, provsim_shape_error_answer(sim, why), 0);
}

/* An API request: refused early, or given its fate, its effect and its answer. */
static void
provsim_api(struct provsim *sim, struct evhttp_request *req, const char *path)
{
	struct provsim_call call;
	enum provsim_call_kind kind;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const char *cause = NULL;
	enum provsim_fate fate;
	struct provsim_txn *t;
	int delay_ms;

	sim->st.requests++;
	if (provsim_shape_route(sim->opt.shape, path, &kind) < 0) {
		provsim_api_refuse(sim, req, path, 404, "no such path");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, POST");
		provsim_api_refuse(sim, req, path, 405, "GET or POST");
		return;
	}
	if (provsim_shape_parse(req, &call, &cause) < 0) {
		sim->st.bad_requests++;
		provsim_api_refuse(sim, req, path, 400, cause);
		provsim_call_clear(&call);
		return;
	}
	call.kind = kind;
	switch (kind) {
	case PROVSIM_CALL_RECHARGE: sim->st.recharge_requests++; break;
	case PROVSIM_CALL_STATUS: sim->st.status_requests++; break;
	case PROVSIM_CALL_BALANCE: sim->st.balance_requests++; break;
	}
	if (!provsim_auth_ok(sim, &call)) {
		sim->st.auth_failed++;
		provsim_api_refuse(sim, req, path, 401, "authentication failed");
		provsim_call_clear(&call);
		return;
	}
	if (kind != PROVSIM_CALL_BALANCE && !provsim_txn_id_ok(call.txn_id)) {
		sim->st.bad_requests++;
		provsim_api_refuse(sim, req, path, 400, "txn_id missing or bad");
		provsim_call_clear(&call);
		return;
	}

	fate = provsim_txn_fate(sim);
	delay_ms = sim->set.latency_ms;
	if (sim->set.jitter_ms > 0)
		delay_ms += (int)random_below((uint32_t)sim->set.jitter_ms + 1);
	switch (kind) {
	case PROVSIM_CALL_RECHARGE:
		provsim_api_recharge(sim, req, &call, fate, delay_ms);
		break;
	case PROVSIM_CALL_STATUS:
		t = provsim_txn_find(sim, call.txn_id);
		if (fate == PROVSIM_FATE_HANG && sim->nhung >= sim->opt.max_hung) {
			sim->st.hung_refused++;
			fate = PROVSIM_FATE_DOWN;
		}
		if (fate == PROVSIM_FATE_ANSWER && t == NULL)
			sim->st.not_found++;
		log_info("provsim: status %s -> %s %s", call.txn_id, provsim_fate_name(fate),
		    provsim_status_name(t != NULL ? provsim_txn_reported(sim, t) : PROVSIM_ST_NOT_FOUND));
		provsim_api_answer(sim, req, fate, fate != PROVSIM_FATE_ANSWER ? NULL :
		    t != NULL ? provsim_shape_txn_answer(sim, provsim_txn_reported(sim, t), t, t->id, NULL) :
		    provsim_shape_txn_answer(sim, PROVSIM_ST_NOT_FOUND, NULL, call.txn_id, NULL),
		    delay_ms);
		break;
	case PROVSIM_CALL_BALANCE:
		if (fate == PROVSIM_FATE_HANG && sim->nhung >= sim->opt.max_hung) {
			sim->st.hung_refused++;
			fate = PROVSIM_FATE_DOWN;
		}
		log_info("provsim: balance -> %s", provsim_fate_name(fate));
		provsim_api_answer(sim, req, fate, fate == PROVSIM_FATE_ANSWER ?
		    provsim_shape_balance_answer(sim) : NULL, delay_ms);
		break;
	}
	provsim_call_clear(&call);
}

/* Every request: the simulator's own endpoints (/_...) or the API of the shape. */
static void
provsim_request_cb(struct evhttp_request *req, void *arg)
{
	struct provsim *sim = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;

	if (path == NULL || *path == '\0')
		path = "/";
	if (strncmp(path, "/_", 2) == 0) {
		sim->st.control_requests++;
		log_debug("provsim: %s %s", evhttp_request_get_command(req) == EVHTTP_REQ_POST ?
		    "POST" : "GET", path);
		if (strcmp(path, "/_control") == 0)
			provsim_control_handle(sim, req);
		else if (strcmp(path, "/_stats") == 0)
			provsim_stats_handle(sim, req);
		else if (strcmp(path, "/_txn") == 0)
			provsim_txn_handle(sim, req);
		else
			provsim_reply_json(req, 404, json_pack("{s:s}", "error", "no such path"));
		return;
	}
	provsim_api(sim, req, path);
}

/* ---- the listener ------------------------------------------------------------------- */

/* Out of file descriptors: stop accepting for a moment instead of spinning on accept. */
static void
provsim_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct provsim *sim = arg;
	struct timeval tv = { 0, PROVSIM_EMFILE_PAUSE_MS * 1000 };

	log_warn("provsim: accept: %s; pausing %d ms", strerror(errno), PROVSIM_EMFILE_PAUSE_MS);
	evconnlistener_disable(l);
	evtimer_add(sim->accept_ev, &tv);
}

/* The pause after EMFILE is over. */
static void
provsim_accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct provsim *sim = arg;

	evconnlistener_enable(evhttp_bound_socket_get_listener(sim->bound));
}

/* A simulator of thousands of clients needs a descriptor each. */
static void
provsim_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* "HOST:PORT" or "[V6]:PORT" -> host (into buf) and port. 0 or -1. */
static int
provsim_split_listen(const char *listen, char *host, size_t cap, int *port)
{
	const char *colon = strrchr(listen, ':');
	const char *h = listen;
	size_t hl;
	char *end;
	long p;

	if (colon == NULL)
		return -1;
	hl = (size_t)(colon - listen);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= cap)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || p < 0 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

/* Binds before anything else can fail late, so LISTENING means ready. */
struct provsim *
provsim_new(struct event_base *base, const struct provsim_options *opt, char **cause)
{
	struct provsim *sim = xcalloc(1, sizeof *sim);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char host[64], addr[64];
	struct timeval tv = { 0, PROVSIM_HUNG_CHECK_MS * 1000 };
	int port;

	sim->base = base;
	sim->opt = *opt;
	provsim_settings_defaults(&sim->set);
	sim->balance = 10000000;    /* Rs 100000.00 */
	if (provsim_split_listen(opt->listen, host, sizeof host, &port) < 0) {
		if (asprintf(cause, "bad --listen '%s' (want HOST:PORT)", opt->listen) < 0)
			*cause = NULL;
		free(sim);
		return NULL;
	}
	provsim_raise_nofile();
	sim->hung = xcalloc(opt->max_hung ? opt->max_hung : 1, sizeof *sim->hung);
	if (provsim_txn_init(sim) < 0 || provsim_callback_init(sim) < 0) {
		*cause = xstrdup("out of memory");
		provsim_free(sim);
		return NULL;
	}
	sim->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (sim->dns == NULL && (sim->dns = evdns_base_new(base, 0)) != NULL)
		evdns_base_load_hosts(sim->dns, NULL);
	sim->accept_ev = evtimer_new(base, provsim_accept_resume_cb, sim);
	sim->hung_ev = event_new(base, -1, EV_PERSIST, provsim_hung_check_cb, sim);
	event_add(sim->hung_ev, &tv);

	sim->http = evhttp_new(base);
	evhttp_set_max_body_size(sim->http, PROVSIM_MAX_BODY);
	evhttp_set_max_headers_size(sim->http, PROVSIM_MAX_HEADERS);
	evhttp_set_timeout(sim->http, PROVSIM_HTTP_TIMEOUT_S);
	evhttp_set_allowed_methods(sim->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(sim->http, provsim_request_cb, sim);
	if ((sim->bound = evhttp_bind_socket_with_handle(sim->http, host, (uint16_t)port)) == NULL) {
		if (asprintf(cause, "cannot listen on %s: %s", opt->listen, strerror(errno)) < 0)
			*cause = NULL;
		provsim_free(sim);
		return NULL;
	}
	evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(sim->bound),
	    provsim_accept_error_cb);
	memset(&ss, 0, sizeof ss);
	getsockname(evhttp_bound_socket_get_fd(sim->bound), (struct sockaddr *)&ss, &sl);
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof addr);
		snprintf(sim->listen_addr, sizeof sim->listen_addr, "[%s]:%d", addr,
		    ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof addr);
		snprintf(sim->listen_addr, sizeof sim->listen_addr, "%s:%d", addr,
		    ntohs(s4->sin_port));
	}
	return sim;
}

/* Ends the loop; main frees everything after it. */
void
provsim_stop(struct provsim *sim, int code)
{
	if (sim->stopping)
		return;
	sim->stopping = 1;
	sim->exit_code = code;
	event_base_loopexit(sim->base, NULL);
}

/* Callbacks first (their connections), then answers, then the server, then the ledger. */
void
provsim_free(struct provsim *sim)
{
	struct provsim_delayed *d, *next;

	if (sim == NULL)
		return;
	provsim_callback_free_all(sim);
	/* held requests belong to their connections: evhttp_free frees them */
	for (d = sim->delayed; d != NULL; d = next) {
		next = d->next;
		event_free(d->ev);
		evbuffer_free(d->body);
		free(d);
	}
	sim->delayed = NULL;
	sim->nhung = 0;
	if (sim->http != NULL)
		evhttp_free(sim->http);
	provsim_txn_free_all(sim);
	if (sim->accept_ev != NULL)
		event_free(sim->accept_ev);
	if (sim->hung_ev != NULL)
		event_free(sim->hung_ev);
	if (sim->restore_ev != NULL)
		event_free(sim->restore_ev);
	if (sim->dns != NULL)
		evdns_base_free(sim->dns, 0);
	free(sim->hung);
	free(sim);
}
