/* daemon/daemon.c: start-up, the loop, signals and a graceful stop. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/event.h>

#include "channels/channels.h"
#include "common/common.h"
#include "daemon/daemon.h"
#include "db/db.h"
#include "engine/engine.h"
#include "parser/parser.h"
#include "smpp/smpp.h"

#define DAEMON_STOP_TIMEOUT_S 10

struct daemon {
	struct event_base *base;
	struct config *cfg;
	int verbosity;
	struct db *db;
	struct db_checkpointer *ckpt;      /* the WAL checkpoint's thread; NULL: SQLite's, inline */
	struct batch *batch;
	struct engine *engine;
	struct sms_channel *sms;
	struct engine_hooks sms_hooks;     /* the SMS channel's; daemon_txn_cb fans out */
	struct api *api;
	struct http_channel *http;
	struct smpp_session *session;
	struct event *sig_term, *sig_int, *sig_hup, *stop_timer;
	int stopping;
};

static void
daemon_usage(FILE *f)
{
	fprintf(f, "usage: rechargd -c FILE [-v]...\n"
	    "  -c FILE   configuration file (INI, see rechargd.conf(5))\n"
	    "  -v        more detail in the log (repeat for more)\n"
	    "  -V        print the version\n");
}

/* Provider calls and HTTP clients each take a descriptor. */
static void
daemon_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_warn("cannot raise the descriptor limit");
	}
}

static void
daemon_session_config(const struct config *cfg, struct smpp_session_config *s)
{
	memset(s, 0, sizeof *s);
	s->host = cfg->smpp_host;
	s->port = cfg->smpp_port;
	s->system_id = cfg->system_id;
	s->password = cfg->password;
	s->system_type = cfg->system_type;
	s->address_range = cfg->address_range;
	s->bind_tx_rx = cfg->bind_tx_rx;
	s->source_addr = cfg->source_addr;
	s->source_ton = (uint8_t)cfg->source_ton;
	s->source_npi = (uint8_t)cfg->source_npi;
	s->enquire_link_s = cfg->enquire_link_s;
	s->dead_link_s = cfg->dead_link_s;
	s->reconnect_max_s = cfg->reconnect_max_s;
	s->window = cfg->window;
	s->response_timeout_s = cfg->response_timeout_s;
	s->submit_tps = cfg->submit_tps;
	s->request_dlr = cfg->request_dlr;
	s->long_sms_payload = cfg->long_sms_payload;
}

static void
daemon_stopped(void *arg)
{
	struct daemon *d = arg;

	batch_commit(d->batch);
	event_base_loopexit(d->base, NULL);
}

static void
daemon_stop_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	log_warn("stop took longer than %d s: leaving now", DAEMON_STOP_TIMEOUT_S);
	daemon_stopped(d);
}

/* SIGTERM/SIGINT: unbind, let outstanding answers arrive, commit, leave. A second
 * signal leaves at once (unsent replies stay in the outbox either way). */
static void
daemon_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = { DAEMON_STOP_TIMEOUT_S, 0 };

	if (d->stopping) {
		log_warn("second signal: stopping now");
		daemon_stopped(d);
		return;
	}
	d->stopping = 1;
	log_info("signal %d: stopping", (int)sig);
	d->stop_timer = evtimer_new(d->base, daemon_stop_timeout_cb, d);
	evtimer_add(d->stop_timer, &tv);
	smpp_session_stop(d->session, daemon_stopped, d);
}

/* SIGHUP: providers, limits and the log level from the file again. A bad file is
 * logged and the running config kept. SMPP and database settings need a restart. */
static void
daemon_reload_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	char *cause = NULL, *warning = NULL;
	struct config *fresh = config_load(d->cfg->file, &cause);

	if (fresh == NULL) {
		log_error("reload refused: %s", cause ? cause : "cannot read config");
		free(cause);
		return;
	}
	if (config_perms_check(fresh, &cause, &warning) != 0) {
		log_error("reload refused: %s", cause ? cause : "unsafe file modes");
		free(cause);
		config_free(fresh);
		return;
	}
	if (warning != NULL)
		log_warn("%s", warning);
	free(warning);
	if (engine_reload(d->engine, fresh, &cause) != 0) {
		log_error("reload refused: %s", cause ? cause : "bad provider section");
		free(cause);
		config_free(fresh);
		return;
	}
	sms_channel_set_config(d->sms, fresh);
	http_channel_set_engine(d->http, d->engine, fresh);
	config_free(d->cfg);
	d->cfg = fresh;
	log_level = fresh->log_level + d->verbosity > LOGL_TRACE ? LOGL_TRACE : fresh->log_level + d->verbosity;
	log_info("configuration reloaded from %s", fresh->file);
}

/* The engine has one set of hooks: each channel answers for its own transactions. */
static int
daemon_txn_cb(void *arg, const struct db_txn *t, enum engine_event ev, int64_t balance)
{
	struct daemon *d = arg;

	if (d->sms_hooks.txn_cb != NULL && d->sms_hooks.txn_cb(d->sms_hooks.arg, t, ev, balance) != 0)
		return -1;
	return d->api != NULL ? api_txn_event(d->api, t, ev, balance) : 0;
}

