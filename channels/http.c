/* channels/http.c: the HTTP side on the daemon's loop (evhttp): provider callbacks,
 * /healthz and the REST API (api.c). A callback that changes state is answered 200 only
 * after the batch holding the change commits, so a provider that got 200 never needs to
 * say it again.
 *
 * evhttp (libevent 2.1) has no connection cap, and its read timeout is re-armed by every
 * byte, so a client trickling one byte a second holds a connection for ever. Each
 * connection is therefore ours too: we make its bufferevent (evhttp_set_bevcb), adopt
 * the evhttp connection right after the accept, count it, close it at once over
 * [http] max_connections, and give it a deadline: the whole of the next request must
 * arrive within idle_timeout_s of the connection waiting for it (after the accept, or
 * after the last answer), else the connection is closed. While a request is in our
 * hands (waiting for a commit or a settlement) no deadline runs; evhttp does not read
 * then either.
 *
 * With [http] tls_listen, tls_cert and tls_key set, a second evhttp serves the same
 * requests over TLS 1.2+ on tls_listen: its bufferevents are OpenSSL ones (accepting),
 * made by the same code, so they share the connection count, cap, deadlines and handler.
 * The certificate and key are loaded once at start-up (SIGHUP does not reload them). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "channels/channels.h"

#define HTTP_CALLBACK_PREFIX "/api/v1/callback/"
#define HTTP_CONN_BUCKETS 1024
#define HTTP_MAX_HEADERS 8192          /* request line and headers, bytes */

/* One accepted connection, from the accept to its close. */
struct http_conn {
	struct http_channel *h;
	struct bufferevent *bev;           /* until adopted: ours, with a reference held */
	struct evhttp_connection *evcon;   /* once adopted */
	struct event *deadline;            /* the next request must have arrived by then */
	int busy;                          /* a request of it is in our hands */
	int over_cap;                      /* accepted over max_connections: closed when adopted */
	int tls;                           /* on the TLS listener: no plain-text refusal */
	struct http_conn *next;            /* hash chain by evcon */
};

struct http_channel {
	struct event_base *base;
	struct batch *batch;
	struct engine *engine;
	const struct config *cfg;
	struct smpp_session *session;
	struct evhttp *http;
	struct evhttp *https;              /* NULL without tls_listen */
	SSL_CTX *ssl_ctx;
	struct api *api;

	int nconns;                        /* accepted and not yet closed */
	int64_t refused_logged_ms;         /* over-cap refusals are logged once a second */
	int refused;                       /* since then */
	struct http_conn **newborn;        /* accepted, not yet adopted */
	int nnewborn, capnewborn;
	struct event *adopt_ev;
	struct http_conn *conns[HTTP_CONN_BUCKETS];
};

/* A callback answer waiting for its commit. If the client went away meanwhile, evhttp
 * has detached the request from its connection, and sending frees it. */
struct http_pending {
	struct evhttp_request *req;
	int status;
};

/* A plain answer, sent now. */
static void
http_reply(struct evhttp_request *req, int code, const char *reason, const char *type, const char *body)
{
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
	if (out != NULL)
		evbuffer_add(out, body, strlen(body));
	metrics_http_request(code);     /* the API counts its own replies in api.c */
	evhttp_send_reply(req, code, reason, out);
	if (out != NULL)
		evbuffer_free(out);
}

/* The reason phrase of the statuses callbacks and /healthz send. */
static const char *
http_reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	default: return "Service Unavailable";
	}
}

/* The commit decided the callback's answer. */
static void
http_pending_done_cb(void *arg, int committed)
{
	struct http_pending *p = arg;
	int code = committed ? p->status : 503;

	http_reply(p->req, code, http_reason(code), "text/plain", committed ? "OK\n" : "retry\n");
	free(p);
}

/* /api/v1/callback/NAME: the provider proves itself, the engine does the rest. */
static void
http_callback(struct http_channel *h, struct evhttp_request *req, const char *name, const char *query)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	struct provider_callback cb;
	size_t len = evbuffer_get_length(body);
	int code;

	if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_POST) {
		http_reply(req, 405, http_reason(405), "text/plain", "GET or POST\n");
		return;
	}
	memset(&cb, 0, sizeof cb);
	cb.method = method == EVHTTP_REQ_GET ? "GET" : "POST";
	cb.query = query;
	cb.body = len > 0 ? evbuffer_pullup(body, -1) : NULL;
	cb.body_len = len;
	cb.content_type = evhttp_find_header(in, "Content-Type");
	cb.secret_header = evhttp_find_header(in, "X-Callback-Secret");
	cb.signature_header = evhttp_find_header(in, "X-Signature");
	if (batch_join(h->batch) != 0) {
		http_reply(req, 503, http_reason(503), "text/plain", "retry\n");
		return;
	}
	code = engine_provider_callback(h->engine, name, &cb);
	if (code != 200) {
		http_reply(req, code, http_reason(code), "text/plain", code == 503 ? "retry\n" : "refused\n");
		return;
	}
	struct http_pending *p = xcalloc(1, sizeof *p);
	p->req = req;
	p->status = 200;
	batch_defer(h->batch, http_pending_done_cb, p);
}

