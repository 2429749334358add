/* tools/smscsim/script.c: script mode, for tests and benchmarks. One command at a time;
 * a command that waits (wait_bound, expect, sleep, burst ...) arms a deadline and is
 * checked again whenever the SMPP side reports progress. Nothing sleeps: the loop keeps
 * answering the ESME while a script waits. The run itself is a deferred event, so a
 * command never runs inside a connection's callback. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/common.h"
#include "smpp/smpp.h"
#include "tools/smscsim/smscsim.h"

#define SMSCSIM_BURST_STALL_S 30     /* a burst that sends nothing for this long fails */

enum smscsim_cmd_type {
	CMD_WAIT_BOUND, CMD_WAIT_UNBOUND, CMD_MO, CMD_MO_DC, CMD_EXPECT, CMD_EXPECT_NONE,
	CMD_EXPECT_MO_RESP, CMD_SLEEP, CMD_RAW, CMD_BURST, CMD_WAIT_MO_RESPS, CMD_MO_STATUS,
	CMD_MT_DUMP, CMD_DROP, CMD_ECHO, CMD_QUIT, CMD_UNBIND, CMD_MT_RESP, CMD_BIND_RESP,
	CMD_DLR, CMD_DROP_AFTER_MT, CMD_DROP_AFTER_MT_RESP, CMD_DROP_AFTER_MO, CMD_THROTTLE,
	CMD_MT_DELAY, CMD_SILENCE, CMD_GARBAGE, CMD_EXPECT_DUPS, CMD_STATS,
};

struct smscsim_cmd {
	enum smscsim_cmd_type type;
	int line;
	double seconds;
	char *addr;                  /* FROM or TO */
	char *text;                  /* text, template, file, regex source, echo */
	int dc;
	uint32_t status;
	int none;                    /* mt_resp none; drop_after_mt_resp N lost */
	long count;
	regex_t re;
	int has_re;
	uint8_t *raw;
	size_t raw_len;
	/* burst template: prefix, %0Nd, suffix */
	char *suffix;
	int width, has_number;
};

enum smscsim_step { STEP_DONE, STEP_WAIT, STEP_FAIL };

struct smscsim_script {
	struct smscsim *sim;
	struct smscsim_input *in;
	int fd;                      /* closed at free unless stdin */
	struct event *run_ev;
	struct event *timer_ev;
	int timed_out;
	int finished;
	int lineno;
	/* a regular file is parsed whole before the run, so a typo fails at once */
	struct smscsim_cmd **cmds;
	size_t ncmds, next;
	struct smscsim_cmd *cur;
	int64_t started_ms;
	uint32_t scan;               /* expect: MTs before this index were looked at */
	/* burst */
	long burst_next;
	int64_t burst_start_ms;
};

static void
smscsim_cmd_free(struct smscsim_cmd *c)
{
	if (c == NULL)
		return;
	free(c->addr);
	free(c->text);
	free(c->suffix);
	free(c->raw);
	if (c->has_re)
		regfree(&c->re);
	free(c);
}

