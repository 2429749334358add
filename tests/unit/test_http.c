/* tests/unit/test_http.c: engine/http.c against a real HTTP server (evhttp on loopback,
 * same event loop): answers, fresh connections versus reuse, the pool cap and its
 * queue, refused and timed-out requests, bodies over the cap, a few thousand requests
 * in flight. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "common/common.h"
#include "engine/internal.h"

#define MAX_PORTS 4096

struct fixture {
	struct event_base *base;
	struct evhttp *http;
	int port;
	struct http_client *client;
	/* server side */
	int inflight, max_inflight, served;
	int nports;
	uint16_t ports[MAX_PORTS];    /* client ports seen: one per connection */
	/* client side */
	int done, ok, connect_failed, timeouts, errors;
	struct http_response last;
	char last_body[256];
	char last_error[256];
};

static void
note_port(struct fixture *fx, struct evhttp_request *req)
{
	char *addr;
	uint16_t port;

	evhttp_connection_get_peer(evhttp_request_get_connection(req), &addr, &port);
	for (int i = 0; i < fx->nports; i++)
		if (fx->ports[i] == port)
			return;
	if (fx->nports < MAX_PORTS)
		fx->ports[fx->nports++] = port;
}

struct delayed {
	struct fixture *fx;
	struct evhttp_request *req;
	struct event *ev;
};

static void
reply_json(struct evhttp_request *req, int code, const char *body)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add(b, body, strlen(body));
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	evhttp_send_reply(req, code, "X", b);
	evbuffer_free(b);
}

static void
delayed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct delayed *d = arg;

	d->fx->inflight--;
	d->fx->served++;
	reply_json(d->req, 200, "{\"status\":\"ok\"}");
	event_free(d->ev);
	free(d);
}

static void
server_cb(struct evhttp_request *req, void *arg)
{
	struct fixture *fx = arg;
	const char *uri = evhttp_request_get_uri(req);

	note_port(fx, req);
	if (strncmp(uri, "/ok", 3) == 0) {
		char body[256];
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		snprintf(body, sizeof body, "{\"method\":\"%s\",\"len\":%zu}",
		    evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "GET",
		    evbuffer_get_length(in));
		fx->served++;
		reply_json(req, 200, body);
	} else if (strcmp(uri, "/503") == 0) {
		fx->served++;
		reply_json(req, 503, "busy");
	} else if (strcmp(uri, "/big") == 0) {
		size_t n = HTTP_BODY_MAX + 10;
		char *big = malloc(n + 1);
		memset(big, 'x', n);
		big[n] = '\0';
		reply_json(req, 200, big);
		free(big);
	} else if (strcmp(uri, "/exact") == 0) {
		size_t n = HTTP_BODY_MAX;
		char *big = malloc(n + 1);
		memset(big, 'y', n);
		big[n] = '\0';
		reply_json(req, 200, big);
		free(big);
	} else if (strcmp(uri, "/delay") == 0) {
		struct delayed *d = calloc(1, sizeof *d);
		struct timeval tv = { 0, 20000 };
		d->fx = fx;
		d->req = req;
		d->ev = evtimer_new(fx->base, delayed_cb, d);
		evtimer_add(d->ev, &tv);
		if (++fx->inflight > fx->max_inflight)
			fx->max_inflight = fx->inflight;
	} else if (strcmp(uri, "/hang") == 0) {
		/* never answered: the client's timeout ends it */
	} else
		evhttp_send_error(req, 404, NULL);
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;

	fx->base = event_base_new();
	fx->http = evhttp_new(fx->base);
	evhttp_set_allowed_methods(fx->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_gencb(fx->http, server_cb, fx);
	bs = evhttp_bind_socket_with_handle(fx->http, "127.0.0.1", 0);
	assert_non_null(bs);
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &len), 0);
	fx->port = ntohs(sin.sin_port);
	fx->client = http_client_new(fx->base, 256);
	assert_non_null(fx->client);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	http_client_free(fx->client);
	evhttp_free(fx->http);
	event_base_free(fx->base);
	free(fx);
	return 0;
}

