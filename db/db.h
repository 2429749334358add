/*
 * db/: the only place with SQL. SQLite in WAL mode with synchronous=FULL, foreign keys,
 * CHECK constraints, a busy timeout; schema by numbered migrations (PRAGMA user_version);
 * every statement prepared once and cached.
 *
 * Return convention: plumbing returns 0 or -1; lookups return 1 (found), 0 (not found)
 * or -1 (storage error; db_error() says why). Records are plain structs the caller
 * owns; strings in them are fixed-size, NUL-terminated copies.
 */
#ifndef RECHARGD_DB_H
#define RECHARGD_DB_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct event_base;

/* ---- opening, migrations, transactions (db.c) ---------------------------------- */
/* Opens (creating when create is set) and migrates to the latest schema.
 * Returns NULL with *cause (malloc'd) on failure. */
struct db *db_open(const char *path, int create, char **cause);
void db_close(struct db *db);                 /* NULL ok */
/* the page cache of this connection in MB (SQLite's default is 2): 0 or -1 */
int db_cache_set(struct db *db, int mb);
/* Answers reference lookups (operators, series, plans, commissions, routes, circles) from
 * memory until a table may have changed (db/refcache.c); the daemon's connection only. */
void db_refcache_enable(struct db *db);
const char *db_error(struct db *db);          /* last error text, static until next call */
int db_schema_version(struct db *db);
/* 1 when SQLite rolled the open transaction back by itself (disk full, I/O error, out
 * of memory): nothing more may join it; its commit reports failure. */
int db_aborted(struct db *db);

/* What a failed call means for the store (db_fault_class is pure; the unit tests use it):
 * BUSY another writer holds the lock (wait a moment), STORAGE the disk is full,
 * read-only or failing (nothing can be written until an operator acts; probe),
 * OTHER a bug or a constraint (this request only). */
enum db_fault { DB_FAULT_NONE, DB_FAULT_BUSY, DB_FAULT_STORAGE, DB_FAULT_OTHER };
enum db_fault db_fault_class(int sqlite_rc);
enum db_fault db_last_fault(struct db *db);   /* of the last failure recorded */
/* Milliseconds until the next storage probe after failures failed ones (1, 2, ...):
 * doubling from DB_PROBE_MIN_MS, never above DB_PROBE_MAX_MS. Pure. */
#define DB_PROBE_MIN_MS 250
#define DB_PROBE_MAX_MS 4000
int db_probe_delay_ms(int failures);
/* A real write (the schema version written again, one page through the WAL, fsync'd)
 * in its own transaction: 0 when the store takes writes again, -1 (db_error says why). */
int db_probe_write(struct db *db);

/* The first storage fault (disk full, read-only, I/O error) a statement of the open
 * transaction met, even one its savepoint rolled back: its message, or NULL. */
const char *db_tx_storage_fault(struct db *db);

int db_begin(struct db *db);                  /* BEGIN IMMEDIATE */
int db_commit(struct db *db);
void db_rollback(struct db *db);
int db_in_transaction(struct db *db);
/* Savepoints isolate one message inside a batch. */
int db_savepoint(struct db *db);
int db_release(struct db *db);
void db_rollback_to(struct db *db);

/* ---- WAL checkpoints off the loop (checkpoint.c) ----------------------------------
 * rechargd only (rechargectl keeps SQLite's automatic checkpoint): a thread with its own
 * connection to path runs PASSIVE checkpoints, woken by db's WAL hook every threshold
 * frames (0: 1000, SQLite's wal_autocheckpoint); db's connection checkpoints no more by
 * itself. At 4 x threshold frames the loop runs one PASSIVE checkpoint itself once the
 * thread is idle (it copies what the thread has not yet), so the WAL restarts and stays
 * bounded under continuous writes. Returns NULL with *cause (malloc'd) when there can be
 * no thread (SQLite built single-threaded, no second connection): db is left as it was.
 * Stop it before db_close; the checkpoint at close is SQLite's. The thread's failures
 * (busy, I/O) are counted and logged by the loop (a line a minute), never fatal. */
struct db_checkpointer;
struct db_checkpointer *db_checkpointer_start(struct db *db, const char *path, int threshold,
    char **cause);
