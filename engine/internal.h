/* engine/internal.h: shared by the files of engine/ only. */
#ifndef RECHARGD_ENGINE_INTERNAL_H
#define RECHARGD_ENGINE_INTERNAL_H

#include <event2/util.h>

#include "engine/engine.h"

#define ENGINE_FLIGHT_BUCKETS 4096
#define ENGINE_SETTLES_PER_BATCH 128   /* settlements in one group commit; the rest wait a turn */
#define ENGINE_MAX_PROVIDERS CONFIG_MAX_PROVIDERS

/* What a flight's timer does when it fires. */
enum engine_step {
	ENGINE_STEP_ROUTE,            /* call the next provider on the route */
	ENGINE_STEP_POLL,             /* ask the provider that has it for the status */
	ENGINE_STEP_SETTLE,           /* write the final state (storage was busy) */
};

/* A recharge between its hold and its final state. */
struct engine_flight {
	struct engine *engine;
	int64_t txn;
	char operator_code[16];
	char route[256];              /* provider names, comma-separated */
	int next_index;               /* next route entry to try */
	char provider[32];            /* the one that has it now */
	int calls;
	int dispatch_pending;         /* a dispatch waits for the hold's commit */
	int recording;                /* the provider's name waits for its commit */
	struct event *timer;          /* the next step, later */
	enum engine_step step;
	int polls;                    /* status queries made */
	int asking;                   /* the outstanding call is a status query */
	int settling;                 /* the final state is decided, maybe not yet durable */
	int settle_waits;             /* storage refused it: said once, kept, written later */
	int settle_queued;            /* its settlement is in the open batch */
	int settle_held;              /* waits for a later batch (ENGINE_SETTLES_PER_BATCH) */
	int settle_success, settle_code;
	char settle_provider[32];
	char settle_ref[65];
	struct engine_flight *next;
};

struct engine {
	struct event_base *base;
	struct batch *batch;
	const struct config *cfg;
	uint8_t pepper[PEPPER_LEN];
	struct engine_hooks hooks;
	struct provider *providers[ENGINE_MAX_PROVIDERS];
	int nproviders;
	struct engine_flight *flights[ENGINE_FLIGHT_BUCKETS];
	int ninflight;
	struct event *watch_ev;       /* balances and stuck recharges */
	int batch_settles;            /* settlements in the open batch */
	int settle_flush;             /* a stop writes every kept outcome: no cap */
	int64_t *held;                /* txns whose settlement waits for a later batch, FIFO */
	size_t held_head, nheld, held_cap;
	struct event *held_ev;        /* settles the next ones, a turn after a commit */
	int64_t next_balance_ms;
};

struct engine_flight *engine_flight_find(struct engine *e, int64_t txn);
struct engine_flight *engine_flight_add(struct engine *e, int64_t txn, const char *operator_code);
void engine_flight_remove(struct engine *e, int64_t txn);

/* route.c: routing with failover and the breaker, provider answers, status polling */
struct provider *engine_provider_find(struct engine *e, const char *name);
void engine_dispatch(struct engine *e, struct engine_flight *f);
void engine_dispatch_next(struct engine *e, struct engine_flight *f);
void engine_dispatch_cb(void *arg, int committed);
void engine_poll(struct engine *e, struct engine_flight *f);
void engine_later(struct engine *e, struct engine_flight *f, enum engine_step step, int seconds);

/* settle.c: final states of a flight */
void engine_settle(struct engine *e, struct engine_flight *f, int success, int code,
    const char *provider, const char *ref);
void engine_settle_apply(struct engine *e, struct engine_flight *f);
/* Settles the held flights of one batch (an event a turn after the commit). */
void engine_settle_held_cb(evutil_socket_t fd, short what, void *arg);
/* A SUCCESS reversed by its provider: refund, clawback, the channel told. 0, or -1
 * when it could not be recorded now (the caller makes the provider say it again). */
int engine_reverse(struct engine *e, int64_t txn, const char *provider);

/* watch.c: provider balances, stuck recharges, alerts to admins, provider health */
void engine_watch_start(struct engine *e);
void engine_watch_stop(struct engine *e);
void engine_health_ok(struct engine *e, struct provider *p);
void engine_health_failed(struct engine *e, struct provider *p, const char *why);
int engine_breaker_open(struct engine *e, struct provider *p);
/* Builds the providers of cfg; 0 or -1 with *cause. */
int engine_providers_create(struct engine *e, const struct config *cfg, struct provider **out,
    int *n, char **cause);
