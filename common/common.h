/*
 * common/: what every other folder needs and nothing of the business: money in
 * paise, MSISDN forms, logging, the config table, the clock and random seams.
 * No I/O beyond stderr logging and reading the config file; no SQL, no SMPP.
 */
#ifndef RECHARGD_COMMON_H
#define RECHARGD_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>

/* ---- money (money.c) ------------------------------------------------------
 * Money is int64 paise everywhere inside. Rupee text has at most two decimals and
 * no digit-group commas. */
#define MONEY_MAX_PAISE  ((int64_t)100000000000000LL)   /* Rs 1e12, far above any wallet */
#define MONEY_BUFSZ 32

enum money_parse_result {
	MONEY_OK = 0,
	MONEY_BAD = -1,       /* not a number in rupees */
	MONEY_DECIMALS = -2,  /* more than two decimals */
	MONEY_RANGE = -3,     /* above MONEY_MAX_PAISE */
};
/* "299", "299.5", "299.50" -> 29950 paise. Leading '+' and whitespace are refused. */
enum money_parse_result money_parse(const char *text, int64_t *paise);
/* Writes "299.00" (or "-5.10") into buf (MONEY_BUFSZ bytes) and returns buf. */
char *money_format(int64_t paise, char *buf);
/* Writes "299" when whole, else "299.50": the provider template form. */
char *money_format_short(int64_t paise, char *buf);
/* Percentage with up to two decimals -> basis points: "6" -> 600, "3.33" -> 333. -1 if bad. */
int32_t money_rate_parse(const char *text);
/* amount x rate, rounded down to the paisa (rate in basis points: 600 = 6.00%). */
int64_t money_commission(int64_t amount, int32_t rate_bp);

/* ---- numbers (msisdn.c) ----------------------------------------------------- */
#define MSISDN_BUFSZ 16
#define MOBILE_BUFSZ 11
/* Retailer/admin MSISDN in any form SPEC section 3 allows (+919876543210, 919876543210,
 * 09876543210, 9876543210) -> "919876543210". 0 or -1. */
int msisdn_normalize(const char *in, char out[MSISDN_BUFSZ]);
/* Recharge target: strips +91, 91 (when 12 digits) or a leading 0, then requires
 * ^[6-9][0-9]{9}$. Writes the 10 digits. 0 or -1. */
int mobile_normalize(const char *in, char out[MOBILE_BUFSZ]);
/* "919876543210" -> "9876543210" (pointer into the argument) for replies. */
const char *msisdn_local(const char *msisdn);

/* ---- logging (log.c) --------------------------------------------------------
 * To stderr, one line each, with time and level. Arguments are not evaluated when
 * the level is off. PINs and API keys are never passed to these. */
enum log_level { LOGL_ERROR = 0, LOGL_WARN, LOGL_INFO, LOGL_DEBUG, LOGL_TRACE };
extern int log_level;
void log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int log_level_parse(const char *name);   /* "info" -> LOGL_INFO, -1 if unknown */
void log_buffer(int on);                 /* on: info and below wait for log_flush */
void log_flush(void);                    /* writes the waiting lines in one write */
#define log_at(lvl, ...) do { if ((lvl) <= log_level) log_write((lvl), __VA_ARGS__); } while (0)
#define log_error(...) log_at(LOGL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_at(LOGL_WARN, __VA_ARGS__)
#define log_info(...)  log_at(LOGL_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOGL_DEBUG, __VA_ARGS__)
#define log_trace(...) log_at(LOGL_TRACE, __VA_ARGS__)
/* Start-up or broken invariant only: logs and exits 1. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- clock and randomness (clock.c): test seams ---------------------------- */
/* Wall clock in milliseconds since the epoch; tests may shift it. */
int64_t clock_now_ms(void);
int64_t clock_now_s(void);
/* The monotonic clock, for deadlines and elapsed times a wall-clock step must not move. */
int64_t clock_mono_ms(void);
int64_t clock_mono_us(void);
/* RECHARGD_CLOCK_OFFSET_S in the environment shifts the clock (tests of daily rules). */
void clock_init(void);
/* Cryptographically strong bytes (OpenSSL RAND_bytes); 0 or -1. */
int random_bytes(void *buf, size_t len);
/* Uniform in [0, n) from a fast non-crypto generator (simulations only). */
uint32_t random_below(uint32_t n);
/* "2026-11-29T21:15:03+05:30" for a UTC epoch second, in Asia/Kolkata. buf >= 32. */
char *clock_format_ist(int64_t epoch_s, char *buf);

