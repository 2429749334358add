/*
 * channels/: where users' requests come in and answers go out.
 *  - sms.c          stores each MO and answers deliver_sm after the commit; turns
 *                   settled transactions into replies; the PENDING sweep
 *  - sms_command.c  one MO -> parsed command -> engine -> reply text of SPEC section 7
 *  - outbox.c       the durable outbox pumped into the SMPP session
 *  - http.c         evhttp on the same loop: provider callbacks, /healthz, the REST API;
 *                   connections counted, capped and given a deadline
 *  - api.c          the REST API of SPEC section 9: auth, rate limits, recharges answered
 *                   after their settlement commits (or pending after sync_wait_ms)
 */
#ifndef RECHARGD_CHANNELS_H
#define RECHARGD_CHANNELS_H

#include <stdint.h>

#include "common/common.h"
#include "db/db.h"
#include "engine/engine.h"
#include "smpp/smpp.h"

struct sms_channel;
struct api;
struct evhttp_request;

/* The channel keeps pointers to everything given; all must outlive it. The SMPP
 * session is attached later (sms_channel_attach) because its callbacks are ours. */
struct sms_channel *sms_channel_new(struct event_base *base, struct batch *batch,
    struct engine *engine, const struct config *cfg);
void sms_channel_free(struct sms_channel *c);      /* NULL ok */
void sms_channel_attach(struct sms_channel *c, struct smpp_session *s);
/* The callbacks to give smpp_session_new (arg is the channel). */
void sms_channel_session_callbacks(struct sms_channel *c, struct smpp_session_callbacks *cbs);
/* The engine's hooks for transactions that started as SMS. */
void sms_channel_engine_hooks(struct sms_channel *c, struct engine_hooks *hooks);
void sms_channel_set_engine(struct sms_channel *c, struct engine *engine);
void sms_channel_set_config(struct sms_channel *c, const struct config *cfg);
/* Start-up: processes messages stored but not processed before a crash. Inside a batch. */
int sms_channel_recover(struct sms_channel *c);
/* Messages accepted but not yet processed or replies not yet handed to the SMSC. */
int sms_channel_backlog(const struct sms_channel *c);
/* deliver_sm waiting for their answer (the commit of their batch). */
int sms_channel_mo_waiting(const struct sms_channel *c);

/* The SPEC section 7 line for a transaction (SUCCESS, FAILED, REVERSED, ERR 2001; or
 * PENDING when pending is set): rechargectl queues it too, for txn resolve and reverse. */
void sms_render_txn(char *out, size_t cap, const struct db_txn *t, int64_t balance, int pending);

/* Renders the reply to one MO. Exposed for unit tests: text in, reply out, with the
 * database for state. Inside a batch. Returns the txn id the MO started (0: none). */
int64_t sms_channel_handle(struct sms_channel *c, const struct db_sms_in *m, char *reply, size_t cap);
/* Masks, in place and keeping the length, the PINs an MO text carries: the token the
 * parser takes as the PIN (and the new PIN), every digit after the verb of PIN, and a
 * trailing 4-6 digit token of a text the parser refused. What reaches sms_in storage
 * after processing (docs/security.md); the parser must be initialised. */
void sms_text_redact(char *text);
/* 1 when text is a command that changes something (RC, DTH, TOPUP, REG, PIN, CMP, BLOCK,
 * UNBLOCK), 0 for a question (BAL, ST, LAST, HELP) or a refused text. */
int sms_text_changes_state(const char *text);

/* ---- http.c ---------------------------------------------------------------------- */
struct http_channel;
/* Listens on [http] listen, and with TLS on [http] tls_listen. NULL with *cause (malloc'd) when it cannot. */
struct http_channel *http_channel_new(struct event_base *base, struct batch *batch,
    struct engine *engine, const struct config *cfg, char **cause);
void http_channel_free(struct http_channel *h);          /* NULL ok */
/* [http] tls_listen, tls_cert, tls_key: all three or none; the files readable, the key
 * that of the certificate. 0, or -1 with *cause (malloc'd) naming the key. */
int http_tls_check(const struct config *cfg, char **cause);
void http_channel_set_session(struct http_channel *h, struct smpp_session *s);
/* Also passes e and cfg on to the API (SIGHUP). */
void http_channel_set_engine(struct http_channel *h, struct engine *e, const struct config *cfg);
/* Paths under API_PREFIX (but callbacks) go to a; it must outlive h's requests: free
 * it before h (api_free answers what it still holds). */
void http_channel_set_api(struct http_channel *h, struct api *a);
/* Connections open now (counted against [http] max_connections). */
int http_channel_connections(const struct http_channel *h);
/* Test seam (tests/fuzz/fuzz_http.c): listens on 127.0.0.1 at a port the kernel picks
 * (set in *port), whatever [http] listen says; NULL when it cannot. */
struct http_channel *http_channel_new_for_test(struct event_base *base, struct batch *batch,
    struct engine *engine, const struct config *cfg, int *port);

/* ---- api.c ------------------------------------------------------------------------
 * POST /api/v1/recharge, GET|POST /api/v1/balance, GET|POST /api/v1/status,
 * GET /api/v1/transactions. Every answer that tells of stored state goes out only after
 * the batch it read or wrote commits. */
#define API_PREFIX "/api/"
/* Keeps the pointers; all must outlive it. */
struct api *api_new(struct event_base *base, struct batch *batch, struct engine *engine,
    const struct config *cfg);
/* Answers what it still holds (an accepted recharge: pending), then frees. Calls whose
 * batch has not ended yet are freed when it does. NULL ok. */
void api_free(struct api *a);
void api_set_engine(struct api *a, struct engine *e, const struct config *cfg);
/* One request whose path starts with API_PREFIX; always answered (now or later). */
void api_handle(struct api *a, struct evhttp_request *req, const char *path);
/* The engine's txn_cb for API transactions (daemon.c fans the one hook out): inside the
 * open batch; a waiting recharge is answered once that batch commits. 0 (never fails). */
int api_txn_event(struct api *a, const struct db_txn *t, enum engine_event ev, int64_t balance);

#endif
