/* channels/outbox.c: the durable outbox pumped into the SMPP session. A reply is
 * handed over only when no batch is open (so what it reports is on disk), marked sent
 * when its submit_sm_resp arrives, and left queued when the link drops. An answer the
 * SMSC gave is kept in memory until it is recorded durably, so a reply it accepted is
 * not sent again because the database was busy. */
#include <string.h>

#include <event2/event.h>

#include "channels/internal.h"

static void sms_answers_write(struct sms_channel *c);

/* ---- outbound: the outbox pump ------------------------------------------------------------ */

static void
sms_pump_deferred_cb(void *arg, int committed)
{
	struct sms_channel *c = arg;

	c->pump_deferred = 0;
	sms_pump(c);
}

/* Replies written in the open batch may be sent only once it is durable. */
void
sms_pump_after_commit(struct sms_channel *c)
{
	if (c->pump_deferred)
		return;
	if (!db_in_transaction(batch_db(c->batch))) {
		sms_pump(c);
		return;
	}
	c->pump_deferred = 1;
	batch_defer(c->batch, sms_pump_deferred_cb, c);
}

/* 1 when the SMSC answered id and that answer is not yet on disk. */
static int
sms_answer_known(const struct sms_channel *c, int64_t id)
{
	for (int i = 0; i < c->nanswers; i++)
		if (c->answers[i].id == id)
			return 1;
	return 0;
}

static int
sms_inflight_remove(struct sms_channel *c, int64_t id)
{
	for (int i = 0; i < c->ninflight; i++) {
		if (c->inflight[i] == id) {
			c->nbulk -= c->inflight_lane[i] == DB_LANE_BULK;
			c->inflight_lane[i] = c->inflight_lane[c->ninflight - 1];
			c->inflight[i] = c->inflight[--c->ninflight];
			return 1;
		}
	}
	return 0;
}

/* Rows of one lane read ahead by a pump call. */
struct sms_lane {
	struct db_sms_out rows[SMS_PUMP_BATCH];
	int n, i, empty;
};

/* The next queued row of a lane after its cursor, or NULL (none, or a read error). */
static struct db_sms_out *
sms_lane_peek(struct sms_channel *c, struct db *db, int lane, struct sms_lane *l)
{
	if (l->i == l->n && !l->empty) {
		l->n = db_sms_out_queued(db, lane, c->pump_after[lane], l->rows, SMS_PUMP_BATCH);
		l->i = 0;
		if (l->n <= 0) {
			l->n = 0;
			l->empty = 1;
		}
	}
	return l->i < l->n ? &l->rows[l->i] : NULL;
}

/* Hands queued replies to the session while it has room: answers first, but after
 * SMS_ANSWER_RUN answers in a row one bulk reply (when any is queued), so a flood of
 * MOs slows results down and never stops them. Bulk holds at most SMS_BULK_INFLIGHT of
 * the window: the SMSC answers in order, so that is all an answer can queue behind
 * there. Each lane is read in id order. */
void
sms_pump(struct sms_channel *c)
{
	struct db *db = batch_db(c->batch);
	struct sms_lane lanes[2];

	if (c->session == NULL)
		return;
	if (db_in_transaction(db)) {
		sms_pump_after_commit(c);
		return;
	}
	lanes[0].n = lanes[0].i = lanes[0].empty = 0;
	lanes[1].n = lanes[1].i = lanes[1].empty = 0;
	while (c->ninflight + c->nanswers < SMS_INFLIGHT_MAX && smpp_session_can_submit(c->session)) {
		struct db_sms_out *m = NULL;
		int lane = DB_LANE_ANSWER;

		if (c->answer_run < SMS_ANSWER_RUN)
			m = sms_lane_peek(c, db, DB_LANE_ANSWER, &lanes[0]);
		if (m == NULL && c->nbulk < SMS_BULK_INFLIGHT &&
		    (m = sms_lane_peek(c, db, DB_LANE_BULK, &lanes[1])) != NULL)
			lane = DB_LANE_BULK;
		if (m == NULL && (m = sms_lane_peek(c, db, DB_LANE_ANSWER, &lanes[0])) == NULL)
			return;
		lanes[lane].i++;
		c->pump_after[lane] = m->id;
		if (sms_answer_known(c, m->id))
			continue;
		if (smpp_session_submit(c->session, (uint64_t)m->id, m->dest_addr,
		    (uint8_t)m->dest_ton, (uint8_t)m->dest_npi, m->text) != 0) {
			/* not encodable: record it rather than retry forever */
			if (smpp_session_is_bound(c->session) && !batch_degraded(c->batch) &&
			    batch_join(c->batch) == 0)
				db_sms_out_failed(db, m->id, "cannot encode");
			continue;
		}
		c->inflight_lane[c->ninflight] = (unsigned char)lane;
		c->inflight[c->ninflight++] = m->id;
		c->nbulk += lane == DB_LANE_BULK;
		c->answer_run = lane == DB_LANE_BULK ? 0 : c->answer_run + 1;
	}
}

