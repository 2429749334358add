/* tools/smscsim/sim.c: the simulator object, its listener, and the hooks through
 * which the SMPP side tells the front end (console or script) what happened. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "common/common.h"
#include "smpp/smpp.h"
#include "tools/smscsim/smscsim.h"

/* "127.0.0.1:2775" for logs and the LISTENING line. */
static void
smscsim_format_addr(const struct sockaddr *sa, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		port = ntohs(in->sin_port);
		snprintf(out, cap, "%s:%d", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		port = ntohs(in6->sin6_port);
		snprintf(out, cap, "[%s]:%d", host, port);
	} else
		snprintf(out, cap, "?");
}

/* A new ESME connection: the conn module takes the fd. */
static void
smscsim_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct smscsim *sim = arg;
	char peer[64];

	smscsim_format_addr(sa, peer, sizeof peer);
	if (smscsim_conn_new(sim, fd, peer) == NULL)
		log_warn("smscsim: refused connection from %s: %d connections already", peer,
		    SMSCSIM_MAX_CONNS);
}

/* EMFILE and friends: log and keep listening; libevent retries on the next readiness. */
static void
smscsim_accept_error_cb(struct evconnlistener *l, void *arg)
{
	log_warn("smscsim: accept: %s", strerror(errno));
}

/* Splits HOST:PORT ([v6]:PORT too) and binds the listener. */
static int
smscsim_listen(struct smscsim *sim, const char *spec, char **cause)
{
	char host[256], port[16], msg[512];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof ss;
	size_t hl;
	int rc;

	if (colon == NULL || colon == spec || strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof port)
		goto bad;
	hl = (size_t)(colon - spec);
	if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl >= sizeof host)
		goto bad;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	strlcpy_safe(port, colon + 1, sizeof port);

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(msg, sizeof msg, "--listen %s: %s", spec, gai_strerror(rc));
		*cause = xstrdup(msg);
		return -1;
	}
	sim->listener = evconnlistener_new_bind(sim->base, smscsim_accept_cb, sim,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 16,
	    res->ai_addr, (int)res->ai_addrlen);
	if (sim->listener == NULL) {
		snprintf(msg, sizeof msg, "--listen %s: %s", spec, strerror(errno));
		freeaddrinfo(res);
		*cause = xstrdup(msg);
		return -1;
	}
	freeaddrinfo(res);
	evconnlistener_set_error_cb(sim->listener, smscsim_accept_error_cb);
	if (getsockname(evconnlistener_get_fd(sim->listener), (struct sockaddr *)&ss, &sslen) == 0)
		smscsim_format_addr((struct sockaddr *)&ss, sim->listen_addr, sizeof sim->listen_addr);
	else
		strlcpy_safe(sim->listen_addr, spec, sizeof sim->listen_addr);
	return 0;
bad:
	snprintf(msg, sizeof msg, "--listen wants HOST:PORT, got '%s'", spec);
	*cause = xstrdup(msg);
	return -1;
}

struct smscsim *
smscsim_new(struct event_base *base, const struct smscsim_options *opt, char **cause)
{
	struct smscsim *sim = xcalloc(1, sizeof *sim);

	sim->base = base;
	sim->opt = *opt;
	sim->mode = opt->console ? SMSCSIM_MODE_CONSOLE : SMSCSIM_MODE_SCRIPT;
	sim->last_mo = -1;
	sim->mt_resp_status = ESME_ROK;
	sim->bind_resp_status = ESME_ROK;
	sim->throttle_status = ESME_RTHROTTLED;
	if (smscsim_listen(sim, opt->listen, cause) != 0) {
		smscsim_free(sim);
		return NULL;
	}
	return sim;
}

void
smscsim_free(struct smscsim *sim)
{
	if (sim == NULL)
		return;
	sim->stopping = 1;
	for (int i = 0; i < SMSCSIM_MAX_CONNS; i++)
		if (sim->conns[i] != NULL)
			smscsim_conn_free(sim->conns[i], "exit");
	if (sim->listener != NULL)
		evconnlistener_free(sim->listener);
	smscsim_mo_free_all(sim);
	smscsim_mt_free_all(sim);
	free(sim);
}

