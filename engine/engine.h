/*
 * engine/: the business. Accepts a recharge (validation, duplicate guard, PIN and
 * lockout, plan service, daily limit, the hold by conditional debit, double-entry
 * postings), routes it through providers with failover, and settles it (SUCCESS with
 * commission, FAILED with full refund). Knows nothing of SMPP, HTTP or reply wording:
 * results are data; channels/ renders them.
 *
 * Every engine call that writes runs inside the caller's open batch (db/ batch_join);
 * provider calls start only after that batch commits.
 */
#ifndef RECHARGD_ENGINE_H
#define RECHARGD_ENGINE_H

#include <stdint.h>

#include "common/common.h"
#include "db/db.h"

struct event_base;
struct engine;
struct provider_callback;

/* SPEC section 6: the numbers users see. */
enum engine_code {
	ENGINE_OK = 0,
	ENGINE_E_API_KEY = 1001,
	ENGINE_E_BALANCE = 1002,
	ENGINE_E_MOBILE = 1003,
	ENGINE_E_OPERATOR = 1004,
	ENGINE_E_AMOUNT = 1005,
	ENGINE_E_DUPLICATE = 1006,
	ENGINE_E_RATE = 1007,
	ENGINE_E_PLAN = 1008,
	ENGINE_E_PARAM = 1009,
	ENGINE_E_COMMAND = 1010,
	ENGINE_E_PIN = 1011,
	ENGINE_E_LOCKED = 1012,
	ENGINE_E_UNREGISTERED = 1013,
	ENGINE_E_NOT_FOUND = 1014,
	ENGINE_E_DAILY_LIMIT = 1015,
	ENGINE_E_DOWN = 2001,
	ENGINE_E_FAILED = 2002,
	ENGINE_E_INTERNAL = 3001,
	ENGINE_E_BUSY = 3002,
};
/* The message of SPEC section 6, word for word ("Insufficient balance"). */
const char *engine_code_message(int code);

#define ENGINE_PIN_LIMIT 5

/* What happened to a transaction, told to the channel that owns it. */
enum engine_event {
	ENGINE_EVENT_FINAL,        /* SUCCESS or FAILED (2001: no provider took it; 2002) */
	ENGINE_EVENT_PENDING,      /* the provider answered pending: tell the retailer now */
	ENGINE_EVENT_REVERSED,     /* a SUCCESS reversed: refunded, commission clawed back */
};

struct engine_hooks {
	/* Called inside the open batch, with the transaction as stored and the wallet
	 * balance after the change. Returns 0, or -1 when it could not record its part
	 * (the settlement is then rolled back and retried). */
	int (*txn_cb)(void *arg, const struct db_txn *t, enum engine_event ev, int64_t balance);
	/* An alert for the admins (low provider balance, a recharge stuck PENDING), inside
	 * the open batch. */
	void (*alert_cb)(void *arg, const char *text);
	void *arg;
};

/* Owns its providers. cfg must outlive the engine (engine_reload swaps it). pepper is
 * copied. Returns NULL with *cause on a bad provider section. */
struct engine *engine_new(struct event_base *base, struct batch *batch, const struct config *cfg,
    const uint8_t pepper[PEPPER_LEN], const struct engine_hooks *hooks, char **cause);
/* Graceful stop, while the channels still exist: outcomes kept in memory while storage
 * was degraded get one more try (a probe, then into the open batch; commit it after).
 * NULL ok. */
void engine_flush_kept(struct engine *e);
/* NULL ok. Commit the batch first: its deferred callbacks point into the engine.
 * Outcomes still not on disk are logged, each with the rechargectl line that settles it. */
void engine_free(struct engine *e);
/* SIGHUP: new providers and limits; recharges in flight keep their provider. 0 or -1. */
int engine_reload(struct engine *e, const struct config *cfg, char **cause);
/* Start-up: resumes every PENDING transaction (see docs/design.md). Inside a batch. */
int engine_resume(struct engine *e);
/* Number of recharges waiting on a provider (back-pressure for channels, against
 * [engine] max_inflight). */
int engine_inflight(const struct engine *e);
/* The pepper (PEPPER_LEN bytes) the engine was made with: keys for PINs and fingerprints. */
const uint8_t *engine_pepper(const struct engine *e);