void db_checkpointer_stop(struct db_checkpointer *c);   /* joins the thread; NULL ok */
struct db_checkpoint_stats {
	uint64_t thread, thread_busy, thread_errors;   /* the thread's checkpoints */
	uint64_t inline_done;          /* on the loop, at the limit */
	int64_t inline_max_us;         /* the longest of those */
	int wal_frames, wal_frames_max;   /* in the WAL after the last commit; the most seen */
};
void db_checkpointer_stats(struct db_checkpointer *c, struct db_checkpoint_stats *out);  /* NULL: zeros */

/* ---- the unit of work (batch.c) ------------------------------------------------------
 * Group commit: everything that joins during one loop turn is committed in one
 * transaction by a lowest-priority event, so durability costs one fsync per turn. Work
 * whose effect must wait for durability (answering deliver_sm, calling a provider,
 * sending a reply) is deferred to after the commit. The event base must have been given
 * 3 priorities (event_base_priority_init); the commit runs at priority 2. */
struct batch;
typedef void batch_done_cb(void *arg, int committed);
struct batch *batch_new(struct event_base *base, struct db *db);
void batch_free(struct batch *b);                 /* commits what is open; NULL ok */
/* Opens the transaction if none is open. 0, or -1 when storage is unavailable. */
int batch_join(struct batch *b);
/* Runs cb(arg, committed) once the open transaction ends. */
void batch_defer(struct batch *b, batch_done_cb *cb, void *arg);
/* Commits now (shutdown, tests). 0 or -1. */
int batch_commit(struct batch *b);
/* 1 while a transaction is open. */
int batch_is_open(const struct batch *b);
/* Storage degraded: a commit (or BEGIN) failed because the disk is full, read-only or
 * failing. Until a probe write succeeds (bounded backoff, a timer) batch_join refuses at
 * once without touching SQLite; "degraded" and "resumed" are logged once each. */
int batch_degraded(const struct batch *b);
/* Probes now rather than on the timer (a graceful stop): 0 when not, or no longer,
 * degraded; -1 when the store still refuses writes. */
int batch_probe_now(struct batch *b);
/* Joins refused while degraded, and commits that failed, since start. */
uint64_t batch_refused_count(const struct batch *b);
uint64_t batch_failed_commits(const struct batch *b);
struct db *batch_db(struct batch *b);

/* ---- reference data (refdata.c) --------------------------------------------------- */
struct db_operator {
	char code[16];
	char service[16];              /* MOBILE, DTH, ... */
	int64_t min_amount, max_amount;
	char denominations[256];       /* comma list of paise, or empty */
	char subscriber_pattern[96];   /* PCRE2 for DTH subscriber IDs, or empty */
	int enabled;
};
/* Resolves a code or alias, case-insensitively. */
int db_operator_find(struct db *db, const char *code_or_alias, struct db_operator *out);
int db_plan_exists(struct db *db, const char *plan);
/* 1 when plan includes service. */
int db_plan_has_service(struct db *db, const char *plan, const char *service);
int db_circle_exists(struct db *db, const char *circle);
/* Commission rate in basis points for (plan, operator); 0 when none is set. -1 error. */
int32_t db_commission_rate(struct db *db, const char *plan, const char *operator_code);
int db_commission_set(struct db *db, const char *plan, const char *operator_code, int32_t rate_bp);
/* Operator and circle of a 10-digit mobile's 4-digit series; 1, 0, -1. */
int db_series_find(struct db *db, const char *mobile, char operator_code[16], char circle[3]);
/* Stores one series row; replace 0 keeps an existing one. 1 written, 0 kept, -1. */
int db_series_put(struct db *db, const char *prefix, const char *operator_code, const char *circle,
    int replace);
/* Providers for an operator in order, comma-separated, into out; 1, 0 (no route), -1. */
int db_route_get(struct db *db, const char *operator_code, char *out, size_t cap);
int db_route_set(struct db *db, const char *operator_code, const char *providers);

/* ---- accounts and the ledger (ledger.c) ----------------------------------------------
 * A posting is the unit of money movement: its lines sum to zero and are applied with
 * the account balances in the same statement group. A wallet never goes below zero:
 * the balance change is a conditional update, so a line that would overdraw makes
 * db_posting_add return 0 and the caller rolls back. */
