/*
 * tools/provsim: the provider simulator. A recharge aggregator's HTTP API on one
 * libevent loop (evhttp server; evhttp client for callbacks) that tests and benchmarks
 * of rechargd's http-json providers drive. See docs/provsim.md for the usage.
 *
 *  - sim.c       the simulator object: listener, routing, answers now, later (latency)
 *                or never (hang), the watch over hung clients, the request log.
 *  - shape.c     the two API shapes: request fields from the query, a form or a JSON
 *                body; answers in each shape's words; garbage bodies.
 *  - txn.c       the ledger: txns by txn_id (bounded), outcomes, settling, reversal,
 *                the balance and the counters.
 *  - callback.c  callbacks towards rechargd: a bounded queue, evhttp client requests
 *                with a shared secret or an HMAC-SHA256 signature, retries.
 *  - control.c   the settings table (command-line options and POST /_control share
 *                it), /_control, /_stats and /_txn.
 *  - main.c      options and main().
 *
 * Everything runs on the loop thread. Timers and queued callbacks name a txn by its
 * index in the table, never by pointer: records move when the table grows.
 */
#ifndef PROVSIM_H
#define PROVSIM_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct event;
struct evbuffer;
struct evdns_base;
struct evhttp;
struct evhttp_request;
struct evhttp_connection;
struct evhttp_bound_socket;
struct evkeyvalq;
struct json_t;

#define PROVSIM_MAX_TXNS_DEFAULT 200000    /* txns tracked; past it new ones get 503 */
#define PROVSIM_MAX_TXNS_LIMIT   20000000
#define PROVSIM_MAX_HUNG_DEFAULT 1000      /* requests held unanswered at once */
#define PROVSIM_MAX_DELAYED      65536     /* answers waiting for their latency */
#define PROVSIM_MAX_BODY         65536     /* request bodies (evhttp answers 413 past it) */
#define PROVSIM_MAX_HEADERS      16384
#define PROVSIM_HTTP_TIMEOUT_S   30        /* evhttp's read/write timeout per connection */
#define PROVSIM_HUNG_CHECK_MS    200       /* how often hung clients are looked at */
#define PROVSIM_ID_MAX           63        /* txn_id bytes */
#define PROVSIM_FIELD_MAX        23        /* mobile, operator, circle, ref */
#define PROVSIM_CB_QUEUE         65536     /* callbacks waiting; past it they are dropped */
#define PROVSIM_CB_FLIGHTS       32        /* callback requests in flight at once */
#define PROVSIM_CB_TIMEOUT_S     10
#define PROVSIM_CB_RETRY_MS      1000
#define PROVSIM_STR_MAX          512       /* callback_url, secrets, key, uid, pwd */

enum provsim_shape { PROVSIM_SHAPE_JSON = 0, PROVSIM_SHAPE_FLAT };

/* What new recharges get (mode); mix draws per request with the *_pct settings. */
enum provsim_mode {
	PROVSIM_MODE_SUCCESS = 0,
	PROVSIM_MODE_PENDING,
	PROVSIM_MODE_FAILURE,
	PROVSIM_MODE_DOWN,          /* "503" */
	PROVSIM_MODE_ERROR,         /* "500" */
	PROVSIM_MODE_HANG,
	PROVSIM_MODE_GARBAGE,
	PROVSIM_MODE_MIX,
};

/* How a PENDING recharge becomes final: a callback, the status endpoint, or both. */
enum provsim_then { PROVSIM_THEN_BOTH = 0, PROVSIM_THEN_CALLBACK, PROVSIM_THEN_POLL };

enum provsim_garbage {
	PROVSIM_GARBAGE_CYCLE = 0,  /* each of the others in turn */
	PROVSIM_GARBAGE_HTML,
	PROVSIM_GARBAGE_TRUNCATED,
	PROVSIM_GARBAGE_TYPES,
	PROVSIM_GARBAGE_EMPTY,
};

