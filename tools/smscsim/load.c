/* tools/smscsim/load.c: load mode, the benchmarks' SMSC (docs/smscsim.md, "Load mode").
 * N numbered MOs go out from K senders in turn, either open loop (R a second, a 1 ms
 * timer sends what is due) or closed loop (at most W awaiting their reply). Every
 * submit_sm is answered at once and matched to the oldest unanswered MO of the sender it
 * goes to (FIFO per sender); the time between the two goes into a fixed log-linear
 * histogram, so a million messages cost 8 bytes each (their send time) and nothing is
 * allocated per message. MO records (mo.c) and MT records (mt.c) are not kept.
 *
 * Message i goes from sender i % K with deliver_sm sequence LOAD_SEQ_BASE + i, so its
 * deliver_sm_resp finds it without a table; conn.c's own counter (enquire_link, unbind)
 * starts at 1 and never gets there. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "common/common.h"
#include "smpp/smpp.h"
#include "tools/smscsim/smscsim.h"

#define LOAD_SEQ_BASE     0x40000000u
#define LOAD_UNIT_US      10             /* histogram resolution: 0.01 ms */
#define LOAD_HIST_SUB     512            /* sub-buckets per power of two: < 0.2% error */
#define LOAD_HIST_BUCKETS (LOAD_HIST_SUB * 34)
#define LOAD_HIST_VMAX    ((UINT64_C(1) << 41) - 1)
#define LOAD_OPEN_TICK_US   1000
#define LOAD_CLOSED_TICK_US 10000
#define LOAD_ERR_LOGGED   10             /* error answers told on stderr, then counted */

struct smscsim_load {
	struct smscsim *sim;
	struct smscsim_load_options o;
	char *prefix, *suffix;
	int width, has_number;
	char (*from)[16];            /* the K sender MSISDNs */
	int64_t *sent_us;            /* per message: when its deliver_sm was written; -1 when
	                              * it was answered with an error and waits for nothing */
	uint32_t *expect;            /* per sender: its oldest message not yet replied to */
	uint64_t hist[LOAD_HIST_BUCKETS];
	int64_t max_us;
	long sent, replies, mo_ok, mo_err, failed, extra;
	int64_t start_us, first_send_us, last_send_us, last_reply_us, next_progress_us;
	struct smscsim_conn *conn;   /* the bound receiver the MOs go to */
	struct event *tick;
	int done;
};

/* Log-linear: exact below 1024 units, then 512 sub-buckets per power of two. */
static int
smscsim_load_hist_index(uint64_t v)
{
	int s;

	if (v > LOAD_HIST_VMAX)
		v = LOAD_HIST_VMAX;
	if (v < 1024)
		return (int)v;
	s = 63 - __builtin_clzll(v) - 9;
	return LOAD_HIST_SUB * s + (int)(v >> s);
}

/* The smallest value (units) of bucket i. */
static uint64_t
smscsim_load_hist_value(int i)
{
	int s;

	if (i < 1024)
		return (uint64_t)i;
	s = i / LOAD_HIST_SUB - 1;
	return (uint64_t)(i - LOAD_HIST_SUB * s) << s;
}

/* Latency (ms) below which a fraction q of the replies came. */
static double
smscsim_load_percentile(const struct smscsim_load *l, double q)
{
	uint64_t want, seen = 0;

	if (l->replies == 0)
		return 0;
	want = (uint64_t)ceil(q * (double)l->replies);
	if (want < 1)
		want = 1;
	for (int i = 0; i < LOAD_HIST_BUCKETS; i++) {
		seen += l->hist[i];
		if (seen >= want) {
			double ms = (double)(smscsim_load_hist_value(i) * LOAD_UNIT_US) / 1000.0;
			double max = (double)l->max_us / 1000.0;
			return ms < max ? ms : max;
		}
	}
	return (double)l->max_us / 1000.0;
}