enum db_system_account {
	DB_ACCOUNT_FUNDING = 1,        /* admin credits come from here (cash received) */
	DB_ACCOUNT_IN_FLIGHT = 2,      /* holds of PENDING recharges */
	DB_ACCOUNT_PROVIDER = 3,       /* paid out to providers for SUCCESS recharges */
	DB_ACCOUNT_COMMISSION = 4,     /* commission expense */
};
struct db_line { int64_t account; int64_t amount; };
#define DB_POSTING_MAX_LINES 6
/* Inserts a posting (kind: "credit", "hold", "success", "refund", "commission", ...)
 * with n lines. Returns 1, 0 (a wallet would go below zero), -1 (error). */
int db_posting_add(struct db *db, const char *kind, int64_t txn, const char *actor,
    const char *note, const struct db_line *lines, int n);
int db_account_balance(struct db *db, int64_t account, int64_t *balance);

/* ---- retailers and admins (party.c) -------------------------------------------------- */
struct db_retailer {
	int64_t id;
	char msisdn[16];
	char name[81];
	char plan[16];
	int64_t wallet_account, commission_account;
	char pin_hash[65];             /* hex HMAC-SHA256, or empty: no PIN */
	int pin_failures;
	int locked, blocked, disabled;
	int64_t daily_limit;           /* paise, 0: none */
	char bank_account[40], bank_ifsc[16];
	int64_t balance, commission;   /* filled by lookups: wallet and unsettled commission */
	int64_t created_at;
};
int db_retailer_find(struct db *db, const char *msisdn, struct db_retailer *out);
int db_retailer_get(struct db *db, int64_t id, struct db_retailer *out);
/* Creates the retailer and its two accounts; sets r->id. 1, 0 (exists), -1. */
int db_retailer_add(struct db *db, struct db_retailer *r);
/* Calls cb for each retailer in msisdn order. */
int db_retailer_each(struct db *db, void (*cb)(void *, const struct db_retailer *), void *arg);
int db_retailer_set_pin(struct db *db, int64_t id, const char *pin_hash);
/* Counts a wrong PIN; locks at limit. Returns the new failure count, -1 on error. */
int db_retailer_pin_failed(struct db *db, int64_t id, int limit);
int db_retailer_pin_ok(struct db *db, int64_t id);   /* resets the failure count */
int db_retailer_set_flag(struct db *db, int64_t id, const char *flag, int value); /* locked|blocked|disabled */

struct db_admin {
	int64_t id;
	char msisdn[16];
	char pin_hash[65];
	int pin_failures, locked;
};
int db_admin_find(struct db *db, const char *msisdn, struct db_admin *out);
int db_admin_add(struct db *db, const char *msisdn, const char *pin_hash);  /* 1, 0 exists, -1 */
/* Calls cb with each admin's MSISDN (alerts go to all of them). */
int db_admin_each(struct db *db, void (*cb)(void *, const char *msisdn), void *arg);

/* ---- provider health (provider_state) ------------------------------------------------- */
struct db_provider_state {
	char name[32];
	int failures;                  /* in a row */
	int64_t breaker_open_until;    /* ms; 0: closed */
	int64_t last_ok_at;            /* ms, 0: never */
	char last_error[128];
	int has_balance;
	int64_t balance, balance_at;
	int low_balance_alerted;
	int64_t updated_at;
};
int db_provider_state_put(struct db *db, const struct db_provider_state *p);
int db_provider_state_get(struct db *db, const char *name, struct db_provider_state *out);
int db_provider_state_each(struct db *db, void (*cb)(void *, const struct db_provider_state *), void *arg);

/* ---- transactions (txn.c) ------------------------------------------------------------ */
#define DB_STATE_PENDING  "PENDING"
#define DB_STATE_SUCCESS  "SUCCESS"
#define DB_STATE_FAILED   "FAILED"
#define DB_STATE_REVERSED "REVERSED"

