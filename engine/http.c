/* engine/http.c: an HTTP client on the daemon's event_base, for provider calls.
 *
 * libcurl's multi interface driven by libevent as in curl's multi-event example: curl
 * tells us which sockets to watch (socket callback) and when to wake it (timer
 * callback); we only arm events there and call curl_multi_socket_action from the
 * events themselves, then drain curl_multi_info_read. Nothing here blocks.
 *
 * Connections are capped in total and per pool (one pool per provider); requests over a
 * cap wait in the pool's queue, never inside curl, so a request that never got a
 * connection is known to be "not taken". A fresh request (recharge calls) gets its own
 * connection, closed after it: libcurl 7.88 silently resends a request whose reused
 * keep-alive connection died before the first response byte, which must never happen
 * to a recharge.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "engine/internal.h"

#define HTTP_URL_MAX 8192
#define HTTP_HEADERS_MAX 16

enum http_req_state { HTTP_REQ_QUEUED, HTTP_REQ_RUNNING, HTTP_REQ_DONE };

struct http_pool;

/* One request, from the call to its callback. Owns copies of everything it was given. */
struct http_req {
	struct http_client *client;
	struct http_pool *pool;
	enum http_req_state state;
	enum http_method method;
	char *url;
	char *headers[HTTP_HEADERS_MAX + 1];
	char *body;
	size_t body_len;
	int timeout_ms, fresh;
	http_done_cb done;
	void *arg;
	CURL *easy;
	struct curl_slist *slist;
	char *resp;                   /* the body so far, NUL-terminated; grows to HTTP_BODY_MAX */
	size_t resp_len, resp_cap;
	int too_long;
	char errbuf[CURL_ERROR_SIZE];
	struct http_response out;     /* the answer, once known */
	char why[160];
	int64_t started_ms;
	struct event *ev;             /* queue deadline, or the delivery of a known answer */
	struct http_req *prev, *next; /* all requests of the client */
	struct http_req *qnext;       /* the pool's queue */
};

/* Connections of one provider: at most max at once; the rest wait in order. */
struct http_pool {
	char name[64];
	int max, active;
	struct http_req *qhead, *qtail;
	struct http_pool *next;
};

/* What curl asked us to watch on one socket. */
struct http_sock {
	struct event *ev;
};

struct http_client {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;          /* curl's timeout */
	int max_total, active, queued;
	struct http_pool *pools;
	struct http_req *reqs;
	http_transport_cb transport;  /* test seam */
	void *transport_arg;
};

static void http_client_pump(struct http_client *c);

/* ---- curl's callbacks: they only arm events ----------------------------------------- */

/* Drains finished transfers; called after every curl_multi_socket_action. */
static void http_client_drain(struct http_client *c);

/* A socket curl watches is ready: let curl act on it, then collect what finished. */
static void
http_client_socket_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *c = arg;
	int action = ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	int running;

	curl_multi_socket_action(c->multi, fd, action, &running);
	http_client_drain(c);
}

/* curl's timeout came (scheduled by http_client_timer_cb, never acted on there). */
static void
http_client_timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *c = arg;
	int running;

	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_client_drain(c);
}

/* curl says what to watch on s; we (re)arm one persistent event for it. */
static int
http_client_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http_client *c = userp;
	struct http_sock *hs = socketp;
	short kind;

	if (what == CURL_POLL_REMOVE) {
		if (hs != NULL) {
			event_free(hs->ev);
			free(hs);
		}
		return 0;
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (hs == NULL) {
		hs = xcalloc(1, sizeof *hs);
		hs->ev = event_new(c->base, s, kind, http_client_socket_event_cb, c);
		if (hs->ev == NULL) {
			free(hs);
			return -1;
		}
		curl_multi_assign(c->multi, s, hs);
	} else {
		event_del(hs->ev);
		event_assign(hs->ev, c->base, s, kind, http_client_socket_event_cb, c);
	}
	event_add(hs->ev, NULL);
	return 0;
}

