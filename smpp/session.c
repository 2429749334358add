/* smpp/session.c: the ESME session on libevent bufferevents.
 *
 * One transceiver connection (or a transmitter + receiver pair) to the SMSC: connect,
 * bind, enquire_link both ways, a dead-link timeout, reconnect with exponential backoff
 * and jitter forever; a window of submit_sm with a response timeout and a TPS token
 * bucket; long replies as UDH parts; deliver_sm answered only when the caller says the
 * message is stored (the ticket), so the SMSC redelivers what we did not keep.
 *
 * Everything runs on the caller's event loop; nothing here blocks. Every inbound byte
 * goes through smpp_frame and our own smpp_decode (pdu.c), never libsmpp34's unpack.
 * Queues are bounded: at most cfg->window messages are accepted (smpp_session_can_submit),
 * at most SMPP_SESSION_MAX_DEFERRED deliver_sm answers wait for the caller, and a peer
 * that stops reading is dropped when our output passes SMPP_SESSION_OUT_MAX. */
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "common/common.h"
#include "smpp/smpp.h"

#define SMPP_SESSION_MAX_PARTS     16          /* a longer reply is refused */
#define SMPP_SESSION_TEXT_MAX      4096        /* encoded octets of one reply */
#define SMPP_SESSION_MAX_DEFERRED  4096        /* deliver_sm answers owed by the caller */
#define SMPP_SESSION_OUT_MAX       (1024 * 1024)
#define SMPP_SESSION_IN_HIGH       (4 * SMPP_MAX_PDU_LEN)
#define SMPP_SESSION_STOP_MS       3000        /* "a few seconds" for answers at stop */
#define SMPP_SESSION_UNBIND_MS     2000        /* then for unbind_resp */
#define SMPP_SESSION_PAUSE_MIN_MS  1000        /* after ESME_RTHROTTLED/ESME_RMSGQFUL */
#define SMPP_SESSION_PAUSE_MAX_MS  30000
#define SMPP_SESSION_TICK_MS       250

/* The ticket of a deferred answer: generation << 32 | sequence; bit 31 (sequences stop
 * at 0x7FFFFFFF) marks a data_sm, whose answer is a data_sm_resp. */
#define SMPP_TICKET_DATA_SM 0x80000000u

enum smpp_session_state {
	SMPP_SESSION_IDLE,         /* not connected; a reconnect is scheduled */
	SMPP_SESSION_CONNECTING,   /* TCP connects in progress */
	SMPP_SESSION_BINDING,      /* bind sent on every connection, waiting for the resps */
	SMPP_SESSION_BOUND,
	SMPP_SESSION_UNBINDING,    /* stopping: unbind sent */
	SMPP_SESSION_STOPPED,
};

static const char *smpp_session_state_names[] = {
	"idle", "connecting", "binding", "bound", "unbinding", "stopped"
};

enum smpp_conn_state {
	SMPP_CONN_CLOSED,
	SMPP_CONN_CONNECTING,
	SMPP_CONN_BINDING,
	SMPP_CONN_BOUND,
	SMPP_CONN_CLOSING,         /* unbind_resp written; closed once it is flushed */
};

static const char *smpp_conn_state_names[] = {
	"closed", "connecting", "binding", "bound", "closing"
};

enum smpp_part_state { SMPP_PART_QUEUED, SMPP_PART_SENT, SMPP_PART_DONE };

/* One accepted reply: its encoded text and where each part starts. */
struct smpp_msg {
	TAILQ_ENTRY(smpp_msg) entry;
	uint64_t ref;
	char dest[21];
	uint8_t dest_ton, dest_npi;
	uint8_t dc, udh_ref;
	int payload;                       /* whole text in message_payload */
	int nparts, ndone;
	size_t off[SMPP_SESSION_MAX_PARTS + 1];
	uint8_t state[SMPP_SESSION_MAX_PARTS];
	char message_id[65];               /* of the last part answered ESME_ROK */
	size_t len;
	uint8_t text[];
};
TAILQ_HEAD(smpp_msgs, smpp_msg);

/* A submit_sm in flight; msg is NULL once its message is finished (late answer). */
struct smpp_slot {
	int used;
	uint32_t seq;
	int64_t sent_ms;
	struct smpp_msg *msg;
	int part;
};

struct smpp_conn {
	struct smpp_session *s;
	uint32_t role;                     /* SMPP_BIND_TRANSCEIVER/TRANSMITTER/RECEIVER */
	enum smpp_conn_state state;
	struct bufferevent *bev;
	uint32_t generation, next_seq;
	int64_t opened_ms, last_rx_ms, last_el_ms;
	uint32_t bind_seq, el_seq, unbind_seq;
	int64_t bind_ms, el_ms, unbind_ms;
	int ndeferred;
	struct evbuffer *test_in, *test_out;   /* test mode: no socket */
};

struct smpp_session {
	struct event_base *base;
	struct smpp_session_config cfg;    /* strings are our copies */
	struct smpp_session_callbacks cbs;
	enum smpp_session_state state;
	struct smpp_conn conns[2];
	int nconns;
	struct evdns_base *dns;
	struct event *retry_ev, *tick_ev, *send_ev, *stop_ev;
	int attempt;                       /* reconnects since the last good bind */
	uint32_t next_generation;

	struct smpp_msgs msgs;
	int nmsgs;
	struct smpp_slot *slots;           /* cfg.window of them */
	int nslots, ninflight;
	int pumping;
	double tokens;
	int64_t tokens_ms;
	int64_t paused_until_ms;
	int64_t paused_at_ms;              /* when the current pause began or last grew */
	int pause_ms;
	uint8_t next_udh_ref;

	int stopping;
	void (*stop_done)(void *);
	void *stop_arg;


	int test_mode;
	int cfg_too_long;                  /* a bind field over its SMPP width */
	char *text;                        /* decoded MO text, 3 * SMPP_MAX_PDU_LEN + 1 */
};

static void smpp_session_pump(struct smpp_session *);
static void smpp_session_link_down(struct smpp_session *, const char *);
static void smpp_session_stop_check(struct smpp_session *);
static void smpp_session_stop_finish(struct smpp_session *);

