/* tools/smscsim/conn.c: one ESME connection. Frames the byte stream with smpp_frame,
 * decodes with our bounds-checked smpp_decode, answers with the raw builder. Garbage
 * that cannot be framed closes the connection; a body that does not decode is nacked.
 *
 * The misbehaving SMSC lives here too: drops at chosen points, throttling, slow or no
 * answers, silence. Whatever closes a connection, the submit_sm the ESME is still
 * waiting for are listed (OUTSTANDING lines): taken and never answered, answered but
 * still in our output buffer, or sent by the ESME and never read. Only those may
 * rightly come again as duplicates. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/common.h"
#include "smpp/smpp.h"
#include "tools/smscsim/smscsim.h"

#define SMSCSIM_CLOSE_GRACE_MS 5000  /* an ESME that never reads our last PDU */
#define SMSCSIM_DROP_GRACE_MS  1000  /* a drop lets what is written go for this long */
#define SMSCSIM_UNREAD_MAX     (4 * 1024 * 1024)  /* unread bytes looked at on a close */

static void smscsim_conn_read_cb(struct bufferevent *bev, void *arg);

/* ---- the submit_sm the ESME waits for ------------------------------------------------- */

/* This part's text as UTF-8 (UDH skipped), for OUTSTANDING lines. Caller frees. */
static char *
smscsim_conn_part_text(const struct smpp_pdu *p)
{
	const uint8_t *body = p->has_message_payload ? p->message_payload : p->short_message;
	size_t len = p->has_message_payload ? p->message_payload_len : p->sm_length;
	char *text = xcalloc(1, len * 3 + 4);

	if (body == NULL)
		len = 0;
	if ((p->esm_class & 0x40) && len >= 1 && (size_t)body[0] + 1 <= len) {
		len -= (size_t)body[0] + 1;
		body += (size_t)body[0] + 1;
	}
	if (len > 0 && smpp_text_decode(p->data_coding, body, len, text, len * 3 + 4) < 0)
		text[0] = '\0';
	return text;
}

/* Appends an entry for submit_sm p (raw: kept for a delayed answer). */
static struct smscsim_pending *
smscsim_conn_pend_add(struct smscsim_pendings *l, enum smscsim_pend_kind kind,
    const struct smpp_pdu *p, const uint8_t *raw, uint32_t raw_len)
{
	struct smscsim_pending *e;

	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 16;
		struct smscsim_pending *v = realloc(l->v, (size_t)cap * sizeof *v);
		if (v == NULL)
			fatal("smscsim: out of memory");
		l->v = v;
		l->cap = cap;
	}
	e = &l->v[l->n++];
	memset(e, 0, sizeof *e);
	e->kind = kind;
	e->seq = p->h.sequence;
	strlcpy_safe(e->to, p->destination_addr, sizeof e->to);
	e->text = smscsim_conn_part_text(p);
	if (raw != NULL) {
		e->raw = xcalloc(1, raw_len);
		memcpy(e->raw, raw, raw_len);
		e->raw_len = raw_len;
	}
	return e;
}

/* Appends a copy of e (text included, raw PDU not). */
static void
smscsim_conn_pend_copy(struct smscsim_pendings *l, const struct smscsim_pending *e)
{
	struct smpp_pdu p;
	struct smscsim_pending *n;

	memset(&p, 0, sizeof p);
	p.h.sequence = e->seq;
	strlcpy_safe(p.destination_addr, e->to, sizeof p.destination_addr);
	n = smscsim_conn_pend_add(l, e->kind, &p, NULL, 0);
	free(n->text);
	n->text = xstrdup(e->text);
}

static void
smscsim_conn_pend_remove(struct smscsim_pendings *l, int i)
{
	free(l->v[i].text);
	free(l->v[i].raw);
	memmove(&l->v[i], &l->v[i + 1], (size_t)(l->n - i - 1) * sizeof l->v[0]);
	l->n--;
}

