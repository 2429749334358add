/*
 * tools/echoesme: the trivial ESME of the benchmarks (docs/smscsim.md, "Load mode"). It
 * binds as a transceiver and answers each deliver_sm with deliver_sm_resp and a
 * submit_sm to the sender carrying the same text: what the load tool and loopback carry
 * without any of rechargd's work, the first baseline. One libevent loop, our decoder
 * (smpp/pdu.c) and raw builder (smpp/build.c); at most --window submit_sm await their
 * submit_sm_resp, the rest wait in a ring (bounded by what the SMSC sends us).
 *
 *   echoesme --connect HOST:PORT --system-id ID --password PW [--window W] [-v]
 *
 * Exits 0 when the SMSC unbinds or closes the link after we were bound, 1 on an error
 * (refused bind, connection failure), 2 on bad options.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "common/common.h"
#include "smpp/smpp.h"

#define ECHO_WINDOW_DEFAULT 1000
#define ECHO_IN_MAX         (256 * 1024)

/* A reply waiting for room in the window: the MO's addresses swapped, its body kept. */
struct echo_reply {
	char to[21], from[21];
	uint8_t ton, npi, dc, len;
	uint8_t body[255];
};

struct echo {
	struct event_base *base;
	struct bufferevent *bev;
	const char *system_id, *password;
	int window, unacked, bound, exit_code;
	uint32_t seq;
	struct echo_reply *ring;     /* pending replies, a growable ring */
	size_t rhead, rlen, rcap;
	unsigned long mos, replies;
};

static uint32_t
echo_next_seq(struct echo *e)
{
	e->seq = e->seq >= 0x7FFFFFFFu ? 1 : e->seq + 1;
	return e->seq;
}

static void
echo_stop(struct echo *e, int code)
{
	e->exit_code = code;
	event_base_loopbreak(e->base);
}

static void
echo_send_header(struct echo *e, uint32_t cmd, uint32_t status, uint32_t seq)
{
	uint8_t buf[SMPP_HEADER_LEN];
	struct smpp_build b;

	smpp_build_start(&b, buf, sizeof buf, cmd, status, seq);
	if (smpp_build_finish(&b) > 0)
		bufferevent_write(e->bev, buf, b.len);
}

static void
echo_submit(struct echo *e, const struct echo_reply *r)
{
	uint8_t buf[512];
	struct smpp_build b;

	smpp_build_start(&b, buf, sizeof buf, SMPP_SUBMIT_SM, ESME_ROK, echo_next_seq(e));
	smpp_build_cstr(&b, "");                       /* service_type */
	smpp_build_u8(&b, 0);                          /* source TON/NPI: a short code */
	smpp_build_u8(&b, 1);
	smpp_build_cstr(&b, r->from);
	smpp_build_u8(&b, r->ton);
	smpp_build_u8(&b, r->npi);
	smpp_build_cstr(&b, r->to);
	smpp_build_u8(&b, 0);                          /* esm_class */
	smpp_build_u8(&b, 0);                          /* protocol_id */
	smpp_build_u8(&b, 0);                          /* priority_flag */
	smpp_build_cstr(&b, "");                       /* schedule_delivery_time */
	smpp_build_cstr(&b, "");                       /* validity_period */
	smpp_build_u8(&b, 0);                          /* registered_delivery */
	smpp_build_u8(&b, 0);                          /* replace_if_present_flag */
	smpp_build_u8(&b, r->dc);
	smpp_build_u8(&b, 0);                          /* sm_default_msg_id */
	smpp_build_u8(&b, r->len);
	smpp_build_bytes(&b, r->body, r->len);
	if (smpp_build_finish(&b) > 0) {
		bufferevent_write(e->bev, buf, b.len);
		e->unacked++;
		e->replies++;
	}
}

/* Sends waiting replies while the window has room. */
static void
echo_pump(struct echo *e)
{
	while (e->rlen > 0 && e->unacked < e->window) {
		echo_submit(e, &e->ring[e->rhead]);
		e->rhead = (e->rhead + 1) % e->rcap;
		e->rlen--;
	}
}