struct db_txn {
	int64_t id;                    /* shown as TXN%09lld */
	int64_t retailer_id;
	char channel[4];               /* "sms" or "api" */
	char request_id[65];
	char service[16];
	char operator_code[16];
	char target[24];
	char circle[3];
	int64_t amount, commission;
	char state[10];
	int error_code;
	char provider[32];
	char operator_ref[65];
	char reply_to[24];             /* SMS: where replies go */
	int reply_ton, reply_npi;
	char notified[10];             /* SMS: last state the retailer was told of */
	int64_t created_at, updated_at, final_at;   /* ms */
};
/* "TXN000000123" from an id; buf >= 24. */
char *db_txn_format_id(int64_t id, char *buf);
/* "TXN000000123" -> 123; -1 if malformed. */
int64_t db_txn_parse_id(const char *text);
int db_txn_insert(struct db *db, struct db_txn *t);            /* sets t->id */
int db_txn_get(struct db *db, int64_t id, struct db_txn *out);
int db_txn_by_request(struct db *db, int64_t retailer, const char *request_id, struct db_txn *out);
/* 1 when the transaction exists and is no longer PENDING, 0 when PENDING or absent
 * (reads the state only). */
int db_txn_settled(struct db *db, int64_t id);
/* Moves a PENDING transaction to state; 1 when it was PENDING, 0 when not. t, when not
 * NULL, is the row as read in this transaction: on 1 it is brought to what was written
 * (no SELECT after the UPDATE). */
int db_txn_finish(struct db *db, int64_t id, const char *state, int error_code,
    const char *provider, const char *operator_ref, int64_t commission, struct db_txn *t);
int db_txn_set_provider(struct db *db, int64_t id, const char *provider);
/* SUCCESS -> REVERSED; 1 when it was SUCCESS, 0 when not. */
int db_txn_reverse(struct db *db, int64_t id);
/* 1 when a PENDING transaction older than before_ms was not alerted on yet (a read). */
int db_txn_any_stuck(struct db *db, int64_t before_ms);
/* PENDING transactions older than before_ms not yet alerted on; marks them. cb per txn. */
int db_txn_each_stuck(struct db *db, int64_t before_ms, void (*cb)(void *, const struct db_txn *), void *arg);
int db_txn_set_notified(struct db *db, int64_t id, const char *state);
/* 1 when the same retailer has the same target/operator/amount PENDING, or SUCCESS
 * since since_ms. */
int db_txn_duplicate(struct db *db, int64_t retailer, const char *target,
    const char *operator_code, int64_t amount, int64_t since_ms);
/* Sum of amounts of non-FAILED recharges since since_ms. */
int db_txn_sum_since(struct db *db, int64_t retailer, int64_t since_ms, int64_t *sum);
/* The retailer's latest transactions, newest first; returns how many (<= n) or -1. */
int db_txn_latest(struct db *db, int64_t retailer, struct db_txn *out, int n);
/* Calls cb for each PENDING transaction (restart, polling, reply sweeps). */
int db_txn_each_pending(struct db *db, void (*cb)(void *, const struct db_txn *), void *arg);
/* Calls cb for PENDING SMS transactions created before before_ms whose retailer was
 * told nothing yet (at most 1000 a call). */
int db_txn_each_unnotified(struct db *db, int64_t before_ms, void (*cb)(void *, const struct db_txn *), void *arg);
/* Calls cb for each transaction, newest first, at most limit (0: all). */
int db_txn_each(struct db *db, int64_t retailer, int limit,
    void (*cb)(void *, const struct db_txn *), void *arg);

/* ---- SMS inbox and outbox (sms.c) ---------------------------------------------------- */
#define DB_SMS_TEXT_MAX 4096
struct db_sms_in {
	int64_t id;
	char source_addr[24];
	int source_ton, source_npi;
	char dest_addr[24];
	int data_coding;
	char text[DB_SMS_TEXT_MAX];
	int64_t received_at;
	uint64_t fp;                   /* keyed fingerprint as received; 0 none (redelivery.c) */
};
int db_sms_in_add(struct db *db, struct db_sms_in *m);          /* sets m->id; stores m->fp */
/* The last n processed MOs with a fingerprint, newest first (at most the last n rows
 * are read; text is not read). 0 or -1. */
int db_sms_in_each_recent(struct db *db, int n, void (*cb)(void *, const struct db_sms_in *),
    void *arg);
/* Marks an MO processed (txn 0: none); text, when not NULL, replaces the stored text
 * (the same text with its PINs masked, so same length: overwritten in place); fp, when
 * not 0, is stored as its fingerprint (given to db_sms_in_add, the row keeps its size). */