static void
smscsim_conn_pend_clear(struct smscsim_pendings *l)
{
	while (l->n > 0)
		smscsim_conn_pend_remove(l, l->n - 1);
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* Counts the bytes that enter and leave our output buffer, so an answer still in it
 * (not yet on the socket) is known at a close. */
static void
smscsim_conn_out_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct smscsim_conn *c = arg;

	c->out_added += info->n_added;
	c->out_drained += info->n_deleted;
	while (c->unsent.n > 0 && c->unsent.v[0].end_off <= c->out_drained)
		smscsim_conn_pend_remove(&c->unsent, 0);
}

/* Frees the connection if it was asked to close and all it had to say is written. */
static int
smscsim_conn_reap(struct smscsim_conn *c)
{
	if (c->closing && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		smscsim_conn_free(c, c->close_why);
		return 1;
	}
	return 0;
}

/* Stops reading; frees the connection once the output is flushed (or after a grace).
 * What the ESME sent meanwhile stays unread: at the close it is counted outstanding. */
static void
smscsim_conn_close_later(struct smscsim_conn *c, const char *why, int grace_ms)
{
	struct timeval tv = { grace_ms / 1000, (grace_ms % 1000) * 1000 };

	if (c->closing)
		return;
	c->closing = 1;
	c->close_why = why;
	bufferevent_disable(c->bev, EV_READ);
	event_del(c->delay_ev);
	event_del(c->elink_ev);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		tv.tv_sec = tv.tv_usec = 0;   /* nothing to flush: close on the next turn */
	event_add(c->elink_ev, &tv);
}

void
smscsim_conn_drop(struct smscsim_conn *c)
{
	if (c->closing)
		return;
	log_info("smscsim: dropping the link to %s", c->peer);
	smscsim_conn_close_later(c, "drop", SMSCSIM_DROP_GRACE_MS);
}

uint32_t
smscsim_conn_next_seq(struct smscsim_conn *c)
{
	c->seq = c->seq >= 0x7FFFFFFFu ? 1 : c->seq + 1;
	return c->seq;
}

void
smscsim_conn_send_raw(struct smscsim_conn *c, const void *buf, size_t len)
{
	bufferevent_write(c->bev, buf, len);
}

/* Header-only PDUs: responses with an error status, enquire_link, unbind, generic_nack. */
static void
smscsim_conn_send_header(struct smscsim_conn *c, uint32_t command_id, uint32_t status,
    uint32_t seq)
{
	uint8_t buf[SMPP_HEADER_LEN];
	struct smpp_build b;

	smpp_build_start(&b, buf, sizeof buf, command_id, status, seq);
	if (smpp_build_finish(&b) > 0)
		smscsim_conn_send_raw(c, buf, b.len);
	log_debug("smscsim: -> %s seq=%u status=%s to %s", smpp_command_name(command_id), seq,
	    smpp_status_name(status), c->peer);
}

/* Sends enquire_link on a timer; in the closing state the same timer is the grace. */
static void
smscsim_conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smscsim_conn *c = arg;

	if (c->closing) {
		smscsim_conn_free(c, c->close_why);
		return;
	}
	if (c->bind != SMSCSIM_BIND_NONE && !c->sim->silent)
		smscsim_conn_send_header(c, SMPP_ENQUIRE_LINK, ESME_ROK, smscsim_conn_next_seq(c));
}

void
smscsim_conn_unbind(struct smscsim_conn *c)
{
	if (c->closing || c->unbind_seq != 0)
		return;
	c->unbind_seq = smscsim_conn_next_seq(c);
	smscsim_conn_send_header(c, SMPP_UNBIND, ESME_ROK, c->unbind_seq);
}

void
smscsim_conn_flush(struct smscsim_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	if (fd >= 0 && evbuffer_get_length(out) > 0)
		evbuffer_write(out, fd);
}