/* Alerts go to the admins by SMS. */
static void
daemon_alert_cb(void *arg, const char *text)
{
	struct daemon *d = arg;

	if (d->sms_hooks.alert_cb != NULL)
		d->sms_hooks.alert_cb(d->sms_hooks.arg, text);
}

/* What a crash left: stored MOs not processed, recharges not settled. */
static int
daemon_recover(struct daemon *d)
{
	if (batch_join(d->batch) != 0)
		return -1;
	/* resume first: the recharges recovered MOs start are dispatched after this commit */
	if (engine_resume(d->engine) != 0 || sms_channel_recover(d->sms) != 0) {
		log_error("recovery failed: %s", db_error(d->db));
		return -1;
	}
	return batch_commit(d->batch);
}

/* Gauges for GET /metrics, read at scrape time (the engine changes on a reload). */
static int64_t
daemon_gauge_cb(void *arg, int id)
{
	struct daemon *d = arg;

	switch (id) {
	case 0: return d->engine != NULL ? engine_inflight(d->engine) : 0;
	case 1: return d->sms != NULL ? sms_channel_backlog(d->sms) - sms_channel_mo_waiting(d->sms) : 0;
	case 2: return d->sms != NULL ? sms_channel_mo_waiting(d->sms) : 0;
	case 4: return d->batch != NULL && batch_degraded(d->batch);
	case 5: case 6: {
		struct db_checkpoint_stats st;
		db_checkpointer_stats(d->ckpt, &st);
		return id == 5 ? st.wal_frames : st.inline_max_us;
	}
	default: return d->session != NULL && smpp_session_is_bound(d->session);
	}
}

static void
daemon_free(struct daemon *d)
{
	metrics_gauge_clear();
	engine_flush_kept(d->engine);      /* joins the batch committed just below */
	/* what the last loop turn left open is committed while everyone it calls back
	 * still exists (a callback may open one more batch: commit that too) */
	for (int i = 0; d->batch != NULL && i < 8 && batch_is_open(d->batch); i++)
		batch_commit(d->batch);
	api_free(d->api);                  /* answers what it holds while evhttp still can */
	http_channel_free(d->http);
	smpp_session_free(d->session);
	sms_channel_free(d->sms);
	engine_free(d->engine);
	batch_free(d->batch);
	db_checkpointer_stop(d->ckpt);     /* joins the thread; the checkpoint at close is SQLite's */
	db_close(d->db);
	if (d->sig_term) event_free(d->sig_term);
	if (d->sig_int) event_free(d->sig_int);
	if (d->sig_hup) event_free(d->sig_hup);
	if (d->stop_timer) event_free(d->stop_timer);
	if (d->base) event_base_free(d->base);
	config_free(d->cfg);
	parser_free();
}