void
smscsim_stop(struct smscsim *sim, int code)
{
	if (sim->stopping)
		return;
	sim->stopping = 1;
	sim->exit_code = code;
	for (int i = 0; i < SMSCSIM_MAX_CONNS; i++)
		if (sim->conns[i] != NULL)
			smscsim_conn_flush(sim->conns[i]);
	fflush(stdout);
	event_base_loopbreak(sim->base);
}

/* With a transmitter + receiver pair, MOs go to the receiver; the first with room wins. */
struct smscsim_conn *
smscsim_receiver(struct smscsim *sim)
{
	struct smscsim_conn *full = NULL;

	for (int i = 0; i < SMSCSIM_MAX_CONNS; i++) {
		struct smscsim_conn *c = sim->conns[i];
		if (c == NULL || c->closing || (c->bind != SMSCSIM_BIND_RX && c->bind != SMSCSIM_BIND_TRX))
			continue;
		if (c->ninflight < SMSCSIM_WINDOW)
			return c;
		if (full == NULL)
			full = c;
	}
	return full;
}

int
smscsim_bound_count(const struct smscsim *sim)
{
	int n = 0;

	for (int i = 0; i < SMSCSIM_MAX_CONNS; i++)
		if (sim->conns[i] != NULL && sim->conns[i]->bind != SMSCSIM_BIND_NONE &&
		    !sim->conns[i]->closing)
			n++;
	return n;
}

int
smscsim_conn_count(const struct smscsim *sim)
{
	int n = 0;

	for (int i = 0; i < SMSCSIM_MAX_CONNS; i++)
		if (sim->conns[i] != NULL)
			n++;
	return n;
}

const char *
smscsim_bind_name(enum smscsim_bind b)
{
	switch (b) {
	case SMSCSIM_BIND_TX:  return "transmitter";
	case SMSCSIM_BIND_RX:  return "receiver";
	case SMSCSIM_BIND_TRX: return "transceiver";
	default:               return "none";
	}
}

/* Our own table, so scripts read the same names whatever pdu.c's table holds. */
static const struct { const char *name; uint32_t status; } smscsim_statuses[] = {
	{ "ESME_ROK", ESME_ROK }, { "ESME_RINVMSGLEN", ESME_RINVMSGLEN },
	{ "ESME_RINVCMDLEN", ESME_RINVCMDLEN }, { "ESME_RINVCMDID", ESME_RINVCMDID },
	{ "ESME_RINVBNDSTS", ESME_RINVBNDSTS }, { "ESME_RALYBND", ESME_RALYBND },
	{ "ESME_RSYSERR", ESME_RSYSERR }, { "ESME_RINVSRCADR", ESME_RINVSRCADR },
	{ "ESME_RINVDSTADR", ESME_RINVDSTADR }, { "ESME_RBINDFAIL", ESME_RBINDFAIL },
	{ "ESME_RINVPASWD", ESME_RINVPASWD }, { "ESME_RINVSYSID", ESME_RINVSYSID },
	{ "ESME_RMSGQFUL", ESME_RMSGQFUL }, { "ESME_RSUBMITFAIL", ESME_RSUBMITFAIL },
	{ "ESME_RTHROTTLED", ESME_RTHROTTLED }, { "ESME_RX_T_APPN", ESME_RX_T_APPN },
	{ "ESME_RX_P_APPN", ESME_RX_P_APPN }, { "ESME_RX_R_APPN", ESME_RX_R_APPN },
	{ "ESME_RINVTLVSTREAM", ESME_RINVTLVSTREAM }, { "ESME_RUNKNOWNERR", ESME_RUNKNOWNERR },
};

int
smscsim_status_parse(const char *s, uint32_t *status)
{
	char *end;
	unsigned long v;

	for (size_t i = 0; i < sizeof smscsim_statuses / sizeof smscsim_statuses[0]; i++)
		if (strcasecmp(s, smscsim_statuses[i].name) == 0) {
			*status = smscsim_statuses[i].status;
			return 0;
		}
	if (strncasecmp(s, "ESME_", 5) == 0) {
		/* a name only pdu.c's table knows */
		for (uint32_t v2 = 0; v2 < 0x500; v2++)
			if (strcasecmp(smpp_status_name(v2), s) == 0) {
				*status = v2;
				return 0;
			}
		return -1;
	}
	if (*s == '\0' || *s == '-')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno != 0 || *end != '\0' || v > 0xFFFFFFFFul)
		return -1;
	*status = (uint32_t)v;
	return 0;
}

/* ---- hooks ------------------------------------------------------------------ */

