/* channels/internal.h: shared by the files of channels/ only. */
#ifndef RECHARGD_CHANNELS_INTERNAL_H
#define RECHARGD_CHANNELS_INTERNAL_H

#include "channels/channels.h"

#define SMS_TICKETS_MAX 20000      /* deliver_sm answers waiting on one commit */
#define SMS_INFLIGHT_MAX 1024      /* replies handed to the session, not yet answered */
#define SMS_PUMP_BATCH 32          /* rows read per lane and query */
#define SMS_ANSWER_RUN 8           /* answers handed over in a row while bulk waits */
#define SMS_BULK_INFLIGHT 128      /* bulk replies at the SMSC at once: what an answer may wait behind */
#define SMS_LONG_MO_PARTS 16       /* a long MO in more parts is refused */
#define SMS_LONG_MO_MAX 4096       /* encoded octets of one long MO */

/* An answer of the SMSC to a reply, kept until it is on disk. */
struct sms_answer {
	int64_t id;
	uint32_t status;
	char message_id[65];
	int written;                   /* in the open batch */
};

struct sms_channel {
	struct event_base *base;
	struct batch *batch;
	struct engine *engine;
	const struct config *cfg;
	struct smpp_session *session;

	uint64_t *tickets;             /* deliver_sm waiting for this batch's commit */
	int ntickets;
	int tickets_deferred;          /* a batch_defer is registered for them */

	int64_t inflight[SMS_INFLIGHT_MAX];   /* outbox ids in the session's hands */
	unsigned char inflight_lane[SMS_INFLIGHT_MAX];
	int ninflight;
	int nbulk;                     /* of them in the bulk lane */
	int64_t pump_after[2];         /* per lane: highest outbox id submitted on this bind */
	int answer_run;                /* answers handed over since the last bulk reply */
	int pump_deferred;

	struct sms_answer answers[SMS_INFLIGHT_MAX];   /* answered, not yet recorded */
	int nanswers;
	int answers_deferred;
	struct event *answers_ev;      /* retry when storage was unavailable */

	struct event *sweep_ev;        /* PENDING replies after pending_reply_s, part expiry */
};

/* outbox.c: hand queued replies to the session once no batch is open. */
void sms_pump(struct sms_channel *c);
void sms_pump_after_commit(struct sms_channel *c);
/* Fills the session callbacks of the outbound side (submit, state, receipts). */
void sms_outbox_callbacks(struct smpp_session_callbacks *cbs);

#endif
