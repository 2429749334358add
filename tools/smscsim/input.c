/* tools/smscsim/input.c: lines from stdin or a script file without blocking the loop.
 * A pipe or terminal is read when the loop says it is readable; a regular file (which
 * epoll cannot watch) is read on demand, which never waits for long. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "common/common.h"
#include "tools/smscsim/smscsim.h"

#define SMSCSIM_INPUT_HIGH (1024 * 1024)   /* stop reading a pipe that runs ahead */

struct smscsim_input {
	int fd;
	int is_file;
	int eof;
	int paused;
	struct evbuffer *buf;
	struct event *ev;
	void (*cb)(void *);
	void *arg;
};

/* One read; EOF and errors both end the input. */
static void
smscsim_input_fill(struct smscsim_input *in)
{
	int n = evbuffer_read(in->buf, in->fd, 65536);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		in->eof = 1;
		if (in->ev != NULL)
			event_del(in->ev);
	} else if (in->ev != NULL && evbuffer_get_length(in->buf) > SMSCSIM_INPUT_HIGH) {
		event_del(in->ev);
		in->paused = 1;
	}
}

static void
smscsim_input_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smscsim_input *in = arg;

	smscsim_input_fill(in);
	in->cb(in->arg);
}

struct smscsim_input *
smscsim_input_new(struct event_base *base, int fd, void (*cb)(void *), void *arg)
{
	struct smscsim_input *in = xcalloc(1, sizeof *in);
	struct stat st;

	in->fd = fd;
	in->cb = cb;
	in->arg = arg;
	in->buf = evbuffer_new();
	if (fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
		in->is_file = 1;
	else {
		in->ev = event_new(base, fd, EV_READ | EV_PERSIST, smscsim_input_read_cb, in);
		if (in->ev == NULL || event_add(in->ev, NULL) != 0) {
			/* e.g. /dev/null on some systems: read it as a file */
			if (in->ev != NULL)
				event_free(in->ev);
			in->ev = NULL;
			in->is_file = 1;
		}
	}
	return in;
}

void
smscsim_input_free(struct smscsim_input *in)
{
	if (in == NULL)
		return;
	if (in->ev != NULL)
		event_free(in->ev);
	evbuffer_free(in->buf);
	free(in);
}

int
smscsim_input_is_file(const struct smscsim_input *in)
{
	return in->is_file;
}

int
smscsim_input_line(struct smscsim_input *in, char **line)
{
	size_t n;

	for (;;) {
		struct evbuffer_ptr eol = evbuffer_search(in->buf, "\n", 1, NULL);
		size_t avail = evbuffer_get_length(in->buf);

		if (eol.pos >= 0 || (in->eof && avail > 0)) {
			n = eol.pos >= 0 ? (size_t)eol.pos : avail;
			if (n > SMSCSIM_LINE_MAX)
				return -2;
			*line = malloc(n + 1);
			if (*line == NULL)
				fatal("smscsim: out of memory");
			evbuffer_remove(in->buf, *line, n);
			(*line)[n] = '\0';
			if (eol.pos >= 0)
				evbuffer_drain(in->buf, 1);
			if (n > 0 && (*line)[n - 1] == '\r')
				(*line)[n - 1] = '\0';
			if (in->paused && evbuffer_get_length(in->buf) < SMSCSIM_INPUT_HIGH / 2) {
				in->paused = 0;
				event_add(in->ev, NULL);
			}
			return 1;
		}
		if (avail > SMSCSIM_LINE_MAX)
			return -2;
		if (in->eof)
			return -1;
		if (!in->is_file)
			return 0;
		smscsim_input_fill(in);
	}
}