/* Arms a one-shot timer ms from now. */
static void
smpp_timer_arm(struct event *ev, int64_t ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

/* response_timeout_s, with a default for an unset config. */
static int64_t
smpp_session_resp_timeout_ms(const struct smpp_session *s)
{
	return (int64_t)(s->cfg.response_timeout_s > 0 ? s->cfg.response_timeout_s : 30) * 1000;
}

/* The one place the session changes state, so every change is in the trace log. */
static void
smpp_session_set_state(struct smpp_session *s, enum smpp_session_state to)
{
	if (s->state == to)
		return;
	log_trace("smpp: session %s -> %s", smpp_session_state_names[s->state],
	    smpp_session_state_names[to]);
	s->state = to;
}

/* Same for one connection. */
static void
smpp_conn_set_state(struct smpp_conn *c, enum smpp_conn_state to)
{
	if (c->state == to)
		return;
	log_trace("smpp: %s connection %u %s -> %s", smpp_command_name(c->role),
	    c->generation, smpp_conn_state_names[c->state], smpp_conn_state_names[to]);
	c->state = to;
}

/* ---- writing ---------------------------------------------------------------------- */

/* Sequence numbers run 1..0x7FFFFFFF per connection, then wrap. */
static uint32_t
smpp_conn_next_seq(struct smpp_conn *c)
{
	uint32_t seq = c->next_seq;

	c->next_seq = seq >= 0x7FFFFFFFu ? 1 : seq + 1;
	return seq;
}

/* Writes one encoded PDU; a peer that does not read is a dead link. 0 or -1. */
static int
smpp_conn_write(struct smpp_conn *c, const uint8_t *buf, size_t n)
{
	struct evbuffer *out;

	if (c->state == SMPP_CONN_CLOSED)
		return -1;
	out = c->test_out != NULL ? c->test_out : bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) + n > SMPP_SESSION_OUT_MAX) {
		smpp_session_link_down(c->s, "the SMSC does not read what we send");
		return -1;
	}
	if (evbuffer_add(out, buf, n) != 0)
		return -1;
	return 0;
}

/* Encodes and writes one of our PDUs. */
static int
smpp_conn_send(struct smpp_conn *c, const struct smpp_pdu *p)
{
	uint8_t buf[SMPP_ENCODE_MAX];
	int n = smpp_encode(p, buf, sizeof buf);

	if (n < 0) {
		log_error("smpp: cannot encode %s", smpp_command_name(p->h.command_id));
		return -1;
	}
	log_trace("smpp: -> %s seq %u status %s len %d", smpp_command_name(p->h.command_id),
	    p->h.sequence, smpp_status_name(p->h.status), n);
	return smpp_conn_write(c, buf, (size_t)n);
}

/* A response with no body of its own (or an empty message_id). libsmpp34 refuses a
 * sequence of 0 or vendor statuses: those answers are built raw. */
static void
smpp_conn_send_resp(struct smpp_conn *c, uint32_t command_id, uint32_t status, uint32_t seq)
{
	struct smpp_pdu p;
	struct smpp_build b;
	uint8_t buf[SMPP_HEADER_LEN + 1];
	int n;

	memset(&p, 0, sizeof p);
	p.h.command_id = command_id;
	p.h.status = status;
	p.h.sequence = seq;
	n = smpp_encode(&p, buf, sizeof buf);
	if (n < 0) {
		smpp_build_start(&b, buf, sizeof buf, command_id, status, seq);
		if (command_id == (SMPP_DELIVER_SM | SMPP_RESP_BIT) ||
		    command_id == (SMPP_DATA_SM | SMPP_RESP_BIT))
			smpp_build_u8(&b, 0);
		if ((n = smpp_build_finish(&b)) < 0)
			return;
	}
	log_trace("smpp: -> %s seq %u status %s", smpp_command_name(command_id), seq,
	    smpp_status_name(status));
	smpp_conn_write(c, buf, (size_t)n);
}

/* ---- the outbound queue ----------------------------------------------------------- */

/* The submit_sm of one part: UDH in short_message for multi-part messages. sm must
 * hold SMPP_UDH_CONCAT_LEN + 153 octets. */
static void
smpp_session_part_pdu(struct smpp_session *s, struct smpp_msg *m, int part, uint32_t seq,
    struct smpp_pdu *p, uint8_t *sm)
{
	size_t n = m->off[part + 1] - m->off[part];

	memset(p, 0, sizeof *p);
	p->h.command_id = SMPP_SUBMIT_SM;
	p->h.sequence = seq;
	strlcpy_safe(p->source_addr, s->cfg.source_addr, sizeof p->source_addr);
	p->source_addr_ton = s->cfg.source_ton;
	p->source_addr_npi = s->cfg.source_npi;
	strlcpy_safe(p->destination_addr, m->dest, sizeof p->destination_addr);
	p->dest_addr_ton = m->dest_ton;
	p->dest_addr_npi = m->dest_npi;
	p->registered_delivery = s->cfg.request_dlr ? 1 : 0;
	p->data_coding = m->dc;
	if (m->payload) {
		p->has_message_payload = 1;
		p->message_payload = m->text;
		p->message_payload_len = (uint16_t)m->len;
	} else if (m->nparts > 1) {
		p->esm_class = 0x40;
		sm[0] = 5;	/* UDH length */
		sm[1] = 0;	/* IE: concatenated short messages, 8-bit reference */
		sm[2] = 3;
		sm[3] = m->udh_ref;
		sm[4] = (uint8_t)m->nparts;
		sm[5] = (uint8_t)(part + 1);
		memcpy(sm + SMPP_UDH_CONCAT_LEN, m->text + m->off[part], n);
		p->short_message = sm;
		p->sm_length = (uint8_t)(SMPP_UDH_CONCAT_LEN + n);
	} else {
		p->short_message = m->text;
		p->sm_length = (uint8_t)n;
	}
}

/* The conn that carries submit_sm: the transceiver, or the transmitter of a pair. */
static struct smpp_conn *
smpp_session_tx(struct smpp_session *s)
{
	return &s->conns[0];
}

/* Takes a message off the queue and tells the caller; in-flight parts are forgotten,
 * their late answers ignored. The callback runs last: it may submit again. */
static void
smpp_session_msg_finish(struct smpp_session *s, struct smpp_msg *m, uint32_t status,
    const char *message_id)
{
	char id[65];
	uint64_t ref = m->ref;
	int i;

	for (i = 0; i < s->nslots; i++) {
		if (s->slots[i].used && s->slots[i].msg == m)
			s->slots[i].msg = NULL;
	}
	TAILQ_REMOVE(&s->msgs, m, entry);
	s->nmsgs--;
	strlcpy_safe(id, message_id != NULL ? message_id : "", sizeof id);
	free(m);
	if (s->cbs.submit_cb != NULL)
		s->cbs.submit_cb(s->cbs.arg, ref, status, status == ESME_ROK ? id : NULL);
}

/* Whether the token bucket allows a submit_sm now; else when it will, in ms. */
static int64_t
smpp_session_tokens_wait(struct smpp_session *s, int64_t now)
{
	double tps = s->cfg.submit_tps;

	if (tps <= 0)
		return 0;
	s->tokens += (double)(now - s->tokens_ms) * tps / 1000.0;
	s->tokens_ms = now;
	if (s->tokens > tps)
		s->tokens = tps;
	if (s->tokens >= 1.0)
		return 0;
	return (int64_t)((1.0 - s->tokens) * 1000.0 / tps) + 1;
}