/* curl wants to be woken in timeout_ms (-1: never). Never acts from here. */
static int
http_client_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_client *c = userp;
	struct timeval tv;

	if (timeout_ms < 0) {
		evtimer_del(c->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(c->timer, &tv);
	return 0;
}

/* Room for len more bytes of body: grown by doubling, so thousands of requests in
 * flight hold only what they received. 0, or -1 past HTTP_BODY_MAX. */
static int
http_req_reserve(struct http_req *r, size_t len)
{
	size_t cap = r->resp_cap > 0 ? r->resp_cap : 1024;
	char *p;

	if (len > HTTP_BODY_MAX - r->resp_len)
		return -1;
	while (cap < r->resp_len + len + 1)
		cap *= 2;
	if (cap > HTTP_BODY_MAX + 1)
		cap = HTTP_BODY_MAX + 1;
	if (cap != r->resp_cap) {
		if ((p = realloc(r->resp, cap)) == NULL)
			fatal("out of memory");
		r->resp = p;
		r->resp_cap = cap;
	}
	return 0;
}

/* Keeps the body up to HTTP_BODY_MAX; more ends the transfer as an error. */
static size_t
http_req_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_req *r = arg;
	size_t len = size * n;

	if (http_req_reserve(r, len) != 0) {
		r->too_long = 1;
		return 0;
	}
	memcpy(r->resp + r->resp_len, data, len);
	r->resp_len += len;
	r->resp[r->resp_len] = '\0';
	return len;
}

/* ---- requests ----------------------------------------------------------------------- */

/* The pool of name, made on first use; its cap follows the latest caller. */
static struct http_pool *
http_client_pool(struct http_client *c, const char *name, int max)
{
	struct http_pool *p;

	for (p = c->pools; p != NULL; p = p->next)
		if (strcmp(p->name, name) == 0)
			break;
	if (p == NULL) {
		p = xcalloc(1, sizeof *p);
		strlcpy_safe(p->name, name, sizeof p->name);
		p->next = c->pools;
		c->pools = p;
	}
	p->max = max > 0 ? max : 1;   /* the latest caller's cap (a reload may change it) */
	return p;
}

/* Frees r and whatever curl still holds of it (its handle leaves the multi first). */
static void
http_req_free(struct http_req *r)
{
	if (r->easy != NULL) {
		curl_multi_remove_handle(r->client->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->slist);
	if (r->ev != NULL)
		event_free(r->ev);
	free(r->url);
	for (int i = 0; r->headers[i] != NULL; i++)
		free(r->headers[i]);
	free(r->body);
	free(r->resp);
	free(r);
}

/* Takes r off the client's list of requests. */
static void
http_req_unlink(struct http_req *r)
{
	struct http_client *c = r->client;

	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		c->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
}

/* Takes r out of its pool's queue (queue timeout: it may sit anywhere in it). */
static void
http_pool_dequeue(struct http_pool *p, struct http_req *r)
{
	struct http_req **pp, *prev = NULL;

	for (pp = &p->qhead; *pp != NULL; prev = *pp, pp = &(*pp)->qnext) {
		if (*pp == r) {
			*pp = r->qnext;
			if (p->qtail == r)
				p->qtail = prev;
			r->qnext = NULL;
			return;
		}
	}
}

/* Hands the answer to its owner, frees the request, and lets the next one go. */
static void
http_req_finish(struct http_req *r)
{
	struct http_client *c = r->client;

	if (r->state == HTTP_REQ_RUNNING) {
		r->pool->active--;
		c->active--;
	} else if (r->state == HTTP_REQ_QUEUED) {
		http_pool_dequeue(r->pool, r);
		c->queued--;
	}
	r->state = HTTP_REQ_DONE;
	http_req_unlink(r);
	r->out.elapsed_ms = clock_mono_ms() - r->started_ms;
	metrics_provider_latency(r->out.elapsed_ms);
	if (r->out.body == NULL) {
		if (r->resp != NULL && r->resp_len > 0) {
			r->resp[r->resp_len] = '\0';
			r->out.body = r->resp;
			r->out.body_len = r->resp_len;
		} else {
			r->out.body = "";
			r->out.body_len = 0;
		}
	}
	if (r->out.error == NULL)
		r->out.error = r->why;
	r->done(r->arg, &r->out);
	http_req_free(r);
	http_client_pump(c);
}

/* The zero timer of http_req_deliver_later. */
static void
http_req_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	http_req_finish(arg);
}

