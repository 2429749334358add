/* ctl/ctl.c: the command table, global options, dispatch and the helpers every
 * command shares (argument parsing, errors, retried transactions). */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"

/* A transaction that meets the daemon's write lock is retried this often. */
#define CTL_TX_ATTEMPTS 10
#define CTL_TX_BACKOFF_MS 100

/* ctl/admin.c (declared here until ctl.h's command list takes them) */
enum ctl_retval ctl_admin_list(struct ctl *c, int argc, char **argv);
enum ctl_retval ctl_admin_unlock(struct ctl *c, int argc, char **argv);

static const struct ctl_cmd ctl_cmds[] = {
	{ "init", ctl_init, "[--series FILE]",
	  "create the database and the pepper file, import the number series (safe to rerun)", CTL_OWN_DB },
	{ "retailer add", ctl_retailer_add, "MSISDN --name NAME [--plan PLAN] [--pin PIN]",
	  "register a retailer (plan starter unless given)", 0 },
	{ "retailer list", ctl_retailer_list, "[--json]", "list retailers with balances", 0 },
	{ "retailer show", ctl_retailer_show, "MSISDN [--json]", "show one retailer", 0 },
	{ "retailer unlock", ctl_retailer_unlock, "MSISDN", "clear a PIN lockout", 0 },
	{ "retailer disable", ctl_retailer_disable, "MSISDN", "refuse the retailer's requests", 0 },
	{ "retailer enable", ctl_retailer_enable, "MSISDN", "accept the retailer's requests again", 0 },
	{ "retailer set-plan", ctl_retailer_set_plan, "MSISDN PLAN", "move a retailer to another plan", 0 },
	{ "retailer set-pin", ctl_retailer_set_pin, "MSISDN PIN",
	  "set a retailer's PIN (4 to 6 digits); clears wrong attempts", 0 },
	{ "retailer set-limit", ctl_retailer_set_limit, "MSISDN AMOUNT",
	  "set the daily recharge limit in rupees (0 removes it)", 0 },
	{ "retailer set-bank", ctl_retailer_set_bank, "MSISDN --account A --ifsc I",
	  "set the bank account (6 to 18 digits) and IFSC settlement pays into", 0 },
	{ "admin add", ctl_admin_add, "MSISDN --pin PIN", "register an admin phone", 0 },
	{ "admin remove", ctl_admin_remove, "MSISDN", "remove an admin phone", 0 },
	{ "admin list", ctl_admin_list, "[--json]", "list admin phones with their lock state", 0 },
	{ "admin unlock", ctl_admin_unlock, "MSISDN", "clear an admin's PIN lockout (SMS admin commands)", 0 },
	{ "wallet credit", ctl_wallet_credit, "MSISDN AMOUNT [--note TEXT]",
	  "credit a wallet after an offline payment; prints the new balance", 0 },
	{ "wallet debit", ctl_wallet_debit, "MSISDN AMOUNT [--note TEXT]",
	  "take money out of a wallet (never below zero); prints the new balance", 0 },
	{ "wallet show", ctl_wallet_show, "MSISDN [--limit N] [--json]",
	  "show a wallet's balance and latest ledger entries", 0 },
	{ "apikey create", ctl_apikey_create, "MSISDN [--allow-ip IP]...",
	  "create an API key (printed once, alone on the last line); --allow-ip repeats", 0 },
	{ "apikey list", ctl_apikey_list, "[MSISDN] [--json]",
	  "list API keys, newest first (prefixes only, never keys or hashes)", 0 },
	{ "apikey revoke", ctl_apikey_revoke, "ID|PREFIX", "revoke a live API key by id or prefix", 0 },
	{ "operator list", ctl_operator_list, "[--json]", "list operators with limits, denominations and aliases", 0 },
	{ "operator add", ctl_operator_add,
	  "CODE --service S --min AMOUNT --max AMOUNT [--denominations A,B,...] [--pattern REGEX] [--alias X]...",
	  "add an operator (service MOBILE, DTH, POSTPAID, ELECTRICITY, GIFTCARD or FASTAG)", 0 },
	{ "operator set", ctl_operator_set,
	  "CODE [--min AMOUNT] [--max AMOUNT] [--denominations A,B,...] [--pattern REGEX]",
	  "change an operator's limits, denominations (\"\" for any) or subscriber pattern", 0 },
	{ "operator disable", ctl_operator_disable, "CODE", "refuse recharges for an operator", 0 },
	{ "operator enable", ctl_operator_enable, "CODE", "accept recharges for an operator again", 0 },
	{ "commission set", ctl_commission_set, "PLAN OPERATOR PERCENT",
	  "set the commission rate of a plan for an operator (or alias)", 0 },
	{ "commission list", ctl_commission_list, "[--json]", "list commission rates", 0 },
	{ "series import", ctl_series_import, "FILE",
	  "import number series from a CSV (prefix,operator,circle)", 0 },
	{ "route set", ctl_route_set, "OPERATOR PROVIDER[,PROVIDER...]",
	  "route an operator (or alias) to providers in order; the next recharge uses it", 0 },
	{ "route list", ctl_route_list, "[--json]", "list every operator's route", 0 },
	{ "provider list", ctl_provider_list, "[--json]",
	  "list configured providers with health, breaker and balance", 0 },
	{ "txn list", ctl_txn_list, "[--retailer MSISDN] [--limit N] [--json]",
	  "list transactions, newest first", 0 },
	{ "txn show", ctl_txn_show, "TXN [--json]", "show a transaction and its ledger entries", 0 },
	{ "txn resolve", ctl_txn_resolve, "TXN success|failed [--ref REF]",
	  "settle a PENDING transaction by hand; an SMS recharge's retailer is told", 0 },
	{ "txn reverse", ctl_txn_reverse, "TXN [--note TEXT]",
	  "reverse a SUCCESS: refund and commission clawback; the retailer is told", 0 },
	{ "complaint list", ctl_complaint_list, "[--open] [--json]", "list complaints, newest first", 0 },
	{ "complaint close", ctl_complaint_close, "ID --note TEXT",
	  "close a complaint; the note is sent to the retailer by SMS", 0 },
	{ "report daily", ctl_report_daily, "--date YYYY-MM-DD [--json]",
	  "counts and sums of a day's transactions (IST) by state, operator, provider, retailer", 0 },
	{ "settle", ctl_settle, "--date YYYY-MM-DD [--out FILE.csv]",
	  "settle a day's commission (IST) into one batch per retailer, TDS withheld; CSV of payouts", 0 },
	{ "prune", ctl_prune, "--before YYYY-MM-DD [--archive FILE]",
	  "archive (CSV, 0600) then delete SMS rows older than the date that are done with"
	  " (never ledger rows)", 0 },
	{ "audit list", ctl_audit_list, "[--limit N] [--json]", "list admin actions, newest first", 0 },
	{ "check", ctl_check, "", "verify every ledger invariant (exit 0 only when all hold)", 0 },
};
#define CTL_NCMDS (sizeof ctl_cmds / sizeof ctl_cmds[0])