/* Sends queued parts while the window, the TPS cap and any throttle pause allow. */
static void
smpp_session_pump(struct smpp_session *s)
{
	struct smpp_conn *c = smpp_session_tx(s);
	struct smpp_msg *m;
	struct smpp_pdu p;
	uint8_t sm[SMPP_UDH_CONCAT_LEN + 160];
	int64_t now, wait;
	int part, i;

	if (s->pumping)
		return;
	s->pumping = 1;
	while (s->state == SMPP_SESSION_BOUND && !s->stopping && s->ninflight < s->nslots) {
		now = clock_mono_ms();
		if (now < s->paused_until_ms) {
			if (!evtimer_pending(s->send_ev, NULL))
				smpp_timer_arm(s->send_ev, s->paused_until_ms - now);
			break;
		}
		part = -1;
		TAILQ_FOREACH(m, &s->msgs, entry) {
			for (i = 0; i < m->nparts; i++) {
				if (m->state[i] == SMPP_PART_QUEUED) {
					part = i;
					break;
				}
			}
			if (part >= 0)
				break;
		}
		if (m == NULL)
			break;
		if ((wait = smpp_session_tokens_wait(s, now)) > 0) {
			if (!evtimer_pending(s->send_ev, NULL))
				smpp_timer_arm(s->send_ev, wait);
			break;
		}
		for (i = 0; s->slots[i].used; i++)
			;
		smpp_session_part_pdu(s, m, part, smpp_conn_next_seq(c), &p, sm);
		if (smpp_conn_send(c, &p) != 0) {
			if (s->state != SMPP_SESSION_BOUND)
				break;		/* the link went down */
			smpp_session_msg_finish(s, m, ESME_RSYSERR, NULL);
			continue;
		}
		if (s->cfg.submit_tps > 0)
			s->tokens -= 1.0;
		m->state[part] = SMPP_PART_SENT;
		s->slots[i].used = 1;
		s->slots[i].seq = p.h.sequence;
		s->slots[i].sent_ms = now;
		s->slots[i].msg = m;
		s->slots[i].part = part;
		s->ninflight++;
	}
	s->pumping = 0;
}

/* A TPS wait or a throttle pause is over: send what waits. */
static void
smpp_session_send_cb(evutil_socket_t fd, short what, void *arg)
{
	smpp_session_pump(arg);
}

/* A submit_sm_resp (or a generic_nack for a submit_sm). */
static void
smpp_session_submit_resp(struct smpp_session *s, uint32_t seq, uint32_t status,
    const char *message_id)
{
	struct smpp_slot *slot = NULL;
	struct smpp_msg *m;
	int64_t sent_ms, now;
	int i, part;

	for (i = 0; i < s->nslots; i++) {
		if (s->slots[i].used && s->slots[i].seq == seq) {
			slot = &s->slots[i];
			break;
		}
	}
	if (slot == NULL) {
		log_debug("smpp: submit_sm_resp for unknown sequence %u", seq);
		return;
	}
	m = slot->msg;
	part = slot->part;
	sent_ms = slot->sent_ms;
	slot->used = 0;
	slot->msg = NULL;
	s->ninflight--;
	if (m != NULL) {
		if (status == ESME_ROK) {
			s->pause_ms = 0;
			m->state[part] = SMPP_PART_DONE;
			strlcpy_safe(m->message_id, message_id, sizeof m->message_id);
			if (++m->ndone == m->nparts)
				smpp_session_msg_finish(s, m, ESME_ROK, m->message_id);
		} else if (status == ESME_RTHROTTLED || status == ESME_RMSGQFUL) {
			/* the same part goes again after a pause that grows while it lasts; the
			 * rest of a window sent before the pause began is the same refusal, so
			 * only a submit sent since then makes it grow */
			m->state[part] = SMPP_PART_QUEUED;
			if (s->pause_ms == 0 || sent_ms > s->paused_at_ms) {
				now = clock_mono_ms();
				s->pause_ms = s->pause_ms == 0 ? SMPP_SESSION_PAUSE_MIN_MS :
				    s->pause_ms * 2 > SMPP_SESSION_PAUSE_MAX_MS ?
				    SMPP_SESSION_PAUSE_MAX_MS : s->pause_ms * 2;
				s->paused_at_ms = now;
				s->paused_until_ms = now + s->pause_ms;
				log_info("smpp: %s: pausing submits for %d ms", smpp_status_name(status),
				    s->pause_ms);
			}
		} else {
			log_warn("smpp: submit_sm refused: %s", smpp_status_name(status));
			smpp_session_msg_finish(s, m, status, NULL);
		}
	}
	smpp_session_pump(s);
	smpp_session_stop_check(s);
}

/* ---- connections ----------------------------------------------------------------- */

/* Closes one connection; what it owed is settled by the caller. */
static void
smpp_conn_close(struct smpp_conn *c)
{
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	if (c->test_in != NULL)
		evbuffer_drain(c->test_in, evbuffer_get_length(c->test_in));
	c->bind_seq = c->el_seq = c->unbind_seq = 0;
	c->ndeferred = 0;
	smpp_conn_set_state(c, SMPP_CONN_CLOSED);
}

