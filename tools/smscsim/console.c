/* tools/smscsim/console.c: the phone console of the demo. Each line typed is an SMS
 * from the current phone to the short code; replies to that phone print as "< text".
 * Output is plain lines (no cursor tricks), so it also works through a pipe. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/common.h"
#include "smpp/smpp.h"
#include "tools/smscsim/smscsim.h"

struct smscsim_console {
	struct smscsim *sim;
	struct smscsim_input *in;
	struct event *kick_ev;       /* reads a file on stdin from the loop */
	struct event *quit_ev;       /* after EOF: a moment for the last replies */
	char from[21];
};

void
smscsim_console_status(struct smscsim_console *c, const char *fmt, ...)
{
	va_list ap;

	fputs("[SMSC] ", stdout);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static void
smscsim_console_help(struct smscsim_console *c)
{
	printf("Type a message and press Enter: it goes to rechargd as an SMS from %s to %s.\n"
	    "Replies to this phone show as \"< text\". Try: HELP, BAL, RC 9876543210 AIRTEL 10\n"
	    "  /from MSISDN   become another phone (e.g. /from 919812345678)\n"
	    "  /ucs2 TEXT     send TEXT as UCS-2 (data coding 8)\n"
	    "  /help          this text\n"
	    "  /quit          leave (Ctrl-D too)\n", c->from, c->sim->opt.shortcode);
	fflush(stdout);
}

/* Last ten digits equal: +919876543210, 919876543210 and 09876543210 are one phone. */
static int
smscsim_console_same_phone(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (strcmp(a, b) == 0)
		return 1;
	if (la < 10 || lb < 10)
		return 0;
	return strcmp(a + la - 10, b + lb - 10) == 0 &&
	    strspn(a + la - 10, "0123456789") == 10;
}

void
smscsim_console_mt(struct smscsim_console *c, const struct smscsim_mt *mt)
{
	const char *p = mt->text;

	if (!smscsim_console_same_phone(mt->to, c->from))
		printf("[SMS to %s]\n", mt->to);
	/* one "< " per line of a multi-line reply */
	do {
		size_t n = strcspn(p, "\n");
		printf("< %.*s\n", (int)n, p);
		p += n;
		if (*p == '\n')
			p++;
	} while (*p != '\0');
	fflush(stdout);
}

void
smscsim_console_mo_resp(struct smscsim_console *c, const struct smscsim_mo *mo)
{
	if (mo->status == ESME_ROK)
		printf("> sent\n");
	else
		printf("> rechargd did not take it: %s\n", smpp_status_name(mo->status));
	fflush(stdout);
}

static void
smscsim_console_send(struct smscsim_console *c, const char *text, int dc)
{
	const char *cause = "";

	if (smscsim_mo_submit(c->sim, c->from, text, dc, 0, &cause) < 0) {
		printf("> not sent: %s\n", cause);
		fflush(stdout);
		return;
	}
	if (smscsim_receiver(c->sim) == NULL) {
		printf("> queued: rechargd is not bound yet (%u waiting)\n",
		    smscsim_mo_queue_len(c->sim));
		fflush(stdout);
	}
}

/* One typed line: a /command or a message. */
static void
smscsim_console_line(struct smscsim_console *c, char *line)
{
	char *arg;

	while (*line == ' ' || *line == '\t')
		line++;
	if (*line == '\0')
		return;
	if (line[0] != '/') {
		smscsim_console_send(c, line, -1);
		return;
	}
	arg = line + strcspn(line, " \t");
	if (*arg != '\0')
		*arg++ = '\0';
	while (*arg == ' ' || *arg == '\t')
		arg++;
	if (strcmp(line, "/from") == 0) {
		arg[strcspn(arg, " \t")] = '\0';
		if (*arg == '\0' || strlen(arg) > 20)
			printf("usage: /from MSISDN (up to 20 characters)\n");
		else {
			strlcpy_safe(c->from, arg, sizeof c->from);
			printf("You are now %s.\n", c->from);
		}
	} else if (strcmp(line, "/ucs2") == 0) {
		if (*arg == '\0')
			printf("usage: /ucs2 TEXT\n");
		else
			smscsim_console_send(c, arg, SMPP_DC_UCS2);
	} else if (strcmp(line, "/help") == 0)
		smscsim_console_help(c);
	else if (strcmp(line, "/quit") == 0 || strcmp(line, "/exit") == 0)
		smscsim_stop(c->sim, 0);
	else
		printf("Unknown command %s; /help lists them.\n", line);
	fflush(stdout);
}

static void
smscsim_console_quit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smscsim_console *c = arg;

	smscsim_stop(c->sim, 0);
}

static void
smscsim_console_input_cb(void *arg)
{
	struct smscsim_console *c = arg;
	char *line;
	int r;

	while (!c->sim->stopping && (r = smscsim_input_line(c->in, &line)) != 0) {
		if (r == -1) {
			/* piped input: leave a moment for the replies to what was sent */
			struct timeval tv = { 2, 0 };
			if (!event_pending(c->quit_ev, EV_TIMEOUT, NULL))
				event_add(c->quit_ev, &tv);
			return;
		}
		if (r == -2) {
			printf("> not sent: line too long\n");
			smscsim_stop(c->sim, 0);
			return;
		}
		smscsim_console_line(c, line);
		free(line);
	}
}

static void
smscsim_console_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	smscsim_console_input_cb(arg);
}

struct smscsim_console *
smscsim_console_new(struct smscsim *sim, const char *from)
{
	struct smscsim_console *c = xcalloc(1, sizeof *c);

	c->sim = sim;
	strlcpy_safe(c->from, from, sizeof c->from);
	printf("rechargd SMSC simulator: phone console\n"
	    "You are phone %s texting short code %s.\n", c->from, sim->opt.shortcode);
	smscsim_console_help(c);
	smscsim_console_status(c, "listening on %s; waiting for rechargd to bind%s%s",
	    sim->listen_addr, sim->opt.system_id ? " as " : "",
	    sim->opt.system_id ? sim->opt.system_id : "");
	c->in = smscsim_input_new(sim->base, 0, smscsim_console_input_cb, c);
	c->quit_ev = event_new(sim->base, -1, 0, smscsim_console_quit_cb, c);
	c->kick_ev = event_new(sim->base, -1, 0, smscsim_console_kick_cb, c);
	sim->console = c;
	/* a file or /dev/null on stdin is never "readable" to the loop: read it once */
	if (smscsim_input_is_file(c->in))
		event_active(c->kick_ev, EV_TIMEOUT, 1);
	return c;
}

void
smscsim_console_free(struct smscsim_console *c)
{
	if (c == NULL)
		return;
	if (c->sim->console == c)
		c->sim->console = NULL;
	smscsim_input_free(c->in);
	event_free(c->kick_ev);
	event_free(c->quit_ev);
	free(c);
}