/* A bind_* request: checks credentials (when configured) and the bind_resp knob. */
static void
smscsim_conn_bind(struct smscsim_conn *c, const struct smpp_pdu *p)
{
	struct smscsim *sim = c->sim;
	uint32_t cmd = p->h.command_id, status = ESME_ROK;
	enum smscsim_bind type = cmd == SMPP_BIND_TRANSMITTER ? SMSCSIM_BIND_TX :
	    cmd == SMPP_BIND_RECEIVER ? SMSCSIM_BIND_RX : SMSCSIM_BIND_TRX;
	uint8_t buf[64];
	struct smpp_build b;
	uint8_t version = 0x34;

	if (c->bind != SMSCSIM_BIND_NONE)
		status = ESME_RALYBND;
	else if (sim->bind_resp_count != 0 && sim->bind_resp_status != ESME_ROK) {
		status = sim->bind_resp_status;
		if (sim->bind_resp_count > 0)
			sim->bind_resp_count--;
	} else if (sim->opt.system_id != NULL && strcmp(sim->opt.system_id, p->system_id) != 0)
		status = ESME_RINVSYSID;
	else if (sim->opt.password != NULL && strcmp(sim->opt.password, p->password) != 0)
		status = ESME_RINVPASWD;

	if (status != ESME_ROK) {
		smscsim_conn_send_header(c, cmd | SMPP_RESP_BIT, status, p->h.sequence);
		log_info("smscsim: bind from %s system_id=%s refused: %s", c->peer, p->system_id,
		    smpp_status_name(status));
		if (status != ESME_RALYBND)
			smscsim_on_bind_rejected(sim, c, p->system_id, status);
		return;
	}
	smpp_build_start(&b, buf, sizeof buf, cmd | SMPP_RESP_BIT, ESME_ROK, p->h.sequence);
	smpp_build_cstr(&b, "SMSCSIM");
	smpp_build_tlv(&b, 0x0210, &version, 1);   /* sc_interface_version */
	if (smpp_build_finish(&b) > 0)
		smscsim_conn_send_raw(c, buf, b.len);
	c->bind = type;
	strlcpy_safe(c->system_id, p->system_id, sizeof c->system_id);
	log_info("smscsim: %s bound as %s, system_id=%s", c->peer, smscsim_bind_name(type),
	    c->system_id);
	smscsim_on_bound(sim, c);
}

/* Accepts a submit_sm: the phone gets it (mt.c), a receipt follows when asked. The
 * answer goes out unless it is to be lost with the link (drop_after_mt_resp N lost). */
static void
smscsim_conn_accept(struct smscsim_conn *c, const struct smpp_pdu *p, int answer)
{
	struct smscsim *sim = c->sim;
	uint8_t buf[128];
	char id[32];
	struct smpp_build b;

	snprintf(id, sizeof id, "%llu", (unsigned long long)++sim->next_message_id);
	if (answer) {
		smpp_build_start(&b, buf, sizeof buf, SMPP_SUBMIT_SM | SMPP_RESP_BIT, ESME_ROK,
		    p->h.sequence);
		smpp_build_cstr(&b, id);
		if (smpp_build_finish(&b) > 0) {
			smscsim_conn_send_raw(c, buf, b.len);
			if (c->out_added > c->out_drained)
				smscsim_conn_pend_add(&c->unsent, SMSCSIM_PEND_UNSENT, p, NULL, 0)->end_off =
				    c->out_added;
		}
	}
	log_debug("smscsim: submit_sm seq=%u to=%s dc=%u esm_class=0x%02x len=%u -> id %s%s",
	    p->h.sequence, p->destination_addr, p->data_coding, p->esm_class,
	    p->has_message_payload ? p->message_payload_len : p->sm_length, id,
	    answer ? "" : " (answer lost)");
	smscsim_mt_take(sim, p);
	if (sim->opt.dlr && (p->registered_delivery & 0x03) == 1)
		smscsim_mo_receipt(sim, p->destination_addr, p->source_addr, id);
}

/* An error answer to a submit_sm (throttle, mt_resp). */
static void
smscsim_conn_reject(struct smscsim_conn *c, const struct smpp_pdu *p, uint32_t status)
{
	char *text;

	smscsim_conn_send_header(c, SMPP_SUBMIT_SM | SMPP_RESP_BIT, status, p->h.sequence);
	if (c->sim->script != NULL) {
		text = smscsim_conn_part_text(p);
		char *esc = smscsim_text_escape(text);
		smscsim_script_event(c->sim->script, "MT_REJECTED seq=%u to=%s status=%s text=%s",
		    p->h.sequence, p->destination_addr, smpp_status_name(status), esc);
		free(esc);
		free(text);
	}
}