/* ---- small helpers (util.c) -------------------------------------------------- */
void *xcalloc(size_t n, size_t size);     /* fatal on exhaustion */
char *xstrdup(const char *s);
/* Copies at most cap-1 bytes and NUL-terminates; returns strlen(src) like strlcpy. */
size_t strlcpy_safe(char *dst, const char *src, size_t cap);
/* Lowercase hex of len bytes into out (2*len+1). */
void hex_encode(const uint8_t *in, size_t len, char *out);
/* Constant-time equality of two equal-length buffers. */
int ct_equal(const void *a, const void *b, size_t len);

/* ---- config (config.c) ------------------------------------------------------
 * One table of options (section, key, type, default, range). config_load fills the
 * defaults first, then the file; an unknown section or key, or a bad value, fails
 * with a cause naming file, line and key. Provider sections are kept as key/value
 * lists for engine/ to interpret (checked against the provider type's key list). */
#define CONFIG_MAX_PROVIDERS 16
#define CONFIG_MAX_PROVIDER_KEYS 48

struct config_kv { char *key; char *value; int line; };
struct config_provider {
	char *name;
	char *type;
	int   line;
	int   nkv;
	struct config_kv kv[CONFIG_MAX_PROVIDER_KEYS];
};

struct config {
	char *file;            /* the path it was read from */
	char *db_path;
	int   db_cache_mb;     /* SQLite page cache of the daemon's connection */
	/* smpp */
	char *smpp_host; int smpp_port;
	char *system_id, *password, *system_type, *address_range;
	int   bind_tx_rx;      /* 0 transceiver, 1 transmitter + receiver */
	char *source_addr; int source_ton, source_npi;
	int   enquire_link_s, dead_link_s, reconnect_max_s;
	int   window, response_timeout_s, submit_tps;
	int   request_dlr;     /* bool */
	int   long_sms_payload;/* 0 udh, 1 message_payload */
	int   reassembly_timeout_s;
	/* http */
	char *http_listen, *tls_listen, *tls_cert, *tls_key;
	int   max_body, max_connections, idle_timeout_s;
	int   sync_wait_ms, rate_limit_per_key, rate_burst;
	/* engine */
	int   duplicate_window_s, pending_reply_s;
	int   max_inflight;    /* recharges waiting on providers before MOs are pushed back */
	int   status_poll_s, status_poll_max;
	char *default_provider;
	int   breaker_failures, breaker_cooldown_s;
	int   balance_poll_s; int64_t low_balance; int stuck_pending_s;
	/* security */
	char *pepper_file;
	/* settlement */
	int32_t tds_bp;
	/* log */
	int   log_level;
	/* providers */
	int   nproviders;
	struct config_provider providers[CONFIG_MAX_PROVIDERS];
};

/* Loads path into a new config. On error returns NULL and sets *cause (malloc'd,
 * caller frees) to "FILE:LINE: key 'K': why". Relative db_path and pepper_file are
 * resolved against the config file's folder. Caller frees with config_free. */
struct config *config_load(const char *path, char **cause);
void config_free(struct config *cfg);
/* A provider section's value for key, or NULL. */
const char *config_provider_get(const struct config_provider *p, const char *key);

/* ---- file modes (perms.c) ---------------------------------------------------
 * Secrets stay among the owner and its group. config_perms_check refuses (-1, *cause
 * malloc'd) a config holding secrets, a database (-wal, -shm), pepper or TLS key that
 * others may read or write; a config without secrets open to others gives *warning
 * (malloc'd, may be NULL) and 0. Missing files pass: whoever opens them reports it. */
int config_has_secrets(const struct config *cfg);
int config_perms_check(const struct config *cfg, char **cause, char **warning);
/* Adds o=rwx and g=w to the umask, so every file we create stays 0640 at most. */
void perms_umask_tighten(void);

/* ---- secrets (secret.c) -----------------------------------------------------
 * PINs are HMAC-SHA256(pepper, msisdn ":" pin): fast enough for the loop thread,
 * useless to whoever steals only the database. The pepper lives in its own file. */
#define PEPPER_LEN 32
#define PIN_HASH_BUFSZ 65
/* Creates the pepper file (mode 0600) with fresh random bytes unless it exists.
 * 1 created, 0 existed, -1 error with *cause. */
