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

#define SMS_RECENT_MAX 4096        /* MOs answered, remembered to recognise a redelivery */
#define SMS_SUSPECTS_MAX (2 * SMS_RECENT_MAX)
#define SMS_REDELIVERY_DOUBT_S 10  /* answered this long before a drop: maybe not received */
#define SMS_REDELIVERY_KEEP_S 300  /* how long after a drop (or start) a copy is recognised */

/* An MO answered ESME_ROK (redelivery.c); times monotonic ms. */
struct sms_recent {
	uint64_t fp;                   /* sms_mo_fingerprint */
	int64_t id;                    /* its sms_in row */
	int64_t at;                    /* answered */
	int64_t until;                 /* a suspect until then */
	int matched;                   /* a suspect seen again */
};

/* What was answered, and what may come again (redelivery.c). */
struct sms_redelivery {
	struct sms_recent ring[SMS_RECENT_MAX];     /* the last answered, oldest overwritten */
	int head, n;
	struct sms_recent suspects[SMS_SUSPECTS_MAX];   /* sorted by fingerprint */
	int nsuspects;
	int64_t until;                 /* the latest suspect's end */
};

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

	uint64_t *ticket_fp;           /* per ticket: its MO's fingerprint, 0 none (a part) */
	int64_t *ticket_id;            /* per ticket: its sms_in row */
	struct sms_redelivery redelivery;
	struct mac64 *fp_key;          /* sms_mo_fingerprint's key, from the engine's pepper */
	int64_t last_mo_at;            /* monotonic ms: the last deliver_sm taken; 0 none yet */
};

/* redelivery.c: fingerprints of answered MOs; after a drop or a start, those answered
 * shortly before are suspects, and an MO equal to one (sender, destination, coding, text
 * as received) is taken as the SMSC's second delivery, at most once per suspect. Times
 * are monotonic ms. */
uint64_t sms_mo_fingerprint(struct mac64 *key, const char *source, const char *dest, int coding,
    const char *text);
void sms_redelivery_remember(struct sms_redelivery *r, uint64_t fp, int64_t id, int64_t at);
/* What was answered since `since` becomes suspect until `until`; live earlier suspects
 * stay. */
void sms_redelivery_arm(struct sms_redelivery *r, int64_t since, int64_t until, int64_t now);
int sms_redelivery_armed(const struct sms_redelivery *r, int64_t now);
/* The sms_in id of a live suspect with fingerprint fp (then seen: not again), or 0. */
int64_t sms_redelivery_match(struct sms_redelivery *r, uint64_t fp, int64_t now);
/* Remembers the fingerprints the last process stored and arms: its final doubt_ms
 * become suspects for keep_ms. 0 or -1 (a read error). */
int sms_redelivery_load(struct sms_redelivery *r, struct db *db, int64_t doubt_ms, int64_t keep_ms);

/* outbox.c: hand queued replies to the session once no batch is open. */
void sms_pump(struct sms_channel *c);
void sms_pump_after_commit(struct sms_channel *c);
/* Fills the session callbacks of the outbound side (submit, state, receipts). */
void sms_outbox_callbacks(struct smpp_session_callbacks *cbs);

#endif