int db_sms_in_done(struct db *db, int64_t id, int64_t txn, const char *text, uint64_t fp);
/* Unprocessed messages, oldest first, at most n; returns the count or -1. */
int db_sms_in_pending(struct db *db, struct db_sms_in *out, int n);

struct db_sms_out {
	int64_t id;
	char dest_addr[24];
	int dest_ton, dest_npi;
	char text[1024];
	int attempts;
};
int64_t db_sms_out_add(struct db *db, const char *dest, int ton, int npi, const char *text,
    int64_t sms_in, int64_t txn);                               /* id, or -1 */
/* Outbox lanes: answers (to an MO just received) are handed to the SMSC before bulk
 * notifications; db_sms_out_add queues bulk. */
enum { DB_LANE_ANSWER = 0, DB_LANE_BULK = 1 };
/* Queues an answer; in the bulk lane instead while the same recipient has bulk rows
 * queued, so one recipient's replies leave in the order they were queued. Id or -1. */
int64_t db_sms_out_answer(struct db *db, const char *dest, int ton, int npi, const char *text,
    int64_t sms_in, int64_t txn);
/* Queued replies of one lane with id > after, oldest first, at most n; count or -1. */
int db_sms_out_queued(struct db *db, int lane, int64_t after, struct db_sms_out *out, int n);
int db_sms_out_sent(struct db *db, int64_t id, const char *message_id);
int db_sms_out_failed(struct db *db, int64_t id, const char *error);
int db_sms_out_attempt(struct db *db, int64_t id);
/* Records a delivery receipt's state on the row with that message id, trying its hex
 * and decimal spellings; 1 matched, 0 not, -1 error. */
int db_sms_out_dlr(struct db *db, const char *message_id, const char *stat);
/* Long MOs: stores one part (a redelivered part is ignored). Returns how many parts of
 * that message are now stored, or -1. */
int db_sms_part_add(struct db *db, const char *source, int ref, int total, int seq, int data_coding,
    const uint8_t *body, size_t len);
/* Concatenates the parts in order into out (cap bytes) and deletes them. Returns the
 * length, or -1 (error, or over cap). */
int db_sms_part_take(struct db *db, const char *source, int ref, int total, uint8_t *out, size_t cap);
/* Deletes parts older than before_ms; calls cb for each message dropped. Count or -1. */
int db_sms_part_expire(struct db *db, int64_t before_ms,
    void (*cb)(void *, const char *source, int ref, int have, int total), void *arg);
/* 1 when msisdn has not been told "not registered" on day (YYYY-MM-DD); records it. */
int db_unregistered_claim(struct db *db, const char *msisdn, const char *day);

/* ---- API keys (apikey.c) ------------------------------------------------------------
 * A key is shown once at creation; only its SHA-256 (hex) is stored. Lookups go by that
 * hash; the caller still compares it in constant time and checks revoked_at and the
 * allow-list. */
struct db_apikey {
	int64_t id;
	int64_t retailer_id;
	char prefix[16];               /* the key's first characters, to tell keys apart in lists */
	char hash[65];                 /* hex SHA-256 of the whole key */
	char allow_ips[256];           /* comma-separated addresses; empty: any */
	int64_t created_at, revoked_at;   /* ms; revoked_at 0: live */
};
int db_apikey_add(struct db *db, struct db_apikey *k);                      /* sets k->id */
int db_apikey_find(struct db *db, const char *hash, struct db_apikey *out);  /* 1, 0, -1 */
/* Revokes the key with this id or prefix; 1 done, 0 none live, -1. */
int db_apikey_revoke(struct db *db, const char *id_or_prefix);
/* Keys of a retailer (0: all), newest first. */
int db_apikey_each(struct db *db, int64_t retailer, void (*cb)(void *, const struct db_apikey *), void *arg);

/* ---- complaints (complaint.c) ------------------------------------------------------- */
/* Records a complaint on txn; returns its number, or -1. */
int64_t db_complaint_add(struct db *db, int64_t retailer, int64_t txn, const char *text);

/* ---- integrity (check.c) ---------------------------------------------------------- */
/* Verifies every ledger invariant of SPEC section 5; calls report for each violation.
 * Returns the number of violations, or -1 on error. */