/* A request answered without the network (refused, or the test transport): delivered
 * from the loop, like every other answer. */
static void
http_req_deliver_later(struct http_req *r)
{
	struct timeval now = { 0, 0 };

	if (r->ev != NULL)
		event_free(r->ev);
	r->ev = evtimer_new(r->client->base, http_req_deliver_cb, r);
	evtimer_add(r->ev, &now);
}

/* A request that never leaves: "not taken", told from the loop. */
static void
http_req_refuse(struct http_req *r, const char *why)
{
	r->out.result = HTTP_RESULT_CONNECT_FAILED;
	strlcpy_safe(r->why, why, sizeof r->why);
	http_req_deliver_later(r);
}

/* Waited in the queue for as long as the whole exchange may take: nothing was sent. */
static void
http_req_queue_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_req *r = arg;

	r->out.result = HTTP_RESULT_CONNECT_FAILED;
	snprintf(r->why, sizeof r->why, "no free connection within %d ms (pool %s at %d)",
	    r->timeout_ms, r->pool->name, r->pool->max);
	http_req_finish(r);
}

/* What a finished transfer means to the caller. Only an error that is certain to have
 * sent no byte of the request is HTTP_RESULT_CONNECT_FAILED: request_size counts what curl
 * wrote, over every attempt, so a resend after a dead reused connection still shows. */
static enum http_result
http_classify(CURLcode rc, long request_size)
{
	if (rc == CURLE_OK)
		return HTTP_RESULT_OK;
	if (request_size == 0) {
		switch (rc) {
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
		case CURLE_COULDNT_RESOLVE_PROXY:
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_CONNECT:
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CIPHER:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		case CURLE_SSL_INVALIDCERTSTATUS:
			return HTTP_RESULT_CONNECT_FAILED;
		default:
			break;
		}
	}
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return HTTP_RESULT_TIMEOUT;
	return HTTP_RESULT_ERROR;
}

/* Every finished transfer: classified, its handle released, its owner told. */
static void
http_client_drain(struct http_client *c)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURL *easy = msg->easy_handle;
		CURLcode rc = msg->data.result;
		struct http_req *r = NULL;
		long status = 0, request_size = 0;

		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &request_size);
		r->out.result = http_classify(rc, request_size);
		r->out.status = (int)status;
		if (r->too_long) {
			r->out.result = HTTP_RESULT_ERROR;
			snprintf(r->why, sizeof r->why, "response body over %d bytes", HTTP_BODY_MAX);
		} else if (rc != CURLE_OK) {
			strlcpy_safe(r->why, r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc), sizeof r->why);
		}
		if (r->out.result != HTTP_RESULT_OK)
			r->resp_len = 0;
		curl_multi_remove_handle(c->multi, easy);
		curl_easy_cleanup(easy);
		r->easy = NULL;
		http_req_finish(r);
	}
}

/* Sets up the curl handle of r; 0 or -1 (then r->why says why). */
static int
http_req_easy(struct http_req *r)
{
	CURL *e = curl_easy_init();
	int ok = 1;

	if (e == NULL) {
		strlcpy_safe(r->why, "curl_easy_init failed", sizeof r->why);
		return -1;
	}
	r->easy = e;
	r->slist = curl_slist_append(NULL, "Expect:");   /* no 100-continue round trip */
	for (int i = 0; r->headers[i] != NULL && r->slist != NULL; i++)
		r->slist = curl_slist_append(r->slist, r->headers[i]);
	if (r->slist == NULL) {
		strlcpy_safe(r->why, "out of memory", sizeof r->why);
		return -1;
	}
#define SET(opt, val) do { if (curl_easy_setopt(e, opt, val) != CURLE_OK) ok = 0; } while (0)
	SET(CURLOPT_URL, r->url);
	SET(CURLOPT_PRIVATE, (char *)r);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, r->errbuf);
	SET(CURLOPT_WRITEFUNCTION, http_req_write_cb);
	SET(CURLOPT_WRITEDATA, r);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTP_BODY_MAX);
	SET(CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)r->timeout_ms);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);                 /* a redirect could repeat a POST */
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_USERAGENT, "rechargd");
	SET(CURLOPT_HTTPHEADER, r->slist);
	if (r->method == HTTP_POST) {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		SET(CURLOPT_POSTFIELDS, r->body);
	} else
		SET(CURLOPT_HTTPGET, 1L);
	if (r->fresh) {
		SET(CURLOPT_FRESH_CONNECT, 1L);
		SET(CURLOPT_FORBID_REUSE, 1L);
	}
