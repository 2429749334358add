/* channels/sms.c: SMS in, SMS out. An MO is stored and processed in the open batch;
 * deliver_sm is answered ESME_ROK only after that batch commits. Replies go to the
 * durable outbox and are pumped into the SMPP session after commit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "channels/internal.h"

/* ---- inbound: store, process, answer after commit ------------------------------------ */

static void
sms_tickets_answer_cb(void *arg, int committed)
{
	struct sms_channel *c = arg;
	int n = c->ntickets, lost = 0;
	int64_t now = clock_mono_ms();

	c->ntickets = 0;
	c->tickets_deferred = 0;
	for (int i = 0; i < n; i++) {
		/* counted and remembered once durable: a rolled-back batch received nothing */
		if (committed) {
			metrics_inc(METRIC_SMS_IN);
			if (c->ticket_fp[i] != 0)
				sms_redelivery_remember(&c->redelivery, c->ticket_fp[i], c->ticket_id[i], now);
		}
		if (smpp_session_mo_answer(c->session, c->tickets[i], committed ? ESME_ROK : ESME_RX_T_APPN) != 0 &&
		    committed && c->ticket_fp[i] != 0)
			lost = 1;
	}
	/* their connection went while they waited for the commit: the SMSC sends them again */
	if (lost)
		sms_redelivery_arm(&c->redelivery, now, now + SMS_REDELIVERY_KEEP_S * 1000, now);
	if (!committed && n > 0)
		log_warn("commit failed: %d deliver_sm answered ESME_RX_T_APPN (the SMSC redelivers)", n);
	sms_pump(c);
}

/* Stores and processes one MO inside a savepoint of the batch; 0 or -1. */
static int
sms_store_and_process(struct sms_channel *c, struct db_sms_in *m)
{
	struct db *db = batch_db(c->batch);
	char reply[1024];
	int64_t txn;

	if (db_savepoint(db) != 0)
		return -1;
	if (db_sms_in_add(db, m) != 0)
		goto fail;
	if ((txn = sms_channel_handle(c, m, reply, sizeof reply)) < 0)
		goto fail;
	if (reply[0] != '\0' &&
	    db_sms_out_answer(db, m->source_addr, m->source_ton, m->source_npi, reply, m->id, txn) < 0)
		goto fail;
	sms_text_redact(m->text);
	/* the fingerprint went in with the row (db_sms_in_add) */
	if (db_sms_in_done(db, m->id, txn, m->text, 0) != 0 || db_release(db) != 0)
		goto fail;
	return 0;
fail:
	log_error("cannot store MO from %s: %s", m->source_addr, db_error(db));
	db_rollback_to(db);
	return -1;
}