/* ---- PIN and account state ----------------------------------------------------------- */
/* Checks the retailer may act and, when it has a PIN, that pin is it (counting wrong ones
 * and locking at ENGINE_PIN_LIMIT). Returns ENGINE_OK, ENGINE_E_LOCKED or ENGINE_E_PIN.
 * Writes (inside the batch). */
int engine_retailer_authorize(struct engine *e, struct db_retailer *r, const char *pin);
/* PIN <new> / PIN <old> <new>. */
int engine_pin_change(struct engine *e, struct db_retailer *r, const char *old_pin, const char *new_pin);

/* A provider callback (the HTTP channel passes it on): settles or reverses what it names.
 * Returns the HTTP status to answer: 200, 403 (not proven to be from that provider, or
 * for another provider's transaction), 400 (no transaction named), 404 (no such
 * provider or transaction), 503 (not recorded now: the provider should call again).
 * Inside a batch; the caller answers 200 only after that batch commits (a reversal of a
 * SUCCESS is recorded nowhere else). */
int engine_provider_callback(struct engine *e, const char *provider, const struct provider_callback *cb);

/* Outside the daemon too (rechargectl): inside the caller's transaction.
 * engine_db_settle: PENDING -> SUCCESS (commission by plan and operator) or FAILED
 * (refund), with postings; 1 done, 0 not PENDING, -1 error. engine_db_reverse:
 * SUCCESS -> REVERSED with refund and commission clawback; 1, 0 not SUCCESS, -1.
 * Both fill *t as stored afterwards and *balance (the wallet). */
int engine_db_settle(struct db *db, int64_t txn, int success, int code, const char *provider,
    const char *ref, struct db_txn *t, int64_t *balance);
int engine_db_reverse(struct db *db, int64_t txn, const char *actor, struct db_txn *t, int64_t *balance);

/* One of the retailer's own transactions by its "TXN..." id: ENGINE_OK, or
 * ENGINE_E_NOT_FOUND when it does not exist or is another retailer's. */
int engine_txn_lookup(struct engine *e, const struct db_retailer *r, const char *txn_id, struct db_txn *out);

/* ---- admin SMS commands (admin.c) ---------------------------------------------------
 * REG, TOPUP, BLOCK and UNBLOCK of SPEC section 7 from a registered admin phone. Each
 * checks the admin first (locked: 1012; a wrong PIN: 1011, the ENGINE_PIN_LIMIT-th in a
 * row locks the admin and answers 1012), then the target, then writes the change and an
 * audit row (actor "sms:<admin msisdn>", no PIN) in the caller's open batch. Parse
 * errors are the channel's to answer before calling. Results are data: the channel
 * words the reply and the retailer's notice. */
struct engine_admin_result {
	int code;                     /* ENGINE_OK or an engine_code */
	const char *param;            /* 1009: the parameter named (static) */
	struct db_retailer retailer;  /* ENGINE_OK: the target afterwards (balance filled) */
	int64_t amount;               /* TOPUP: the amount credited */
};
/* Registers msisdn (any SPEC section 3 form) with plan and shop name, no PIN, wallet 0:
 * 1003 bad msisdn, 1009 "plan" unknown, 1009 "shop_name" (empty, over 80 bytes, control
 * characters), 1009 "msisdn" already a retailer or an admin. */
int engine_admin_register(struct engine *e, struct db_admin *a, const char *pin,
    const char *msisdn, const char *plan, const char *name, struct engine_admin_result *out);
/* Credits the wallet from funding: 1003, 1013 not a retailer, 1005 amount <= 0. */
int engine_admin_topup(struct engine *e, struct db_admin *a, const char *pin,
    const char *msisdn, int64_t amount, struct engine_admin_result *out);
/* Sets (block 1) or clears (block 0) the BLOCK flag only (a PIN lockout stays): 1003, 1013. */
int engine_admin_block(struct engine *e, struct db_admin *a, const char *pin,
    const char *msisdn, int block, struct engine_admin_result *out);

/* ---- recharges ------------------------------------------------------------------------ */
struct engine_recharge {
	const struct db_retailer *retailer;
	const char *channel;          /* "sms" or "api" */
	int dth;                      /* asked as DTH: target is a subscriber ID */
	const char *target;           /* 10-digit mobile, or subscriber ID */
	const char *operator_code;    /* code or alias; empty: from the number series */
	const char *circle;           /* empty: from the number series */
	int64_t amount;
	const char *request_id;       /* API idempotency key, or empty */
	const char *reply_to; int reply_ton, reply_npi;
};