/* The one LOAD line, then the loop ends: 0 when every message got its reply. */
static void
smscsim_load_finish(struct smscsim_load *l)
{
	int64_t elapsed_us = l->replies > 0 ? l->last_reply_us - l->first_send_us : 0;
	double rate = elapsed_us > 0 ? (double)l->replies * 1e6 / (double)elapsed_us : 0;

	if (l->done)
		return;
	l->done = 1;
	event_del(l->tick);
	if (l->extra > 0)
		log_warn("smscsim: load: %ld submit_sm matched no MO awaiting a reply", l->extra);
	printf("LOAD sent=%ld mo_ok=%ld mo_err=%ld replies=%ld missing=%ld elapsed_ms=%lld "
	    "rate=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f\n",
	    l->sent, l->mo_ok, l->mo_err, l->replies, l->o.count - l->replies,
	    (long long)(elapsed_us / 1000), rate, smscsim_load_percentile(l, 0.50),
	    smscsim_load_percentile(l, 0.90), smscsim_load_percentile(l, 0.99),
	    smscsim_load_percentile(l, 0.999), (double)l->max_us / 1000.0);
	fflush(stdout);
	smscsim_stop(l->sim, l->replies == l->o.count ? 0 : 1);
}

/* Everything sent has its reply or an error answer: nothing more will come. */
static void
smscsim_load_check_done(struct smscsim_load *l)
{
	if (l->sent == l->o.count && l->replies + l->failed >= l->o.count)
		smscsim_load_finish(l);
}

/* Writes message i as a deliver_sm (one SMS: checked at the start). */
static void
smscsim_load_send(struct smscsim_load *l, long i, int64_t now)
{
	char text[SMSCSIM_MO_TEXT_MAX + 32];
	uint8_t body[256], buf[512], ton, npi, dc = 0;
	const char *from = l->from[(uint32_t)(i % l->o.senders)], *cause = "";
	struct smpp_build b;
	int n;

	if (l->has_number)
		snprintf(text, sizeof text, "%s%0*ld%s", l->prefix, l->width, i, l->suffix);
	else
		snprintf(text, sizeof text, "%s", l->prefix);
	n = smscsim_text_encode(text, -1, body, sizeof body, &dc, &cause);
	if (n < 0)
		n = 0;      /* cannot happen: the longest text was encoded at the start */

	smpp_build_start(&b, buf, sizeof buf, SMPP_DELIVER_SM, ESME_ROK,
	    LOAD_SEQ_BASE + (uint32_t)i);
	smpp_build_cstr(&b, "");                       /* service_type */
	smscsim_mo_ton_npi(from, &ton, &npi);
	smpp_build_u8(&b, ton);
	smpp_build_u8(&b, npi);
	smpp_build_cstr(&b, from);
	smscsim_mo_ton_npi(l->sim->opt.shortcode, &ton, &npi);
	smpp_build_u8(&b, ton);
	smpp_build_u8(&b, npi);
	smpp_build_cstr(&b, l->sim->opt.shortcode);
	smpp_build_u8(&b, 0);                          /* esm_class */
	smpp_build_u8(&b, 0);                          /* protocol_id */
	smpp_build_u8(&b, 0);                          /* priority_flag */
	smpp_build_cstr(&b, "");                       /* schedule_delivery_time */
	smpp_build_cstr(&b, "");                       /* validity_period */
	smpp_build_u8(&b, 0);                          /* registered_delivery */
	smpp_build_u8(&b, 0);                          /* replace_if_present_flag */
	smpp_build_u8(&b, dc);
	smpp_build_u8(&b, 0);                          /* sm_default_msg_id */
	smpp_build_u8(&b, (uint8_t)n);
	smpp_build_bytes(&b, body, (size_t)n);
	if (smpp_build_finish(&b) < 0)
		fatal("smscsim: load: deliver_sm does not fit %zu bytes", sizeof buf);
	smscsim_conn_send_raw(l->conn, buf, b.len);
	l->sent_us[i] = now;
	if (l->sent == 0)
		l->first_send_us = now;
	l->last_send_us = now;
	l->sent++;
}

/* Sends what is due: the open loop's schedule, or the closed loop's free window. */
static void
smscsim_load_pump(struct smscsim_load *l)
{
	int64_t now;
	long due;

	if (l->done || l->conn == NULL || l->sent >= l->o.count)
		return;
	now = clock_mono_us();
	if (l->o.rate > 0) {
		if (l->sent == 0)
			due = 1;
		else
			due = (long)((double)(now - l->first_send_us) * l->o.rate / 1e6) + 1;
		if (due > l->o.count)
			due = l->o.count;
		while (l->sent < due)
			smscsim_load_send(l, l->sent, now);
	} else {
		while (l->sent < l->o.count && l->sent - l->replies - l->failed < l->o.window)
			smscsim_load_send(l, l->sent, now);
	}
}