#undef SET
	if (!ok) {
		strlcpy_safe(r->why, "curl refused an option", sizeof r->why);
		return -1;
	}
	return 0;
}

/* r has its connection slot: off to curl (or to the test transport). */
static void
http_req_start(struct http_req *r)
{
	struct http_client *c = r->client;

	if (r->ev != NULL) {
		event_free(r->ev);
		r->ev = NULL;
	}
	r->state = HTTP_REQ_RUNNING;
	r->pool->active++;
	c->active++;
	if (c->transport != NULL) {
		struct http_request view = {
			.method = r->method, .url = r->url, .headers = (const char *const *)r->headers,
			.body = r->body, .body_len = r->body_len, .timeout_ms = r->timeout_ms,
			.fresh = r->fresh, .pool = r->pool->name, .pool_max = r->pool->max,
		};
		struct http_response out;

		memset(&out, 0, sizeof out);
		c->transport(c->transport_arg, &view, &out);
		r->out.result = out.result;
		r->out.status = out.status;
		if (out.error != NULL)
			strlcpy_safe(r->why, out.error, sizeof r->why);
		if (out.body != NULL && out.result == HTTP_RESULT_OK) {
			if (out.body_len > HTTP_BODY_MAX) {
				r->out.result = HTTP_RESULT_ERROR;
				snprintf(r->why, sizeof r->why, "response body over %d bytes", HTTP_BODY_MAX);
			} else if (out.body_len > 0) {
				(void)http_req_reserve(r, out.body_len);
				memcpy(r->resp, out.body, out.body_len);
				r->resp_len = out.body_len;
				r->resp[r->resp_len] = '\0';
			}
		}
		http_req_deliver_later(r);
		return;
	}
	if (http_req_easy(r) != 0 || curl_multi_add_handle(c->multi, r->easy) != CURLM_OK) {
		/* nothing left: the transfer never began */
		if (r->easy != NULL) {
			curl_easy_cleanup(r->easy);
			r->easy = NULL;
		}
		if (r->why[0] == '\0')
			strlcpy_safe(r->why, "curl_multi_add_handle failed", sizeof r->why);
		r->out.result = HTTP_RESULT_CONNECT_FAILED;
		http_req_deliver_later(r);
	}
}

/* Starts queued requests while their pool and the total have room, pools in turn. */
static void
http_client_pump(struct http_client *c)
{
	int started = 1;

	while (started && c->queued > 0 && c->active < c->max_total) {
		started = 0;
		for (struct http_pool *p = c->pools; p != NULL && c->active < c->max_total; p = p->next) {
			struct http_req *r = p->qhead;
			if (r == NULL || p->active >= p->max)
				continue;
			p->qhead = r->qnext;
			if (p->qhead == NULL)
				p->qtail = NULL;
			r->qnext = NULL;
			c->queued--;
			http_req_start(r);
			started = 1;
		}
	}
}