/* Copies text, cutting at a character boundary when it does not fit. */
static void
sms_copy_utf8(char *dst, size_t cap, const char *src, size_t len)
{
	size_t n = len < cap - 1 ? len : cap - 1;

	while (n > 0 && n < len && ((unsigned char)src[n] & 0xC0) == 0x80)
		n--;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* One part of a long MO stored; when it completes the message, the whole is decoded
 * into m->text. Returns 1 complete, 0 stored and waiting for more, -1 error. */
static int
sms_part_store(struct sms_channel *c, const struct smpp_mo *mo, struct db_sms_in *m)
{
	struct db *db = batch_db(c->batch);
	static uint8_t whole[SMS_LONG_MO_MAX];
	static char text[3 * SMS_LONG_MO_MAX + 1];
	int n, len;

	if (mo->part_total > SMS_LONG_MO_PARTS) {
		log_warn("long MO from %s in %u parts: more than %d, dropped", mo->source_addr,
		    mo->part_total, SMS_LONG_MO_PARTS);
		return 0;      /* answered, so the SMSC does not send it for ever */
	}
	n = db_sms_part_add(db, mo->source_addr, mo->part_ref, mo->part_total, mo->part_seq,
	    mo->data_coding, mo->part, mo->part_len);
	if (n < 0)
		return -1;
	if (n < mo->part_total)
		return 0;
	len = db_sms_part_take(db, mo->source_addr, mo->part_ref, mo->part_total, whole, sizeof whole);
	if (len < 0) {
		log_warn("long MO from %s (ref %u): %s, dropped", mo->source_addr, mo->part_ref, db_error(db));
		return 0;
	}
	n = smpp_text_decode(mo->data_coding, whole, (size_t)len, text, sizeof text);
	sms_copy_utf8(m->text, sizeof m->text, text, n > 0 ? (size_t)n : 0);
	return 1;
}

/* 1 when MO m (as received, its fingerprint in m->fp) equals a suspect of redelivery.c
 * and changes something: the SMSC's second delivery of one already processed, to be
 * acknowledged only. Its answer now may be lost too: it is remembered again. The parse
 * comes last: after a drop every MO is looked up for 300 s, and only copies are parsed
 * (a question's suspect is spent on it, which changes nothing). */
static int
sms_redelivered(struct sms_channel *c, const struct db_sms_in *m)
{
	int64_t id, now = c->last_mo_at;

	if (m->fp == 0 || (id = sms_redelivery_match(&c->redelivery, m->fp, now)) == 0 ||
	    !sms_text_changes_state(m->text))
		return 0;
	sms_redelivery_remember(&c->redelivery, m->fp, id, now);
	metrics_inc(METRIC_SMS_IN_REDELIVERED);
	log_info("MO from %s is the SMSC's second delivery of message %lld (its answer was lost "
	    "with the link or the last process): acknowledged, not processed again",
	    m->source_addr, (long long)id);
	return 1;
}

/* The key comes with the engine (its pepper); without one nothing is recognised. */
static uint64_t
sms_fingerprint(struct sms_channel *c, const struct db_sms_in *m)
{
	return c->fp_key != NULL ?
	    sms_mo_fingerprint(c->fp_key, m->source_addr, m->dest_addr, m->data_coding, m->text) : 0;
}

static uint32_t
sms_mo_cb(void *arg, const struct smpp_mo *mo, uint64_t ticket)
{
	struct sms_channel *c = arg;
	struct db *db = batch_db(c->batch);
	struct db_sms_in m;
	int rc;

	/* back-pressure: the SMSC keeps the message and redelivers it */
	if (c->ntickets >= SMS_TICKETS_MAX || engine_inflight(c->engine) >= c->cfg->max_inflight)
		return ESME_RX_T_APPN;
	c->last_mo_at = clock_mono_ms();
	memset(&m, 0, sizeof m);
	strlcpy_safe(m.source_addr, mo->source_addr, sizeof m.source_addr);
	m.source_ton = mo->source_ton;
	m.source_npi = mo->source_npi;
	strlcpy_safe(m.dest_addr, mo->dest_addr ? mo->dest_addr : "", sizeof m.dest_addr);
	m.data_coding = mo->data_coding;
	if (mo->part_total == 0) {
		sms_copy_utf8(m.text, sizeof m.text, mo->text, mo->text_len);
		m.fp = sms_fingerprint(c, &m);
		if (sms_redelivered(c, &m))
			return ESME_ROK;
	}
	if (batch_join(c->batch) != 0)
		return ESME_RX_T_APPN;
	if (mo->part_total > 0) {
		/* a part is answered only once stored, like a whole message; a long MO
		 * delivered again completes again (its parts went when it first did) */
		if (db_savepoint(db) != 0)
			return ESME_RX_T_APPN;
		rc = sms_part_store(c, mo, &m);
		if (rc == 1) {
			m.fp = sms_fingerprint(c, &m);
			if (sms_redelivered(c, &m))
				rc = 0;          /* its parts consumed, answered as stored */
		}
		if (rc < 0 || (rc == 1 && sms_store_and_process(c, &m) != 0)) {
			log_error("cannot store a part of a long MO from %s: %s", mo->source_addr, db_error(db));
			db_rollback_to(db);
			return ESME_RX_T_APPN;
		}
		if (db_release(db) != 0) {
			db_rollback_to(db);
			return ESME_RX_T_APPN;
		}
	} else if (sms_store_and_process(c, &m) != 0)
		return ESME_RX_T_APPN;
	if (c->tickets == NULL) {
		c->tickets = xcalloc(SMS_TICKETS_MAX, sizeof *c->tickets);
		c->ticket_fp = xcalloc(SMS_TICKETS_MAX, sizeof *c->ticket_fp);
		c->ticket_id = xcalloc(SMS_TICKETS_MAX, sizeof *c->ticket_id);
	}
	/* a part that did not complete a message has no row: nothing to recognise */
	c->ticket_fp[c->ntickets] = m.id != 0 ? m.fp : 0;
	c->ticket_id[c->ntickets] = m.id;
	c->tickets[c->ntickets++] = ticket;
	if (!c->tickets_deferred) {
		c->tickets_deferred = 1;
		batch_defer(c->batch, sms_tickets_answer_cb, c);
	}
	return SMPP_MO_DEFER;
}

static void
sms_part_dropped(void *arg, const char *source, int ref, int have, int total)
{
	log_warn("long MO from %s (ref %d) dropped: %d of %d parts after reassembly_timeout_s",
	    source, ref, have, total);
}

int
sms_channel_recover(struct sms_channel *c)
{
	struct db *db = batch_db(c->batch);
	struct db_sms_in *rows = xcalloc(64, sizeof *rows);
	int n, total = 0;

	/* each pass marks its rows processed, so the loop ends */
	while ((n = db_sms_in_pending(db, rows, 64)) > 0) {
		for (int i = 0; i < n; i++) {
			char reply[1024];
			uint64_t fp = sms_fingerprint(c, &rows[i]);     /* as received, unmasked */
			int64_t txn = sms_channel_handle(c, &rows[i], reply, sizeof reply);
			if (txn >= 0)
				sms_text_redact(rows[i].text);
			if (txn < 0 || (reply[0] != '\0' && db_sms_out_answer(db, rows[i].source_addr,
			    rows[i].source_ton, rows[i].source_npi, reply, rows[i].id, txn) < 0) ||
			    db_sms_in_done(db, rows[i].id, txn, rows[i].text, fp) != 0) {
				free(rows);
				return -1;
			}
		}
		total += n;
	}
	free(rows);
	if (n < 0)
		return -1;
	if (total > 0)
		log_info("processed %d messages stored before the last stop", total);
	/* the last process may have died between a commit and its answers */
	return sms_redelivery_load(&c->redelivery, db, SMS_REDELIVERY_DOUBT_S * 1000,
	    SMS_REDELIVERY_KEEP_S * 1000);
}

/* ---- transactions that started as SMS ----------------------------------------------- */

static int
sms_txn_cb(void *arg, const struct db_txn *t, enum engine_event ev, int64_t balance)
{
	struct sms_channel *c = arg;
	struct db *db = batch_db(c->batch);
	char reply[512];

	if (strcmp(t->channel, "sms") != 0 || t->reply_to[0] == '\0')
		return 0;
	if (ev == ENGINE_EVENT_PENDING && t->notified[0] != '\0')
		return 0;                 /* told PENDING already */
	/* REVERSED renders from the state, like SUCCESS and FAILED */
	sms_render_txn(reply, sizeof reply, t, balance, ev == ENGINE_EVENT_PENDING);
	if (db_sms_out_add(db, t->reply_to, t->reply_ton, t->reply_npi, reply, 0, t->id) < 0 ||
	    db_txn_set_notified(db, t->id, ev == ENGINE_EVENT_PENDING ? DB_STATE_PENDING : t->state) != 0) {
		log_error("cannot queue the reply for TXN%09lld: %s", (long long)t->id, db_error(db));
		return -1;
	}
	sms_pump_after_commit(c);
	return 0;
}

/* A PENDING reply for SMS recharges not settled within pending_reply_s. */
static void
sms_sweep_one(void *arg, const struct db_txn *t)
{
	struct sms_channel *c = arg;
	struct db_retailer r;

	/* the write lock only when there is something to say */
	if (!batch_degraded(c->batch) && batch_join(c->batch) == 0 &&
	    db_retailer_get(batch_db(c->batch), t->retailer_id, &r) == 1)
		(void)sms_txn_cb(c, t, ENGINE_EVENT_PENDING, r.balance);
}

static void
sms_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sms_channel *c = arg;

	/* degraded: nothing can be deleted either; the batch probes and says when */
	if (!batch_degraded(c->batch) && db_sms_part_expire(batch_db(c->batch),
	    clock_now_ms() - (int64_t)c->cfg->reassembly_timeout_s * 1000, sms_part_dropped, c) < 0)
		log_warn("long MO expiry: %s", db_error(batch_db(c->batch)));

	/* replies queued by rechargectl (txn resolve, reverse) go out within a second */
	sms_pump_after_commit(c);
	if (engine_inflight(c->engine) == 0)
		return;
	if (db_txn_each_unnotified(batch_db(c->batch),
	    clock_now_ms() - (int64_t)c->cfg->pending_reply_s * 1000, sms_sweep_one, c) != 0)
		log_warn("pending sweep: %s", db_error(batch_db(c->batch)));
}