/* The next reconnect: exponential from 1 s, capped, with jitter in [d/2, d]. */
static int64_t
smpp_session_backoff_ms(struct smpp_session *s)
{
	int64_t cap = (int64_t)(s->cfg.reconnect_max_s > 0 ? s->cfg.reconnect_max_s : 1) * 1000;
	int64_t d = 1000;
	int i;

	for (i = 1; i < s->attempt && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	return d / 2 + (int64_t)random_below((uint32_t)(d / 2 + 1));
}

/* Every way a link ends comes here: both connections go, every outstanding reply is
 * reported lost (the caller sends it again after the next bind), then a reconnect. */
static void
smpp_session_link_down(struct smpp_session *s, const char *why)
{
	struct smpp_msgs lost;
	struct smpp_msg *m;
	int was_bound = s->state == SMPP_SESSION_BOUND || s->state == SMPP_SESSION_UNBINDING;
	int64_t delay;
	int i;

	if (s->state == SMPP_SESSION_IDLE || s->state == SMPP_SESSION_STOPPED)
		return;
	if (s->stopping)
		log_info("smpp: link to %s:%d closed: %s", s->cfg.host, s->cfg.port, why);
	else
		log_warn("smpp: link to %s:%d down: %s", s->cfg.host, s->cfg.port, why);
	for (i = 0; i < s->nconns; i++)
		smpp_conn_close(&s->conns[i]);
	for (i = 0; i < s->nslots; i++)
		s->slots[i].used = 0;
	s->ninflight = 0;
	s->paused_until_ms = 0;
	s->pause_ms = 0;
	evtimer_del(s->send_ev);
	smpp_session_set_state(s, SMPP_SESSION_IDLE);

	/* the callbacks may submit again: can_submit is already 0 */
	TAILQ_INIT(&lost);
	TAILQ_CONCAT(&lost, &s->msgs, entry);
	s->nmsgs = 0;
	while ((m = TAILQ_FIRST(&lost)) != NULL) {
		uint64_t ref = m->ref;

		TAILQ_REMOVE(&lost, m, entry);
		free(m);
		if (s->cbs.submit_cb != NULL)
			s->cbs.submit_cb(s->cbs.arg, ref, SMPP_STATUS_LINK_LOST, NULL);
	}
	if (was_bound && s->cbs.state_cb != NULL)
		s->cbs.state_cb(s->cbs.arg, 0);

	if (s->stopping) {
		smpp_session_stop_finish(s);
		return;
	}
	if (s->test_mode)
		return;
	s->attempt++;
	delay = smpp_session_backoff_ms(s);
	log_info("smpp: reconnecting in %lld ms", (long long)delay);
	smpp_timer_arm(s->retry_ev, delay);
}

/* All connections bound: tell the caller, who resubmits what it still owes. */
static void
smpp_session_check_bound(struct smpp_session *s)
{
	int i;

	for (i = 0; i < s->nconns; i++) {
		if (s->conns[i].state != SMPP_CONN_BOUND)
			return;
	}
	s->attempt = 0;
	s->tokens = s->cfg.submit_tps > 0 ? 1.0 : 0.0;
	s->tokens_ms = clock_mono_ms();
	smpp_session_set_state(s, SMPP_SESSION_BOUND);
	log_info("smpp: bound to %s:%d as %s (%s)", s->cfg.host, s->cfg.port, s->cfg.system_id,
	    s->nconns == 2 ? "transmitter + receiver" : "transceiver");
	if (s->cbs.state_cb != NULL)
		s->cbs.state_cb(s->cbs.arg, 1);
	smpp_session_pump(s);
}

/* The TCP connection is up: no Nagle delay for small PDUs, then bind. */
static void
smpp_conn_connected(struct smpp_conn *c)
{
	struct smpp_session *s = c->s;
	struct smpp_pdu p;
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	int one = 1;

	if (fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
		log_debug("smpp: TCP_NODELAY: %s", strerror(errno));
	if (s->cfg_too_long) {
		/* strlcpy would cut them: a bind with a cut password is worse than none */
		smpp_session_link_down(s, "system_id, password, system_type or address_range too long");
		return;
	}
	memset(&p, 0, sizeof p);
	p.h.command_id = c->role;
	p.h.sequence = smpp_conn_next_seq(c);
	strlcpy_safe(p.system_id, s->cfg.system_id, sizeof p.system_id);
	strlcpy_safe(p.password, s->cfg.password, sizeof p.password);
	strlcpy_safe(p.system_type, s->cfg.system_type, sizeof p.system_type);
	strlcpy_safe(p.address_range, s->cfg.address_range, sizeof p.address_range);
	p.interface_version = 0x34;
	c->last_rx_ms = clock_mono_ms();
	smpp_conn_set_state(c, SMPP_CONN_BINDING);
	if (smpp_conn_send(c, &p) != 0) {
		smpp_session_link_down(s, "cannot encode the bind (check system_id/password widths)");
		return;
	}
	c->bind_seq = p.h.sequence;
	c->bind_ms = clock_mono_ms();
	if (s->state == SMPP_SESSION_CONNECTING)
		smpp_session_set_state(s, SMPP_SESSION_BINDING);
}

/* ---- inbound -------------------------------------------------------------------- */

/* Delivery receipt: the id from receipted_message_id or the "id:... stat:..." text. */
static void
smpp_session_dlr(struct smpp_session *s, const struct smpp_pdu *p, const char *text)
{
	static const char *states[] = { "SCHEDULED", "ENROUTE", "DELIVRD", "EXPIRED",
	    "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD", "SKIPPED" };
	char id[65] = "", stat[16] = "";
	const char *t = text;
	size_t n;

	if (p->has_receipted_message_id)
		strlcpy_safe(id, p->receipted_message_id, sizeof id);
	while (*t != '\0') {
		while (*t == ' ')
			t++;
		n = strcspn(t, " ");
		if (id[0] == '\0' && n > 3 && strncasecmp(t, "id:", 3) == 0)
			snprintf(id, sizeof id, "%.*s", (int)(n - 3), t + 3);
		else if (stat[0] == '\0' && n > 5 && strncasecmp(t, "stat:", 5) == 0)
			snprintf(stat, sizeof stat, "%.*s", (int)(n - 5), t + 5);
		else if (n >= 5 && strncasecmp(t, "text:", 5) == 0)
			break;		/* the rest is the message's own text */
		t += n;
	}
	if (stat[0] == '\0' && p->has_message_state && p->message_state < 10)
		strlcpy_safe(stat, states[p->message_state], sizeof stat);
	log_debug("smpp: delivery receipt id %s stat %s", id, stat);
	if (s->cbs.dlr_cb != NULL)
		s->cbs.dlr_cb(s->cbs.arg, id, stat);
}

/* Concatenation info from the UDH (IEI 0 or 8) or the SAR TLVs; 1 when it is a part of
 * a longer message. *udhl is the UDH length to skip (0 without one). */
static int
smpp_concat_info(const struct smpp_pdu *p, const uint8_t *body, size_t len, size_t *udhl,
    uint16_t *ref, uint8_t *total, uint8_t *seq)
{
	size_t i, end;
	int found = 0;

	*udhl = 0;
	if (p->esm_class & 0x40) {
		if (len < 1 || (size_t)body[0] + 1 > len)
			return -1;
		end = (size_t)body[0] + 1;
		*udhl = end;
		for (i = 1; i + 2 <= end; i += 2 + body[i + 1]) {
			if (i + 2 + body[i + 1] > end)
				return -1;
			if (body[i] == 0x00 && body[i + 1] == 3) {
				*ref = body[i + 2];
				*total = body[i + 3];
				*seq = body[i + 4];
				found = 1;
			} else if (body[i] == 0x08 && body[i + 1] == 4) {
				*ref = (uint16_t)(body[i + 2] << 8 | body[i + 3]);
				*total = body[i + 4];
				*seq = body[i + 5];
				found = 1;
			}
		}
	}
	if (!found && p->has_sar) {
		*ref = p->sar_msg_ref_num;
		*total = p->sar_total_segments;
		*seq = p->sar_segment_seqnum;
		found = 1;
	}
	if (!found || *total < 2 || *seq < 1 || *seq > *total)
		return 0;	/* not a part, or nonsense numbering: taken as a whole */
	return 1;
}

/* deliver_sm or data_sm from the SMSC: receipts at once, messages to the caller. A part
 * of a long message goes to the caller as it is, to be stored before it is answered. */
static void
smpp_conn_deliver(struct smpp_conn *c, const struct smpp_pdu *p)
{
	struct smpp_session *s = c->s;
	uint32_t resp = p->h.command_id | SMPP_RESP_BIT, status;
	const uint8_t *body = p->short_message;
	size_t len = p->sm_length, udhl;
	struct smpp_mo mo;
	uint64_t ticket;
	uint16_t ref = 0;
	uint8_t total = 0, seq = 0;
	int n = 0, part;

	if (c->state != SMPP_CONN_BOUND || c->role == SMPP_BIND_TRANSMITTER) {
		smpp_conn_send_resp(c, resp, ESME_RINVBNDSTS, p->h.sequence);
		return;
	}
	if (p->has_message_payload) {
		body = p->message_payload;
		len = p->message_payload_len;
	}
	part = smpp_concat_info(p, body, len, &udhl, &ref, &total, &seq);
	if (part < 0) {
		smpp_conn_send_resp(c, resp, ESME_RINVMSGLEN, p->h.sequence);
		return;
	}
	if (udhl > 0) {		/* body may be NULL (a data_sm without payload) */
		body += udhl;
		len -= udhl;
	}

	if ((p->esm_class & 0x3C) == 0x04) {
		smpp_text_decode(p->data_coding, body, len, s->text, 3 * SMPP_MAX_PDU_LEN + 1);
		smpp_session_dlr(s, p, s->text);
		smpp_conn_send_resp(c, resp, ESME_ROK, p->h.sequence);
		return;
	}
	if (s->stopping || c->ndeferred >= SMPP_SESSION_MAX_DEFERRED || s->cbs.mo_cb == NULL) {
		smpp_conn_send_resp(c, resp, ESME_RX_T_APPN, p->h.sequence);
		return;
	}
	memset(&mo, 0, sizeof mo);
	if (part == 1) {
		mo.part_ref = ref;
		mo.part_total = total;
		mo.part_seq = seq;
		mo.part = body;
		mo.part_len = len;
	} else {
		n = smpp_text_decode(p->data_coding, body, len, s->text, 3 * SMPP_MAX_PDU_LEN + 1);
		if (n < 0) {
			smpp_conn_send_resp(c, resp, ESME_RINVMSGLEN, p->h.sequence);
			return;
		}
		mo.text = s->text;
		mo.text_len = (size_t)n;
	}
	mo.source_addr = p->source_addr;
	mo.source_ton = p->source_addr_ton;
	mo.source_npi = p->source_addr_npi;
	mo.dest_addr = p->destination_addr;
	mo.data_coding = p->data_coding;
	mo.esm_class = p->esm_class;
	ticket = (uint64_t)c->generation << 32 | p->h.sequence |
	    (p->h.command_id == SMPP_DATA_SM ? SMPP_TICKET_DATA_SM : 0);
	/* counted before the call: the caller may answer from inside it */
	c->ndeferred++;
	status = s->cbs.mo_cb(s->cbs.arg, &mo, ticket);
	if (status != SMPP_MO_DEFER) {
		c->ndeferred--;
		smpp_conn_send_resp(c, resp, status, p->h.sequence);
	}
}

/* A response from the SMSC; malformed bodies still count by their header. */
static void
smpp_conn_response(struct smpp_conn *c, const struct smpp_pdu *p, uint32_t decoded)
{
	struct smpp_session *s = c->s;
	uint32_t seq = p->h.sequence, status = p->h.status;

	if (decoded != ESME_ROK)
		log_warn("smpp: malformed %s seq %u: %s", smpp_command_name(p->h.command_id), seq,
		    smpp_status_name(decoded));
	switch (p->h.command_id) {
	case SMPP_BIND_RECEIVER | SMPP_RESP_BIT:
	case SMPP_BIND_TRANSMITTER | SMPP_RESP_BIT:
	case SMPP_BIND_TRANSCEIVER | SMPP_RESP_BIT:
	case SMPP_GENERIC_NACK:
		if (c->state == SMPP_CONN_BINDING && c->bind_seq == seq) {
			c->bind_seq = 0;
			if (status != ESME_ROK || p->h.command_id == SMPP_GENERIC_NACK) {
				log_error("smpp: bind rejected by %s:%d: %s", s->cfg.host, s->cfg.port,
				    smpp_status_name(status));
				smpp_session_link_down(s, "bind rejected");
				return;
			}
			smpp_conn_set_state(c, SMPP_CONN_BOUND);
			c->last_el_ms = clock_mono_ms();
			smpp_session_check_bound(s);
			return;
		}
		if (p->h.command_id != SMPP_GENERIC_NACK)
			break;
		if (c->el_seq == seq && seq != 0) {
			c->el_seq = 0;	/* it answered, so the link is alive */
			return;
		}
		if (c->unbind_seq == seq && seq != 0) {
			smpp_session_link_down(s, "unbind answered");
			return;
		}
		log_warn("smpp: generic_nack seq %u: %s", seq, smpp_status_name(status));
		if (c == smpp_session_tx(s))
			smpp_session_submit_resp(s, seq, status == ESME_ROK ? ESME_RSYSERR : status,
			    NULL);
		return;
	case SMPP_ENQUIRE_LINK | SMPP_RESP_BIT:
		if (c->el_seq == seq)
			c->el_seq = 0;
		return;
	case SMPP_UNBIND | SMPP_RESP_BIT:
		if (c->unbind_seq == seq && seq != 0) {
			c->unbind_seq = 0;
			smpp_session_link_down(s, "unbound");
			return;
		}
		break;
	case SMPP_SUBMIT_SM | SMPP_RESP_BIT:
		if (c == smpp_session_tx(s) && c->state == SMPP_CONN_BOUND) {
			smpp_session_submit_resp(s, seq, status, p->message_id);
			return;
		}
		break;
	default:
		if (decoded == ESME_RINVCMDID) {
			smpp_conn_send_resp(c, SMPP_GENERIC_NACK, ESME_RINVCMDID, seq);
			return;
		}
		break;
	}
	log_debug("smpp: unexpected %s seq %u", smpp_command_name(p->h.command_id), seq);
}

/* One whole PDU from the SMSC. */
static void
smpp_conn_dispatch(struct smpp_conn *c, const uint8_t *buf, size_t n)
{
	struct smpp_pdu p;
	uint32_t st = smpp_decode(buf, n, &p);

	c->last_rx_ms = clock_mono_ms();
	log_trace("smpp: <- %s seq %u status %s len %zu%s", smpp_command_name(p.h.command_id),
	    p.h.sequence, smpp_status_name(p.h.status), n, st ? " (malformed)" : "");
	if (p.h.command_id & SMPP_RESP_BIT) {
		smpp_conn_response(c, &p, st);
		return;
	}
	if (st != ESME_ROK) {
		log_warn("smpp: malformed %s seq %u: %s", smpp_command_name(p.h.command_id),
		    p.h.sequence, smpp_status_name(st));
		if (p.h.command_id == SMPP_DELIVER_SM || p.h.command_id == SMPP_DATA_SM)
			smpp_conn_send_resp(c, p.h.command_id | SMPP_RESP_BIT, st, p.h.sequence);
		else
			smpp_conn_send_resp(c, SMPP_GENERIC_NACK, st, p.h.sequence);
		return;
	}
	switch (p.h.command_id) {
	case SMPP_ENQUIRE_LINK:
		smpp_conn_send_resp(c, SMPP_ENQUIRE_LINK | SMPP_RESP_BIT, ESME_ROK, p.h.sequence);
		break;
	case SMPP_UNBIND:
		log_info("smpp: the SMSC unbinds");
		smpp_conn_send_resp(c, SMPP_UNBIND | SMPP_RESP_BIT, ESME_ROK, p.h.sequence);
		if (c->test_out != NULL || c->bev == NULL) {
			smpp_session_link_down(c->s, "unbound by the SMSC");
			break;
		}
		/* closed once the unbind_resp is flushed (the write callback) */
		bufferevent_disable(c->bev, EV_READ);
		smpp_conn_set_state(c, SMPP_CONN_CLOSING);
		break;
	case SMPP_DELIVER_SM:
	case SMPP_DATA_SM:
		smpp_conn_deliver(c, &p);
		break;
	case SMPP_OUTBIND:
	case SMPP_ALERT_NOTIFICATION:
		/* no response exists for these; an ESME that is bound needs neither */
		log_debug("smpp: ignoring %s", smpp_command_name(p.h.command_id));
		break;
	default:
		/* bind, submit_sm, query_sm ... are not for an ESME to serve */
		smpp_conn_send_resp(c, SMPP_GENERIC_NACK, ESME_RINVCMDID, p.h.sequence);
		break;
	}
}

/* Frames and dispatches what arrived. Returns -1 once the link went down (the buffer
 * may be gone then), else 0. */
static int
smpp_conn_input(struct smpp_conn *c, struct evbuffer *in)
{
	uint32_t gen = c->generation, n;
	uint8_t hdr[4];
	const uint8_t *p;
	size_t avail;
	int r;

	for (;;) {
		if (c->state == SMPP_CONN_CLOSED || c->state == SMPP_CONN_CLOSING)
			return c->state == SMPP_CONN_CLOSED ? -1 : 0;
		avail = evbuffer_get_length(in);
		if (avail < sizeof hdr)
			return 0;
		evbuffer_copyout(in, hdr, sizeof hdr);
		r = smpp_frame(hdr, avail, &n);
		if (r < 0) {
			char why[64];

			snprintf(why, sizeof why, "impossible command_length %u",
			    (unsigned)hdr[0] << 24 | (unsigned)hdr[1] << 16 | (unsigned)hdr[2] << 8 | hdr[3]);
			smpp_session_link_down(c->s, why);
			return -1;
		}
		if (r == 0)
			return 0;
		if ((p = evbuffer_pullup(in, n)) == NULL) {
			smpp_session_link_down(c->s, "out of memory");
			return -1;
		}
		smpp_conn_dispatch(c, p, n);
		if (c->generation != gen || c->state == SMPP_CONN_CLOSED)
			return -1;
		evbuffer_drain(in, n);
	}
}

/* Bytes from the SMSC. */
static void
smpp_conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct smpp_conn *c = arg;

	smpp_conn_input(c, bufferevent_get_input(bev));
}

/* Output flushed: a connection closing after unbind_resp may go now. */
static void
smpp_conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct smpp_conn *c = arg;

	if (c->state == SMPP_CONN_CLOSING)
		smpp_session_link_down(c->s, "unbound by the SMSC");
}