static void
done_cb(void *arg, const struct http_response *r)
{
	struct fixture *fx = arg;

	fx->done++;
	switch (r->result) {
	case HTTP_RESULT_OK: fx->ok++; break;
	case HTTP_RESULT_CONNECT_FAILED: fx->connect_failed++; break;
	case HTTP_RESULT_TIMEOUT: fx->timeouts++; break;
	case HTTP_RESULT_ERROR: fx->errors++; break;
	}
	fx->last = *r;
	strlcpy_safe(fx->last_body, r->body, sizeof fx->last_body);
	strlcpy_safe(fx->last_error, r->error ? r->error : "", sizeof fx->last_error);
	fx->last.body = fx->last_body;
	fx->last.error = fx->last_error;
	assert_true(r->body[r->body_len] == '\0');
}

/* Runs the loop until want requests are done (or 10 s passed). */
static void
run_until(struct fixture *fx, int want)
{
	for (int i = 0; i < 10000 && fx->done < want; i++) {
		struct timeval tv = { 0, 1000 };
		event_base_loopexit(fx->base, &tv);
		event_base_dispatch(fx->base);
	}
	assert_int_equal(fx->done, want);
}

static void
request(struct fixture *fx, enum http_method m, const char *path, const char *body, int timeout_ms,
    int fresh, int pool_max)
{
	char url[128];
	struct http_request req = { .method = m, .url = url, .body = body,
		.body_len = body ? strlen(body) : 0, .timeout_ms = timeout_ms, .fresh = fresh,
		.pool = "p", .pool_max = pool_max };

	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", fx->port, path);
	http_client_request(fx->client, &req, done_cb, fx);
}

static void
test_get_and_post(void **state)
{
	struct fixture *fx = *state;

	request(fx, HTTP_GET, "/ok", NULL, 2000, 1, 4);
	assert_int_equal(fx->done, 0);          /* never from inside the call */
	run_until(fx, 1);
	assert_int_equal(fx->last.result, HTTP_RESULT_OK);
	assert_int_equal(fx->last.status, 200);
	assert_string_equal(fx->last_body, "{\"method\":\"GET\",\"len\":0}");
	request(fx, HTTP_POST, "/ok", "{\"a\":1}", 2000, 1, 4);
	run_until(fx, 2);
	assert_string_equal(fx->last_body, "{\"method\":\"POST\",\"len\":7}");
	request(fx, HTTP_GET, "/503", NULL, 2000, 1, 4);
	run_until(fx, 3);
	assert_int_equal(fx->last.result, HTTP_RESULT_OK);
	assert_int_equal(fx->last.status, 503);
	assert_int_equal(http_client_pending(fx->client), 0);
}

/* Recharge calls never share a connection; status calls may. */
static void
test_fresh_versus_reuse(void **state)
{
	struct fixture *fx = *state;

	for (int i = 0; i < 3; i++) {
		request(fx, HTTP_POST, "/ok", "x=1", 2000, 1, 4);
		run_until(fx, i + 1);
	}
	assert_int_equal(fx->nports, 3);
	fx->nports = 0;
	for (int i = 0; i < 3; i++) {
		request(fx, HTTP_GET, "/ok", NULL, 2000, 0, 4);
		run_until(fx, 4 + i);
	}
	assert_int_equal(fx->nports, 1);
	assert_int_equal(fx->ok, 6);
}

static void
test_refused_is_not_taken(void **state)
{
	struct fixture *fx = *state;
	struct http_request req = { .method = HTTP_POST, .url = "http://127.0.0.1:1/x", .body = "a",
		.body_len = 1, .timeout_ms = 2000, .fresh = 1, .pool = "q", .pool_max = 1 };

	http_client_request(fx->client, &req, done_cb, fx);
	run_until(fx, 1);
	assert_int_equal(fx->last.result, HTTP_RESULT_CONNECT_FAILED);
	assert_int_equal(fx->last.status, 0);
	/* a URL that is no http(s) URL never leaves */
	req.url = "ftp://127.0.0.1/x";
	http_client_request(fx->client, &req, done_cb, fx);
	assert_int_equal(fx->done, 1);
	run_until(fx, 2);
	assert_int_equal(fx->last.result, HTTP_RESULT_CONNECT_FAILED);
}

