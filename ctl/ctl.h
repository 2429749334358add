/*
 * ctl/: rechargectl, the admin CLI. Each command is a row of one table (name, handler,
 * usage, help); it works on the same database as the daemon, through db/ only, and
 * writes in short transactions retried while the daemon holds the write lock.
 *
 * Exit codes: 0 ok, 1 error (message on stderr), 2 usage error (with a usage line).
 */
#ifndef RECHARGD_CTL_H
#define RECHARGD_CTL_H

#include <stdint.h>
#include <stdio.h>

#include "common/common.h"
#include "db/db.h"

enum ctl_retval { CTL_OK = 0, CTL_ERROR = 1, CTL_USAGE = 2 };

struct ctl;

struct ctl_cmd {
	const char *name;              /* "retailer add": one or two words */
	enum ctl_retval (*exec)(struct ctl *c, int argc, char **argv);   /* argv: after the name */
	const char *usage;             /* arguments after the name */
	const char *help;              /* one line */
	int flags;
#define CTL_OWN_DB 0x1                 /* the handler opens the database itself (init) */
};

struct ctl {
	const char *progname;
	const char *config_path;
	struct config *cfg;            /* owned */
	struct db *db;                 /* owned; NULL for CTL_OWN_DB until opened */
	const struct ctl_cmd *cmd;     /* the command running */
	char actor[64];                /* "cli:<unix user>", for postings and the audit */
	uint8_t pepper[PEPPER_LEN];
	int have_pepper;
};

/* ---- ctl.c: dispatch and shared helpers ---------------------------------------- */
int ctl_main(int argc, char **argv);

/* Prints "rechargectl: <why>" on stderr; returns CTL_ERROR. */
enum ctl_retval ctl_error(struct ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints why and the running command's usage line on stderr; returns CTL_USAGE. */
enum ctl_retval ctl_usage(struct ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports the last storage error; returns CTL_ERROR. */
enum ctl_retval ctl_db_error(struct ctl *c);

/* An option of a command: value (--name V or --name=V) when value is set, else a flag. */
struct ctl_opt {
	const char *name;              /* "--plan" */
	const char **value;
	int *flag;
};
/* Splits argv into options (opts, ending with a zeroed row) and between minpos and
 * maxpos positionals (into pos, in order). Returns 0, or a CTL_USAGE already printed. */
int ctl_args(struct ctl *c, int argc, char **argv, const struct ctl_opt *opts,
    char **pos, int minpos, int maxpos);

/* Opens the configured database (creating it when create is set), retrying while it
 * is locked. 0 or CTL_ERROR printed. */
int ctl_open_db(struct ctl *c, int create);
/* Runs fn inside BEGIN IMMEDIATE ... COMMIT. fn returns CTL_OK, another ctl_retval
 * (already printed; rolled back) or -1 on a storage error: when that error is
 * transient (the daemon holds the lock) the whole transaction is retried a few times.
 * fn must therefore keep its results in arg and print only after success. */
enum ctl_retval ctl_tx(struct ctl *c, int (*fn)(struct ctl *, void *), void *arg);

/* Argument parsers: each prints its own error and returns CTL_ERROR, or 0. */
int ctl_parse_msisdn(struct ctl *c, const char *text, char out[MSISDN_BUFSZ]);
int ctl_parse_amount(struct ctl *c, const char *text, int64_t *paise);   /* > 0 */
int ctl_parse_limit(struct ctl *c, const char *text, int *limit);
int ctl_parse_pin(struct ctl *c, const char *text);                      /* 4-6 digits */
/* Finds a retailer by any MSISDN form; "not found" is an error. */
int ctl_find_retailer(struct ctl *c, const char *text, struct db_retailer *r);
/* Loads the pepper file once (needed for PIN hashes). */
int ctl_load_pepper(struct ctl *c);
/* "2026-11-29T21:15:03+05:30" for a time in ms; buf >= 32. */
char *ctl_time(int64_t ms, char *buf);
/* report.c: "YYYY-MM-DD" -> epoch ms of that day's IST midnight; 0 or CTL_ERROR printed. */
int ctl_parse_day(struct ctl *c, const char *text, int64_t *start_ms);
#define CTL_DAY_MS 86400000LL
/* settle.c: one CSV field, quoted when it holds a comma, quote, line break or edge blank. */
void ctl_csv_field(FILE *f, const char *v);

/* ---- json.c: JSON text with money written by money_format, never a double ------- */
#define CTL_JSON_DEPTH 8
struct ctl_json {
	FILE *f;
	int depth;
	int count[CTL_JSON_DEPTH];     /* members written at each level */
};
void ctl_json_begin(struct ctl_json *j, FILE *f);
void ctl_json_end(struct ctl_json *j);                      /* ends the document line */
/* key is NULL inside arrays and at the top. */
void ctl_json_open(struct ctl_json *j, const char *key, char bracket);    /* '{' or '[' */
void ctl_json_close(struct ctl_json *j, char bracket);
void ctl_json_str(struct ctl_json *j, const char *key, const char *s);
void ctl_json_int(struct ctl_json *j, const char *key, int64_t v);
void ctl_json_money(struct ctl_json *j, const char *key, int64_t paise);  /* 299.00 */
void ctl_json_bool(struct ctl_json *j, const char *key, int v);
void ctl_json_null(struct ctl_json *j, const char *key);

/* ---- series.c: the number-series CSV (prefix,operator,circle with a header) ------ */
struct ctl_series_row {
	int line;
	char prefix[5];
	char operator_code[16];
	char circle[3];                /* empty: unknown */
};
/* Reads and checks path against the database's operators and circles. Bad rows are
 * reported on stderr ("FILE:LINE: why", after label) and left out. Returns 0 with
 * *rows (caller frees), *nrows and *nbad, or CTL_ERROR (printed) when the file as a
 * whole cannot be used. */
int ctl_series_read(struct ctl *c, const char *path, const char *label,
    struct ctl_series_row **rows, int *nrows, int *nbad);

/* ---- the commands (one file per noun) --------------------------------------------- */
enum ctl_retval ctl_init(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_series_import(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_check(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_audit_list(struct ctl *c, int argc, char **argv);

enum ctl_retval ctl_retailer_add(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_retailer_list(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_retailer_show(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_retailer_unlock(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_admin_add(struct ctl *c, int argc, char **argv);

enum ctl_retval ctl_retailer_disable(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_retailer_enable(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_retailer_set_plan(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_retailer_set_pin(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_retailer_set_limit(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_retailer_set_bank(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_admin_remove(struct ctl *c, int argc, char **argv);

enum ctl_retval ctl_wallet_credit(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_wallet_debit(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_wallet_show(struct ctl *c, int argc, char **argv);

enum ctl_retval ctl_operator_list(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_operator_add(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_operator_set(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_operator_disable(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_operator_enable(struct ctl *c, int argc, char **argv);

enum ctl_retval ctl_complaint_list(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_complaint_close(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_report_daily(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_settle(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_prune(struct ctl *c, int argc, char **argv);

enum ctl_retval ctl_commission_set(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_commission_list(struct ctl *c, int argc, char **argv);

enum ctl_retval ctl_txn_list(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_txn_show(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_txn_resolve(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_txn_reverse(struct ctl *c, int argc, char **argv);

enum ctl_retval ctl_route_set(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_route_list(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_provider_list(struct ctl *c, int argc, char **argv);

enum ctl_retval ctl_apikey_create(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_apikey_list(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_apikey_revoke(struct ctl *c, int argc, char **argv);

#endif
