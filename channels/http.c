/* channels/http.c: the HTTP side on the daemon's loop (evhttp): provider callbacks and
 * /healthz for now; the REST API of SPEC section 9 joins here. A callback that changes
 * state is answered 200 only after the batch holding the change commits, so a provider
 * that got 200 never needs to say it again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "channels/channels.h"

#define HTTP_CALLBACK_PREFIX "/api/v1/callback/"

struct http_channel {
	struct event_base *base;
	struct batch *batch;
	struct engine *engine;
	const struct config *cfg;
	struct smpp_session *session;
	struct evhttp *http;
};

/* A callback answer waiting for its commit; req is cleared if the client goes away. */
struct http_pending {
	struct evhttp_request *req;
	int status;
};

static void
http_reply(struct evhttp_request *req, int code, const char *reason, const char *type, const char *body)
{
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
	if (out != NULL)
		evbuffer_add(out, body, strlen(body));
	evhttp_send_reply(req, code, reason, out);
	if (out != NULL)
		evbuffer_free(out);
}

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

static void
http_pending_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct http_pending *p = arg;

	p->req = NULL;
}

static void
http_pending_done_cb(void *arg, int committed)
{
	struct http_pending *p = arg;

	if (p->req != NULL) {
		struct evhttp_connection *evcon = evhttp_request_get_connection(p->req);
		if (evcon != NULL)
			evhttp_connection_set_closecb(evcon, NULL, NULL);
		int code = committed ? p->status : 503;
		http_reply(p->req, code, http_reason(code), "text/plain", committed ? "OK\n" : "retry\n");
	}
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
	evhttp_connection_set_closecb(evhttp_request_get_connection(req), http_pending_closed_cb, p);
	batch_defer(h->batch, http_pending_done_cb, p);
}

/* GET /healthz: the SMPP bind and the database, for load balancers and monitoring. */
static void
http_healthz(struct http_channel *h, struct evhttp_request *req)
{
	int bound = h->session != NULL && smpp_session_is_bound(h->session);
	int dbok = db_schema_version(batch_db(h->batch)) > 0;
	char body[160];

	snprintf(body, sizeof body, "{\"status\":\"%s\",\"smpp\":\"%s\",\"database\":\"%s\"}\n",
	    bound && dbok ? "ok" : "degraded", bound ? "bound" : "unbound", dbok ? "ok" : "unavailable");
	http_reply(req, dbok ? 200 : 503, dbok ? "OK" : "Service Unavailable", "application/json", body);
}

static void
http_request_cb(struct evhttp_request *req, void *arg)
{
	struct http_channel *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;

	if (path == NULL) {
		http_reply(req, 400, http_reason(400), "text/plain", "bad request\n");
		return;
	}
	if (strcmp(path, "/healthz") == 0) {
		http_healthz(h, req);
		return;
	}
	if (strncmp(path, HTTP_CALLBACK_PREFIX, strlen(HTTP_CALLBACK_PREFIX)) == 0 &&
	    path[strlen(HTTP_CALLBACK_PREFIX)] != '\0') {
		http_callback(h, req, path + strlen(HTTP_CALLBACK_PREFIX), evhttp_uri_get_query(uri));
		return;
	}
	http_reply(req, 404, http_reason(404), "text/plain", "not found\n");
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

struct http_channel *
http_channel_new(struct event_base *base, struct batch *batch, struct engine *engine,
    const struct config *cfg, char **cause)
{
	struct http_channel *h = xcalloc(1, sizeof *h);
	char host[128];
	int port;

	h->base = base;
	h->batch = batch;
	h->engine = engine;
	h->cfg = cfg;
	if (http_split_listen(cfg->http_listen, host, sizeof host, &port) != 0) {
		if (asprintf(cause, "%s: key 'listen' in [http]: not HOST:PORT", cfg->file) < 0)
			*cause = NULL;
		free(h);
		return NULL;
	}
	h->http = evhttp_new(base);
	evhttp_set_max_body_size(h->http, cfg->max_body);
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_gencb(h->http, http_request_cb, h);
	if (evhttp_bind_socket_with_handle(h->http, host, (ev_uint16_t)port) == NULL) {
		if (asprintf(cause, "cannot listen on %s for HTTP", cfg->http_listen) < 0)
			*cause = NULL;
		evhttp_free(h->http);
		free(h);
		return NULL;
	}
	log_info("http: listening on %s", cfg->http_listen);
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
}

void
http_channel_free(struct http_channel *h)
{
	if (h == NULL)
		return;
	evhttp_free(h->http);
	free(h);
}
