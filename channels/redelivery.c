/* channels/redelivery.c: recognising an MO the SMSC sends a second time. deliver_sm
 * carries no id, and an SMSC that never saw our deliver_sm_resp (lost with a dropped
 * link, or with a process killed between its commit and the answer) delivers the message
 * again at the next bind: processed again, a TOPUP would credit twice. So the channel
 * remembers what it answered ESME_ROK (a fingerprint of sender, destination, coding and
 * text as stored, PINs masked), and when the link drops (or at start, for what the last
 * process stored) takes those answered shortly before as suspects. For a while after,
 * an MO equal to a suspect is answered ESME_ROK without being processed, once per
 * suspect. Bounded: SMS_RECENT_MAX remembered, as many suspects (docs/design.md). */
#include <stdlib.h>
#include <string.h>

#include "channels/internal.h"

/* FNV-1a, 64 bits, over the four fields with separators. */
uint64_t
sms_mo_fingerprint(const char *source, const char *dest, int coding, const char *text)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *parts[3] = { source, dest, text };

	for (int i = 0; i < 3; i++) {
		for (const unsigned char *p = (const unsigned char *)parts[i]; *p != '\0'; p++)
			h = (h ^ *p) * 0x100000001b3ULL;
		h = (h ^ 0xff) * 0x100000001b3ULL;
		if (i == 1)
			h = (h ^ (unsigned char)coding) * 0x100000001b3ULL;
	}
	return h;
}

void
sms_redelivery_remember(struct sms_redelivery *r, uint64_t fp, int64_t id, int64_t at)
{
	struct sms_recent *e = &r->ring[r->head];

	e->fp = fp;
	e->id = id;
	e->at = at;
	e->matched = 0;
	r->head = (r->head + 1) % SMS_RECENT_MAX;
	if (r->n < SMS_RECENT_MAX)
		r->n++;
}

/* By fingerprint, then row, matched copies first. */
static int
sms_recent_cmp(const void *a, const void *b)
{
	const struct sms_recent *x = a, *y = b;

	if (x->fp != y->fp)
		return x->fp < y->fp ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return y->matched - x->matched;
}

void
sms_redelivery_arm(struct sms_redelivery *r, int64_t since, int64_t until)
{
	struct sms_recent *s = r->suspects;
	int n = 0, m = 0;

	/* suspects of an earlier drop not expired stay (seen again or not) */
	if (r->until <= clock_now_ms())
		r->nsuspects = 0;
	n = r->nsuspects;
	for (int i = 0; i < r->n && n < SMS_SUSPECTS_MAX; i++) {
		const struct sms_recent *e = &r->ring[(r->head - 1 - i + SMS_RECENT_MAX) % SMS_RECENT_MAX];
		if (e->at < since)
			break;               /* the ring is in answer order: older ones follow */
		s[n] = *e;
		s[n++].matched = 0;
	}
	/* one suspect per row: a row already seen again stays seen */
	qsort(s, (size_t)n, sizeof *s, sms_recent_cmp);
	for (int i = 0; i < n; i++)
		if (m == 0 || s[i].id != s[m - 1].id || s[i].fp != s[m - 1].fp)
			s[m++] = s[i];
	r->nsuspects = m;
	if (m > 0 && until > r->until)
		r->until = until;
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
		if (!r->suspects[i].matched) {
			r->suspects[i].matched = 1;   /* once */
			return r->suspects[i].id;
		}
	}
	return 0;
}

/* Rows read at start, newest first: remembered oldest first. */
struct sms_redelivery_load {
	struct sms_recent rows[SMS_RECENT_MAX];
	int n;
	int64_t newest;
};

static void
sms_redelivery_load_one(void *arg, const struct db_sms_in *m)
{
	struct sms_redelivery_load *l = arg;

	if (l->n == 0)
		l->newest = m->received_at;
	if (l->n < SMS_RECENT_MAX) {
		l->rows[l->n].fp = sms_mo_fingerprint(m->source_addr, m->dest_addr, m->data_coding, m->text);
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

	if (rc == 0) {
		for (int i = l->n - 1; i >= 0; i--)
			sms_redelivery_remember(r, l->rows[i].fp, l->rows[i].id, l->rows[i].at);
		/* what the last process answered just before it stopped may not have reached
		 * the SMSC: as after a drop, measured from its last MO */
		if (l->n > 0)
			sms_redelivery_arm(r, l->newest - doubt_ms, clock_now_ms() + keep_ms);
	}
	free(l);
	return rc;
}