/* ---- life cycle ---------------------------------------------------------------------------- */

struct sms_channel *
sms_channel_new(struct event_base *base, struct batch *batch, struct engine *engine,
    const struct config *cfg)
{
	struct sms_channel *c = xcalloc(1, sizeof *c);
	struct timeval tv = { 1, 0 };

	c->base = base;
	c->batch = batch;
	c->cfg = cfg;
	sms_channel_set_engine(c, engine);
	c->sweep_ev = event_new(base, -1, EV_PERSIST, sms_sweep_cb, c);
	event_add(c->sweep_ev, &tv);
	return c;
}

void
sms_channel_free(struct sms_channel *c)
{
	if (c == NULL)
		return;
	event_free(c->sweep_ev);
	if (c->answers_ev != NULL)
		event_free(c->answers_ev);
	free(c->tickets);
	free(c->ticket_fp);
	free(c->ticket_id);
	mac64_free(c->fp_key);
	free(c);
}

void
sms_channel_attach(struct sms_channel *c, struct smpp_session *s)
{
	c->session = s;
}

void
sms_channel_set_engine(struct sms_channel *c, struct engine *engine)
{
	c->engine = engine;
	mac64_free(c->fp_key);
	c->fp_key = engine != NULL ? mac64_new(engine_pepper(engine), "rechargd MO fingerprint") : NULL;
}