static const char ctl_progname[] = "rechargectl";

/* The single place error text reaches stderr. */
static void
ctl_vprint(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", ctl_progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* Business errors: exit 1 with the reason on stderr. */
enum ctl_retval
ctl_error(struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_vprint(fmt, ap);
	va_end(ap);
	return CTL_ERROR;
}

/* Usage errors: exit 2 with the command's usage line, so the fix is on screen. */
enum ctl_retval
ctl_usage(struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_vprint(fmt, ap);
	va_end(ap);
	if (c != NULL && c->cmd != NULL)
		fprintf(stderr, "usage: %s -c FILE %s%s%s\n", ctl_progname, c->cmd->name,
		    c->cmd->usage[0] ? " " : "", c->cmd->usage);
	return CTL_USAGE;
}

/* Storage errors carry SQLite's own text: the operator needs it verbatim. */
enum ctl_retval
ctl_db_error(struct ctl *c)
{
	if (db_last_fault(c->db) == DB_FAULT_STORAGE)
		return ctl_error(c, "database: %s (the disk is full, read-only or failing: nothing was "
		    "changed; free space or fix the mount, then run the command again)", db_error(c->db));
	return ctl_error(c, "database: %s", db_error(c->db));
}

/* Options first by exact name; "--name=value" is accepted too. */
int
ctl_args(struct ctl *c, int argc, char **argv, const struct ctl_opt *opts,
    char **pos, int minpos, int maxpos)
{
	int npos = 0, options_done = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (options_done || strncmp(a, "--", 2) != 0) {
			if (npos == maxpos)
				return ctl_usage(c, "unexpected argument '%s'", a);
			pos[npos++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			options_done = 1;
			continue;
		}
		const char *eq = strchr(a, '=');
		size_t n = eq ? (size_t)(eq - a) : strlen(a);
		const struct ctl_opt *o;
		for (o = opts; o != NULL && o->name != NULL; o++)
			if (strlen(o->name) == n && strncmp(o->name, a, n) == 0)
				break;
		if (o == NULL || o->name == NULL)
			return ctl_usage(c, "unknown option '%.*s'", (int)n, a);
		if (o->value == NULL) {
			if (eq != NULL)
				return ctl_usage(c, "option '%s' takes no value", o->name);
			*o->flag = 1;
			continue;
		}
		if (*o->value != NULL)
			return ctl_usage(c, "option '%s' given twice", o->name);
		if (eq != NULL)
			*o->value = eq + 1;
		else if (i + 1 < argc)
			*o->value = argv[++i];
		else
			return ctl_usage(c, "option '%s' needs a value", o->name);
	}
	if (npos < minpos)
		return ctl_usage(c, "missing argument%s", minpos - npos > 1 ? "s" : "");
	return 0;
}

/* Sleeps a little longer each attempt: the daemon's transactions are short. */
static void
ctl_backoff(int attempt)
{
	int ms = CTL_TX_BACKOFF_MS * (attempt + 1);
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* 1 when the folder holding path is on a read-only filesystem (EROFS). */
static int
ctl_db_dir_readonly(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	strlcpy_safe(dir, path, sizeof dir);
	if ((slash = strrchr(dir, '/')) == NULL)
		strlcpy_safe(dir, ".", sizeof dir);
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	return access(dir, W_OK) != 0 && errno == EROFS;
}

/* Opening may meet the daemon mid-checkpoint: wait a little, as ctl_tx does. */
int
ctl_open_db(struct ctl *c, int create)
{
	char *cause = NULL;

	for (int attempt = 0; attempt < CTL_TX_ATTEMPTS; attempt++) {
		free(cause);
		cause = NULL;
		if ((c->db = db_open(c->cfg->db_path, create, &cause)) != NULL)
			return 0;
		/* only a locked database is worth waiting for */
		if (cause == NULL || (strstr(cause, "locked") == NULL && strstr(cause, "busy") == NULL))
			break;
		ctl_backoff(attempt);
	}
	if (!create && access(c->cfg->db_path, F_OK) != 0)
		ctl_error(c, "%s: no database (run rechargectl init)", c->cfg->db_path);
	else if (ctl_db_dir_readonly(c->cfg->db_path))
		ctl_error(c, "%s (the database's filesystem is read-only: SQLite needs to write its -wal "
		    "and -shm files next to it; remount it read-write)", cause ? cause : "cannot open the database");
	else
		ctl_error(c, "%s", cause ? cause : "cannot open the database");
	free(cause);
	return CTL_ERROR;
}

/* Short transactions retried whole, so the CLI never blocks the daemon for long. */
enum ctl_retval
ctl_tx(struct ctl *c, int (*fn)(struct ctl *, void *), void *arg)
{
	for (int attempt = 0; attempt < CTL_TX_ATTEMPTS; attempt++) {
		if (attempt > 0)
			ctl_backoff(attempt - 1);
		/* only a lock held by the daemon is worth waiting for: a full or read-only
		 * disk does not change in a second */
		if (db_begin(c->db) != 0) {
			if (db_last_fault(c->db) == DB_FAULT_BUSY)
				continue;
			return ctl_db_error(c);
		}
		int rc = fn(c, arg);
		if (rc > 0) {
			db_rollback(c->db);
			return (enum ctl_retval)rc;
		}
		if (rc == 0 && db_commit(c->db) == 0)
			return CTL_OK;
		db_rollback(c->db);
		if (db_last_fault(c->db) != DB_FAULT_BUSY)
			return ctl_db_error(c);
	}
	return ctl_error(c, "database busy, gave up after %d attempts: %s", CTL_TX_ATTEMPTS,
	    db_error(c->db));
}

/* Every MSISDN form of SPEC section 3 is accepted; the message lists them. */
int
ctl_parse_msisdn(struct ctl *c, const char *text, char out[MSISDN_BUFSZ])
{
	if (msisdn_normalize(text, out) != 0)
		return ctl_error(c, "invalid msisdn '%s' (use 9876543210, 09876543210, 919876543210"
		    " or +919876543210)", text);
	return 0;
}

/* Money enters as rupee text only through money_parse (no floats, no commas). */
int
ctl_parse_amount(struct ctl *c, const char *text, int64_t *paise)
{
	switch (money_parse(text, paise)) {
	case MONEY_OK:
		if (*paise > 0)
			return 0;
		return ctl_error(c, "invalid amount '%s': must be above zero", text);
	case MONEY_DECIMALS:
		return ctl_error(c, "invalid amount '%s': at most two decimals", text);
	case MONEY_RANGE:
		return ctl_error(c, "invalid amount '%s': too large", text);
	case MONEY_BAD:
		break;
	}
	return ctl_error(c, "invalid amount '%s' (rupees like 500, 500.5 or 500.50; no commas)", text);
}

/* List sizes: positive and bounded, so a typo cannot dump a whole table. */
int
ctl_parse_limit(struct ctl *c, const char *text, int *limit)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < 1 || v > 1000000)
		return ctl_error(c, "invalid limit '%s' (1 to 1000000)", text);
	*limit = (int)v;
	return 0;
}