static void
test_timeout_after_sending(void **state)
{
	struct fixture *fx = *state;

	request(fx, HTTP_POST, "/hang", "amount=10", 300, 1, 4);
	run_until(fx, 1);
	assert_int_equal(fx->last.result, HTTP_RESULT_TIMEOUT);
	assert_true(fx->last.elapsed_ms >= 250 && fx->last.elapsed_ms < 2000);
}

static void
test_body_cap(void **state)
{
	struct fixture *fx = *state;

	request(fx, HTTP_GET, "/big", NULL, 2000, 0, 4);
	run_until(fx, 1);
	assert_int_equal(fx->last.result, HTTP_RESULT_ERROR);
	assert_int_equal(fx->last.body_len, 0);
	request(fx, HTTP_GET, "/exact", NULL, 2000, 0, 4);
	run_until(fx, 2);
	assert_int_equal(fx->last.result, HTTP_RESULT_OK);
	assert_int_equal(fx->last.body_len, HTTP_BODY_MAX);
}

/* 40 requests, pool of 3: never more than 3 at the server, all answered. */
static void
test_pool_cap(void **state)
{
	struct fixture *fx = *state;

	for (int i = 0; i < 40; i++)
		request(fx, HTTP_GET, "/delay", NULL, 5000, 1, 3);
	assert_int_equal(http_client_pending(fx->client), 40);
	run_until(fx, 40);
	assert_int_equal(fx->ok, 40);
	assert_int_equal(fx->max_inflight, 3);
	assert_int_equal(fx->nports, 40);       /* fresh: one connection each */
}

/* A request that waits longer than its timeout for a connection was never sent. */
static void
test_queue_timeout_is_not_taken(void **state)
{
	struct fixture *fx = *state;

	request(fx, HTTP_GET, "/hang", NULL, 1500, 1, 1);
	request(fx, HTTP_POST, "/ok", "a=1", 200, 1, 1);
	run_until(fx, 1);
	assert_int_equal(fx->last.result, HTTP_RESULT_CONNECT_FAILED);
	assert_non_null(strstr(fx->last_error, "no free connection"));
	run_until(fx, 2);
	assert_int_equal(fx->last.result, HTTP_RESULT_TIMEOUT);
	assert_int_equal(fx->served, 0);
}

/* Thousands in flight at once on one loop, over a few connections each reused. */
static void
test_thousands(void **state)
{
	struct fixture *fx = *state;

	for (int i = 0; i < 3000; i++)
		request(fx, HTTP_GET, "/delay", NULL, 20000, 0, 100);
	run_until(fx, 3000);
	assert_int_equal(fx->ok, 3000);
	assert_true(fx->max_inflight <= 100);
	assert_true(fx->nports <= 256);
}

/* Freeing with requests in flight or queued calls no callback and leaks nothing. */
static void
test_free_in_flight(void **state)
{
	struct fixture *fx = *state;

	for (int i = 0; i < 5; i++)
		request(fx, HTTP_GET, "/hang", NULL, 5000, 1, 2);
	for (int i = 0; i < 5; i++) {
		struct timeval tv = { 0, 20000 };
		event_base_loopexit(fx->base, &tv);
		event_base_dispatch(fx->base);
	}
	http_client_free(fx->client);
	fx->client = http_client_new(fx->base, 16);
	assert_int_equal(fx->done, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_and_post, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fresh_versus_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_is_not_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_after_sending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_timeout_is_not_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thousands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_in_flight, setup, teardown),
	};
	log_level = LOGL_ERROR;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