/* Copies req and starts it now, or queues it behind its pool or the total cap. */
void
http_client_request(struct http_client *c, const struct http_request *req, http_done_cb done, void *arg)
{
	struct http_req *r = xcalloc(1, sizeof *r);
	int nh = 0;

	r->client = c;
	r->method = req->method;
	r->url = xstrdup(req->url != NULL ? req->url : "");
	for (; req->headers != NULL && req->headers[nh] != NULL && nh < HTTP_HEADERS_MAX; nh++)
		r->headers[nh] = xstrdup(req->headers[nh]);
	if (req->method == HTTP_POST) {
		r->body = malloc(req->body_len + 1);
		if (r->body == NULL)
			fatal("out of memory");
		if (req->body_len > 0)
			memcpy(r->body, req->body, req->body_len);
		r->body[req->body_len] = '\0';
		r->body_len = req->body_len;
	}
	r->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : 30000;
	r->fresh = req->fresh;
	r->done = done;
	r->arg = arg;
	r->started_ms = clock_mono_ms();
	r->pool = http_client_pool(c, req->pool != NULL ? req->pool : "", req->pool_max);
	r->next = c->reqs;
	if (r->next != NULL)
		r->next->prev = r;
	c->reqs = r;

	if (strlen(r->url) > HTTP_URL_MAX || (strncasecmp(r->url, "http://", 7) != 0 &&
	    strncasecmp(r->url, "https://", 8) != 0) || (req->headers != NULL && req->headers[nh] != NULL)) {
		r->state = HTTP_REQ_RUNNING;  /* counted as such until delivered */
		r->pool->active++;
		c->active++;
		http_req_refuse(r, "bad request (URL or headers)");
		return;
	}
	if (c->queued >= HTTP_QUEUE_MAX) {
		r->state = HTTP_REQ_RUNNING;
		r->pool->active++;
		c->active++;
		http_req_refuse(r, "too many requests waiting for a connection");
		return;
	}
	if (r->pool->active < r->pool->max && c->active < c->max_total && r->pool->qhead == NULL) {
		http_req_start(r);
		return;
	}
	/* over a cap: wait in the pool's queue, at most timeout_ms */
	struct timeval tv = { r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000 };
	r->state = HTTP_REQ_QUEUED;
	if (r->pool->qtail != NULL)
		r->pool->qtail->qnext = r;
	else
		r->pool->qhead = r;
	r->pool->qtail = r;
	c->queued++;
	r->ev = evtimer_new(c->base, http_req_queue_timeout_cb, r);
	evtimer_add(r->ev, &tv);
}

/* For back-pressure and tests: requests not yet answered. */
int
http_client_pending(const struct http_client *c)
{
	return c->active + c->queued;
}

/* Tests answer requests themselves (engine/internal.h). */
void
http_client_set_transport_for_test(struct http_client *c, http_transport_cb fn, void *arg)
{
	c->transport = fn;
	c->transport_arg = arg;
}

/* A multi handle wired to base through the socket and timer callbacks. */
struct http_client *
http_client_new(struct event_base *base, int max_total_connections)
{
	static int curl_ready;
	struct http_client *c;

	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		curl_ready = 1;
	}
	c = xcalloc(1, sizeof *c);
	c->base = base;
	c->max_total = max_total_connections > 0 ? max_total_connections : 1;
	c->multi = curl_multi_init();
	c->timer = evtimer_new(base, http_client_timer_event_cb, c);
	if (c->multi == NULL || c->timer == NULL) {
		if (c->multi != NULL)
			curl_multi_cleanup(c->multi);
		if (c->timer != NULL)
			event_free(c->timer);
		free(c);
		return NULL;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, http_client_socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, http_client_timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	/* our queues keep within these; curl's own are a second fence */
	curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)c->max_total);
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)c->max_total);
	curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
	return c;
}

/* Shutdown: requests go without their callbacks, then the connections. */
void
http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	while (c->reqs != NULL) {
		struct http_req *r = c->reqs;
		http_req_unlink(r);
		http_req_free(r);         /* removes its easy handle: sockets are released */
	}
	while (c->pools != NULL) {
		struct http_pool *p = c->pools;
		c->pools = p->next;
		free(p);
	}
	curl_multi_cleanup(c->multi);   /* closes cached connections; socket events go */
	event_free(c->timer);
	free(c);
}