/* Keeps a submit_sm unanswered (mt_resp none, silence, drop_after_mt). */
static void
smscsim_conn_unanswered(struct smscsim_conn *c, const struct smpp_pdu *p, const char *why)
{
	smscsim_conn_pend_add(&c->pend, SMSCSIM_PEND_NONE, p, NULL, 0);
	if (c->sim->script != NULL)
		smscsim_script_event(c->sim->script, "MT_UNANSWERED seq=%u to=%s%s%s", p->h.sequence,
		    p->destination_addr, why[0] ? " why=" : "", why);
}

/* Arms the timer for the first delayed answer. */
static void
smscsim_conn_delay_arm(struct smscsim_conn *c)
{
	int64_t wait;
	struct timeval tv;

	for (int i = 0; i < c->pend.n; i++) {
		if (c->pend.v[i].kind != SMSCSIM_PEND_DELAY)
			continue;
		wait = c->pend.v[i].due_ms - clock_mono_ms();
		if (wait < 0)
			wait = 0;
		tv.tv_sec = (time_t)(wait / 1000);
		tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
		event_add(c->delay_ev, &tv);
		return;
	}
}

/* Delayed answers that fell due go out, in the order their submit_sm came. */
static void
smscsim_conn_delay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smscsim_conn *c = arg;
	int64_t now = clock_mono_ms();

	if (c->closing || c->sim->silent)
		return;
	for (int i = 0; i < c->pend.n; ) {
		struct smscsim_pending *e = &c->pend.v[i];
		struct smpp_pdu p;

		if (e->kind != SMSCSIM_PEND_DELAY) {
			i++;
			continue;
		}
		if (e->due_ms > now)
			break;
		memset(&p, 0, sizeof p);
		if (smpp_decode(e->raw, e->raw_len, &p) == ESME_ROK)
			smscsim_conn_accept(c, &p, 1);
		smscsim_conn_pend_remove(&c->pend, i);
	}
	smscsim_conn_delay_arm(c);
}

void
smscsim_conn_wake(struct smscsim_conn *c)
{
	if (!c->closing)
		smscsim_conn_delay_arm(c);
}

/* A submit_sm from a bound transmitter: answered at once, later (mt_delay), with an
 * error (throttle, mt_resp), never (mt_resp none), or the link dropped at it. */
static void
smscsim_conn_submit(struct smscsim_conn *c, const struct smpp_pdu *p, const uint8_t *raw,
    uint32_t raw_len)
{
	struct smscsim *sim = c->sim;
	enum smscsim_drop_mt drop = 0;
	struct smscsim_pending *e;
	int64_t now;

	if (c->bind != SMSCSIM_BIND_TX && c->bind != SMSCSIM_BIND_TRX) {
		smscsim_conn_send_header(c, SMPP_SUBMIT_SM | SMPP_RESP_BIT, ESME_RINVBNDSTS,
		    p->h.sequence);
		return;
	}
	if (sim->load != NULL) {
		smscsim_load_mt(sim->load, c, p);
		return;
	}
	if (sim->drop_mt_left > 0 && --sim->drop_mt_left == 0)
		drop = sim->drop_mt_mode;
	switch (drop) {
	case SMSCSIM_DROP_MT_UNANSWERED:
		smscsim_conn_unanswered(c, p, "drop");
		smscsim_conn_drop(c);
		return;
	case SMSCSIM_DROP_MT_ANSWERED:
		smscsim_conn_accept(c, p, 1);
		smscsim_conn_drop(c);
		return;
	case SMSCSIM_DROP_MT_LOST:
		smscsim_conn_accept(c, p, 0);
		smscsim_conn_pend_add(&c->pend, SMSCSIM_PEND_LOST, p, NULL, 0);
		smscsim_conn_drop(c);
		return;
	default:
		break;
	}
	now = clock_mono_ms();
	if (now < sim->throttle_until_ms) {
		smscsim_conn_reject(c, p, sim->throttle_status);
		return;
	}
	if (sim->mt_resp_count != 0 && (sim->mt_resp_none || sim->mt_resp_status != ESME_ROK)) {
		if (sim->mt_resp_count > 0)
			sim->mt_resp_count--;
		if (sim->mt_resp_none)
			smscsim_conn_unanswered(c, p, "");
		else
			smscsim_conn_reject(c, p, sim->mt_resp_status);
		return;
	}
	if (sim->mt_delay_ms > 0) {
		e = smscsim_conn_pend_add(&c->pend, SMSCSIM_PEND_DELAY, p, raw, raw_len);
		e->due_ms = now + sim->mt_delay_ms;
		if (e->due_ms < c->last_due_ms)
			e->due_ms = c->last_due_ms;
		c->last_due_ms = e->due_ms;
		if (!event_pending(c->delay_ev, EV_TIMEOUT, NULL))
			smscsim_conn_delay_arm(c);
		return;
	}
	smscsim_conn_accept(c, p, 1);
}