/* Queues the reply to an MO (the ring doubles when full). */
static void
echo_queue(struct echo *e, const struct smpp_pdu *p)
{
	struct echo_reply *r;

	if (e->rlen == e->rcap) {
		size_t cap = e->rcap ? e->rcap * 2 : 1024;
		struct echo_reply *n = xcalloc(cap, sizeof *n);
		for (size_t i = 0; i < e->rlen; i++)
			n[i] = e->ring[(e->rhead + i) % e->rcap];
		free(e->ring);
		e->ring = n;
		e->rcap = cap;
		e->rhead = 0;
	}
	r = &e->ring[(e->rhead + e->rlen) % e->rcap];
	strlcpy_safe(r->to, p->source_addr, sizeof r->to);
	strlcpy_safe(r->from, p->destination_addr, sizeof r->from);
	r->ton = p->source_addr_ton;
	r->npi = p->source_addr_npi;
	r->dc = p->data_coding;
	r->len = p->sm_length;
	if (p->sm_length > 0 && p->short_message != NULL)
		memcpy(r->body, p->short_message, p->sm_length);
	e->rlen++;
}

static void
echo_handle(struct echo *e, const uint8_t *buf, uint32_t len)
{
	struct smpp_pdu p;
	uint32_t st;

	memset(&p, 0, sizeof p);
	st = smpp_decode(buf, len, &p);
	switch (p.h.command_id) {
	case SMPP_BIND_TRANSCEIVER | SMPP_RESP_BIT:
		if (p.h.status != ESME_ROK) {
			fprintf(stderr, "echoesme: bind refused: %s\n", smpp_status_name(p.h.status));
			echo_stop(e, 1);
			return;
		}
		e->bound = 1;
		fprintf(stderr, "echoesme: bound as transceiver\n");
		break;
	case SMPP_DELIVER_SM: {
		uint8_t rb[64];
		struct smpp_build b;

		if (st != ESME_ROK) {                      /* an error answer is header only */
			echo_send_header(e, SMPP_DELIVER_SM | SMPP_RESP_BIT, st, p.h.sequence);
			break;
		}
		smpp_build_start(&b, rb, sizeof rb, SMPP_DELIVER_SM | SMPP_RESP_BIT, ESME_ROK,
		    p.h.sequence);
		smpp_build_cstr(&b, "");                   /* message_id */
		if (smpp_build_finish(&b) > 0)
			bufferevent_write(e->bev, rb, b.len);
		e->mos++;
		if (!(p.esm_class & 0x04))                 /* a receipt gets no echo */
			echo_queue(e, &p);
		break;
	}
	case SMPP_SUBMIT_SM | SMPP_RESP_BIT:
	case SMPP_GENERIC_NACK:
		if (e->unacked > 0)
			e->unacked--;
		if (p.h.status != ESME_ROK)
			fprintf(stderr, "echoesme: %s seq=%u: %s\n", smpp_command_name(p.h.command_id),
			    p.h.sequence, smpp_status_name(p.h.status));
		break;
	case SMPP_ENQUIRE_LINK:
		echo_send_header(e, SMPP_ENQUIRE_LINK | SMPP_RESP_BIT, ESME_ROK, p.h.sequence);
		break;
	case SMPP_UNBIND:
		echo_send_header(e, SMPP_UNBIND | SMPP_RESP_BIT, ESME_ROK, p.h.sequence);
		bufferevent_flush(e->bev, EV_WRITE, BEV_FLUSH);
		fprintf(stderr, "echoesme: unbound by the SMSC (%lu MOs, %lu replies)\n", e->mos,
		    e->replies);
		echo_stop(e, 0);
		break;
	default:
		if (!(p.h.command_id & SMPP_RESP_BIT))
			echo_send_header(e, SMPP_GENERIC_NACK, ESME_RINVCMDID, p.h.sequence);
		break;
	}
}

static void
echo_read_cb(struct bufferevent *bev, void *arg)
{
	struct echo *e = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		size_t avail = evbuffer_get_length(in);
		uint32_t len = 0;
		const uint8_t *p;
		int r;

		if (avail < SMPP_HEADER_LEN)
			break;
		p = evbuffer_pullup(in, -1);
		r = smpp_frame(p, avail, &len);
		if (r < 0) {
			fprintf(stderr, "echoesme: impossible command_length from the SMSC\n");
			echo_stop(e, 1);
			return;
		}
		if (r == 0)
			break;
		echo_handle(e, p, len);
		evbuffer_drain(in, len);
	}
	echo_pump(e);
}