/* Connected, or the connection ended (EOF, error, resolver failure). */
static void
smpp_conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smpp_conn *c = arg;
	char why[160];
	int dnserr;

	if (what & BEV_EVENT_CONNECTED) {
		smpp_conn_connected(c);
		return;
	}
	if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof why, "closed by the SMSC");
	else if ((dnserr = bufferevent_socket_get_dns_error(bev)) != 0)
		snprintf(why, sizeof why, "cannot resolve %s: %s", c->s->cfg.host,
		    evutil_gai_strerror(dnserr));
	else
		snprintf(why, sizeof why, "%s", evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
	smpp_session_link_down(c->s, why);
}

/* Starts one non-blocking connect: numeric addresses directly, names through evdns. */
static int
smpp_conn_open(struct smpp_conn *c)
{
	struct smpp_session *s = c->s;
	struct sockaddr_storage ss;
	int sslen = sizeof ss;
	char hp[300];

	c->bev = bufferevent_socket_new(s->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		return -1;
	bufferevent_setcb(c->bev, smpp_conn_read_cb, smpp_conn_write_cb, smpp_conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, SMPP_SESSION_IN_HIGH);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->generation = ++s->next_generation;
	if (c->generation == 0)
		c->generation = ++s->next_generation;
	c->next_seq = 1;
	c->opened_ms = c->last_rx_ms = clock_mono_ms();
	c->ndeferred = 0;
	c->bind_seq = c->el_seq = c->unbind_seq = 0;
	smpp_conn_set_state(c, SMPP_CONN_CONNECTING);

	snprintf(hp, sizeof hp, strchr(s->cfg.host, ':') ? "[%s]:%d" : "%s:%d", s->cfg.host,
	    s->cfg.port);
	if (evutil_parse_sockaddr_port(hp, (struct sockaddr *)&ss, &sslen) == 0) {
		if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss, sslen) == 0)
			return 0;
	} else {
		if (s->dns == NULL)
			s->dns = evdns_base_new(s->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
		if (s->dns != NULL && bufferevent_socket_connect_hostname(c->bev, s->dns,
		    AF_UNSPEC, s->cfg.host, s->cfg.port) == 0)
			return 0;
	}
	return -1;
}