/* The PIN format the SMS channel accepts, checked before hashing. */
int
ctl_parse_pin(struct ctl *c, const char *text)
{
	size_t n = strlen(text);

	if (n < 4 || n > 6 || strspn(text, "0123456789") != n)
		return ctl_error(c, "invalid PIN: 4 to 6 digits");
	return 0;
}

/* Most commands start from a retailer; one lookup, one "not found" text. */
int
ctl_find_retailer(struct ctl *c, const char *text, struct db_retailer *r)
{
	char msisdn[MSISDN_BUFSZ];

	if (ctl_parse_msisdn(c, text, msisdn) != 0)
		return CTL_ERROR;
	switch (db_retailer_find(c->db, msisdn, r)) {
	case 1:
		return 0;
	case 0:
		return ctl_error(c, "retailer %s not found", msisdn);
	}
	return ctl_db_error(c);
}

/* PIN hashes need the pepper; read it only when a command sets a PIN. */
int
ctl_load_pepper(struct ctl *c)
{
	char *cause = NULL;

	if (c->have_pepper)
		return 0;
	if (pepper_load(c->cfg->pepper_file, c->pepper, &cause) != 0) {
		ctl_error(c, "%s", cause ? cause : "cannot read the pepper file");
		free(cause);
		return CTL_ERROR;
	}
	c->have_pepper = 1;
	return 0;
}