int
daemon_main(int argc, char **argv)
{
	struct daemon d = { 0 };
	const char *cfgpath = NULL, *perr = NULL;
	char *cause = NULL, *warning = NULL;
	uint8_t pepper[PEPPER_LEN];
	struct engine_hooks hooks;
	struct smpp_session_callbacks cbs;
	struct smpp_session_config scfg;
	int ch, rc = 1;

	while ((ch = getopt(argc, argv, "c:vVh")) != -1) {
		switch (ch) {
		case 'c': cfgpath = optarg; break;
		case 'v': d.verbosity++; break;
		case 'V': printf("rechargd %s\n", RECHARGD_VERSION); return 0;
		case 'h': daemon_usage(stdout); return 0;
		default: daemon_usage(stderr); return 2;
		}
	}
	if (cfgpath == NULL || optind != argc) {
		daemon_usage(stderr);
		return 2;
	}
	clock_init();
	perms_umask_tighten();
	if ((d.cfg = config_load(cfgpath, &cause)) == NULL) {
		fprintf(stderr, "rechargd: %s\n", cause ? cause : "cannot load config");
		free(cause);
		return 2;
	}
	if (config_perms_check(d.cfg, &cause, &warning) != 0) {
		fprintf(stderr, "rechargd: %s\n", cause ? cause : "unsafe file modes");
		free(cause);
		config_free(d.cfg);
		return 2;
	}
	if (warning != NULL)
		fprintf(stderr, "rechargd: warning: %s\n", warning);
	free(warning);
	if (http_tls_check(d.cfg, &cause) != 0) {
		fprintf(stderr, "rechargd: %s\n", cause ? cause : "bad TLS settings");
		free(cause);
		config_free(d.cfg);
		return 2;
	}
	log_level = d.cfg->log_level + d.verbosity > LOGL_TRACE ? LOGL_TRACE : d.cfg->log_level + d.verbosity;
	signal(SIGPIPE, SIG_IGN);
	/* a file size limit (ulimit -f) must fail the write (EFBIG: SQLITE_FULL, storage
	 * degraded) rather than kill the ledger mid-commit */
	signal(SIGXFSZ, SIG_IGN);
	daemon_raise_nofile();
	if (pepper_load(d.cfg->pepper_file, pepper, &cause) != 0)
		goto fail;
	if ((d.db = db_open(d.cfg->db_path, 0, &cause)) == NULL)
		goto fail;
	if (db_cache_set(d.db, d.cfg->db_cache_mb) != 0) {
		log_error("%s: cache_mb: %s", d.cfg->db_path, db_error(d.db));
		goto out;
	}
	db_refcache_enable(d.db);
	/* the loop never copies the WAL into the database file itself, but at its limit */
	if ((d.ckpt = db_checkpointer_start(d.db, d.cfg->db_path, 0, &cause)) == NULL) {
		log_warn("WAL checkpoints stay on the loop: %s", cause ? cause : "no checkpoint thread");
		free(cause);
		cause = NULL;
	}
	if (parser_init(&perr) != 0) {
		log_error("parser: %s", perr);
		goto out;
	}
	d.base = event_base_new();
	if (d.base == NULL || event_base_priority_init(d.base, 3) != 0) {
		log_error("cannot create the event loop");
		goto out;
	}
	d.batch = batch_new(d.base, d.db);
	d.sms = sms_channel_new(d.base, d.batch, NULL, d.cfg);
	sms_channel_engine_hooks(d.sms, &d.sms_hooks);
	hooks.txn_cb = daemon_txn_cb;
	hooks.alert_cb = daemon_alert_cb;
	hooks.arg = &d;
	if ((d.engine = engine_new(d.base, d.batch, d.cfg, pepper, &hooks, &cause)) == NULL) {
		fprintf(stderr, "rechargd: %s\n", cause ? cause : "bad provider section");
		free(cause);
		daemon_free(&d);
		return 2;
	}
	sms_channel_set_engine(d.sms, d.engine);
	d.api = api_new(d.base, d.batch, d.engine, d.cfg);
	if (daemon_recover(&d) != 0)
		goto out;
	daemon_session_config(d.cfg, &scfg);
	sms_channel_session_callbacks(d.sms, &cbs);
	d.session = smpp_session_new(d.base, &scfg, &cbs);
	sms_channel_attach(d.sms, d.session);
	if ((d.http = http_channel_new(d.base, d.batch, d.engine, d.cfg, &cause)) == NULL)
		goto fail;
	http_channel_set_session(d.http, d.session);
	http_channel_set_api(d.http, d.api);
	metrics_gauge_add("rechargd_engine_inflight", "Recharges waiting on a provider.", daemon_gauge_cb, &d, 0);
	metrics_gauge_add("rechargd_sms_outbox_inflight", "SMS replies submitted, not yet answered by the SMSC.",
	    daemon_gauge_cb, &d, 1);
	metrics_gauge_add("rechargd_deliver_sm_waiting", "deliver_sm waiting for their answer (commit).",
	    daemon_gauge_cb, &d, 2);
	metrics_gauge_add("rechargd_smpp_bound", "1 when bound to the SMSC.", daemon_gauge_cb, &d, 3);
	metrics_gauge_add("rechargd_storage_degraded", "1 while the database takes no writes (disk full, "
	    "read-only, I/O error): new work is refused until a probe write succeeds.", daemon_gauge_cb, &d, 4);
	metrics_gauge_add("rechargd_db_wal_frames", "Pages in the WAL file after the last commit (checkpointed "
	    "in the background; bounded at 4000 plus one batch).", daemon_gauge_cb, &d, 5);
	metrics_gauge_add("rechargd_db_checkpoint_loop_max_us", "The longest WAL checkpoint the loop ran itself "
	    "(at the WAL's limit) since start, in microseconds.", daemon_gauge_cb, &d, 6);

	d.sig_term = evsignal_new(d.base, SIGTERM, daemon_stop_cb, &d);
	d.sig_int = evsignal_new(d.base, SIGINT, daemon_stop_cb, &d);
	d.sig_hup = evsignal_new(d.base, SIGHUP, daemon_reload_cb, &d);
	event_add(d.sig_term, NULL);
	event_add(d.sig_int, NULL);
	event_add(d.sig_hup, NULL);

	log_info("rechargd %s started: database %s, SMSC %s:%d", RECHARGD_VERSION, d.cfg->db_path,
	    d.cfg->smpp_host, d.cfg->smpp_port);
	/* one loop turn at a time, so the turn's log lines go out in one write */
	log_buffer(1);
	while (event_base_loop(d.base, EVLOOP_ONCE) == 0 && !event_base_got_exit(d.base) &&
	    !event_base_got_break(d.base))
		log_flush();
	log_buffer(0);
	log_info("rechargd stopped");
	rc = 0;
	goto out;
fail:
	log_error("%s", cause ? cause : "start-up failed");
	free(cause);
out:
	daemon_free(&d);
	return rc;
}