/* The reconnect timer (and the first connect). */
static void
smpp_session_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smpp_session *s = arg;
	int i;

	if (s->stopping || s->state != SMPP_SESSION_IDLE)
		return;
	log_info("smpp: connecting to %s:%d", s->cfg.host, s->cfg.port);
	smpp_session_set_state(s, SMPP_SESSION_CONNECTING);
	for (i = 0; i < s->nconns; i++) {
		if (smpp_conn_open(&s->conns[i]) != 0) {
			smpp_session_link_down(s, "cannot start the connect");
			return;
		}
	}
}

/* Deadlines: connect and responses, the dead link, enquire_link to send. */
static void
smpp_session_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smpp_session *s = arg;
	int64_t now = clock_mono_ms(), rto = smpp_session_resp_timeout_ms(s);
	int64_t dead = (int64_t)(s->cfg.dead_link_s > 0 ? s->cfg.dead_link_s : 60) * 1000;
	int64_t el = (int64_t)(s->cfg.enquire_link_s > 0 ? s->cfg.enquire_link_s : 30) * 1000;
	struct smpp_conn *c;
	struct smpp_pdu p;
	int i;

	for (i = 0; i < s->nslots; i++) {
		if (s->slots[i].used && now - s->slots[i].sent_ms > rto) {
			smpp_session_link_down(s, "no submit_sm_resp within response_timeout_s");
			return;
		}
	}
	for (i = 0; i < s->nconns; i++) {
		c = &s->conns[i];
		if (c->state == SMPP_CONN_CLOSED)
			continue;
		if (c->state == SMPP_CONN_CONNECTING && now - c->opened_ms > rto) {
			smpp_session_link_down(s, "connect timed out");
			return;
		}
		if ((c->bind_seq && now - c->bind_ms > rto) || (c->el_seq && now - c->el_ms > rto) ||
		    (c->unbind_seq && now - c->unbind_ms > rto)) {
			smpp_session_link_down(s, "no response within response_timeout_s");
			return;
		}
		if (c->state != SMPP_CONN_CONNECTING && now - c->last_rx_ms > dead) {
			smpp_session_link_down(s, "silent past dead_link_s");
			return;
		}
		if (c->state == SMPP_CONN_BOUND && c->el_seq == 0 && now - c->last_el_ms >= el) {
			memset(&p, 0, sizeof p);
			p.h.command_id = SMPP_ENQUIRE_LINK;
			p.h.sequence = smpp_conn_next_seq(c);
			if (smpp_conn_send(c, &p) != 0)
				return;
			c->el_seq = p.h.sequence;
			c->el_ms = c->last_el_ms = now;
		}
	}
}