void engine_providers_free(struct provider **list, int n);
/* Drops the simulated calls of e (shutdown). */
void provider_sim_forget(struct engine *e);

/* ---- http client (http.c) ----------------------------------------------------------
 * libcurl multi on the loop's event_base, in curl's multi-event pattern: never blocks,
 * thousands of requests in flight; connections are capped in total and per pool (a
 * provider), and what exceeds a cap waits in a bounded queue. A request marked fresh
 * gets a new connection that is closed after it, so libcurl never resends it on a
 * reused keep-alive connection (recharge calls); others may reuse (status, balance). */
#define HTTP_BODY_MAX (64 * 1024)    /* a longer response body: HTTP_RESULT_ERROR */
#define HTTP_QUEUE_MAX 100000         /* requests waiting for a connection, all pools */

struct http_client;
enum http_method { HTTP_GET, HTTP_POST };
enum http_result {
	HTTP_RESULT_OK,               /* a response arrived: see status */
	HTTP_RESULT_CONNECT_FAILED,   /* nothing of the request was sent: "not taken" */
	HTTP_RESULT_TIMEOUT,          /* sent (or maybe sent), no whole answer in time */
	HTTP_RESULT_ERROR,            /* any other failure after sending (reset, too long) */
};
struct http_request {
	enum http_method method;
	const char *url;
	const char *const *headers;   /* "Name: value" lines, NULL-terminated, or NULL */
	const char *body; size_t body_len;   /* POST only */
	int timeout_ms;               /* whole exchange; also the longest wait in the queue */
	int fresh;                    /* new connection, closed after: never resent */
	const char *pool;             /* connections are counted per pool (provider name) */
	int pool_max;                 /* at most this many at once in the pool */
};
struct http_response {
	enum http_result result;
	int status;                   /* HTTP status; 0 without a response */
	const char *body;             /* NUL-terminated; valid during the callback only */
	size_t body_len;
	int64_t elapsed_ms;           /* from the call to the answer, queue included */
	const char *error;            /* why it failed, for logs (no URL in it) */
};
typedef void (*http_done_cb)(void *arg, const struct http_response *r);

/* One per event_base; caps connections at max_total_connections. */
struct http_client *http_client_new(struct event_base *base, int max_total_connections);
/* Drops every request still queued or in flight WITHOUT calling its callback (the
 * owner frees what it passed as arg). Not from inside a callback. NULL ok. */
void http_client_free(struct http_client *c);
/* Starts req (everything in it is copied). done is called exactly once, later from the
 * loop, never from inside this call; a request that cannot start (queue full, bad URL,
 * no free connection within timeout_ms) completes as HTTP_RESULT_CONNECT_FAILED. */
void http_client_request(struct http_client *c, const struct http_request *req,
    http_done_cb done, void *arg);
/* Requests queued or in flight. */
int http_client_pending(const struct http_client *c);

/* Test seam: requests go to fn instead of the network once they leave the queue. fn
 * fills *out (its body is copied; longer than HTTP_BODY_MAX is an HTTP_RESULT_ERROR as
 * on the wire); the answer is delivered from the loop as a real one would be. NULL:
 * the network. */
typedef void (*http_transport_cb)(void *arg, const struct http_request *req,
    struct http_response *out);
void http_client_set_transport_for_test(struct http_client *c, http_transport_cb fn, void *arg);

/* ---- the http-json provider (provider_http.c) ------------------------------------- */
extern const struct provider_ops provider_http_ops;
/* The client the http-json providers of base share (NULL before one exists): tests
 * install their transport on it. */
struct http_client *provider_http_client(struct event_base *base);
/* Test seam: every answer a provider gives the engine (recharge, status, callbacks not
 * included) is shown to cb first, exactly as passed on. NULL: none. */
void provider_http_set_observer_for_test(void (*cb)(void *arg, const char *provider,
    int64_t txn, const struct provider_answer *a), void *arg);
/* For the fuzzer (tests/fuzz/fuzz_provider.c): data as a provider's HTTP answer body
 * (mapped to a provider_answer through a fixed [provider] section, and as a balance),
 * as a dotted path into it, as a template (checked, then rendered) and as every
 * template variable's value (URL and JSON escaping). abort()s when an output breaks
 * its contract. Uses nothing but memory. */
void provider_http_fuzz_one(const uint8_t *data, size_t len);

#endif