/* One whole PDU. Never frees c: the caller does, when c->closing says so. */
static void
smscsim_conn_handle(struct smscsim_conn *c, const uint8_t *buf, uint32_t len)
{
	struct smpp_pdu p;
	uint32_t st, cmd, seq;

	memset(&p, 0, sizeof p);
	st = smpp_decode(buf, len, &p);
	cmd = p.h.command_id;
	seq = p.h.sequence;
	log_debug("smscsim: <- %s seq=%u status=%s len=%u from %s%s%s", smpp_command_name(cmd),
	    seq, smpp_status_name(p.h.status), len, c->peer, st ? ", malformed: " : "",
	    st ? smpp_status_name(st) : "");

	if (c->sim->silent && !(cmd & SMPP_RESP_BIT)) {
		/* answers nothing; a submit_sm is still one the ESME waits for */
		if (cmd == SMPP_SUBMIT_SM && st == ESME_ROK &&
		    (c->bind == SMSCSIM_BIND_TX || c->bind == SMSCSIM_BIND_TRX))
			smscsim_conn_unanswered(c, &p, "silence");
		return;
	}
	if (cmd & SMPP_RESP_BIT) {
		/* the header is good even when the body is not */
		switch (cmd) {
		case SMPP_DELIVER_SM | SMPP_RESP_BIT:
		case SMPP_GENERIC_NACK:
			if (c->sim->load != NULL)
				smscsim_load_mo_resp(c->sim->load, seq, p.h.status);
			else
				smscsim_mo_resp(c->sim, c, seq, p.h.status);
			break;
		case SMPP_UNBIND | SMPP_RESP_BIT:
			if (seq == c->unbind_seq) {
				smscsim_conn_close_later(c, "unbind", SMSCSIM_CLOSE_GRACE_MS);
				smscsim_on_unbound(c->sim, c);
			}
			break;
		default:
			break;
		}
		return;
	}
	if (st != ESME_ROK) {
		log_info("smscsim: malformed %s from %s: %s", smpp_command_name(cmd), c->peer,
		    smpp_status_name(st));
		smscsim_conn_send_header(c, SMPP_GENERIC_NACK, st, seq);
		return;
	}
	switch (cmd) {
	case SMPP_BIND_TRANSCEIVER:
	case SMPP_BIND_TRANSMITTER:
	case SMPP_BIND_RECEIVER:
		smscsim_conn_bind(c, &p);
		break;
	case SMPP_ENQUIRE_LINK:
		smscsim_conn_send_header(c, SMPP_ENQUIRE_LINK | SMPP_RESP_BIT, ESME_ROK, seq);
		break;
	case SMPP_UNBIND:
		smscsim_conn_send_header(c, SMPP_UNBIND | SMPP_RESP_BIT, ESME_ROK, seq);
		smscsim_conn_close_later(c, "unbind", SMSCSIM_CLOSE_GRACE_MS);
		smscsim_on_unbound(c->sim, c);
		break;
	case SMPP_SUBMIT_SM:
		smscsim_conn_submit(c, &p, buf, len);
		break;
	default:
		smscsim_conn_send_header(c, SMPP_GENERIC_NACK, ESME_RINVCMDID, seq);
		break;
	}
}