int db_check(struct db *db, void (*report)(void *, const char *), void *arg);

/* ---- admin (admin.c) ---------------------------------------------------------------
 * Queries of the admin CLI. Callbacks of the *_each functions run while the statement
 * is active: they must not use the db. */
/* Records an admin action (who, what, on what, before and after as text). */
int db_audit_add(struct db *db, const char *actor, const char *action, const char *subject,
    const char *before, const char *after);
struct db_audit {
	int64_t id, at;                /* at: ms */
	char actor[64], action[32], subject[64];
	char before[256], after[256];
};
/* Newest first, at most limit (0: all). */
int db_audit_each(struct db *db, int limit, void (*cb)(void *, const struct db_audit *), void *arg);

struct db_commission { char plan[16]; char operator_code[16]; int32_t rate_bp; };
/* Every (plan, operator) rate, by plan then service then operator. */
int db_commission_each(struct db *db, void (*cb)(void *, const struct db_commission *), void *arg);

/* An operator with its route (providers empty: none set, [engine] default_provider). */
struct db_route {
	char operator_code[16];
	char service[16];
	int enabled;
	char providers[256];
};
/* Every operator, routed or not, by service then code. */
int db_route_each(struct db *db, void (*cb)(void *, const struct db_route *), void *arg);

/* One ledger line with its posting. */
struct db_entry {
	int64_t posting, txn, at;      /* txn 0: none; at: ms */
	char kind[16], actor[64], note[128];
	int64_t account;
	char account_name[48];
	int64_t amount;
	int64_t balance;               /* account balance after this line (history only) */
};
/* The account's lines, newest first, at most limit (0: all), with running balances.
 * owner: the retailer whose transactions post to the account (its wallet or commission
 * account), 0 for a system account (then every transaction is looked at). */
int db_account_history(struct db *db, int64_t account, int64_t owner, int limit,
    void (*cb)(void *, const struct db_entry *), void *arg);
/* Every line of every posting of a transaction, oldest first. */
int db_txn_entries(struct db *db, int64_t txn, void (*cb)(void *, const struct db_entry *), void *arg);
int db_series_count(struct db *db, int64_t *n);
/* Retailers and admins with a PIN hash: they depend on the pepper file. */
int db_pin_hash_count(struct db *db, int64_t *n);

/* Admin phones (admin_sms.c). Wrong admin PINs are counted like a retailer's: returns
 * the new failure count and locks at limit (-1 on error); a right one resets the count;
 * unlock clears both (rechargectl admin unlock). */
int db_admin_pin_failed(struct db *db, int64_t id, int limit);
int db_admin_pin_ok(struct db *db, int64_t id);
int db_admin_unlock(struct db *db, int64_t id);
/* Every admin in msisdn order (pin_hash filled; never to be printed). */
int db_admin_list(struct db *db, void (*cb)(void *, const struct db_admin *), void *arg);

/* ---- operations (ops.c) --------------------------------------------------------------
 * Edits and reports of the admin CLI beyond admin.c; the caller writes the audit row in
 * the same transaction. Callbacks of the *_each functions run while the statement is
 * active: they must not use the db. */
int db_retailer_set_plan(struct db *db, int64_t id, const char *plan);
int db_retailer_set_limit(struct db *db, int64_t id, int64_t paise);    /* 0: no limit */
int db_retailer_set_bank(struct db *db, int64_t id, const char *account, const char *ifsc);
/* 1 removed, 0 no such admin, -1. */
int db_admin_remove(struct db *db, const char *msisdn);

/* Every operator by service then code, with its aliases as a comma list. */
int db_operator_each(struct db *db, void (*cb)(void *, const struct db_operator *, const char *aliases),
    void *arg);
/* Codes and aliases share one namespace. 1 added, 0 name taken, -1. */
int db_operator_add(struct db *db, const struct db_operator *op);
int db_operator_alias_add(struct db *db, const char *alias, const char *code);
/* Writes min, max, denominations, pattern and enabled of op->code. 1, 0 (none), -1. */
int db_operator_update(struct db *db, const struct db_operator *op);