/* Retailers and support staff think in IST, not UTC epochs. */
char *
ctl_time(int64_t ms, char *buf)
{
	if (ms <= 0) {
		strcpy(buf, "-");
		return buf;
	}
	return clock_format_ist(ms / 1000, buf);
}

/* Who the audit and the postings name: the unix account running the CLI. */
static void
ctl_set_actor(struct ctl *c)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw != NULL && pw->pw_name != NULL)
		snprintf(c->actor, sizeof c->actor, "cli:%s", pw->pw_name);
	else
		snprintf(c->actor, sizeof c->actor, "cli:uid%ld", (long)getuid());
}

/* The usage line of one command, for help and errors. */
static void
ctl_print_cmd(FILE *f, const struct ctl_cmd *cmd, int with_help)
{
	char line[160];

	snprintf(line, sizeof line, "%s%s%s", cmd->name, cmd->usage[0] ? " " : "", cmd->usage);
	if (with_help)
		fprintf(f, "  %-58s %s\n", line, cmd->help);
	else
		fprintf(f, "  %s -c FILE %s\n", ctl_progname, line);
}

/* Every command, or those of one noun. */
static void
ctl_print_help(FILE *f, const char *noun)
{
	size_t n = noun ? strlen(noun) : 0;

	fprintf(f, "usage: %s -c FILE COMMAND [ARGS]\n\n"
	    "MSISDNs: 9876543210, 09876543210, 919876543210 or +919876543210.\n"
	    "Amounts: rupees with at most two decimals (500, 500.5, 500.50), no commas.\n"
	    "Exit status: 0 ok, 1 error, 2 usage error.\n\ncommands:\n", ctl_progname);
	for (size_t i = 0; i < CTL_NCMDS; i++)
		if (noun == NULL || (strncmp(ctl_cmds[i].name, noun, n) == 0 &&
		    (ctl_cmds[i].name[n] == '\0' || ctl_cmds[i].name[n] == ' ')))
			ctl_print_cmd(f, &ctl_cmds[i], 1);
}

