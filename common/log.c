/* common/log.c: one line per event on stderr; systemd's journal adds the rest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>

#include "common/common.h"

int log_level = LOGL_INFO;

static const char *log_names[] = { "error", "warn", "info", "debug", "trace" };

int
log_level_parse(const char *name)
{
	for (int i = 0; i < (int)(sizeof log_names / sizeof log_names[0]); i++)
		if (strcasecmp(name, log_names[i]) == 0)
			return i;
	return -1;
}

/* Info and below wait here until log_flush (once per loop turn, daemon/daemon.c): at two
 * lines per recharge, unbuffered stderr cost a write(2) each, more syscalls than all the
 * SMPP and database I/O together. Warnings and errors still go out at once. */
static int log_buffering;
static char log_buf[65536];
static size_t log_len;

void
log_flush(void)
{
	if (log_len > 0)
		fwrite(log_buf, 1, log_len, stderr);
	log_len = 0;
}

void
log_buffer(int on)
{
	log_flush();
	log_buffering = on;
}

static void
log_vwrite(int level, const char *fmt, va_list ap)
{
	char msg[1024], when[32], line[1100];
	struct timeval tv;
	struct tm tm;
	int n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	vsnprintf(msg, sizeof msg, fmt, ap);
	/* control characters from hostile input must not forge log lines */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	n = snprintf(line, sizeof line, "%s.%03dZ %-5s %s\n", when, (int)(tv.tv_usec / 1000),
	    log_names[level < 0 ? 0 : level > LOGL_TRACE ? LOGL_TRACE : level], msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line)
		n = sizeof line - 1;
	if (!log_buffering || level <= LOGL_WARN) {
		log_flush();
		fwrite(line, 1, (size_t)n, stderr);
		return;
	}
	if (log_len + (size_t)n > sizeof log_buf)
		log_flush();
	memcpy(log_buf + log_len, line, (size_t)n);
	log_len += (size_t)n;
}

void
log_write(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(level, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOGL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