void
smscsim_script_event(struct smscsim_script *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

/* Prints the FAIL line and ends the run with exit code 1. */
static void __attribute__((format(printf, 2, 3)))
smscsim_script_fail(struct smscsim_script *s, const char *fmt, ...)
{
	va_list ap;

	if (s->finished)
		return;
	s->finished = 1;
	fputs("FAIL ", stdout);
	if (s->cur != NULL)
		printf("line %d: ", s->cur->line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	smscsim_stop(s->sim, 1);
}

void
smscsim_script_poke(struct smscsim_script *s)
{
	if (!s->finished)
		event_active(s->run_ev, EV_TIMEOUT, 1);
}

/* ---- parsing ---------------------------------------------------------------- */

/* Next whitespace-separated word, or NULL; *p moves past it. */
static char *
smscsim_script_word(char **p)
{
	char *s = *p, *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0') {
		*p = s;
		return NULL;
	}
	w = s;
	while (*s != '\0' && *s != ' ' && *s != '\t')
		s++;
	if (*s != '\0')
		*s++ = '\0';
	*p = s;
	return w;
}

/* What is left of the line after the separating whitespace. */
static char *
smscsim_script_rest(char **p)
{
	char *s = *p;

	while (*s == ' ' || *s == '\t')
		s++;
	*p = s + strlen(s);
	return s;
}

static int
smscsim_script_seconds(const char *w, double *out)
{
	char *end;
	double v;

	if (w == NULL)
		return -1;
	errno = 0;
	v = strtod(w, &end);
	if (errno != 0 || *end != '\0' || !(v >= 0) || v > 86400)
		return -1;
	*out = v;
	return 0;
}

static int
smscsim_script_long(const char *w, long min, long max, long *out)
{
	char *end;
	long v;

	if (w == NULL || *w == '\0')
		return -1;
	errno = 0;
	v = strtol(w, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
smscsim_script_addr(const char *w)
{
	return w != NULL && strlen(w) >= 1 && strlen(w) <= 20;
}

/* Splits "RC 98%08d AIRTEL 10" at its one %d / %0Nd (text.c). */
static int
smscsim_script_template(struct smscsim_cmd *c, const char *tpl, char *err, size_t errcap)
{
	if (smscsim_text_template(tpl, &c->text, &c->suffix, &c->width, &c->has_number) == 0)
		return 0;
	snprintf(err, errcap, "burst: TEMPLATE may hold one %%d or %%0Nd (N <= 20), got '%s'", tpl);
	return -1;
}

/* POSIX EREs have no \n: a reply of several lines needs one, so \n and \t are read as
 * newline and tab (other escapes are the regex's own). */
static void
smscsim_script_regex_escapes(char *re)
{
	char *o = re;

	for (char *p = re; *p; p++) {
		if (*p == '\\' && (p[1] == 'n' || p[1] == 't')) {
			*o++ = p[1] == 'n' ? '\n' : '\t';
			p++;
		} else if (*p == '\\' && p[1] != '\0') {
			*o++ = *p++;
			*o++ = *p;
		} else
			*o++ = *p;
	}
	*o = '\0';
}

/* Parses one line into a command; NULL with err filled, or NULL with err empty for a
 * blank line or comment. */
static struct smscsim_cmd *
smscsim_script_parse(char *line, int lineno, char *err, size_t errcap)
{
	struct smscsim_cmd *c;
	char *p = line, *w, *a, *b;
	const char *usage = NULL;

	err[0] = '\0';
	w = smscsim_script_word(&p);
	if (w == NULL || w[0] == '#')
		return NULL;
	c = xcalloc(1, sizeof *c);
	c->line = lineno;
	c->count = -1;

	if (strcmp(w, "wait_bound") == 0 || strcmp(w, "wait_unbound") == 0 ||
	    strcmp(w, "wait_mo_resps") == 0) {
		c->type = w[5] == 'b' ? CMD_WAIT_BOUND : w[5] == 'u' ? CMD_WAIT_UNBOUND :
		    CMD_WAIT_MO_RESPS;
		usage = "SECONDS";
		if (smscsim_script_seconds(smscsim_script_word(&p), &c->seconds) != 0)
			goto usage;
	} else if (strcmp(w, "mo") == 0 || strcmp(w, "mo_dc") == 0) {
		long dc = -1;
		c->type = w[2] ? CMD_MO_DC : CMD_MO;
		usage = c->type == CMD_MO ? "FROM TEXT..." : "DC FROM TEXT... (DC 0, 1, 3 or 8)";
		if (c->type == CMD_MO_DC && (smscsim_script_long(smscsim_script_word(&p), 0, 255, &dc) != 0 ||
		    (dc != 0 && dc != 1 && dc != 3 && dc != 8)))
			goto usage;
		c->dc = (int)dc;
		a = smscsim_script_word(&p);
		if (!smscsim_script_addr(a))
			goto usage;
		c->addr = xstrdup(a);
		c->text = xstrdup(smscsim_script_rest(&p));
		if (smscsim_text_unescape(c->text) != 0) {
			snprintf(err, errcap, "line %d: %s: bad escape in TEXT (\\n \\t \\r \\\\ \\xHH)", lineno, w);
			goto fail;
		}
	} else if (strcmp(w, "expect") == 0 || strcmp(w, "expect_none") == 0) {
		c->type = w[6] ? CMD_EXPECT_NONE : CMD_EXPECT;
		usage = c->type == CMD_EXPECT ? "SECONDS TO REGEX" : "SECONDS TO";
		if (smscsim_script_seconds(smscsim_script_word(&p), &c->seconds) != 0)
			goto usage;
		a = smscsim_script_word(&p);
		if (!smscsim_script_addr(a))
			goto usage;
		c->addr = xstrdup(a);
		if (c->type == CMD_EXPECT) {
			int rc;
			b = smscsim_script_rest(&p);
			if (*b == '\0')
				goto usage;
			c->text = xstrdup(b);
			smscsim_script_regex_escapes(b);
			if ((rc = regcomp(&c->re, b, REG_EXTENDED | REG_NOSUB)) != 0) {
				char rerr[128];
				regerror(rc, &c->re, rerr, sizeof rerr);
				snprintf(err, errcap, "line %d: expect: bad regex /%s/: %s", lineno, c->text, rerr);
				goto fail;
			}
			c->has_re = 1;
		} else if (smscsim_script_word(&p) != NULL)
			goto usage;
	} else if (strcmp(w, "expect_mo_resp") == 0) {
		c->type = CMD_EXPECT_MO_RESP;
		usage = "SECONDS STATUS (0x00000064 or ESME_RX_T_APPN)";
		if (smscsim_script_seconds(smscsim_script_word(&p), &c->seconds) != 0 ||
		    (a = smscsim_script_word(&p)) == NULL || smscsim_status_parse(a, &c->status) != 0)
			goto usage;
	} else if (strcmp(w, "sleep") == 0) {
		long ms;
		c->type = CMD_SLEEP;
		usage = "MS";
		if (smscsim_script_long(smscsim_script_word(&p), 0, 86400000L, &ms) != 0)
			goto usage;
		c->seconds = (double)ms / 1000.0;
	} else if (strcmp(w, "raw") == 0) {
		char *hex = smscsim_script_rest(&p);
		size_t n = 0;
		c->type = CMD_RAW;
		usage = "HEX (spaces allowed)";
		c->raw = xcalloc(1, strlen(hex) / 2 + 1);
		for (char *h = hex; *h; ) {
			int hi, lo;
			if (*h == ' ' || *h == '\t') {
				h++;
				continue;
			}
			hi = (h[0] >= '0' && h[0] <= '9') ? h[0] - '0' : (h[0] | 0x20) >= 'a' && (h[0] | 0x20) <= 'f' ? (h[0] | 0x20) - 'a' + 10 : -1;
			lo = h[1] == '\0' ? -1 : (h[1] >= '0' && h[1] <= '9') ? h[1] - '0' : (h[1] | 0x20) >= 'a' && (h[1] | 0x20) <= 'f' ? (h[1] | 0x20) - 'a' + 10 : -1;
			if (hi < 0 || lo < 0)
				goto usage;
			c->raw[n++] = (uint8_t)(hi << 4 | lo);
			h += 2;
		}
		if (n == 0)
			goto usage;
		c->raw_len = n;
	} else if (strcmp(w, "burst") == 0) {
		c->type = CMD_BURST;
		usage = "N FROM TEMPLATE";
		if (smscsim_script_long(smscsim_script_word(&p), 1, SMSCSIM_MAX_MOS, &c->count) != 0)
			goto usage;
		a = smscsim_script_word(&p);
		if (!smscsim_script_addr(a))
			goto usage;
		c->addr = xstrdup(a);
		b = smscsim_script_rest(&p);
		if (*b == '\0')
			goto usage;
		if (smscsim_script_template(c, b, err, errcap) != 0) {
			char tmp[512];
			snprintf(tmp, sizeof tmp, "line %d: %s", lineno, err);
			snprintf(err, errcap, "%s", tmp);
			goto fail;
		}
	} else if (strcmp(w, "mo_status") == 0 || strcmp(w, "mt_dump") == 0) {
		c->type = w[1] == 'o' ? CMD_MO_STATUS : CMD_MT_DUMP;
		usage = "FILE";
		b = smscsim_script_rest(&p);
		if (*b == '\0')
			goto usage;
		c->text = xstrdup(b);
	} else if (strcmp(w, "drop") == 0 || strcmp(w, "quit") == 0 || strcmp(w, "unbind") == 0) {
		c->type = w[0] == 'd' ? CMD_DROP : w[0] == 'q' ? CMD_QUIT : CMD_UNBIND;
		usage = "";
		if (smscsim_script_word(&p) != NULL)
			goto usage;
	} else if (strcmp(w, "echo") == 0) {
		c->type = CMD_ECHO;
		c->text = xstrdup(smscsim_script_rest(&p));
	} else if (strcmp(w, "mt_resp") == 0 || strcmp(w, "bind_resp") == 0) {
		c->type = w[0] == 'm' ? CMD_MT_RESP : CMD_BIND_RESP;
		usage = c->type == CMD_MT_RESP ? "STATUS|none [COUNT]" : "STATUS [COUNT]";
		a = smscsim_script_word(&p);
		if (a == NULL)
			goto usage;
		if (c->type == CMD_MT_RESP && strcmp(a, "none") == 0)
			c->none = 1;
		else if (smscsim_status_parse(a, &c->status) != 0)
			goto usage;
		if ((a = smscsim_script_word(&p)) != NULL &&
		    smscsim_script_long(a, 1, 1000000000L, &c->count) != 0)
			goto usage;
	} else if (strcmp(w, "drop_after_mt") == 0 || strcmp(w, "drop_after_mt_resp") == 0 ||
	    strcmp(w, "drop_after_mo") == 0) {
		c->type = strcmp(w, "drop_after_mo") == 0 ? CMD_DROP_AFTER_MO :
		    w[13] == '\0' ? CMD_DROP_AFTER_MT : CMD_DROP_AFTER_MT_RESP;
		usage = c->type == CMD_DROP_AFTER_MT_RESP ? "N [lost] (N >= 1; 0 disarms)" :
		    "N (N >= 1; 0 disarms)";
		if (smscsim_script_long(smscsim_script_word(&p), 0, 1000000000L, &c->count) != 0)
			goto usage;
		if ((a = smscsim_script_word(&p)) != NULL) {
			if (c->type != CMD_DROP_AFTER_MT_RESP || strcmp(a, "lost") != 0)
				goto usage;
			c->none = 1;
		}
		if (smscsim_script_word(&p) != NULL)
			goto usage;
	} else if (strcmp(w, "throttle") == 0) {
		c->type = CMD_THROTTLE;
		usage = "SECONDS [STATUS] (default ESME_RTHROTTLED; 0 ends it)";
		c->status = ESME_RTHROTTLED;
		if (smscsim_script_seconds(smscsim_script_word(&p), &c->seconds) != 0)
			goto usage;
		if ((a = smscsim_script_word(&p)) != NULL &&
		    (smscsim_status_parse(a, &c->status) != 0 || c->status == ESME_ROK))
			goto usage;
		if (smscsim_script_word(&p) != NULL)
			goto usage;
	} else if (strcmp(w, "mt_delay") == 0 || strcmp(w, "garbage") == 0 ||
	    strcmp(w, "expect_dups_at_most") == 0) {
		c->type = w[0] == 'm' ? CMD_MT_DELAY : w[0] == 'g' ? CMD_GARBAGE : CMD_EXPECT_DUPS;
		usage = c->type == CMD_MT_DELAY ? "MS (0: answer at once)" : c->type == CMD_GARBAGE ?
		    "N (1 to 65536 bytes)" : "N";
		if (smscsim_script_long(smscsim_script_word(&p), c->type == CMD_GARBAGE ? 1 : 0,
		    c->type == CMD_GARBAGE ? 65536 : c->type == CMD_MT_DELAY ? 600000 : 1000000000L,
		    &c->count) != 0 || smscsim_script_word(&p) != NULL)
			goto usage;
	} else if (strcmp(w, "silence") == 0) {
		c->type = CMD_SILENCE;
		usage = "on|off";
		a = smscsim_script_word(&p);
		if (a == NULL || (strcmp(a, "on") != 0 && strcmp(a, "off") != 0) ||
		    smscsim_script_word(&p) != NULL)
			goto usage;
		c->count = strcmp(a, "on") == 0;
	} else if (strcmp(w, "stats") == 0) {
		c->type = CMD_STATS;
		usage = "";
		if (smscsim_script_word(&p) != NULL)
			goto usage;
	} else if (strcmp(w, "dlr") == 0) {
		c->type = CMD_DLR;
		usage = "on|off";
		a = smscsim_script_word(&p);
		if (a == NULL || (strcmp(a, "on") != 0 && strcmp(a, "off") != 0))
			goto usage;
		c->count = strcmp(a, "on") == 0;
	} else {
		snprintf(err, errcap, "line %d: unknown command '%s'", lineno, w);
		goto fail;
	}
	return c;
usage:
	snprintf(err, errcap, "line %d: usage: %s %s", lineno, w, usage ? usage : "");
fail:
	smscsim_cmd_free(c);
	return NULL;
}

/* ---- running ----------------------------------------------------------------- */

static void
smscsim_script_arm(struct smscsim_script *s, double seconds)
{
	struct timeval tv;

	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	s->timed_out = 0;
	event_add(s->timer_ev, &tv);
}

static void
smscsim_script_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smscsim_script *s = arg;

	s->timed_out = 1;
	smscsim_script_poke(s);
}

/* The first MT to `to` not yet consumed, at or after s->scan; NULL if none. */
static struct smscsim_mt *
smscsim_script_next_mt(struct smscsim_script *s, const char *to)
{
	struct smscsim *sim = s->sim;

	for (; s->scan < sim->nmts; s->scan++) {
		struct smscsim_mt *mt = &sim->mts[s->scan];
		if (!mt->consumed && strcmp(mt->to, to) == 0)
			return mt;
	}
	return NULL;
}

static int
smscsim_script_write_file(struct smscsim_script *s, const char *path, int mts)
{
	struct smscsim *sim = s->sim;
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		smscsim_script_fail(s, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	if (mts) {
		for (uint32_t i = 0; i < sim->nmts; i++) {
			char *esc = smscsim_text_escape(sim->mts[i].text);
			fprintf(f, "%s %s\n", sim->mts[i].to, esc);
			free(esc);
		}
	} else {
		for (uint32_t i = 0; i < sim->nmos; i++) {
			struct smscsim_mo *mo = &sim->mos[i];
			char *esc;
			if (mo->is_dlr)
				continue;
			esc = smscsim_text_escape(mo->text);
			if (mo->answered)
				fprintf(f, "%u 0x%08X %s\n", mo->number, mo->status, esc);
			else
				fprintf(f, "%u none %s\n", mo->number, esc);
			free(esc);
		}
	}
	if (fclose(f) != 0) {
		smscsim_script_fail(s, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Queues burst MOs while the queue is short; the window paces the rest. */
static enum smscsim_step
smscsim_script_burst(struct smscsim_script *s, struct smscsim_cmd *c)
{
	struct smscsim *sim = s->sim;
	char text[SMSCSIM_MO_TEXT_MAX + 32];
	int progressed = 0;

	while (s->burst_next < c->count && smscsim_mo_queue_len(sim) < SMSCSIM_WINDOW) {
		const char *cause = "";
		if (c->has_number)
			snprintf(text, sizeof text, "%s%0*ld%s", c->text, c->width, s->burst_next, c->suffix);
		else
			snprintf(text, sizeof text, "%s", c->text);
		if (smscsim_mo_submit(sim, c->addr, text, -1, 0, &cause) < 0) {
			smscsim_script_fail(s, "burst: MO %ld: %s", s->burst_next, cause);
			return STEP_FAIL;
		}
		s->burst_next++;
		progressed = 1;
	}
	if (s->burst_next >= c->count) {
		smscsim_script_event(s, "BURST n=%ld queued_ms=%lld", c->count,
		    (long long)(clock_mono_ms() - s->burst_start_ms));
		return STEP_DONE;
	}
	if (progressed)
		smscsim_script_arm(s, SMSCSIM_BURST_STALL_S);
	else if (s->timed_out) {
		smscsim_script_fail(s, "burst: %ld of %ld MOs made, then none sent for %d s (bound: %d, "
		    "waiting: %u)", s->burst_next, c->count, SMSCSIM_BURST_STALL_S,
		    smscsim_bound_count(sim), smscsim_mo_queue_len(sim));
		return STEP_FAIL;
	}
	return STEP_WAIT;
}

/* Whether the command now waited on is satisfied, still waiting, or failed. */
static enum smscsim_step
smscsim_script_check(struct smscsim_script *s)
{
	struct smscsim *sim = s->sim;
	struct smscsim_cmd *c = s->cur;
	struct smscsim_mt *mt;
	uint32_t total, answered, ok;

	switch (c->type) {
	case CMD_WAIT_BOUND:
		if (smscsim_bound_count(sim) > 0)
			return STEP_DONE;
		if (s->timed_out) {
			smscsim_script_fail(s, "wait_bound: no ESME bound within %g s (%d connected)",
			    c->seconds, smscsim_conn_count(sim));
			return STEP_FAIL;
		}
		return STEP_WAIT;
	case CMD_WAIT_UNBOUND:
		if (smscsim_bound_count(sim) == 0)
			return STEP_DONE;
		if (s->timed_out) {
			smscsim_script_fail(s, "wait_unbound: still bound after %g s", c->seconds);
			return STEP_FAIL;
		}
		return STEP_WAIT;
	case CMD_SLEEP:
		return s->timed_out ? STEP_DONE : STEP_WAIT;
	case CMD_EXPECT:
		if ((mt = smscsim_script_next_mt(s, c->addr)) != NULL) {
			mt->consumed = 1;
			if (regexec(&c->re, mt->text, 0, NULL, 0) == 0)
				return STEP_DONE;
			char *esc = smscsim_text_escape(mt->text);
			smscsim_script_fail(s, "expect: MT to %s: expected /%s/, got '%s'", c->addr, c->text, esc);
			free(esc);
			return STEP_FAIL;
		}
		if (s->timed_out) {
			smscsim_script_fail(s, "expect: no MT to %s within %g s (expected /%s/)", c->addr,
			    c->seconds, c->text);
			return STEP_FAIL;
		}
		return STEP_WAIT;
	case CMD_EXPECT_NONE:
		if ((mt = smscsim_script_next_mt(s, c->addr)) != NULL) {
			char *esc = smscsim_text_escape(mt->text);
			mt->consumed = 1;
			smscsim_script_fail(s, "expect_none: expected no MT to %s within %g s, got '%s'",
			    c->addr, c->seconds, esc);
			free(esc);
			return STEP_FAIL;
		}
		return s->timed_out ? STEP_DONE : STEP_WAIT;
	case CMD_EXPECT_MO_RESP: {
		struct smscsim_mo *mo;
		if (sim->last_mo < 0) {
			smscsim_script_fail(s, "expect_mo_resp: no MO was sent");
			return STEP_FAIL;
		}
		mo = &sim->mos[sim->last_mo];
		if (mo->answered) {
			if (mo->status == c->status)
				return STEP_DONE;
			smscsim_script_fail(s, "expect_mo_resp: MO %u: expected %s, got %s", mo->number,
			    smpp_status_name(c->status), smpp_status_name(mo->status));
			return STEP_FAIL;
		}
		if (mo->lost) {
			smscsim_script_fail(s, "expect_mo_resp: MO %u: expected %s, got the link dropped "
			    "(not redelivered)", mo->number, smpp_status_name(c->status));
			return STEP_FAIL;
		}
		if (s->timed_out) {
			smscsim_script_fail(s, "expect_mo_resp: MO %u: expected %s within %g s, got no "
			    "deliver_sm_resp%s", mo->number, smpp_status_name(c->status), c->seconds,
			    smscsim_bound_count(sim) ? "" : " (no ESME bound)");
			return STEP_FAIL;
		}
		return STEP_WAIT;
	}
	case CMD_BURST:
		return smscsim_script_burst(s, c);
	case CMD_WAIT_MO_RESPS:
		smscsim_mo_counts(sim, &total, &answered, &ok);
		if (answered + sim->mo_lost >= total) {
			if (sim->mo_lost > 0) {
				smscsim_script_fail(s, "wait_mo_resps: %u of %u MOs lost with the link "
				    "(--no-redeliver)", sim->mo_lost, total);
				return STEP_FAIL;
			}
			/* after a burst, the time since it began: the benchmark's number */
			smscsim_script_event(s, "MO_RESPS n=%u ok=%u failed=%u elapsed_ms=%lld", total, ok,
			    answered - ok, (long long)(clock_mono_ms() -
			    (s->burst_start_ms ? s->burst_start_ms : s->started_ms)));
			s->burst_start_ms = 0;
			return STEP_DONE;
		}
		if (s->timed_out) {
			smscsim_script_fail(s, "wait_mo_resps: expected all %u MOs answered within %g s, "
			    "got %u", total, c->seconds, answered);
			return STEP_FAIL;
		}
		return STEP_WAIT;
	default:
		return STEP_DONE;
	}
}

/* Starts a command: the immediate ones finish here. */
static enum smscsim_step
smscsim_script_start(struct smscsim_script *s, struct smscsim_cmd *c)
{
	struct smscsim *sim = s->sim;
	const char *cause = "";
	int n = 0;

	s->timed_out = 0;
	s->started_ms = clock_mono_ms();
	switch (c->type) {
	case CMD_WAIT_BOUND:
	case CMD_WAIT_UNBOUND:
	case CMD_SLEEP:
	case CMD_EXPECT_MO_RESP:
	case CMD_WAIT_MO_RESPS:
		smscsim_script_arm(s, c->seconds);
		return smscsim_script_check(s);
	case CMD_EXPECT:
	case CMD_EXPECT_NONE:
		s->scan = 0;
		smscsim_script_arm(s, c->seconds);
		return smscsim_script_check(s);
	case CMD_BURST:
		s->burst_next = 0;
		s->burst_start_ms = clock_mono_ms();
		smscsim_script_arm(s, SMSCSIM_BURST_STALL_S);
		return smscsim_script_check(s);
	case CMD_MO:
	case CMD_MO_DC:
		if (smscsim_mo_submit(sim, c->addr, c->text, c->type == CMD_MO ? -1 : c->dc, 0,
		    &cause) < 0) {
			smscsim_script_fail(s, "%s: %s", c->type == CMD_MO ? "mo" : "mo_dc", cause);
			return STEP_FAIL;
		}
		return STEP_DONE;
	case CMD_RAW:
		for (int i = 0; i < SMSCSIM_MAX_CONNS; i++)
			if (sim->conns[i] != NULL && !sim->conns[i]->closing) {
				smscsim_conn_send_raw(sim->conns[i], c->raw, c->raw_len);
				smscsim_script_event(s, "RAW bytes=%zu peer=%s", c->raw_len, sim->conns[i]->peer);
				return STEP_DONE;
			}
		smscsim_script_fail(s, "raw: no ESME connection");
		return STEP_FAIL;
	case CMD_MO_STATUS:
	case CMD_MT_DUMP:
		return smscsim_script_write_file(s, c->text, c->type == CMD_MT_DUMP) == 0 ?
		    STEP_DONE : STEP_FAIL;
	case CMD_DROP:
		for (int i = 0; i < SMSCSIM_MAX_CONNS; i++)
			if (sim->conns[i] != NULL && !sim->conns[i]->closing) {
				smscsim_conn_drop(sim->conns[i]);
				n++;
			}
		if (n == 0)
			smscsim_script_event(s, "DROPPED none");
		return STEP_DONE;
	case CMD_DROP_AFTER_MT:
	case CMD_DROP_AFTER_MT_RESP:
		sim->drop_mt_left = c->count;
		sim->drop_mt_mode = c->type == CMD_DROP_AFTER_MT ? SMSCSIM_DROP_MT_UNANSWERED :
		    c->none ? SMSCSIM_DROP_MT_LOST : SMSCSIM_DROP_MT_ANSWERED;
		return STEP_DONE;
	case CMD_DROP_AFTER_MO:
		sim->drop_mo_left = c->count;
		return STEP_DONE;
	case CMD_THROTTLE:
		sim->throttle_status = c->status;
		sim->throttle_until_ms = c->seconds > 0 ?
		    clock_mono_ms() + (int64_t)(c->seconds * 1000.0) : 0;
		return STEP_DONE;
	case CMD_MT_DELAY:
		sim->mt_delay_ms = (int)c->count;
		return STEP_DONE;
	case CMD_SILENCE:
		sim->silent = (int)c->count;
		if (!sim->silent) {
			for (int i = 0; i < SMSCSIM_MAX_CONNS; i++)
				if (sim->conns[i] != NULL)
					smscsim_conn_wake(sim->conns[i]);
			smscsim_mo_pump(sim);
		}
		return STEP_DONE;
	case CMD_GARBAGE:
		for (int i = 0; i < SMSCSIM_MAX_CONNS; i++)
			if (sim->conns[i] != NULL && !sim->conns[i]->closing) {
				static uint8_t junk[65536];
				(void)random_bytes(junk, (size_t)c->count);
				smscsim_conn_send_raw(sim->conns[i], junk, (size_t)c->count);
				smscsim_script_event(s, "GARBAGE bytes=%ld peer=%s", c->count,
				    sim->conns[i]->peer);
				return STEP_DONE;
			}
		smscsim_script_fail(s, "garbage: no ESME connection");
		return STEP_FAIL;
	case CMD_EXPECT_DUPS:
		if (sim->ndups > (uint32_t)c->count) {
			smscsim_script_fail(s, "expect_dups_at_most: %u duplicate MTs, at most %ld expected",
			    sim->ndups, c->count);
			return STEP_FAIL;
		}
		return STEP_DONE;
	case CMD_STATS:
		smscsim_script_event(s, "STATS mts=%u dups=%u drops=%u closes=%u outstanding=%u "
		    "mos=%u mo_answered=%u", sim->nmts, sim->ndups, sim->ndrops, sim->ncloses,
		    sim->outstanding_at_closes, sim->mo_numbers, sim->mo_answered);
		return STEP_DONE;
	case CMD_UNBIND:
		for (int i = 0; i < SMSCSIM_MAX_CONNS; i++)
			if (sim->conns[i] != NULL && sim->conns[i]->bind != SMSCSIM_BIND_NONE) {
				smscsim_conn_unbind(sim->conns[i]);
				n++;
			}
		smscsim_script_event(s, "UNBIND_SENT n=%d", n);
		return STEP_DONE;
	case CMD_ECHO:
		smscsim_script_event(s, "%s", c->text);
		return STEP_DONE;
	case CMD_MT_RESP:
		sim->mt_resp_none = c->none;
		sim->mt_resp_status = c->none ? ESME_ROK : c->status;
		sim->mt_resp_count = c->count;
		return STEP_DONE;
	case CMD_BIND_RESP:
		sim->bind_resp_status = c->status;
		sim->bind_resp_count = c->count;
		return STEP_DONE;
	case CMD_DLR:
		sim->opt.dlr = (int)c->count;
		return STEP_DONE;
	case CMD_QUIT:
		s->finished = 1;
		smscsim_stop(sim, 0);
		return STEP_WAIT;
	}
	return STEP_DONE;
}

/* The next command: from the parsed file, or the next line of a stream. 1, 0 (wait
 * for input), -1 (end of script), -2 (failed). */
static int
smscsim_script_next(struct smscsim_script *s, struct smscsim_cmd **out)
{
	char err[768];

	if (s->in == NULL) {
		if (s->next >= s->ncmds)
			return -1;
		*out = s->cmds[s->next];
		s->cmds[s->next++] = NULL;
		return 1;
	}
	for (;;) {
		char *line;
		int r = smscsim_input_line(s->in, &line);
		if (r == 0)
			return 0;
		if (r == -1)
			return -1;
		s->lineno++;
		if (r == -2) {
			smscsim_script_fail(s, "line %d: longer than %d bytes", s->lineno, SMSCSIM_LINE_MAX);
			return -2;
		}
		*out = smscsim_script_parse(line, s->lineno, err, sizeof err);
		free(line);
		if (*out != NULL)
			return 1;
		if (err[0] != '\0') {
			smscsim_script_fail(s, "%s", err);
			return -2;
		}
	}
}

static void
smscsim_script_run_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smscsim_script *s = arg;
	enum smscsim_step st;
	int r;

	while (!s->finished) {
		if (s->cur != NULL) {
			st = smscsim_script_check(s);
			if (st != STEP_DONE)
				return;
			event_del(s->timer_ev);
			smscsim_cmd_free(s->cur);
			s->cur = NULL;
		}
		r = smscsim_script_next(s, &s->cur);
		if (r == 0 || r == -2)
			return;
		if (r == -1) {
			s->finished = 1;
			smscsim_stop(s->sim, 0);
			return;
		}
		st = smscsim_script_start(s, s->cur);
		if (st != STEP_DONE)
			return;
		event_del(s->timer_ev);
		smscsim_cmd_free(s->cur);
		s->cur = NULL;
	}
}

static void
smscsim_script_input_cb(void *arg)
{
	smscsim_script_poke(arg);
}

struct smscsim_script *
smscsim_script_new(struct smscsim *sim, const char *path, char **cause)
{
	struct smscsim_script *s = xcalloc(1, sizeof *s);
	char err[768];

	s->sim = sim;
	if (strcmp(path, "-") == 0)
		s->fd = 0;
	else if ((s->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, sizeof err, "cannot open %s: %s", path, strerror(errno));
		*cause = xstrdup(err);
		free(s);
		return NULL;
	}
	s->run_ev = event_new(sim->base, -1, 0, smscsim_script_run_cb, s);
	s->timer_ev = event_new(sim->base, -1, 0, smscsim_script_timer_cb, s);
	s->in = smscsim_input_new(sim->base, s->fd, smscsim_script_input_cb, s);

	if (smscsim_input_is_file(s->in)) {
		/* parse it all now: a syntax error fails before anything is sent */
		size_t cap = 0;
		for (;;) {
			char *line;
			struct smscsim_cmd *c;
			int r = smscsim_input_line(s->in, &line);
			if (r == -1)
				break;
			s->lineno++;
			if (r == -2) {
				snprintf(err, sizeof err, "line %d: longer than %d bytes", s->lineno,
				    SMSCSIM_LINE_MAX);
				goto fail;
			}
			c = smscsim_script_parse(line, s->lineno, err, sizeof err);
			free(line);
			if (c == NULL) {
				if (err[0] != '\0')
					goto fail;
				continue;
			}
			if (s->ncmds == cap) {
				cap = cap ? cap * 2 : 64;
				s->cmds = realloc(s->cmds, cap * sizeof *s->cmds);
				if (s->cmds == NULL)
					fatal("smscsim: out of memory");
			}
			s->cmds[s->ncmds++] = c;
		}
		smscsim_input_free(s->in);
		s->in = NULL;
	}
	sim->script = s;
	smscsim_script_poke(s);
	return s;
fail:
	*cause = xstrdup(err);
	smscsim_script_free(s);
	return NULL;
}

void
smscsim_script_free(struct smscsim_script *s)
{
	if (s == NULL)
		return;
	if (s->sim->script == s)
		s->sim->script = NULL;
	smscsim_input_free(s->in);
	if (s->fd > 0)
		close(s->fd);
	for (size_t i = 0; i < s->ncmds; i++)
		smscsim_cmd_free(s->cmds[i]);
	free(s->cmds);
	smscsim_cmd_free(s->cur);
	event_free(s->run_ev);
	event_free(s->timer_ev);
	free(s);
}
