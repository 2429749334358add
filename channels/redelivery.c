/* channels/redelivery.c: recognising an MO the SMSC sends a second time. deliver_sm
 * carries no id, and an SMSC that never saw our deliver_sm_resp (lost with a dropped
 * link, or with a process killed between its commit and the answer) delivers the message
 * again at the next bind: processed again, a TOPUP would credit twice. So the channel
 * remembers a keyed fingerprint of what it answered ESME_ROK (sender, destination,
 * coding and the text as received, PIN included) and, when the link drops (or at start,
 * for what the last process stored), takes those answered shortly before as suspects for
 * a while. An MO equal to a suspect is answered ESME_ROK without being processed, once
 * per suspect. Bounded: SMS_RECENT_MAX remembered, SMS_SUSPECTS_MAX suspects, the newest
 * kept first (docs/design.md). Times here are monotonic milliseconds. */
#include <stdlib.h>
#include <string.h>

#include "channels/internal.h"

/* The fields with separators, so that they cannot trade characters; never 0 (none). */
uint64_t
sms_mo_fingerprint(struct mac64 *key, const char *source, const char *dest, int coding,
    const char *text)
{
	size_t ls = strlen(source) + 1, ld = strlen(dest) + 1, lt = strlen(text);
	char buf[24 + 24 + 1 + DB_SMS_TEXT_MAX];
	uint64_t fp;

	if (ls + ld + 1 + lt > sizeof buf)
		lt = sizeof buf - ls - ld - 1;
	memcpy(buf, source, ls);
	memcpy(buf + ls, dest, ld);
	buf[ls + ld] = (char)coding;
	memcpy(buf + ls + ld + 1, text, lt);
	fp = mac64(key, buf, ls + ld + 1 + lt);
	return fp != 0 ? fp : 1;
}

/* Overwrites the oldest once full. */
void
sms_redelivery_remember(struct sms_redelivery *r, uint64_t fp, int64_t id, int64_t at)
{
	struct sms_recent *e = &r->ring[r->head];

	e->fp = fp;
	e->id = id;
	e->at = at;
	e->until = 0;
	e->matched = 0;
	r->head = (r->head + 1) % SMS_RECENT_MAX;
	if (r->n < SMS_RECENT_MAX)
		r->n++;
}

/* By fingerprint, then row, the newest copy first; of equal ones the one seen again. */
static int
sms_recent_cmp(const void *a, const void *b)
{
	const struct sms_recent *x = a, *y = b;

	if (x->fp != y->fp)
		return x->fp < y->fp ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->at != y->at)
		return x->at > y->at ? -1 : 1;
	return y->matched - x->matched;
}

/* New suspects first (newest first), then the earlier ones still live, so a full table
 * drops the oldest; one per row, its newest copy (a copy answered again is suspect
 * again: that answer may be lost too). */
void
sms_redelivery_arm(struct sms_redelivery *r, int64_t since, int64_t until, int64_t now)
{
	static struct sms_recent merged[SMS_SUSPECTS_MAX];
	int n = 0, m = 0;

	for (int i = 0; i < r->n && n < SMS_SUSPECTS_MAX; i++) {
		const struct sms_recent *e = &r->ring[(r->head - 1 - i + SMS_RECENT_MAX) % SMS_RECENT_MAX];
		if (e->at < since)
			break;               /* the ring is in answer order: older ones follow */
		merged[n] = *e;
		merged[n].until = until;
		merged[n++].matched = 0;
	}
	for (int i = 0; i < r->nsuspects && n < SMS_SUSPECTS_MAX; i++)
		if (r->suspects[i].until > now)
			merged[n++] = r->suspects[i];
	qsort(merged, (size_t)n, sizeof *merged, sms_recent_cmp);
	for (int i = 0; i < n; i++)
		if (m == 0 || merged[i].id != r->suspects[m - 1].id || merged[i].fp != r->suspects[m - 1].fp)
			r->suspects[m++] = merged[i];
	r->nsuspects = m;
	r->until = 0;
	for (int i = 0; i < m; i++)
		if (r->suspects[i].until > r->until)
			r->until = r->suspects[i].until;
}

int
sms_redelivery_armed(const struct sms_redelivery *r, int64_t now)
{
	return r->nsuspects > 0 && now < r->until;
}

int64_t
sms_redelivery_match(struct sms_redelivery *r, uint64_t fp, int64_t now)
{
	int lo = 0, hi = r->nsuspects - 1;

	if (!sms_redelivery_armed(r, now))
		return 0;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		if (r->suspects[mid].fp < fp)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	/* lo: the first with this fingerprint; equal texts answered twice are two suspects */
	for (int i = lo; i < r->nsuspects && r->suspects[i].fp == fp; i++) {
		struct sms_recent *s = &r->suspects[i];
		if (!s->matched && s->until > now) {
			s->matched = 1;      /* once */
			return s->id;
		}
	}
	return 0;
}

/* Rows read at start, newest first: remembered oldest first. */
struct sms_redelivery_load {
	struct sms_recent rows[SMS_RECENT_MAX];
	int n;
	int64_t newest;              /* received_at of the newest, wall-clock ms */
};

static void
sms_redelivery_load_one(void *arg, const struct db_sms_in *m)
{
	struct sms_redelivery_load *l = arg;

	if (l->n == 0)
		l->newest = m->received_at;
	if (l->n < SMS_RECENT_MAX) {
		l->rows[l->n].fp = m->fp;
		l->rows[l->n].id = m->id;
		l->rows[l->n].at = m->received_at;
		l->n++;
	}
}

int
sms_redelivery_load(struct sms_redelivery *r, struct db *db, int64_t doubt_ms, int64_t keep_ms)
{
	struct sms_redelivery_load *l = xcalloc(1, sizeof *l);
	int rc = db_sms_in_each_recent(db, SMS_RECENT_MAX, sms_redelivery_load_one, l);
	int64_t now = clock_mono_ms(), wall = clock_now_ms();

	if (rc == 0 && l->n > 0) {
		/* received_at is wall-clock: placed on the monotonic clock by its age */
		for (int i = l->n - 1; i >= 0; i--)
			sms_redelivery_remember(r, l->rows[i].fp, l->rows[i].id, now - (wall - l->rows[i].at));
		/* what the last process answered just before it stopped may not have reached
		 * the SMSC: as after a drop, measured from its last MO */
		sms_redelivery_arm(r, now - (wall - l->newest) - doubt_ms, now + keep_ms, now);
	}
	free(l);
	return rc;
}