/* Open loop: the pacing; both: progress lines and the reply timeout. */
static void
smscsim_load_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smscsim_load *l = arg;
	int64_t now, ref;

	if (l->o.rate > 0)
		smscsim_load_pump(l);
	now = clock_mono_us();
	if (l->o.progress && now >= l->next_progress_us) {
		printf("LOAD_PROGRESS t_s=%lld sent=%ld replies=%ld mo_err=%ld\n",
		    (long long)((now - l->start_us) / 1000000), l->sent, l->replies, l->mo_err);
		fflush(stdout);
		l->next_progress_us += 1000000;
	}
	ref = l->sent > 0 ? l->last_send_us : l->start_us;
	if ((double)(now - ref) > l->o.reply_timeout_s * 1e6) {
		log_warn("smscsim: load: nothing sent for %g s with %ld of %ld replies in: giving up",
		    l->o.reply_timeout_s, l->replies, l->o.count);
		smscsim_load_finish(l);
	}
}

struct smscsim_load *
smscsim_load_new(struct smscsim *sim, const struct smscsim_load_options *o, const char **cause)
{
	struct smscsim_load *l;
	struct timeval tv;
	char text[SMSCSIM_MO_TEXT_MAX + 32];
	uint8_t body[SMSCSIM_MO_TEXT_MAX * 4], dc = 0;
	int n;

	if (o->count < 1 || o->count > SMSCSIM_LOAD_MAX_COUNT) {
		*cause = "--count wants 1 to 100000000";
		return NULL;
	}
	if (o->senders < 1 || o->senders > SMSCSIM_LOAD_MAX_SENDERS ||
	    o->first < UINT64_C(100000000000) ||
	    o->first + o->senders - 1 > UINT64_C(999999999999)) {
		*cause = "--senders wants FIRST:K, FIRST a 12-digit number, K 1 to 1000000";
		return NULL;
	}
	if (!(o->rate >= 0) || o->rate > 10000000 || o->window < 1 || o->window > 10000000 ||
	    !(o->reply_timeout_s > 0)) {
		*cause = "--rate, --window or --reply-timeout out of range";
		return NULL;
	}
	l = xcalloc(1, sizeof *l);
	l->sim = sim;
	l->o = *o;
	if (smscsim_text_template(o->text, &l->prefix, &l->suffix, &l->width,
	    &l->has_number) != 0) {
		*cause = "--text may hold one %d or %0Nd (N <= 20)";
		goto fail;
	}
	/* the longest text must fit one SMS: each MO is one deliver_sm */
	if (l->has_number)
		snprintf(text, sizeof text, "%s%0*ld%s", l->prefix, l->width, o->count - 1, l->suffix);
	else
		snprintf(text, sizeof text, "%s", l->prefix);
	n = smscsim_text_encode(text, -1, body, sizeof body, &dc, cause);
	if (n < 0)
		goto fail;
	if (n == 0 || n > (dc == SMPP_DC_DEFAULT ? 160 : 140)) {
		*cause = "--text must make 1 to 160 GSM characters (70 UCS-2)";
		goto fail;
	}
	l->from = calloc(o->senders, sizeof l->from[0]);
	l->expect = calloc(o->senders, sizeof l->expect[0]);
	l->sent_us = calloc((size_t)o->count, sizeof l->sent_us[0]);
	if (l->from == NULL || l->expect == NULL || l->sent_us == NULL) {
		*cause = "out of memory for --count / --senders";
		goto fail;
	}
	for (uint32_t k = 0; k < o->senders; k++) {
		snprintf(l->from[k], sizeof l->from[k], "%012llu",
		    (unsigned long long)(o->first + k));
		l->expect[k] = k;
	}
	l->start_us = clock_mono_us();
	l->next_progress_us = l->start_us + 1000000;
	l->tick = event_new(sim->base, -1, EV_PERSIST, smscsim_load_tick_cb, l);
	tv.tv_sec = 0;
	tv.tv_usec = o->rate > 0 ? LOAD_OPEN_TICK_US : LOAD_CLOSED_TICK_US;
	event_add(l->tick, &tv);
	sim->load = l;
	return l;
fail:
	smscsim_load_free(l);
	return NULL;
}

void
smscsim_load_free(struct smscsim_load *l)
{
	if (l == NULL)
		return;
	if (l->sim->load == l)
		l->sim->load = NULL;
	if (l->tick != NULL)
		event_free(l->tick);
	free(l->prefix);
	free(l->suffix);
	free(l->from);
	free(l->expect);
	free(l->sent_us);
	free(l);
}