/* A txn's state; NOT_FOUND is only ever an answer. */
enum provsim_status {
	PROVSIM_ST_NOT_FOUND = 0,
	PROVSIM_ST_PENDING,
	PROVSIM_ST_SUCCESS,
	PROVSIM_ST_FAILED,
	PROVSIM_ST_REVERSED,
	PROVSIM_ST_COUNT,
};

/* Why a FAILED one failed (its message). */
enum provsim_reason {
	PROVSIM_REASON_NONE = 0,
	PROVSIM_REASON_DECLINED,    /* the outcome drawn */
	PROVSIM_REASON_BALANCE,     /* our balance was too low */
	PROVSIM_REASON_INVALID,     /* mobile, operator or amount missing or bad */
};

/* What happens to one API request, decided before anything else. */
enum provsim_fate {
	PROVSIM_FATE_ANSWER = 0,    /* a normal answer */
	PROVSIM_FATE_DOWN,          /* 503, nothing taken */
	PROVSIM_FATE_ERROR,         /* 500 */
	PROVSIM_FATE_HANG,          /* never answered */
	PROVSIM_FATE_GARBAGE,       /* 200 with a body no parser should accept */
};

enum provsim_call_kind { PROVSIM_CALL_RECHARGE = 0, PROVSIM_CALL_STATUS, PROVSIM_CALL_BALANCE };

/* The settings a run starts with (options) and /_control changes. Plain data, so a
 * copy is a memcpy (validate on a copy, then swap; for_ms keeps one to go back to). */
struct provsim_settings {
	enum provsim_mode mode;
	int latency_ms, jitter_ms;
	int success_pct;            /* of taken recharges, the share that succeeds */
	int pending_pct;            /* mix: the share answered PENDING first */
	int down_pct, error_pct, hang_pct, garbage_pct;   /* mix */
	enum provsim_then pending_then;
	int settle_ms;
	int reverse_pct, reverse_ms;
	int error_done;             /* a 500, hang or garbage answer still does the recharge */
	enum provsim_garbage garbage;
	char callback_url[PROVSIM_STR_MAX];
	int callback_get;           /* GET with a query string instead of POST */
	int callback_body;          /* -1: by shape (json: JSON, flat: form), 0 JSON, 1 form */
	char callback_secret[PROVSIM_STR_MAX];
	int callback_hmac;          /* X-Signature instead of sending the secret */
	int callback_all;           /* also for recharges that were final at once */
	int callback_retries;
	char key[PROVSIM_STR_MAX], uid[PROVSIM_STR_MAX], pwd[PROVSIM_STR_MAX];
};

/* One recharge the simulator took (2xx, or 500/hang/garbage with error_done). */
struct provsim_txn {
	char id[PROVSIM_ID_MAX + 1];
	char mobile[PROVSIM_FIELD_MAX + 1];
	char op[PROVSIM_FIELD_MAX + 1];
	char circle[PROVSIM_FIELD_MAX + 1];
	char ref[PROVSIM_FIELD_MAX + 1];
	int64_t amount;             /* paise */
	uint8_t status;             /* enum provsim_status: the truth */
	uint8_t final;              /* what a PENDING one settles to */
	uint8_t hidden;             /* settled, but the status endpoint still says PENDING */
	uint8_t reason;             /* enum provsim_reason */
	uint8_t via;                /* enum provsim_fate of the request that took it */
	uint8_t debited;            /* amount is off the balance */
	uint32_t requests;          /* recharge requests seen: 1 + duplicates */
	uint32_t cb_sent, cb_failed;
	int last_cb_code;           /* HTTP status of the last callback, 0: none or no answer */
	int64_t created_ms, settled_ms, reversed_ms;
	struct provsim_timer *timer;   /* settle or reverse, NULL: none */
};

enum provsim_timer_kind { PROVSIM_TIMER_SETTLE = 0, PROVSIM_TIMER_REVERSE };

struct provsim_timer {
	struct provsim *sim;
	uint32_t idx;
	enum provsim_timer_kind kind;
	struct event *ev;
};