void
smscsim_on_bound(struct smscsim *sim, struct smscsim_conn *c)
{
	if (sim->script != NULL)
		smscsim_script_event(sim->script, "BOUND %s system_id=%s", smscsim_bind_name(c->bind),
		    c->system_id);
	if (sim->console != NULL)
		smscsim_console_status(sim->console, "rechargd bound (%s, system_id %s)",
		    smscsim_bind_name(c->bind), c->system_id);
	if (sim->load != NULL)
		smscsim_load_bound(sim->load, c);
	smscsim_mo_pump(sim);
	smscsim_on_progress(sim);
}

void
smscsim_on_bind_rejected(struct smscsim *sim, struct smscsim_conn *c, const char *system_id,
    uint32_t status)
{
	if (sim->script != NULL)
		smscsim_script_event(sim->script, "BIND_REJECTED system_id=%s status=%s", system_id,
		    smpp_status_name(status));
	if (sim->console != NULL)
		smscsim_console_status(sim->console, "bind refused for system_id %s: %s", system_id,
		    smpp_status_name(status));
}

/* Told when the unbind (or our unbind's resp) arrives, before the socket closes, so a
 * script that goes on at once still sees the line. */
void
smscsim_on_unbound(struct smscsim *sim, struct smscsim_conn *c)
{
	if (sim->script != NULL)
		smscsim_script_event(sim->script, "UNBOUND system_id=%s", c->system_id);
	smscsim_on_progress(sim);
}

void
smscsim_on_closed(struct smscsim *sim, struct smscsim_conn *c, int was_bound, const char *why)
{
	if (sim->script != NULL) {
		if (strcmp(why, "unbind") == 0)
			;       /* told at once by smscsim_on_unbound */
		else if (strcmp(why, "drop") == 0)
			smscsim_script_event(sim->script, "DROPPED peer=%s outstanding=%d", c->peer,
			    c->noutstanding);
		else if (strcmp(why, "exit") != 0)
			smscsim_script_event(sim->script, "CLOSED peer=%s outstanding=%d reason=%s", c->peer,
			    c->noutstanding, why);
	}
	if (sim->console != NULL && was_bound && strcmp(why, "exit") != 0)
		smscsim_console_status(sim->console, "link down (%s)", why);
	if (sim->load != NULL)
		smscsim_load_closed(sim->load, c);
	smscsim_on_progress(sim);
}

void
smscsim_on_mt(struct smscsim *sim, struct smscsim_mt *mt)
{
	if (sim->script != NULL) {
		char *esc = smscsim_text_escape(mt->text);
		smscsim_script_event(sim->script, "MT to=%s dc=%u text=%s", mt->to, mt->dc, esc);
		if (mt->dup)
			smscsim_script_event(sim->script, "MT_DUP to=%s text=%s", mt->to, esc);
		free(esc);
	}
	if (sim->console != NULL)
		smscsim_console_mt(sim->console, mt);
	smscsim_on_progress(sim);
}

void
smscsim_on_mo_sent(struct smscsim *sim, struct smscsim_mo *mo, uint32_t seq)
{
	if (sim->script != NULL && !mo->quiet) {
		char *esc = smscsim_text_escape(mo->text);
		if (mo->is_dlr)
			smscsim_script_event(sim->script, "DLR seq=%u to=%s id=%s", seq, mo->to,
			    mo->receipted_id);
		else
			smscsim_script_event(sim->script, "MO seq=%u mo=%u from=%s dc=%u parts=%u text=%s",
			    seq, mo->number, mo->from, mo->dc, mo->nparts, esc);
		free(esc);
	}
}

void
smscsim_on_mo_resp(struct smscsim *sim, struct smscsim_mo *mo)
{
	if (sim->script != NULL && !mo->quiet) {
		if (mo->is_dlr)
			smscsim_script_event(sim->script, "DLR_RESP seq=%u status=%s", mo->last_seq,
			    smpp_status_name(mo->status));
		else
			smscsim_script_event(sim->script, "MO_RESP seq=%u status=%s mo=%u", mo->last_seq,
			    smpp_status_name(mo->status), mo->number);
	}
	if (sim->console != NULL && !mo->is_dlr)
		smscsim_console_mo_resp(sim->console, mo);
}

void
smscsim_on_progress(struct smscsim *sim)
{
	if (sim->script != NULL)
		smscsim_script_poke(sim->script);
}