/* GET /healthz: the SMPP bind and the database, for load balancers and monitoring. */
static void
http_healthz(struct http_channel *h, struct evhttp_request *req)
{
	int bound = h->session != NULL && smpp_session_is_bound(h->session);
	int degraded = batch_degraded(h->batch);
	int dbok = !degraded && db_schema_version(batch_db(h->batch)) > 0;
	char body[160];

	/* degraded: the disk is full or read-only, new work is refused (503 takes us out of
	 * a load balancer until a probe write succeeds) */
	snprintf(body, sizeof body, "{\"status\":\"%s\",\"smpp\":\"%s\",\"database\":\"%s\"}\n",
	    bound && dbok ? "ok" : "degraded", bound ? "bound" : "unbound",
	    dbok ? "ok" : degraded ? "degraded" : "unavailable");
	http_reply(req, dbok ? 200 : 503, dbok ? "OK" : "Service Unavailable", "application/json", body);
}

/* ---- connections: counted, capped, and given a deadline ------------------------------ */

/* Where a connection is (or goes) in the table by evhttp connection. */
static struct http_conn **
http_conn_slot(struct http_channel *h, const struct evhttp_connection *evcon)
{
	struct http_conn **pp = &h->conns[((uintptr_t)evcon >> 4) % HTTP_CONN_BUCKETS];

	while (*pp != NULL && (*pp)->evcon != evcon)
		pp = &(*pp)->next;
	return pp;
}

/* The connection waits for a request: all of it must arrive within idle_timeout_s. */
static void
http_conn_arm(struct http_conn *c)
{
	struct timeval tv = { c->h->cfg->idle_timeout_s, 0 };

	c->busy = 0;
	evtimer_add(c->deadline, &tv);
}

/* Slow or idle: evhttp would wait as long as bytes trickle in, we do not. */
static void
http_conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;
	char *addr = NULL;
	ev_uint16_t port = 0;

	if (c->busy)
		return;
	evhttp_connection_get_peer(c->evcon, &addr, &port);
	log_debug("http: connection from %s:%u closed: no whole request within %d s",
	    addr != NULL ? addr : "?", port, c->h->cfg->idle_timeout_s);
	evhttp_connection_free(c->evcon);      /* calls http_conn_closed_cb: c is gone */
}

/* evhttp closes the connection (client gone, answered with close, deadline, shutdown). */
static void
http_conn_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct http_conn *c = arg, **pp = http_conn_slot(c->h, evcon);

	if (*pp == c)
		*pp = c->next;
	c->h->nconns--;
	event_free(c->deadline);
	free(c);
}

/* The answer is written: the connection waits for the next request (keep-alive). */
static void
http_conn_done_cb(struct evhttp_request *req, void *arg)
{
	http_conn_arm(arg);
}