void
sms_channel_set_config(struct sms_channel *c, const struct config *cfg)
{
	c->cfg = cfg;
}

void
sms_channel_session_callbacks(struct sms_channel *c, struct smpp_session_callbacks *cbs)
{
	memset(cbs, 0, sizeof *cbs);
	cbs->mo_cb = sms_mo_cb;
	sms_outbox_callbacks(cbs);
	cbs->arg = c;
}

struct sms_alert { struct sms_channel *c; const char *text; };

static void
sms_alert_one(void *arg, const char *msisdn)
{
	struct sms_alert *a = arg;

	/* admins are stored as international numbers */
	if (db_sms_out_add(batch_db(a->c->batch), msisdn, 1, 1, a->text, 0, 0) < 0)
		log_error("alert to %s not queued: %s", msisdn, db_error(batch_db(a->c->batch)));
}

/* An engine alert goes to every admin by SMS. */
static void
sms_alert_cb(void *arg, const char *text)
{
	struct sms_channel *c = arg;
	struct sms_alert a = { c, text };

	if (db_admin_each(batch_db(c->batch), sms_alert_one, &a) != 0)
		log_error("alert not queued: %s", db_error(batch_db(c->batch)));
	sms_pump_after_commit(c);
}

void
sms_channel_engine_hooks(struct sms_channel *c, struct engine_hooks *hooks)
{
	hooks->txn_cb = sms_txn_cb;
	hooks->alert_cb = sms_alert_cb;
	hooks->arg = c;
}

int
sms_channel_backlog(const struct sms_channel *c)
{
	return c->ntickets + c->ninflight;
}

int
sms_channel_mo_waiting(const struct sms_channel *c)
{
	return c->ntickets;
}