/* Takes every whole PDU in the input; pauses when the ESME does not read our answers. */
static void
smscsim_conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct smscsim_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out = bufferevent_get_output(bev);

	for (;;) {
		size_t avail = evbuffer_get_length(in);
		uint32_t len = 0;
		const uint8_t *p;
		int r;

		if (c->closing)
			break;      /* left unread: counted at the close */
		/* load mode: our output is the MOs themselves; the answers must still be read */
		if (evbuffer_get_length(out) > SMSCSIM_OUT_MAX && c->sim->load == NULL) {
			bufferevent_disable(bev, EV_READ);
			c->read_paused = 1;
			break;
		}
		if (avail == 0)
			break;
		p = evbuffer_pullup(in, -1);
		r = smpp_frame(p, avail, &len);
		if (r < 0) {
			log_info("smscsim: %s sent an impossible command_length: closing", c->peer);
			smscsim_conn_free(c, "bad command_length");
			return;
		}
		if (r == 0)
			break;
		smscsim_conn_handle(c, p, len);
		evbuffer_drain(in, len);
	}
	smscsim_conn_reap(c);
}

/* The output drained: finish a close, or read again after a pause. */
static void
smscsim_conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct smscsim_conn *c = arg;

	if (smscsim_conn_reap(c) || c->closing)
		return;
	if (c->read_paused) {
		c->read_paused = 0;
		bufferevent_enable(bev, EV_READ);
		smscsim_conn_read_cb(bev, c);
	}
}

static void
smscsim_conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smscsim_conn *c = arg;
	char why[128];

	if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof why, "%s", c->closing ? c->close_why : "eof");
	else
		snprintf(why, sizeof why, "error: %s", strerror(EVUTIL_SOCKET_ERROR()));
	smscsim_conn_free(c, why);
}

struct smscsim_conn *
smscsim_conn_new(struct smscsim *sim, int fd, const char *peer)
{
	struct smscsim_conn *c;
	struct timeval tv = { sim->opt.enquire_link_s, 0 };
	int slot = -1, one = 1;

	for (int i = 0; i < SMSCSIM_MAX_CONNS && slot < 0; i++)
		if (sim->conns[i] == NULL)
			slot = i;
	if (slot < 0 || sim->stopping) {
		close(fd);
		return NULL;
	}
	/* an SMS round trip is a few small writes each way: no Nagle delay */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	evutil_make_socket_nonblocking(fd);

	c = xcalloc(1, sizeof *c);
	c->sim = sim;
	c->slot = slot;
	strlcpy_safe(c->peer, peer, sizeof c->peer);
	c->bev = bufferevent_socket_new(sim->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		free(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, smscsim_conn_read_cb, smscsim_conn_write_cb,
	    smscsim_conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, SMSCSIM_IN_MAX);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->elink_ev = event_new(sim->base, -1, EV_PERSIST, smscsim_conn_timer_cb, c);
	c->delay_ev = event_new(sim->base, -1, 0, smscsim_conn_delay_cb, c);
	c->out_cb = evbuffer_add_cb(bufferevent_get_output(c->bev), smscsim_conn_out_cb, c);
	if (sim->opt.enquire_link_s > 0)
		event_add(c->elink_ev, &tv);
	sim->conns[slot] = c;
	log_info("smscsim: connection from %s", peer);
	if (sim->script != NULL)
		smscsim_script_event(sim->script, "CONNECTED peer=%s", peer);
	return c;
}

/* The submit_sm the ESME is still waiting for as c closes: taken and never answered,
 * answered but not yet on the socket, and sent but never read (what is left in the
 * socket is read now). Goes into *out (the caller clears it). */
static void
smscsim_conn_outstanding(struct smscsim_conn *c, struct smscsim_pendings *out)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	struct smpp_pdu p;
	const uint8_t *buf;
	size_t avail, off = 0;
	uint32_t len;

	for (int i = 0; i < c->pend.n; i++)
		smscsim_conn_pend_copy(out, &c->pend.v[i]);
	for (int i = 0; i < c->unsent.n; i++)
		if (c->unsent.v[i].end_off > c->out_drained)
			smscsim_conn_pend_copy(out, &c->unsent.v[i]);
	if (fd >= 0)
		while (evbuffer_get_length(in) < SMSCSIM_UNREAD_MAX && evbuffer_read(in, fd, 65536) > 0)
			;
	avail = evbuffer_get_length(in);
	buf = avail > 0 ? evbuffer_pullup(in, -1) : NULL;
	while (buf != NULL && off + 8 <= avail) {
		uint32_t cmd = (uint32_t)buf[off + 4] << 24 | (uint32_t)buf[off + 5] << 16 |
		    (uint32_t)buf[off + 6] << 8 | buf[off + 7];
		int r = smpp_frame(buf + off, avail - off, &len);

		if (r < 0)
			break;
		if (cmd == SMPP_SUBMIT_SM) {
			memset(&p, 0, sizeof p);
			if (r == 0 || smpp_decode(buf + off, len, &p) != ESME_ROK) {
				/* cut short or unreadable: still one the ESME sent */
				memset(&p, 0, sizeof p);
				strlcpy_safe(p.destination_addr, "?", sizeof p.destination_addr);
			}
			smscsim_conn_pend_add(out, SMSCSIM_PEND_UNREAD, &p, NULL, 0);
		}
		if (r == 0)
			break;
		off += len;
	}
}