/* A short answer written straight to a connection we will not serve. */
static void
http_conn_refuse(struct bufferevent *bev)
{
	static const char body[] =
	    "{\"status\":\"error\",\"error_code\":\"3002\",\"message\":\"Service busy, retry later\"}";
	evutil_socket_t fd = bufferevent_getfd(bev);
	char busy[256];
	int n = snprintf(busy, sizeof busy, "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n"
	    "Content-Length: %zu\r\n\r\n%s", sizeof body - 1, body);

	if (fd >= 0 && n > 0 && send(fd, busy, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_trace("http: refusal not sent");
}

/* A response evhttp writes in pieces (a chunked or large body) must not wait for the
 * client's delayed ACK under Nagle's algorithm. */
static void
http_conn_nodelay(struct bufferevent *bev)
{
	evutil_socket_t fd = bufferevent_getfd(bev);
	int one = 1;

	if (fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
		log_debug("http: TCP_NODELAY: %s", strerror(errno));
}

/* Right after the accepts of a loop turn: each new evhttp connection is known by the
 * bufferevent we made for it; it is counted, capped and given its deadline. */
static void
http_conn_adopt_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_channel *h = arg;
	int n = h->nnewborn;

	h->nnewborn = 0;
	for (int i = 0; i < n; i++) {
		struct http_conn *c = h->newborn[i];
		void *cbarg = NULL;

		/* evhttp freed it already if its callbacks are gone (our reference kept it) */
		bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
		c->evcon = cbarg;
		if (c->evcon == NULL) {
			bufferevent_decref(c->bev);
			h->nconns--;
			free(c);
			continue;
		}
		if (c->over_cap) {
			if (!c->tls)
				http_conn_refuse(c->bev);
			bufferevent_decref(c->bev);
			h->nconns--;
			evhttp_connection_free(c->evcon);
			free(c);
			continue;
		}
		http_conn_nodelay(c->bev);
		bufferevent_decref(c->bev);
		c->bev = NULL;
		struct http_conn **pp = http_conn_slot(h, c->evcon);
		c->next = *pp;
		*pp = c;
		c->deadline = evtimer_new(h->base, http_conn_deadline_cb, c);
		evhttp_connection_set_closecb(c->evcon, http_conn_closed_cb, c);
		http_conn_arm(c);
	}
}

/* A connection evhttp just accepted, with the bufferevent made for it: counted, and
 * adopted at the end of the loop turn. */
static struct bufferevent *
http_conn_new(struct http_channel *h, struct bufferevent *bev, int tls)
{
	struct http_conn *c;

	if (h->nnewborn == h->capnewborn) {
		int cap = h->capnewborn ? h->capnewborn * 2 : 64;
		struct http_conn **grown = realloc(h->newborn, (size_t)cap * sizeof *grown);
		if (grown == NULL)
			fatal("out of memory");
		h->newborn = grown;
		h->capnewborn = cap;
	}
	c = xcalloc(1, sizeof *c);
	c->h = h;
	c->bev = bev;
	c->tls = tls;
	bufferevent_incref(bev);
	c->over_cap = ++h->nconns > h->cfg->max_connections;
	if (c->over_cap && (h->refused++, clock_now_ms() - h->refused_logged_ms >= 1000)) {
		log_warn("http: at max_connections (%d): %d new connections refused", h->cfg->max_connections,
		    h->refused);
		h->refused_logged_ms = clock_now_ms();
		h->refused = 0;
	}
	h->newborn[h->nnewborn++] = c;
	event_active(h->adopt_ev, 0, 0);
	return bev;
}

/* evhttp asks for the bufferevent of a connection it just accepted. */
static struct bufferevent *
http_conn_bev_cb(struct event_base *base, void *arg)
{
	struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);

	if (bev == NULL)
		return NULL;                   /* evhttp tries itself; this one is not counted */
	return http_conn_new(arg, bev, 0);
}

/* The same on the TLS listener: the handshake runs under the connection's deadline. */
static struct bufferevent *
http_conn_tls_bev_cb(struct event_base *base, void *arg)
{
	struct http_channel *h = arg;
	SSL *ssl = SSL_new(h->ssl_ctx);
	struct bufferevent *bev;

	if (ssl == NULL)
		return NULL;                   /* evhttp makes a plain one: the handshake fails */
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return http_conn_new(h, bev, 1);
}

int
http_channel_connections(const struct http_channel *h)
{
	return h->nconns;
}

/* HEAD: libevent 2.1 sends an answer's body even to a HEAD (only its Content-Length
 * is left out), so a client pipelining its next request would read that body as the
 * start of the next answer. No body ever goes out here: /healthz answers its status
 * bare (for load balancers that check with HEAD), every other path 405. */
static void
http_head(struct http_channel *h, struct evhttp_request *req, const char *path)
{
	int code = 405;

	if (path != NULL && strcmp(path, "/healthz") == 0)
		code = db_schema_version(batch_db(h->batch)) > 0 ? 200 : 503;
	else
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, POST");
	metrics_http_request(code);
	evhttp_send_reply(req, code, http_reason(code), NULL);
}

/* Every request whose head and body evhttp has read: routed by path. */
static void
http_request_cb(struct evhttp_request *req, void *arg)
{
	struct http_channel *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct http_conn *c = evcon != NULL ? *http_conn_slot(h, evcon) : NULL;

	/* the request is ours until answered: no deadline meanwhile */
	if (c != NULL) {
		c->busy = 1;
		evtimer_del(c->deadline);
		evhttp_request_set_on_complete_cb(req, http_conn_done_cb, c);
	}
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		http_head(h, req, path);
		return;
	}
	if (path == NULL) {
		http_reply(req, 400, http_reason(400), "text/plain", "bad request\n");
		return;
	}
	if (strncmp(path, API_PREFIX, strlen(API_PREFIX)) == 0 && h->api != NULL &&
	    strncmp(path, HTTP_CALLBACK_PREFIX, strlen(HTTP_CALLBACK_PREFIX)) != 0) {
		api_handle(h->api, req, path);
		return;
	}
	if (strcmp(path, "/metrics") == 0 && metrics_serve(req) == 0)
		return;
	if (strcmp(path, "/healthz") == 0) {
		http_healthz(h, req);
		return;
	}
	if (strncmp(path, HTTP_CALLBACK_PREFIX, strlen(HTTP_CALLBACK_PREFIX)) == 0 &&
	    path[strlen(HTTP_CALLBACK_PREFIX)] != '\0') {
		http_callback(h, req, path + strlen(HTTP_CALLBACK_PREFIX), evhttp_uri_get_query(uri));
		return;
	}
	http_reply(req, 404, http_reason(404), "application/json", "{\"status\":\"error\",\"message\":\"Not found\"}\n");
}

