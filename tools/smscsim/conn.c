/* tools/smscsim/conn.c: one ESME connection. Frames the byte stream with smpp_frame,
 * decodes with our bounds-checked smpp_decode, answers with the raw builder. Garbage
 * that cannot be framed closes the connection; a body that does not decode is nacked. */
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

#define SMSCSIM_CLOSE_GRACE_S 5   /* an ESME that never reads our last PDU */

static void smscsim_conn_read_cb(struct bufferevent *bev, void *arg);

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

/* Stops reading; frees the connection once the output is flushed (or after a grace). */
static void
smscsim_conn_close_later(struct smscsim_conn *c, const char *why)
{
	struct timeval tv = { SMSCSIM_CLOSE_GRACE_S, 0 };

	if (c->closing)
		return;
	c->closing = 1;
	c->close_why = why;
	bufferevent_disable(c->bev, EV_READ);
	event_del(c->elink_ev);
	event_add(c->elink_ev, &tv);
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
	if (c->bind != SMSCSIM_BIND_NONE)
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

/* A submit_sm from a bound transmitter: answered (or not, or with an error, as the
 * mt_resp knob says), then handed to mt.c; a receipt follows when one was asked for. */
static void
smscsim_conn_submit(struct smscsim_conn *c, const struct smpp_pdu *p)
{
	struct smscsim *sim = c->sim;
	uint8_t buf[128];
	char id[32];
	struct smpp_build b;

	if (c->bind != SMSCSIM_BIND_TX && c->bind != SMSCSIM_BIND_TRX) {
		smscsim_conn_send_header(c, SMPP_SUBMIT_SM | SMPP_RESP_BIT, ESME_RINVBNDSTS,
		    p->h.sequence);
		return;
	}
	if (sim->mt_resp_count != 0 && (sim->mt_resp_none || sim->mt_resp_status != ESME_ROK)) {
		if (sim->mt_resp_count > 0)
			sim->mt_resp_count--;
		if (sim->mt_resp_none) {
			if (sim->script != NULL)
				smscsim_script_event(sim->script, "MT_UNANSWERED seq=%u to=%s",
				    p->h.sequence, p->destination_addr);
			return;
		}
		smscsim_conn_send_header(c, SMPP_SUBMIT_SM | SMPP_RESP_BIT, sim->mt_resp_status,
		    p->h.sequence);
		if (sim->script != NULL)
			smscsim_script_event(sim->script, "MT_REJECTED seq=%u to=%s status=%s",
			    p->h.sequence, p->destination_addr, smpp_status_name(sim->mt_resp_status));
		return;
	}
	snprintf(id, sizeof id, "%llu", (unsigned long long)++sim->next_message_id);
	smpp_build_start(&b, buf, sizeof buf, SMPP_SUBMIT_SM | SMPP_RESP_BIT, ESME_ROK,
	    p->h.sequence);
	smpp_build_cstr(&b, id);
	if (smpp_build_finish(&b) > 0)
		smscsim_conn_send_raw(c, buf, b.len);
	log_debug("smscsim: submit_sm seq=%u to=%s dc=%u esm_class=0x%02x len=%u -> id %s",
	    p->h.sequence, p->destination_addr, p->data_coding, p->esm_class,
	    p->has_message_payload ? p->message_payload_len : p->sm_length, id);
	smscsim_mt_take(sim, p);
	if (sim->opt.dlr && (p->registered_delivery & 0x03) == 1)
		smscsim_mo_receipt(sim, p->destination_addr, p->source_addr, id);
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

	if (cmd & SMPP_RESP_BIT) {
		/* the header is good even when the body is not */
		switch (cmd) {
		case SMPP_DELIVER_SM | SMPP_RESP_BIT:
		case SMPP_GENERIC_NACK:
			smscsim_mo_resp(c->sim, c, seq, p.h.status);
			break;
		case SMPP_UNBIND | SMPP_RESP_BIT:
			if (seq == c->unbind_seq) {
				smscsim_conn_close_later(c, "unbind");
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
		smscsim_conn_close_later(c, "unbind");
		smscsim_on_unbound(c->sim, c);
		break;
	case SMPP_SUBMIT_SM:
		smscsim_conn_submit(c, &p);
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

		if (c->closing) {
			evbuffer_drain(in, avail);
			break;
		}
		if (evbuffer_get_length(out) > SMSCSIM_OUT_MAX) {
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

	if (smscsim_conn_reap(c))
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
	if (sim->opt.enquire_link_s > 0)
		event_add(c->elink_ev, &tv);
	sim->conns[slot] = c;
	log_info("smscsim: connection from %s", peer);
	if (sim->script != NULL)
		smscsim_script_event(sim->script, "CONNECTED peer=%s", peer);
	return c;
}

void
smscsim_conn_free(struct smscsim_conn *c, const char *why)
{
	struct smscsim *sim;
	int was_bound;

	if (c == NULL)
		return;
	sim = c->sim;
	was_bound = c->bind != SMSCSIM_BIND_NONE;
	log_info("smscsim: %s (%s) closed: %s", c->peer, c->system_id[0] ? c->system_id : "not bound",
	    why);
	sim->conns[c->slot] = NULL;
	smscsim_mo_conn_lost(sim, c);
	event_free(c->elink_ev);
	bufferevent_free(c->bev);
	smscsim_on_closed(sim, c, was_bound, why);
	free(c);
	smscsim_mo_pump(sim);   /* a second receiver may take the redeliveries */
}