/* Why an OUTSTANDING submit_sm had no answer that arrived. */
static const char *
smscsim_conn_pend_why(enum smscsim_pend_kind kind)
{
	switch (kind) {
	case SMSCSIM_PEND_NONE:   return "unanswered";
	case SMSCSIM_PEND_DELAY:  return "delayed";
	case SMSCSIM_PEND_LOST:   return "answer_lost";
	case SMSCSIM_PEND_UNSENT: return "answer_unsent";
	case SMSCSIM_PEND_UNREAD: return "unread";
	default:                  return "?";
	}
}

void
smscsim_conn_free(struct smscsim_conn *c, const char *why)
{
	struct smscsim *sim;
	struct smscsim_pendings out = { NULL, 0, 0 };
	int was_bound, report;

	if (c == NULL)
		return;
	sim = c->sim;
	was_bound = c->bind != SMSCSIM_BIND_NONE;
	report = strcmp(why, "exit") != 0;
	log_info("smscsim: %s (%s) closed: %s", c->peer, c->system_id[0] ? c->system_id : "not bound",
	    why);
	if (report)
		smscsim_conn_outstanding(c, &out);
	sim->conns[c->slot] = NULL;
	smscsim_mo_conn_lost(sim, c);
	event_free(c->elink_ev);
	event_free(c->delay_ev);
	evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
	bufferevent_free(c->bev);
	c->noutstanding = out.n;
	if (report) {
		if (strcmp(why, "drop") == 0)
			sim->ndrops++;
		else
			sim->ncloses++;
		sim->outstanding_at_closes += (uint32_t)out.n;
	}
	smscsim_on_closed(sim, c, was_bound, why);
	for (int i = 0; i < out.n && sim->script != NULL; i++) {
		char *esc = smscsim_text_escape(out.v[i].text);
		smscsim_script_event(sim->script, "OUTSTANDING peer=%s seq=%u to=%s why=%s text=%s",
		    c->peer, out.v[i].seq, out.v[i].to, smscsim_conn_pend_why(out.v[i].kind), esc);
		free(esc);
	}
	smscsim_conn_pend_clear(&out);
	smscsim_conn_pend_clear(&c->pend);
	smscsim_conn_pend_clear(&c->unsent);
	free(c);
	smscsim_mo_pump(sim);   /* a second receiver may take the redeliveries */
}