struct engine_outcome {
	int code;                     /* ENGINE_OK when accepted (PENDING, hold taken) */
	const char *param;            /* 1009: the parameter named */
	struct db_txn txn;            /* accepted: as stored */
	int64_t balance;              /* wallet after the hold (or now, on 1002) */
	int64_t need;                 /* 1002: the amount */
};

/* Validates and holds; records the PENDING transaction. The provider call starts after
 * the batch commits; its result arrives through hooks->txn_cb. */
int engine_recharge_accept(struct engine *e, const struct engine_recharge *req, struct engine_outcome *out);

/* Operator a provider says: SUCCESS with a reference, FAILED, PENDING, DOWN (not taken:
 * next provider), UNKNOWN (may have been done: stays PENDING). */
enum provider_result { PROVIDER_SUCCESS, PROVIDER_FAILED, PROVIDER_PENDING, PROVIDER_DOWN, PROVIDER_UNKNOWN,
	PROVIDER_REVERSED,            /* a SUCCESS undone by the operator */
};
struct provider_answer {
	enum provider_result result;
	char ref[65];
	char message[128];
};
/* A provider's answer for txn (first answer, or a later settlement of a pending one, or
 * the answer to a status query). */
void engine_provider_answer(struct engine *e, int64_t txn, const char *provider,
    const struct provider_answer *a);
/* A provider's balance was read (ok) or could not be (ok 0). */
void engine_provider_balance(struct engine *e, const char *provider, int ok, int64_t paise);

/* ---- providers (provider.c, provider_sim.c) ----------------------------------------- */
struct provider;
struct provider_callback;
struct provider_ops {
	const char *type;
	const char *const *keys;      /* accepted keys of its config section, NULL-terminated */
	/* 1: the provider lives inside this process (sim), so what it had in hand died with
	 * the process and a PENDING recharge is submitted again after a restart. 0: it is
	 * asked for the status instead and never called twice for one recharge. */
	int in_process;
	int (*init)(struct provider *p, const struct config_provider *cfg, char **cause);
	/* Starts the call; the answer comes through engine_provider_answer, never from
	 * inside submit itself. */
	void (*submit)(struct provider *p, const struct db_txn *t);
	/* Asks for the status of a recharge it was given; the answer comes through
	 * engine_provider_answer (PROVIDER_UNKNOWN when it cannot tell). NULL: cannot. */
	void (*status)(struct provider *p, const struct db_txn *t);
	/* Reads the provider's balance; the answer comes through engine_provider_balance.
	 * NULL: no balance to read. */
	void (*balance)(struct provider *p);
	/* A callback request to /api/v1/callback/NAME (provider_callback.c describes it):
	 * fills *txn and *a, or returns the HTTP status to refuse it with (403 when it does
	 * not prove to be from this provider, 400 when it names no transaction). NULL: the
	 * type takes no callbacks. */
	int (*callback)(struct provider *p, const struct provider_callback *cb, int64_t *txn,
	    struct provider_answer *a);
	void (*free)(struct provider *p);
};

/* What an HTTP callback brought: the raw pieces, for the provider to authenticate and read. */
struct provider_callback {
	const char *method;           /* "GET" or "POST" */
	const char *query;            /* raw query string, or NULL */
	const uint8_t *body; size_t body_len;
	const char *content_type;     /* or NULL */
	const char *secret_header;    /* X-Callback-Secret, or NULL */
	const char *signature_header; /* X-Signature, or NULL */
};
/* What the engine knows of a provider's health (persisted in provider_state). */
struct provider_health {
	int failures;                 /* not taken or unknown, in a row */
	int64_t breaker_open_until;   /* ms; skipped on routes until then */
	int64_t last_ok_at;
	char last_error[128];
	int has_balance;
	int64_t balance, balance_at;
	int low_balance_alerted;
};

struct provider {
	char name[32];
	const struct provider_ops *ops;
	struct engine *engine;
	struct event_base *base;
	void *state;                  /* the type's own */
	struct provider_health health;
};
extern const struct provider_ops provider_sim_ops;

#endif