/* The batch holding some answers ended: forget the recorded ones, or write again. */
static void
sms_answers_committed_cb(void *arg, int committed)
{
	struct sms_channel *c = arg;
	int j = 0;

	c->answers_deferred = 0;
	for (int i = 0; i < c->nanswers; i++) {
		if (committed && c->answers[i].written)
			continue;
		c->answers[i].written = 0;
		c->answers[j++] = c->answers[i];
	}
	c->nanswers = j;
	if (j > 0)
		sms_answers_write(c);
	sms_pump(c);
}

static void
sms_answers_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	sms_answers_write(arg);
}

/* Records the SMSC's answers in the open batch, or tries again in a second. */
static void
sms_answers_write(struct sms_channel *c)
{
	struct db *db = batch_db(c->batch);
	struct timeval tv = { 1, 0 };
	int wrote = 0;

	if (batch_degraded(c->batch) || batch_join(c->batch) != 0)
		goto later;
	for (int i = 0; i < c->nanswers; i++) {
		struct sms_answer *a = &c->answers[i];
		int rc;
		if (a->written)
			continue;
		if (a->status == ESME_ROK)
			rc = db_sms_out_sent(db, a->id, a->message_id);
		else
			rc = db_sms_out_failed(db, a->id, smpp_status_name(a->status));
		if (rc != 0) {
			log_error("outbox %lld: %s", (long long)a->id, db_error(db));
			goto later;
		}
		a->written = 1;
		wrote = 1;
	}
	if (wrote && !c->answers_deferred) {
		c->answers_deferred = 1;
		batch_defer(c->batch, sms_answers_committed_cb, c);
	}
	return;
later:
	if (!batch_degraded(c->batch))      /* degraded: said once by the batch */
		log_warn("outbox: %d answers of the SMSC wait to be recorded", c->nanswers);
	if (c->answers_ev == NULL)
		c->answers_ev = evtimer_new(c->base, sms_answers_retry_cb, c);
	evtimer_add(c->answers_ev, &tv);
}

static void
sms_submit_cb(void *arg, uint64_t ref, uint32_t status, const char *message_id)
{
	struct sms_channel *c = arg;
	int64_t id = (int64_t)ref;

	sms_inflight_remove(c, id);
	if (status == SMPP_STATUS_LINK_LOST) {
		/* still queued: sent again after the next bind; the count is only information */
		if (!batch_degraded(c->batch) && batch_join(c->batch) == 0)
			(void)db_sms_out_attempt(batch_db(c->batch), id);
		return;
	}
	metrics_inc(status == ESME_ROK ? METRIC_SMS_OUT : METRIC_SMS_OUT_REFUSED);
	if (status != ESME_ROK)
		log_warn("outbox %lld refused by the SMSC: %s", (long long)id, smpp_status_name(status));
	if (c->nanswers == SMS_INFLIGHT_MAX) {
		log_error("outbox %lld: answer table full", (long long)id);   /* cannot happen: pump bounds it */
		return;
	}
	struct sms_answer *a = &c->answers[c->nanswers++];
	a->id = id;
	a->status = status;
	a->written = 0;
	strlcpy_safe(a->message_id, message_id ? message_id : "", sizeof a->message_id);
	sms_answers_write(c);
	sms_pump_after_commit(c);
}

static void
sms_state_cb(void *arg, int bound)
{
	struct sms_channel *c = arg;

	/* a new bind starts from the oldest queued reply */
	c->pump_after[0] = c->pump_after[1] = 0;
	c->answer_run = 0;
	c->ninflight = c->nbulk = 0;
	/* what was answered shortly before the link went (or before it last carried an MO,
	 * when it died silently) may not have reached the SMSC, which then sends it again */
	if (!bound) {
		int64_t now = clock_mono_ms(), last = c->last_mo_at != 0 ? c->last_mo_at : now;
		sms_redelivery_arm(&c->redelivery, last - SMS_REDELIVERY_DOUBT_S * 1000,
		    now + SMS_REDELIVERY_KEEP_S * 1000, now);
	}
	if (bound)
		sms_pump_after_commit(c);
}

static void
sms_dlr_cb(void *arg, const char *message_id, const char *stat)
{
	struct sms_channel *c = arg;
	int rc;

	if (batch_degraded(c->batch) || batch_join(c->batch) != 0)
		return;       /* a receipt is information, not money: not worth a retry */
	rc = db_sms_out_dlr(batch_db(c->batch), message_id, stat);
	log_debug("delivery receipt for %s: %s%s", message_id, stat, rc == 1 ? "" : " (no such reply)");
}


void
sms_outbox_callbacks(struct smpp_session_callbacks *cbs)
{
	cbs->submit_cb = sms_submit_cb;
	cbs->state_cb = sms_state_cb;
	cbs->dlr_cb = sms_dlr_cb;
}