void
smscsim_load_abort(struct smscsim_load *l)
{
	smscsim_load_finish(l);
}

void
smscsim_load_bound(struct smscsim_load *l, struct smscsim_conn *c)
{
	if (c->bind != SMSCSIM_BIND_RX && c->bind != SMSCSIM_BIND_TRX)
		return;
	l->conn = c;
	printf("LOAD_BOUND\n");
	fflush(stdout);
	if (l->o.rate <= 0)
		smscsim_load_pump(l);
}

/* Sends stop until a receiver binds again; the reply timeout runs meanwhile. */
void
smscsim_load_closed(struct smscsim_load *l, struct smscsim_conn *c)
{
	if (l->conn != c)
		return;
	l->conn = NULL;
	for (int i = 0; i < SMSCSIM_MAX_CONNS && l->conn == NULL; i++) {
		struct smscsim_conn *o = l->sim->conns[i];
		if (o != NULL && o != c && !o->closing &&
		    (o->bind == SMSCSIM_BIND_RX || o->bind == SMSCSIM_BIND_TRX))
			l->conn = o;
	}
	if (!l->done)
		log_warn("smscsim: load: the receiver went away after %ld of %ld MOs (%ld replies)",
		    l->sent, l->o.count, l->replies);
}

void
smscsim_load_mo_resp(struct smscsim_load *l, uint32_t seq, uint32_t status)
{
	long i = (long)seq - (long)LOAD_SEQ_BASE;
	uint32_t k;

	if (seq < LOAD_SEQ_BASE || i >= l->sent)
		return;
	if (status == ESME_ROK) {
		l->mo_ok++;
		return;
	}
	if (l->mo_err++ < LOAD_ERR_LOGGED)
		log_warn("smscsim: load: MO %ld answered %s", i, smpp_status_name(status));
	k = (uint32_t)(i % l->o.senders);
	/* not replied to yet: it waits for nothing now (FIFO matching skips it) */
	if ((uint32_t)i >= l->expect[k] && l->sent_us[i] >= 0) {
		l->sent_us[i] = -1;
		l->failed++;
	}
	smscsim_load_check_done(l);
	if (l->o.rate <= 0)
		smscsim_load_pump(l);
}

/* The sender a reply goes to, or -1: FIRST..FIRST+K-1, with or without a '+'. */
static long
smscsim_load_sender(const struct smscsim_load *l, const char *addr)
{
	uint64_t v = 0;
	int digits = 0;

	if (*addr == '+')
		addr++;
	for (; *addr >= '0' && *addr <= '9' && digits < 19; addr++, digits++)
		v = v * 10 + (uint64_t)(*addr - '0');
	if (*addr != '\0' || digits == 0 || v < l->o.first || v - l->o.first >= l->o.senders)
		return -1;
	return (long)(v - l->o.first);
}

void
smscsim_load_mt(struct smscsim_load *l, struct smscsim_conn *c, const struct smpp_pdu *p)
{
	struct smscsim *sim = l->sim;
	uint8_t buf[64];
	char id[24];
	struct smpp_build b;
	long k;
	uint64_t m;
	int64_t now, lat;

	snprintf(id, sizeof id, "%llu", (unsigned long long)++sim->next_message_id);
	smpp_build_start(&b, buf, sizeof buf, SMPP_SUBMIT_SM | SMPP_RESP_BIT, ESME_ROK,
	    p->h.sequence);
	smpp_build_cstr(&b, id);
	if (smpp_build_finish(&b) > 0)
		smscsim_conn_send_raw(c, buf, b.len);

	if (l->done || (k = smscsim_load_sender(l, p->destination_addr)) < 0) {
		l->extra++;
		return;
	}
	m = l->expect[k];
	while (m < (uint64_t)l->sent && l->sent_us[m] < 0)
		m += l->o.senders;
	if (m >= (uint64_t)l->sent) {
		l->extra++;
		return;
	}
	now = clock_mono_us();
	lat = now - l->sent_us[m];
	if (lat < 0)
		lat = 0;
	l->hist[smscsim_load_hist_index((uint64_t)lat / LOAD_UNIT_US)]++;
	if (lat > l->max_us)
		l->max_us = lat;
	l->expect[k] = (uint32_t)(m + l->o.senders);
	l->replies++;
	l->last_reply_us = now;
	smscsim_load_check_done(l);
	if (l->o.rate <= 0)
		smscsim_load_pump(l);
}