/* ---- stopping ------------------------------------------------------------------- */

/* Everything is closed: report what is left and hand control back. */
static void
smpp_session_stop_finish(struct smpp_session *s)
{
	void (*done)(void *) = s->stop_done;
	void *arg = s->stop_arg;

	if (s->state == SMPP_SESSION_STOPPED)
		return;
	if (s->state != SMPP_SESSION_IDLE) {
		smpp_session_link_down(s, "stopping");	/* comes back here via IDLE */
		return;
	}
	evtimer_del(s->retry_ev);
	evtimer_del(s->tick_ev);
	evtimer_del(s->send_ev);
	evtimer_del(s->stop_ev);
	smpp_session_set_state(s, SMPP_SESSION_STOPPED);
	s->stop_done = NULL;
	if (done != NULL)
		done(arg);
}

/* Sends unbind on every bound connection. */
static void
smpp_session_unbind(struct smpp_session *s)
{
	struct smpp_conn *c;
	struct smpp_pdu p;
	int i, sent = 0;

	smpp_session_set_state(s, SMPP_SESSION_UNBINDING);
	for (i = 0; i < s->nconns; i++) {
		c = &s->conns[i];
		if (c->state != SMPP_CONN_BOUND)
			continue;
		memset(&p, 0, sizeof p);
		p.h.command_id = SMPP_UNBIND;
		p.h.sequence = smpp_conn_next_seq(c);
		if (smpp_conn_send(c, &p) != 0)
			return;
		c->unbind_seq = p.h.sequence;
		c->unbind_ms = clock_mono_ms();
		sent++;
	}
	if (sent == 0 || s->test_mode)
		smpp_session_stop_finish(s);
	else
		smpp_timer_arm(s->stop_ev, SMPP_SESSION_UNBIND_MS);
}

/* Unbind once nothing is owed: no submit_sm unanswered, no deliver_sm unanswered. */
static void
smpp_session_stop_check(struct smpp_session *s)
{
	int i;

	if (!s->stopping || s->state != SMPP_SESSION_BOUND)
		return;
	if (s->ninflight > 0)
		return;
	for (i = 0; i < s->nconns; i++) {
		if (s->conns[i].ndeferred > 0)
			return;
	}
	smpp_session_unbind(s);
}

/* The stop deadline: unbind without waiting more, then close without waiting more. */
static void
smpp_session_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smpp_session *s = arg;

	if (s->state == SMPP_SESSION_BOUND) {
		log_warn("smpp: answers still owed after %d ms: unbinding anyway",
		    SMPP_SESSION_STOP_MS);
		smpp_session_unbind(s);
	} else
		smpp_session_stop_finish(s);
}

/* Graceful stop: answers owed first, then unbind; done runs once it is all closed. */
void
smpp_session_stop(struct smpp_session *s, void (*done)(void *), void *arg)
{
	if (s == NULL || s->stopping) {
		if (s == NULL && done != NULL)
			done(arg);
		return;
	}
	s->stopping = 1;
	s->stop_done = done;
	s->stop_arg = arg;
	evtimer_del(s->retry_ev);
	if (s->state != SMPP_SESSION_BOUND) {
		smpp_session_stop_finish(s);
		return;
	}
	smpp_timer_arm(s->stop_ev, SMPP_SESSION_STOP_MS);
	smpp_session_stop_check(s);
}

/* ---- the public face ------------------------------------------------------------- */

/* Copies the config (its strings too) and sets up both connection slots. */
static struct smpp_session *
smpp_session_alloc(struct event_base *base, const struct smpp_session_config *cfg,
    const struct smpp_session_callbacks *cbs)
{
	struct smpp_session *s = xcalloc(1, sizeof *s);
	int i;

	s->base = base;
	s->cfg = *cfg;
	s->cfg.host = xstrdup(cfg->host ? cfg->host : "127.0.0.1");
	s->cfg.system_id = xstrdup(cfg->system_id ? cfg->system_id : "");
	s->cfg.password = xstrdup(cfg->password ? cfg->password : "");
	s->cfg.system_type = xstrdup(cfg->system_type ? cfg->system_type : "");
	s->cfg.address_range = xstrdup(cfg->address_range ? cfg->address_range : "");
	s->cfg.source_addr = xstrdup(cfg->source_addr ? cfg->source_addr : "");
	if (cbs != NULL)
		s->cbs = *cbs;
	s->state = SMPP_SESSION_IDLE;
	TAILQ_INIT(&s->msgs);
	s->nslots = cfg->window > 0 ? cfg->window : 1;
	s->slots = xcalloc((size_t)s->nslots, sizeof *s->slots);
	s->text = xcalloc(1, 3 * SMPP_MAX_PDU_LEN + 1);
	s->next_udh_ref = (uint8_t)random_below(256);
	if (cfg->bind_tx_rx) {
		s->nconns = 2;
		s->conns[0].role = SMPP_BIND_TRANSMITTER;
		s->conns[1].role = SMPP_BIND_RECEIVER;
	} else {
		s->nconns = 1;
		s->conns[0].role = SMPP_BIND_TRANSCEIVER;
	}
	for (i = 0; i < 2; i++)
		s->conns[i].s = s;
	s->retry_ev = evtimer_new(base, smpp_session_retry_cb, s);
	s->tick_ev = event_new(base, -1, EV_PERSIST, smpp_session_tick_cb, s);
	s->send_ev = evtimer_new(base, smpp_session_send_cb, s);
	s->stop_ev = evtimer_new(base, smpp_session_stop_cb, s);

	s->cfg_too_long = strlen(s->cfg.system_id) > 15 || strlen(s->cfg.password) > 8 ||
	    strlen(s->cfg.system_type) > 12 || strlen(s->cfg.address_range) > 40;
	if (s->cfg_too_long || strlen(s->cfg.source_addr) > 20)
		log_error("smpp: system_id (15), password (8), system_type (12), address_range "
		    "(40) or source_addr (20) is longer than SMPP allows: binds and submits fail");
	return s;
}

/* The daemon's session: starts connecting on the next loop turn. */
struct smpp_session *
smpp_session_new(struct event_base *base, const struct smpp_session_config *cfg,
    const struct smpp_session_callbacks *cbs)
{
	struct smpp_session *s = smpp_session_alloc(base, cfg, cbs);
	struct timeval tick = { 0, SMPP_SESSION_TICK_MS * 1000 };

	event_add(s->tick_ev, &tick);
	/* connect from the loop, so no callback runs before the caller has the session */
	smpp_timer_arm(s->retry_ev, 0);
	return s;
}