int pepper_create(const char *path, char **cause);
/* Reads the pepper; 0 or -1 with *cause (malloc'd). */
int pepper_load(const char *path, uint8_t pepper[PEPPER_LEN], char **cause);
/* Hex HMAC-SHA256 of msisdn ":" pin into out. */
void pin_hash(const uint8_t pepper[PEPPER_LEN], const char *msisdn, const char *pin,
    char out[PIN_HASH_BUFSZ]);
/* Constant-time comparison of a PIN against a stored hash; 1 when it matches. */
int pin_verify(const uint8_t pepper[PEPPER_LEN], const char *msisdn, const char *pin,
    const char *stored_hash);
/* A keyed 64-bit fingerprint (SipHash-2-4, OpenSSL's EVP_MAC) for texts that may hold a
 * PIN: its key is HMAC-SHA256(pepper, purpose), so the database alone cannot test PIN
 * guesses against a stored one. One context, reused: about as cheap as the copy. */
struct mac64;
struct mac64 *mac64_new(const uint8_t pepper[PEPPER_LEN], const char *purpose);   /* NULL: OpenSSL lacks it */
uint64_t mac64(struct mac64 *m, const void *data, size_t len);
void mac64_free(struct mac64 *m);                      /* NULL ok */

/* ---- API keys (apikey.c) ----------------------------------------------------
 * A key is "rk_" and 43 base64url characters of 32 random bytes (256 bits), so a plain
 * SHA-256 is enough to store it. Keys are never logged; only the hash and the first
 * APIKEY_PREFIX_LEN characters (the prefix, shown in lists) are stored. */
#define APIKEY_LEN 46                  /* "rk_" + 43 */
#define APIKEY_BUFSZ (APIKEY_LEN + 1)
#define APIKEY_PREFIX_LEN 11           /* "rk_" + 8: "rk_AbCdEfGh" */
#define APIKEY_HASH_BUFSZ 65
#define APIKEY_ALLOW_MAX 1024          /* longest allow-list apikey_ip_allowed reads */
/* Writes a fresh key into key (cap >= APIKEY_BUFSZ). 0, or -1 (cap too small, or no
 * random bytes: key is then empty). */
int apikey_generate(char *key, size_t cap);
/* Lowercase hex SHA-256 of key into out; out is empty if OpenSSL fails. */
void apikey_hash(const char *key, char out[65]);
/* 1 when ip may use a key with allow_ips: a comma list of exact IPv4/IPv6 addresses
 * (blanks around entries ignored; an IPv4-mapped IPv6 address equals its IPv4 form),
 * or empty (NULL too) for any address. Fails closed: an unparsable ip, a list longer
 * than APIKEY_ALLOW_MAX, or a list with no valid entry allows nothing. */
int apikey_ip_allowed(const char *allow_ips, const char *ip);

/* ---- metrics (metrics.c) ----------------------------------------------------
 * Prometheus text for GET /metrics. Loop thread only; increments never allocate.
 * Labelled families keep at most 64 label sets each, the rest count as "other".
 * Labels are statuses, operator codes, provider names, HTTP codes: never keys or PINs. */
enum metric_counter { METRIC_SMS_IN, METRIC_SMS_OUT, METRIC_SMS_OUT_REFUSED, METRIC_STORAGE_REFUSED,
    METRIC_COMMIT_FAILED, METRIC_CHECKPOINT_THREAD, METRIC_CHECKPOINT_INLINE, METRIC_CHECKPOINT_FAILED,
    METRIC_SMS_IN_REDELIVERED, METRIC_COUNTERS };
void metrics_inc(enum metric_counter m);
/* A settled recharge: final state ("SUCCESS", "FAILED"...), operator code, provider name. */
void metrics_recharge(const char *status, const char *operator_code, const char *provider);
void metrics_http_request(int code);
/* One provider HTTP call, elapsed milliseconds. */
void metrics_provider_latency(int64_t ms);
/* Gauges are read at scrape time: fn(arg, id). name and help must outlive the registration. */
typedef int64_t (*metrics_gauge_fn)(void *arg, int id);
int metrics_gauge_add(const char *name, const char *help, metrics_gauge_fn fn, void *arg, int id);
void metrics_gauge_clear(void);
void metrics_reset_for_test(void);
/* The whole exposition into out. */
void metrics_write(FILE *out);
/* Answers GET|HEAD (else 405) with the exposition; always 0. */
struct evhttp_request;
int metrics_serve(struct evhttp_request *req);

#endif
