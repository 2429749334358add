/* channels/outbox.c: the durable outbox pumped into the SMPP session. A reply is
 * handed over only when no batch is open (so what it reports is on disk), marked sent
 * when its submit_sm_resp arrives, and left queued when the link drops. */
#include <string.h>

#include "channels/internal.h"

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

static int
sms_inflight_remove(struct sms_channel *c, int64_t id)
{
	for (int i = 0; i < c->ninflight; i++) {
		if (c->inflight[i] == id) {
			c->inflight[i] = c->inflight[--c->ninflight];
			return 1;
		}
	}
	return 0;
}

void
sms_pump(struct sms_channel *c)
{
	struct db *db = batch_db(c->batch);
	struct db_sms_out rows[SMS_PUMP_BATCH];
	int n;

	if (c->session == NULL)
		return;
	if (db_in_transaction(db)) {
		sms_pump_after_commit(c);
		return;
	}
	while (c->ninflight < SMS_INFLIGHT_MAX && smpp_session_can_submit(c->session)) {
		if ((n = db_sms_out_queued(db, c->pump_after, rows, SMS_PUMP_BATCH)) <= 0)
			return;
		for (int i = 0; i < n; i++) {
			if (c->ninflight == SMS_INFLIGHT_MAX || !smpp_session_can_submit(c->session))
				return;
			if (smpp_session_submit(c->session, (uint64_t)rows[i].id, rows[i].dest_addr,
			    (uint8_t)rows[i].dest_ton, (uint8_t)rows[i].dest_npi, rows[i].text) != 0) {
				/* not encodable: record it rather than retry forever */
				if (smpp_session_is_bound(c->session) && batch_join(c->batch) == 0)
					db_sms_out_failed(db, rows[i].id, "cannot encode");
				c->pump_after = rows[i].id;
				continue;
			}
			c->inflight[c->ninflight++] = rows[i].id;
			c->pump_after = rows[i].id;
		}
	}
}

static void
sms_submit_cb(void *arg, uint64_t ref, uint32_t status, const char *message_id)
{
	struct sms_channel *c = arg;
	struct db *db = batch_db(c->batch);
	int64_t id = (int64_t)ref;

	sms_inflight_remove(c, id);
	if (batch_join(c->batch) != 0) {
		log_warn("outbox %lld: cannot record the SMSC's answer now", (long long)id);
		return;
	}
	if (status == SMPP_STATUS_LINK_LOST) {
		/* still queued: sent again after the next bind */
		if (db_sms_out_attempt(db, id) != 0)
			log_error("outbox %lld: %s", (long long)id, db_error(db));
	} else if (status == ESME_ROK) {
		if (db_sms_out_sent(db, id, message_id ? message_id : "") != 0)
			log_error("outbox %lld: %s", (long long)id, db_error(db));
	} else {
		log_warn("outbox %lld refused by the SMSC: %s", (long long)id, smpp_status_name(status));
		if (db_sms_out_failed(db, id, smpp_status_name(status)) != 0)
			log_error("outbox %lld: %s", (long long)id, db_error(db));
	}
	sms_pump_after_commit(c);
}

static void
sms_state_cb(void *arg, int bound)
{
	struct sms_channel *c = arg;

	/* a new bind starts from the oldest queued reply */
	c->pump_after = 0;
	c->ninflight = 0;
	if (bound)
		sms_pump_after_commit(c);
}

static void
sms_dlr_cb(void *arg, const char *message_id, const char *stat)
{
	struct sms_channel *c = arg;
	int rc;

	if (batch_join(c->batch) != 0)
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