struct provsim_stats {
	uint64_t requests;          /* API requests (recharge, status, balance, unknown paths) */
	uint64_t recharge_requests, status_requests, balance_requests, control_requests;
	uint64_t recharges_done;    /* txns taken */
	uint64_t duplicates;        /* recharge requests for a txn_id already taken */
	uint64_t by_status[PROVSIM_ST_COUNT];   /* taken txns by their state now */
	uint64_t answered_503, answered_500, answered_garbage, not_found;
	uint64_t auth_failed, bad_requests, refused_full;
	uint64_t hung_total, hung_released, hung_refused;
	uint64_t latency_skipped;   /* answered at once: PROVSIM_MAX_DELAYED reached */
	uint64_t reversals;
	uint64_t callbacks_sent, callbacks_failed, callbacks_dropped, callbacks_retried;
};

/* An answer waiting for its latency. */
struct provsim_delayed {
	struct provsim *sim;
	struct evhttp_request *req;
	int code;
	struct evbuffer *body;
	struct event *ev;
	struct provsim_delayed *prev, *next;
};

/* A request held unanswered (hang) until its client gives up. */
struct provsim_hung {
	struct evhttp_request *req;
	int64_t since_ms;
};

/* A callback to send; the status is the one it reports, taken when it was queued. */
struct provsim_cb_job {
	uint32_t idx;
	uint8_t status;
	uint8_t attempt;
	int64_t due_ms;
};

/* A FIFO of PROVSIM_CB_QUEUE jobs. */
struct provsim_cb_ring {
	struct provsim_cb_job *v;
	uint32_t head, len;
};

struct provsim_cb_flight {
	struct provsim *sim;
	struct provsim_cb_job job;
	struct evhttp_connection *evcon;
	struct provsim_cb_flight *prev, *next;
};

struct provsim_options {
	const char *listen;         /* HOST:PORT, port 0: any (printed) */
	enum provsim_shape shape;
	uint32_t max_txns, max_hung;
	int verbose;
};

struct provsim {
	struct event_base *base;
	struct evdns_base *dns;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct event *accept_ev;    /* listens again after EMFILE */
	struct event *hung_ev;      /* looks whether hung clients gave up */
	struct event *restore_ev;   /* for_ms: back to saved */
	struct event *cb_ev;        /* runs the callback queue */
	struct provsim_options opt;
	struct provsim_settings set, saved;
	char listen_addr[80];
	int stopping, exit_code;

	/* the ledger: records and an open-addressing index of idx + 1 by txn_id */
	struct provsim_txn *txns;
	uint32_t ntxns, txns_cap;
	uint32_t *index;
	uint32_t index_cap;         /* a power of two, at least twice ntxns */
	uint64_t next_ref;
	int64_t balance;            /* paise */
	int full_warned;
	struct provsim_stats st;
	uint32_t garbage_turn;

	struct provsim_delayed *delayed;   /* a list */
	uint32_t ndelayed;
	struct provsim_hung *hung;
	uint32_t nhung;

	struct provsim_cb_ring cbq;        /* callbacks to send */
	struct provsim_cb_ring cbr;        /* retries, each due a while after its failure */
	struct provsim_cb_flight *flights; /* a list */
	uint32_t nflights;
};

/* ---- sim.c ------------------------------------------------------------------- */
/* Creates the simulator and starts listening; NULL with *cause (malloc'd) on error. */
struct provsim *provsim_new(struct event_base *base, const struct provsim_options *opt,
    char **cause);
void provsim_free(struct provsim *sim);                /* NULL ok */
void provsim_stop(struct provsim *sim, int code);
int64_t provsim_now_ms(void);
/* Sends code and body (taken: freed here) now, or after the latency. */
void provsim_reply(struct provsim *sim, struct evhttp_request *req, int code,
    struct evbuffer *body, int delay_ms);
/* Sends a JSON value (its reference is taken) now. */
void provsim_reply_json(struct evhttp_request *req, int code, struct json_t *v);
/* 1 and a NUL-terminated copy of the request body (caller frees) in *out; 0 when
 * there is none. */
int provsim_body(struct evhttp_request *req, char **out, size_t *len);

/* ---- shape.c ------------------------------------------------------------------ */
/* A request's fields, whichever shape and encoding brought them. Strings are copies
 * (NULL when absent); provsim_call_clear frees them. */