/* "127.0.0.1:8080" -> host and port. */
static int
http_split_listen(const char *listen, char *host, size_t cap, int *port)
{
	const char *colon = strrchr(listen, ':');
	char *end;
	long p;

	if (colon == NULL || (size_t)(colon - listen) >= cap)
		return -1;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p < 1 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

/* The first OpenSSL error, for messages. */
static const char *
http_ssl_error(void)
{
	unsigned long e = ERR_get_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r != NULL ? r : "unknown error";
}

/* The server context of [http] tls_cert and tls_key, TLS 1.2 and later. */
static SSL_CTX *
http_tls_context(const struct config *cfg, char **cause)
{
	SSL_CTX *ctx;
	FILE *f;
	int r;

	*cause = NULL;
	if ((f = fopen(cfg->tls_cert, "r")) == NULL) {
		r = asprintf(cause, "%s: key 'tls_cert' in [http]: cannot read %s: %m", cfg->file, cfg->tls_cert);
		goto fail0;
	}
	fclose(f);
	if ((f = fopen(cfg->tls_key, "r")) == NULL) {
		r = asprintf(cause, "%s: key 'tls_key' in [http]: cannot read %s: %m", cfg->file, cfg->tls_key);
		goto fail0;
	}
	fclose(f);
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		r = asprintf(cause, "TLS: cannot create the context: %s", http_ssl_error());
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
		r = asprintf(cause, "%s: key 'tls_cert' in [http]: %s: not a PEM certificate: %s", cfg->file,
		    cfg->tls_cert, http_ssl_error());
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1) {
		r = asprintf(cause, "%s: key 'tls_key' in [http]: %s: not a PEM private key: %s", cfg->file,
		    cfg->tls_key, http_ssl_error());
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		r = asprintf(cause, "%s: key 'tls_key' in [http]: %s does not match the certificate of tls_cert: %s",
		    cfg->file, cfg->tls_key, http_ssl_error());
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
fail0:
	if (r < 0)
		*cause = NULL;
	return NULL;
}

int
http_tls_check(const struct config *cfg, char **cause)
{
	int set = (cfg->tls_listen[0] != '\0') + (cfg->tls_cert[0] != '\0') + (cfg->tls_key[0] != '\0');
	char host[128];
	int port;
	SSL_CTX *ctx;

	*cause = NULL;
	if (set == 0)
		return 0;
	if (set != 3) {
		const char *missing = cfg->tls_listen[0] == '\0' ? "tls_listen" :
		    cfg->tls_cert[0] == '\0' ? "tls_cert" : "tls_key";
		if (asprintf(cause, "%s: key '%s' in [http]: must be set with the others of tls_listen, "
		    "tls_cert, tls_key (all three or none)", cfg->file, missing) < 0)
			*cause = NULL;
		return -1;
	}
	if (http_split_listen(cfg->tls_listen, host, sizeof host, &port) != 0) {
		if (asprintf(cause, "%s: key 'tls_listen' in [http]: not HOST:PORT", cfg->file) < 0)
			*cause = NULL;
		return -1;
	}
	if ((ctx = http_tls_context(cfg, cause)) == NULL)
		return -1;
	SSL_CTX_free(ctx);
	return 0;
}

/* Settings shared by both listeners. */
static struct evhttp *
http_evhttp_new(struct http_channel *h, struct bufferevent *(*bevcb)(struct event_base *, void *))
{
	struct evhttp *http = evhttp_new(h->base);

	if (http == NULL)
		fatal("out of memory");
	evhttp_set_max_body_size(http, h->cfg->max_body);
	evhttp_set_max_headers_size(http, HTTP_MAX_HEADERS);
	evhttp_set_timeout(http, h->cfg->idle_timeout_s);
	/* every method reaches us, so a wrong one is 405 (evhttp itself would say 501) */
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(http, http_request_cb, h);
	evhttp_set_bevcb(http, bevcb, h);
	return http;
}

/* The channel and its plain evhttp, listening nowhere yet. */
static struct http_channel *
http_channel_alloc(struct event_base *base, struct batch *batch, struct engine *engine,
    const struct config *cfg)
{
	struct http_channel *h = xcalloc(1, sizeof *h);

	h->base = base;
	h->batch = batch;
	h->engine = engine;
	h->cfg = cfg;
	h->http = http_evhttp_new(h, http_conn_bev_cb);
	h->adopt_ev = event_new(base, -1, 0, http_conn_adopt_cb, h);
	event_priority_set(h->adopt_ev, 0);
	return h;
}

struct http_channel *
http_channel_new(struct event_base *base, struct batch *batch, struct engine *engine,
    const struct config *cfg, char **cause)
{
	struct http_channel *h;
	char host[128];
	int port;

	if (http_split_listen(cfg->http_listen, host, sizeof host, &port) != 0) {
		if (asprintf(cause, "%s: key 'listen' in [http]: not HOST:PORT", cfg->file) < 0)
			*cause = NULL;
		return NULL;
	}
	h = http_channel_alloc(base, batch, engine, cfg);
	if (evhttp_bind_socket_with_handle(h->http, host, (ev_uint16_t)port) == NULL) {
		if (asprintf(cause, "cannot listen on %s for HTTP", cfg->http_listen) < 0)
			*cause = NULL;
		evhttp_free(h->http);
		event_free(h->adopt_ev);
		free(h);
		return NULL;
	}
	log_info("http: listening on %s", cfg->http_listen);
	if (cfg->tls_listen[0] != '\0') {
		if (http_tls_check(cfg, cause) != 0 || (h->ssl_ctx = http_tls_context(cfg, cause)) == NULL)
			goto fail;
		if (http_split_listen(cfg->tls_listen, host, sizeof host, &port) != 0)
			goto fail;
		h->https = http_evhttp_new(h, http_conn_tls_bev_cb);
		if (evhttp_bind_socket_with_handle(h->https, host, (ev_uint16_t)port) == NULL) {
			if (asprintf(cause, "cannot listen on %s for HTTPS", cfg->tls_listen) < 0)
				*cause = NULL;
			goto fail;
		}
		log_info("http: listening on %s (TLS)", cfg->tls_listen);
	}
	return h;
fail:
	http_channel_free(h);
	return NULL;
}

/* Test seam (the HTTP fuzzer): the plain listener on 127.0.0.1 at a port the kernel
 * picks, whatever [http] listen says; *port tells which. NULL when it cannot listen. */
struct http_channel *
http_channel_new_for_test(struct event_base *base, struct batch *batch, struct engine *engine,
    const struct config *cfg, int *port)
{
	struct http_channel *h = http_channel_alloc(base, batch, engine, cfg);
	struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(h->http, "127.0.0.1", 0);
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;

	if (bound == NULL || getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sin,
	    &len) != 0) {
		http_channel_free(h);
		return NULL;
	}
	*port = ntohs(sin.sin_port);
	return h;
}