/* Test seam: bound at once, no socket, output kept in memory. */
struct smpp_session *
smpp_session_new_for_test(struct event_base *base, const struct smpp_session_config *cfg,
    const struct smpp_session_callbacks *cbs)
{
	struct smpp_session *s = smpp_session_alloc(base, cfg, cbs);
	int i;

	s->test_mode = 1;
	for (i = 0; i < s->nconns; i++) {
		struct smpp_conn *c = &s->conns[i];

		c->test_in = evbuffer_new();
		c->test_out = evbuffer_new();
		c->generation = ++s->next_generation;
		c->next_seq = 1;
		c->last_rx_ms = c->last_el_ms = clock_mono_ms();
		smpp_conn_set_state(c, SMPP_CONN_BOUND);
	}
	smpp_session_set_state(s, SMPP_SESSION_CONNECTING);
	smpp_session_check_bound(s);
	return s;
}

/* Test seam: the same framing and dispatch as a socket read. */
int
smpp_session_feed_for_test(struct smpp_session *s, int conn, const void *bytes, size_t len)
{
	struct smpp_conn *c;

	if (!s->test_mode || conn < 0 || conn >= s->nconns)
		return -1;
	c = &s->conns[conn];
	if (c->state == SMPP_CONN_CLOSED)
		return -1;
	evbuffer_add(c->test_in, bytes, len);
	return smpp_conn_input(c, c->test_in);
}

/* Test seam: what the session wrote. */
size_t
smpp_session_sent_for_test(struct smpp_session *s, int conn, uint8_t *out, size_t cap)
{
	int n;

	if (!s->test_mode || conn < 0 || conn >= s->nconns)
		return 0;
	n = evbuffer_remove(s->conns[conn].test_out, out, cap);
	return n > 0 ? (size_t)n : 0;
}

/* Test seam: the deadline checks without waiting for the timer. */
void
smpp_session_tick_for_test(struct smpp_session *s)
{
	smpp_session_tick_cb(-1, 0, s);
}

/* Frees without calling back: the caller is going away. */
void
smpp_session_free(struct smpp_session *s)
{
	struct smpp_msg *m;
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nconns; i++) {
		if (s->conns[i].bev != NULL)
			bufferevent_free(s->conns[i].bev);
		if (s->conns[i].test_in != NULL)
			evbuffer_free(s->conns[i].test_in);
		if (s->conns[i].test_out != NULL)
			evbuffer_free(s->conns[i].test_out);
	}
	while ((m = TAILQ_FIRST(&s->msgs)) != NULL) {
		TAILQ_REMOVE(&s->msgs, m, entry);
		free(m);
	}
	event_free(s->retry_ev);
	event_free(s->tick_ev);
	event_free(s->send_ev);
	event_free(s->stop_ev);
	if (s->dns != NULL)
		evdns_base_free(s->dns, 0);
	free(s->slots);
	free(s->text);
	free((char *)s->cfg.host);
	free((char *)s->cfg.system_id);
	free((char *)s->cfg.password);
	free((char *)s->cfg.system_type);
	free((char *)s->cfg.address_range);
	free((char *)s->cfg.source_addr);
	free(s);
}

/* Bound on every connection it needs. */
int
smpp_session_is_bound(const struct smpp_session *s)
{
	return s != NULL && s->state == SMPP_SESSION_BOUND;
}

/* Bound, not stopping, and a window place free: submit will take a message. */
int
smpp_session_can_submit(const struct smpp_session *s)
{
	return smpp_session_is_bound(s) && !s->stopping && s->nmsgs < s->nslots;
}

/* Encodes and splits a reply, checks it encodes, queues it and sends what it can. */
int
smpp_session_submit(struct smpp_session *s, uint64_t ref, const char *dest,
    uint8_t dest_ton, uint8_t dest_npi, const char *utf8_text)
{
	uint8_t enc[SMPP_SESSION_TEXT_MAX], scratch[SMPP_ENCODE_MAX];
	uint8_t sm[SMPP_UDH_CONCAT_LEN + 160];
	size_t single;
	struct smpp_msg *m;
	struct smpp_pdu p;
	uint8_t dc;
	int n, nparts, payload = 0;

	if (!smpp_session_can_submit(s) || dest == NULL || strlen(dest) > 20 || utf8_text == NULL)
		return -1;
	if ((n = smpp_text_encode(utf8_text, enc, sizeof enc, &dc)) < 0) {
		log_warn("smpp: reply to %s is not valid UTF-8 or too long", dest);
		return -1;
	}
	m = xcalloc(1, sizeof *m + (size_t)n);
	memcpy(m->text, enc, (size_t)n);
	m->len = (size_t)n;
	single = dc == SMPP_DC_DEFAULT ? 160 : 140;
	if (s->cfg.long_sms_payload && (size_t)n > single && n <= 1024)
		payload = 1;
	if (payload) {
		nparts = 1;
		m->off[1] = (size_t)n;
	} else if ((nparts = smpp_text_split(dc, enc, (size_t)n, m->off,
	    SMPP_SESSION_MAX_PARTS)) < 0) {
		log_warn("smpp: reply to %s needs more than %d parts", dest, SMPP_SESSION_MAX_PARTS);
		free(m);
		return -1;
	} else if (nparts == 0) {
		nparts = 1;		/* an empty message is still one submit_sm */
		m->off[1] = 0;
	}
	m->ref = ref;
	strlcpy_safe(m->dest, dest, sizeof m->dest);
	m->dest_ton = dest_ton;
	m->dest_npi = dest_npi;
	m->dc = dc;
	m->payload = payload;
	m->nparts = nparts;
	if (nparts > 1)
		m->udh_ref = s->next_udh_ref++;

	/* every part has the same fields: if the first encodes, all do */
	smpp_session_part_pdu(s, m, 0, 1, &p, sm);
	if (smpp_encode(&p, scratch, sizeof scratch) < 0) {
		log_warn("smpp: cannot encode a submit_sm to %s (TON %u NPI %u)", dest, dest_ton,
		    dest_npi);
		free(m);
		return -1;
	}
	TAILQ_INSERT_TAIL(&s->msgs, m, entry);
	s->nmsgs++;
	smpp_session_pump(s);
	return 0;
}

/* The deferred deliver_sm_resp (or data_sm_resp), if its connection still lives. */
int
smpp_session_mo_answer(struct smpp_session *s, uint64_t ticket, uint32_t status)
{
	uint32_t gen = (uint32_t)(ticket >> 32), low = (uint32_t)ticket;
	uint32_t seq = low & ~SMPP_TICKET_DATA_SM;
	uint32_t resp = (low & SMPP_TICKET_DATA_SM ? SMPP_DATA_SM : SMPP_DELIVER_SM) |
	    SMPP_RESP_BIT;
	struct smpp_conn *c = NULL;
	int i;

	if (s == NULL)
		return -1;
	for (i = 0; i < s->nconns; i++) {
		if (s->conns[i].generation == gen && s->conns[i].state == SMPP_CONN_BOUND)
			c = &s->conns[i];
	}
	if (c == NULL) {
		/* that connection is gone: the SMSC redelivers */
		log_debug("smpp: answer for seq %u of a dropped connection ignored", seq);
		return -1;
	}
	if (c->ndeferred > 0)
		c->ndeferred--;
	smpp_conn_send_resp(c, resp, status, seq);
	smpp_session_stop_check(s);
	return 0;
}