struct provsim_call {
	enum provsim_call_kind kind;
	char *txn_id, *mobile, *op, *amount, *circle;
	char *key, *uid, *pwd;
	int64_t amount_paise;       /* -1: missing or bad */
};
/* The call for a path of this shape, or -1 for an unknown path. */
int provsim_shape_route(enum provsim_shape shape, const char *path, enum provsim_call_kind *kind);
/* Fields from the query string and the body (JSON when it starts with '{', else a form).
 * -1 with *cause (static) when the body is neither. */
int provsim_shape_parse(struct evhttp_request *req, struct provsim_call *call,
    const char **cause);
void provsim_call_clear(struct provsim_call *call);
/* Answers a recharge or status call: the status reported, the txn (NULL: none). */
struct evbuffer *provsim_shape_txn_answer(struct provsim *sim, enum provsim_status status,
    const struct provsim_txn *t, const char *txn_id, const char *message);
struct evbuffer *provsim_shape_balance_answer(struct provsim *sim);
/* An answer that refuses the call (auth, bad request) in the shape's words. */
struct evbuffer *provsim_shape_error_answer(struct provsim *sim, const char *message);
struct evbuffer *provsim_shape_garbage(struct provsim *sim);
/* The status in the shape's words: "SUCCESS" or "1". */
const char *provsim_shape_status_word(enum provsim_shape shape, enum provsim_status st);
const char *provsim_status_name(enum provsim_status st);
const char *provsim_txn_message(const struct provsim_txn *t, enum provsim_status st);

/* ---- txn.c -------------------------------------------------------------------- */
int provsim_txn_init(struct provsim *sim);
void provsim_txn_free_all(struct provsim *sim);
struct provsim_txn *provsim_txn_find(struct provsim *sim, const char *id);
uint32_t provsim_txn_index(const struct provsim *sim, const struct provsim_txn *t);
/* Takes a new recharge: records it, draws its outcome, moves the balance, arms its
 * timers. via: the request's fate. NULL when the table is full. */
struct provsim_txn *provsim_txn_take(struct provsim *sim, const struct provsim_call *call,
    enum provsim_fate via);
/* What the status endpoint says of t now. */
enum provsim_status provsim_txn_reported(const struct provsim *sim, const struct provsim_txn *t);
/* Reverses a SUCCESS: refund, REVERSED, a callback. -1 with *cause (static) otherwise. */
int provsim_txn_reverse(struct provsim *sim, struct provsim_txn *t, const char **cause);
/* Draws the fate of one API request from the mode. */
enum provsim_fate provsim_txn_fate(struct provsim *sim);

/* ---- callback.c ----------------------------------------------------------------- */
int provsim_callback_init(struct provsim *sim);
void provsim_callback_free_all(struct provsim *sim);
/* Queues a callback telling of t's status st when callbacks are configured. */
void provsim_callback_queue(struct provsim *sim, uint32_t idx, enum provsim_status st);
/* -1 with *cause (static) when url is not an http:// URL with a host. */
int provsim_callback_url_check(const char *url, const char **cause);

/* ---- control.c --------------------------------------------------------------- */
void provsim_settings_defaults(struct provsim_settings *s);
/* One setting by name ("latency_ms", or "latency-ms" from the command line) from its
 * text into s. -1 with *cause (static) when the name or the value is bad; 1 when name
 * is not a setting (an action, or unknown). */
int provsim_settings_set(struct provsim_settings *s, const char *name, const char *value,
    const char **cause);
/* The settings, for the command line's --help and getopt: name i, NULL past the end. */
const char *provsim_settings_name(int i);
const char *provsim_settings_help(int i);
int provsim_settings_is_bool(int i);
void provsim_control_handle(struct provsim *sim, struct evhttp_request *req);
void provsim_stats_handle(struct provsim *sim, struct evhttp_request *req);
void provsim_txn_handle(struct provsim *sim, struct evhttp_request *req);
/* Sets the balance from rupee text; -1 with *cause when bad. */
int provsim_balance_set(struct provsim *sim, const char *text, const char **cause);

#endif