/* Matches "noun verb" or a one-word command; sets *nwords. */
static const struct ctl_cmd *
ctl_cmd_find(int argc, char **argv, int *nwords)
{
	char two[64];

	if (argc >= 2) {
		snprintf(two, sizeof two, "%s %s", argv[0], argv[1]);
		for (size_t i = 0; i < CTL_NCMDS; i++)
			if (strcmp(ctl_cmds[i].name, two) == 0) {
				*nwords = 2;
				return &ctl_cmds[i];
			}
	}
	for (size_t i = 0; i < CTL_NCMDS; i++)
		if (strcmp(ctl_cmds[i].name, argv[0]) == 0) {
			*nwords = 1;
			return &ctl_cmds[i];
		}
	return NULL;
}

/* 1 when some command starts with "word ". */
static int
ctl_is_noun(const char *word)
{
	size_t n = strlen(word);

	for (size_t i = 0; i < CTL_NCMDS; i++)
		if (strncmp(ctl_cmds[i].name, word, n) == 0 && ctl_cmds[i].name[n] == ' ')
			return 1;
	return 0;
}

/* Reports an unknown command with the usages of its noun, if it has one. */
static int
ctl_unknown(int argc, char **argv)
{
	if (ctl_is_noun(argv[0])) {
		size_t n = strlen(argv[0]);
		if (argc > 1)
			fprintf(stderr, "%s: unknown %s command '%s'\nusage:\n", ctl_progname, argv[0], argv[1]);
		else
			fprintf(stderr, "%s: missing %s command\nusage:\n", ctl_progname, argv[0]);
		for (size_t i = 0; i < CTL_NCMDS; i++)
			if (strncmp(ctl_cmds[i].name, argv[0], n) == 0 && ctl_cmds[i].name[n] == ' ')
				ctl_print_cmd(stderr, &ctl_cmds[i], 0);
	} else {
		fprintf(stderr, "%s: unknown command '%s' (try %s help)\n", ctl_progname, argv[0],
		    ctl_progname);
	}
	return CTL_USAGE;
}