void
http_channel_set_session(struct http_channel *h, struct smpp_session *s)
{
	h->session = s;
}

void
http_channel_set_engine(struct http_channel *h, struct engine *e, const struct config *cfg)
{
	h->engine = e;
	h->cfg = cfg;
	evhttp_set_timeout(h->http, cfg->idle_timeout_s);
	evhttp_set_max_body_size(h->http, cfg->max_body);
	if (h->https != NULL) {
		evhttp_set_timeout(h->https, cfg->idle_timeout_s);
		evhttp_set_max_body_size(h->https, cfg->max_body);
	}
	if (h->api != NULL)
		api_set_engine(h->api, e, cfg);
}

void
http_channel_set_api(struct http_channel *h, struct api *a)
{
	h->api = a;
}

void
http_channel_free(struct http_channel *h)
{
	if (h == NULL)
		return;
	/* closes every connection (http_conn_closed_cb frees ours) */
	evhttp_free(h->http);
	if (h->https != NULL)
		evhttp_free(h->https);
	for (int i = 0; i < h->nnewborn; i++) {
		bufferevent_decref(h->newborn[i]->bev);
		free(h->newborn[i]);
	}
	free(h->newborn);
	event_free(h->adopt_ev);
	SSL_CTX_free(h->ssl_ctx);
	free(h);
}