static void
echo_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct echo *e = arg;
	uint8_t buf[128];
	struct smpp_build b;

	if (what & BEV_EVENT_CONNECTED) {
		smpp_build_start(&b, buf, sizeof buf, SMPP_BIND_TRANSCEIVER, ESME_ROK, echo_next_seq(e));
		smpp_build_cstr(&b, e->system_id);
		smpp_build_cstr(&b, e->password);
		smpp_build_cstr(&b, "");                   /* system_type */
		smpp_build_u8(&b, 0x34);
		smpp_build_u8(&b, 0);
		smpp_build_u8(&b, 0);
		smpp_build_cstr(&b, "");                   /* address_range */
		if (smpp_build_finish(&b) > 0)
			bufferevent_write(bev, buf, b.len);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		fprintf(stderr, "echoesme: the SMSC closed the link (%lu MOs, %lu replies)\n", e->mos,
		    e->replies);
		echo_stop(e, e->bound ? 0 : 1);
		return;
	}
	fprintf(stderr, "echoesme: link error: %s\n", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	echo_stop(e, 1);
}

static void
echo_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	echo_stop(arg, 0);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "system-id", required_argument, NULL, 'i' },
		{ "password", required_argument, NULL, 'p' },
		{ "window", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct echo e;
	struct sockaddr_storage ss;
	int sslen = sizeof ss, ch, one = 1;
	const char *connect_to = NULL;
	struct event *sigint_ev, *sigterm_ev;
	char *end;

	memset(&e, 0, sizeof e);
	e.window = ECHO_WINDOW_DEFAULT;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': connect_to = optarg; break;
		case 'i': e.system_id = optarg; break;
		case 'p': e.password = optarg; break;
		case 'w':
			e.window = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || e.window < 1 || e.window > 1000000) {
				fprintf(stderr, "echoesme: --window wants 1 to 1000000\n");
				return 2;
			}
			break;
		case 'h':
		default:
			fprintf(ch == 'h' ? stdout : stderr, "usage: echoesme --connect HOST:PORT "
			    "--system-id ID --password PW [--window W]\n");
			return ch == 'h' ? 0 : 2;
		}
	}
	if (optind != argc || connect_to == NULL || e.system_id == NULL || e.password == NULL ||
	    strlen(e.system_id) > 15 || strlen(e.password) > 8) {
		fprintf(stderr, "echoesme: --connect, --system-id (up to 15) and --password (up to 8) "
		    "are required\n");
		return 2;
	}
	if (evutil_parse_sockaddr_port(connect_to, (struct sockaddr *)&ss, &sslen) != 0) {
		fprintf(stderr, "echoesme: --connect wants HOST:PORT (a numeric address)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((e.base = event_base_new()) == NULL)
		return 1;
	e.bev = bufferevent_socket_new(e.base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(e.bev, echo_read_cb, NULL, echo_event_cb, &e);
	bufferevent_setwatermark(e.bev, EV_READ, 0, ECHO_IN_MAX);
	bufferevent_enable(e.bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(e.bev, (struct sockaddr *)&ss, sslen) != 0) {
		fprintf(stderr, "echoesme: cannot connect to %s\n", connect_to);
		return 1;
	}
	/* small PDUs both ways: no Nagle delay */
	setsockopt(bufferevent_getfd(e.bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	sigint_ev = evsignal_new(e.base, SIGINT, echo_signal_cb, &e);
	sigterm_ev = evsignal_new(e.base, SIGTERM, echo_signal_cb, &e);
	event_add(sigint_ev, NULL);
	event_add(sigterm_ev, NULL);

	event_base_dispatch(e.base);

	event_free(sigint_ev);
	event_free(sigterm_ev);
	bufferevent_free(e.bev);
	free(e.ring);
	event_base_free(e.base);
	return e.exit_code;
}