/* 1 when argv asks for help before any "--". */
static int
ctl_wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

/* Global options, then the command table; config and db opened once for the command. */
int
ctl_main(int argc, char **argv)
{
	struct ctl ctl = { .progname = ctl_progname };
	struct ctl *c = &ctl;
	char *cause = NULL, *warning = NULL;
	int i, nwords, rc;

	clock_init();
	log_level = LOGL_WARN;
	/* under a file size limit a write fails (EFBIG: an error message) instead of
	 * killing the command mid-transaction */
	signal(SIGXFSZ, SIG_IGN);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			if (++i == argc) {
				fprintf(stderr, "%s: option '%s' needs a value\n", ctl_progname, a);
				return CTL_USAGE;
			}
			c->config_path = argv[i];
		} else if (strncmp(a, "--config=", 9) == 0) {
			c->config_path = a + 9;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			ctl_print_help(stdout, NULL);
			return CTL_OK;
		} else {
			fprintf(stderr, "%s: unknown option '%s'\n", ctl_progname, a);
			fprintf(stderr, "usage: %s -c FILE COMMAND [ARGS] (see %s help)\n", ctl_progname, ctl_progname);
			return CTL_USAGE;
		}
	}
	if (i == argc) {
		fprintf(stderr, "usage: %s -c FILE COMMAND [ARGS] (see %s help)\n", ctl_progname, ctl_progname);
		return CTL_USAGE;
	}
	if (strcmp(argv[i], "help") == 0) {
		if (i + 1 < argc && !ctl_is_noun(argv[i + 1]) && ctl_cmd_find(1, argv + i + 1, &nwords) == NULL)
			return ctl_unknown(argc - i - 1, argv + i + 1);
		ctl_print_help(stdout, i + 1 < argc ? argv[i + 1] : NULL);
		return CTL_OK;
	}
	if ((c->cmd = ctl_cmd_find(argc - i, argv + i, &nwords)) == NULL)
		return ctl_unknown(argc - i, argv + i);
	argc -= i + nwords;
	argv += i + nwords;
	if (ctl_wants_help(argc, argv)) {
		printf("usage: %s -c FILE %s%s%s\n%s\n", ctl_progname, c->cmd->name,
		    c->cmd->usage[0] ? " " : "", c->cmd->usage, c->cmd->help);
		return CTL_OK;
	}
	if (c->config_path == NULL)
		return ctl_usage(c, "the config file is required (-c FILE)");

	if ((c->cfg = config_load(c->config_path, &cause)) == NULL) {
		ctl_error(c, "%s", cause ? cause : "cannot load the config");
		free(cause);
		return CTL_ERROR;
	}
	if (config_perms_check(c->cfg, &cause, &warning) != 0) {
		ctl_error(c, "%s", cause ? cause : "unsafe file modes");
		free(cause);
		config_free(c->cfg);
		return CTL_USAGE;
	}
	if (warning != NULL)
		fprintf(stderr, "%s: warning: %s\n", ctl_progname, warning);
	free(warning);
	/* what we create (database, pepper, exports, backups) stays 0640 at most */
	perms_umask_tighten();
	log_level = c->cfg->log_level < LOGL_WARN ? c->cfg->log_level : LOGL_WARN;
	ctl_set_actor(c);
	rc = CTL_ERROR;
	if ((c->cmd->flags & CTL_OWN_DB) || ctl_open_db(c, 0) == 0)
		rc = c->cmd->exec(c, argc, argv);
	db_close(c->db);
	config_free(c->cfg);
	explicit_bzero(c->pepper, sizeof c->pepper);
	if (fflush(stdout) != 0 && rc == CTL_OK)
		rc = ctl_error(c, "stdout: %s", strerror(errno));
	return rc;
}