struct db_complaint {
	int64_t id, retailer_id, txn_id;
	char msisdn[16];               /* the retailer's */
	char text[256], state[8], note[256];   /* state: "open" or "closed" */
	int64_t created_at, closed_at; /* ms; closed_at 0: open */
};
int db_complaint_get(struct db *db, int64_t id, struct db_complaint *out);    /* 1, 0, -1 */
/* Newest first; open_only leaves closed ones out. */
int db_complaint_each(struct db *db, int open_only, void (*cb)(void *, const struct db_complaint *),
    void *arg);
/* 1 closed now, 0 not open (or none), -1. */
int db_complaint_close(struct db *db, int64_t id, const char *note);

/* Deletes SMS rows older than before_ms that are done with: inbox rows processed, outbox
 * rows sent or failed; never one of a PENDING transaction, never an inbox row a kept
 * reply points at. Counts into *n_in and *n_out. 0 or -1. */
int db_sms_prune(struct db *db, int64_t before_ms, int64_t *n_in, int64_t *n_out);
/* The rows db_sms_prune would delete now, every column, sms_out rows first, then
 * sms_in, each by id: cb gets the table, the column count, the column names and the
 * values as text (NULL for SQL NULL; valid during the call) and returns 0 to go on.
 * Run it in the same transaction as the delete. 0, 1 when cb stopped, or -1. */
typedef int (*db_sms_row_cb)(void *arg, const char *table, int ncol, const char *const *names,
    const char *const *values);
int db_sms_prune_each(struct db *db, int64_t before_ms, db_sms_row_cb cb, void *arg);

/* Transactions created in [from_ms, to_ms): one "total" row, then rows grouped by
 * "state", "operator", "provider" ("-": none yet) and "retailer" (msisdn), in that
 * order, keys sorted. */
struct db_report_row {
	char group[12];
	char key[40];
	int64_t count, amount, commission;   /* amounts in paise */
};
int db_report_each(struct db *db, int64_t from_ms, int64_t to_ms,
    void (*cb)(void *, const struct db_report_row *), void *arg);

/* ---- commission settlement (settle.c) ------------------------------------------------
 * rechargectl settle --date D (SPEC 5). A run settles, per retailer, every commission and
 * clawback posting on the retailer's commission account not settled before that is due by
 * the end of D (IST): a commission by its transaction's final_at, a clawback by when it was
 * posted; so what became final after an earlier run goes into the next batch. Each posting
 * joins one batch only (settlement_items' primary key). gross = those postings' sum plus
 * the gross of the retailer's previous batch when that one was not paid (<= 0, carried).
 * A batch with gross > 0 is paid: TDS = gross x tds_bp / 10000 rounded half up to the
 * paisa, net = gross - TDS, and one "settlement" posting {commission -gross, payout +net,
 * tds +TDS}. A batch with gross <= 0 moves nothing; its gross is carried. The caller
 * holds the transaction and writes the audit row. */
struct db_settle_batch {
	int64_t id;
	char date[11];
	int64_t retailer_id;
	char msisdn[16], name[81], bank_account[40], bank_ifsc[16];
	int64_t count;                 /* commission and clawback postings in it */
	int64_t gross, tds, net;       /* paise; tds = net = 0 when gross <= 0 */
	int64_t carried_from;          /* the unpaid batch whose gross it took over; 0: none */
	int64_t posting_id;            /* 0: not paid (carried forward) */
	int64_t created_at;
};
/* TDS of a positive gross, half up to the paisa; 0 for gross <= 0. */
int64_t db_settle_tds(int64_t gross, int32_t tds_bp);
/* The latest settled date into out ("" when none). 0 or -1. */
int db_settle_last_date(struct db *db, char out[11]);
/* 1 when date was settled (with when and how many batches), 0 not, -1. */
int db_settle_run_get(struct db *db, const char *date, int64_t *created_at, int64_t *batches);
/* Settles date (its IST day ends at end_ms); the run is recorded even with no batch.
 * Returns the number of batches made, or -1. */
int db_settle_run(struct db *db, const char *date, int64_t end_ms, int32_t tds_bp, const char *actor);
/* The batches of date in id order, paid and carried. */
int db_settle_each(struct db *db, const char *date, void (*cb)(void *, const struct db_settle_batch *),
    void *arg);

#endif
