/* tests/fuzz/rig.c: see rig.h. */
#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "tests/fuzz/rig.h"
#include "db/internal.h"

static struct rig *rig_the;

static void
rig_cleanup(void)
{
	char cmd[128];

	if (rig_the != NULL && rig_the->dir[0] != '\0') {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", rig_the->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "rig: cannot remove %s\n", rig_the->dir);
	}
}

/* The engine has one set of hooks: fanned out as daemon.c does. */
static int
rig_txn_cb(void *arg, const struct db_txn *t, enum engine_event ev, int64_t balance)
{
	struct rig *r = arg;

	if (r->sms != NULL && r->sms_hooks.txn_cb != NULL &&
	    r->sms_hooks.txn_cb(r->sms_hooks.arg, t, ev, balance) != 0)
		return -1;
	return r->api != NULL ? api_txn_event(r->api, t, ev, balance) : 0;
}

static void
rig_alert_cb(void *arg, const char *text)
{
	struct rig *r = arg;

	if (r->sms != NULL && r->sms_hooks.alert_cb != NULL)
		r->sms_hooks.alert_cb(r->sms_hooks.arg, text);
}

static void
rig_die(const char *what, const char *cause)
{
	fprintf(stderr, "rig: %s: %s\n", what, cause != NULL ? cause : "failed");
	abort();
}

void
rig_sql(struct rig *r, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(r->db->sql, sql, NULL, NULL, &err) != SQLITE_OK)
		rig_die(sql, err);
}

void
rig_turns(struct rig *r, int turns)
{
	for (int i = 0; i < turns; i++)
		event_base_loop(r->base, EVLOOP_NONBLOCK);
}

/* Directories of rigs whose process died without its atexit (a crash): removed. */
static void
rig_sweep(const char *parent)
{
	char pattern[96], cmd[160];
	glob_t g;

	snprintf(pattern, sizeof pattern, "%s/rechargd-fuzz-*-*", parent);
	if (glob(pattern, 0, NULL, &g) != 0)
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		long pid = strtol(g.gl_pathv[i] + strlen(parent) + strlen("/rechargd-fuzz-"), NULL, 10);
		if (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
			snprintf(cmd, sizeof cmd, "rm -rf '%s'", g.gl_pathv[i]);
			if (system(cmd) != 0)
				fprintf(stderr, "rig: cannot remove %s\n", g.gl_pathv[i]);
		}
	}
	globfree(&g);
}

struct rig *
rig_open(void)
{
	struct rig *r = xcalloc(1, sizeof *r);
	struct engine_hooks hooks;
	struct db_retailer ret;
	struct db_apikey k;
	char path[128], *cause = NULL;
	const char *perr = NULL;
	FILE *f;

	if (getenv("RIG_LOG") != NULL)		/* RIG_LOG=4: see what an input does */
		log_level = atoi(getenv("RIG_LOG"));
	const char *parent = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	rig_sweep(parent);
	snprintf(r->dir, sizeof r->dir, "%s/rechargd-fuzz-%ld-XXXXXX", parent, (long)getpid());
	if (mkdtemp(r->dir) == NULL)
		rig_die("mkdtemp", r->dir);
	rig_the = r;
	atexit(rig_cleanup);
	snprintf(path, sizeof path, "%s/rechargd.conf", r->dir);
	if ((f = fopen(path, "w")) == NULL)
		rig_die("fopen", path);
	fprintf(f, "[smpp]\nsystem_id = x\npassword = y\nsource_addr = 5555\n"
	    "reassembly_timeout_s = 300\n"
	    "[http]\nlisten = 127.0.0.1:1\nmax_body = 4096\nsync_wait_ms = 0\n"
	    "rate_limit_per_key = 1000000\nrate_burst = 1000000\n"
	    "[engine]\ndefault_provider = sim\n"
	    "[provider.sim]\ntype = sim\nlatency_ms = 0\n"
	    "[provider.hj]\ntype = http-json\n"
	    "recharge_url = https://p.example/rc?m=${mobile}&a=${amount}&id=${txn_id}\n"
	    "status_field = status\nsuccess_values = SUCCESS\nfailure_values = FAILED\n"
	    "pending_values = PENDING\ncallback_secret = " RIG_CALLBACK_SECRET "\n");
	fclose(f);
	if ((r->cfg = config_load(path, &cause)) == NULL)
		rig_die("config", cause);
	if ((r->db = db_open(r->cfg->db_path, 1, &cause)) == NULL)
		rig_die("db_open", cause);
	rig_sql(r, "PRAGMA synchronous = OFF");
	if (parser_init(&perr) != 0)
		rig_die("parser", perr);
	r->base = event_base_new();
	if (r->base == NULL || event_base_priority_init(r->base, 3) != 0)
		rig_die("event base", NULL);
	r->batch = batch_new(r->base, r->db);
	memset(r->pepper, 7, sizeof r->pepper);
	hooks.txn_cb = rig_txn_cb;
	hooks.alert_cb = rig_alert_cb;
	hooks.arg = r;
	if ((r->engine = engine_new(r->base, r->batch, r->cfg, r->pepper, &hooks, &cause)) == NULL)
		rig_die("engine", cause);
	r->api = api_new(r->base, r->batch, r->engine, r->cfg);

	/* the retailer, its wallet and its API key */
	memset(&ret, 0, sizeof ret);
	strcpy(ret.msisdn, RIG_MSISDN);
	strcpy(ret.name, "Fuzz Shop");
	strcpy(ret.plan, "starter");
	pin_hash(r->pepper, RIG_MSISDN, RIG_PIN, ret.pin_hash);
	if (batch_join(r->batch) != 0 || db_retailer_add(r->db, &ret) != 1)
		rig_die("retailer", db_error(r->db));
	struct db_line credit[2] = { { DB_ACCOUNT_FUNDING, -10000000000000LL },
		{ ret.wallet_account, 10000000000000LL } };
	if (db_posting_add(r->db, "credit", 0, "fuzz", NULL, credit, 2) != 1)
		rig_die("credit", db_error(r->db));
	memset(&k, 0, sizeof k);
	k.retailer_id = ret.id;
	strlcpy_safe(k.prefix, RIG_APIKEY, APIKEY_PREFIX_LEN + 1);
	apikey_hash(RIG_APIKEY, k.hash);
	if (db_apikey_add(r->db, &k) != 0)
		rig_die("apikey", db_error(r->db));
	if (batch_commit(r->batch) != 0)
		rig_die("commit", db_error(r->db));
	r->retailer_id = ret.id;
	return r;
}
