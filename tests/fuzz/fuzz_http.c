/* tests/fuzz/fuzz_http.c: libFuzzer over the HTTP side, end to end in one process
 * (tests/fuzz/rig.c): the input is the byte stream of one client connection, written
 * over loopback TCP to the real evhttp server of channels/http.c (our connection
 * counting, deadlines and routing) with the REST API of channels/api.c (key auth, rate
 * limits, JSON / form / query decoding, recharges through the engine and the sim
 * provider after the group commit), /healthz, /metrics and provider callbacks (an
 * http-json provider's callback parsing: secret, form, JSON, query). Request lines,
 * headers, pipelining, bodies over max_body and malformed input all take the real path.
 *
 * Checked for every input:
 *  - every answer is a well-formed HTTP/x.y response (status line, header lines of
 *    name ':' value without control characters, a Content-Length that the body
 *    matches), never 500;
 *  - every application/json body is valid JSON (the API writes some by hand);
 *  - once the client has half-closed and the loop is idle, the server has closed the
 *    connection and no connection is left counted (http_channel_connections == 0).
 * Each input costs a TCP connection and a few loop turns: slower than the pure-function
 * targets, so its corpus grows slowly; run it long (docs/fuzzing.md).
 * Built with clang -fsanitize=fuzzer,address,undefined (mk/fuzz.mk). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <jansson.h>

#include "tests/fuzz/rig.h"

#define FUZZ_RESP_MAX (32 << 20)            /* 300 pipelined /metrics of ~10 KB fit */

static struct rig *rig;
static int port;
static char *resp;
static size_t resp_len;

static void fuzz_fail(const char *why) __attribute__((noreturn));

static void
fuzz_fail(const char *why)
{
	fprintf(stderr, "fuzz_http: %s\n--- answers (%zu bytes) ---\n%.*s\n", why, resp_len,
	    (int)(resp_len > 4000 ? 4000 : resp_len), resp);
	abort();
}

/* Reads what is there; 1 when the server has closed. */
static int
fuzz_read(int fd, int *progress)
{
	ssize_t n;

	for (;;) {
		if (resp_len == FUZZ_RESP_MAX)
			fuzz_fail("more than 32 MB of answers");
		n = read(fd, resp + resp_len, FUZZ_RESP_MAX - resp_len);
		if (n > 0) {
			resp_len += (size_t)n;
			*progress = 1;
			continue;
		}
		if (n == 0)
			return 1;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == ECONNRESET)
			return 1;
		fuzz_fail("read failed");
	}
}

/* Runs the loop until nothing moves for a few turns (bounded); 1 when closed. */
static int
fuzz_settle(int fd, int max_turns)
{
	int idle = 0, closed = 0;

	for (int t = 0; t < max_turns && idle < 6; t++) {
		int progress = 0;
		event_base_loop(rig->base, EVLOOP_NONBLOCK);
		if (!closed)
			closed = fuzz_read(fd, &progress);
		if (closed && http_channel_connections(rig->http) == 0 && !batch_is_open(rig->batch))
			return 1;
		idle = progress || batch_is_open(rig->batch) ? 0 : idle + 1;
	}
	return closed;
}

/* The answers, one by one. head: the client may have sent a HEAD request, whose answer
 * carries the Content-Length of a body it does not send. */
static void
fuzz_check_answers(int head)
{
	size_t at = 0;

	while (at < resp_len) {
		const char *p = resp + at, *end = resp + resp_len, *hdr_end, *line;
		long clen = -1;
		int code = 0, json = 0, closing = 0;

		hdr_end = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (hdr_end == NULL)
			fuzz_fail("an answer without the end of its headers");
		/* evhttp answers in the request's version as it read it (HTTP/0.1, HTTP/1.112,
		 * HTTP/-1.1 from an overflow in libevent's sscanf): not ours to check */
		const char *sp = memchr(p, ' ', (size_t)(hdr_end - p));
		if (end - p < 13 || memcmp(p, "HTTP/", 5) != 0 || sp == NULL ||
		    sscanf(sp + 1, "%3d", &code) != 1 || code < 100 || code > 599)
			fuzz_fail("a malformed status line");
		if (code == 500)
			fuzz_fail("500 Internal Server Error");
		/* the status line ends at hdr_end itself when no header follows */
		line = (const char *)memchr(p, '\n', (size_t)(hdr_end + 2 - p)) + 1;
		while (line < hdr_end + 2) {
			const char *eol = memmem(line, (size_t)(hdr_end + 2 - line), "\r\n", 2);
			const char *colon = eol != NULL ? memchr(line, ':', (size_t)(eol - line)) : NULL;
			if (colon == NULL || colon == line)
				fuzz_fail("a malformed header line");
			for (const char *c = line; c < eol; c++)
				if ((unsigned char)*c < 0x20 && *c != '\t')
					fuzz_fail("a control character in a header");
			if ((size_t)(colon - line) == 14 && strncasecmp(line, "Content-Length", 14) == 0)
				clen = strtol(colon + 1, NULL, 10);
			if ((size_t)(colon - line) == 10 && strncasecmp(line, "Connection", 10) == 0 &&
			    memmem(colon, (size_t)(eol - colon), "close", 5) != NULL)
				closing = 1;
			if ((size_t)(colon - line) == 12 && strncasecmp(line, "Content-Type", 12) == 0 &&
			    memmem(colon, (size_t)(eol - colon), "application/json", 16) != NULL)
				json = 1;
			line = eol + 2;
		}
		p = hdr_end + 4;
		if (code < 200 || (head && (p == end || (end - p >= 5 && memcmp(p, "HTTP/", 5) == 0))))
			clen = 0;		/* 100 Continue; the answer to a HEAD */
		else if (clen < 0 && memcmp(resp + at, "HTTP/1.1 ", 9) == 0 && !closing) {
			/* HTTP/1.1 kept alive without a Content-Length: no body (HEAD, 1xx,
			 * 204), so the next answer or the end follows at once (libevent 2.1
			 * sent a HEAD's body here, found by this target: channels/http.c
			 * http_head). Its own error pages to a malformed HEAD still carry a
			 * body, but close the connection after it: nothing can follow. */
			if (p != end && (end - p < 5 || memcmp(p, "HTTP/", 5) != 0))
				fuzz_fail("a body after an HTTP/1.1 answer without Content-Length");
			clen = 0;
		} else if (clen < 0) {
			at = resp_len;		/* HTTP/1.0 or closing: a body to the close */
			continue;
		}
		if (clen > end - p)
			fuzz_fail("a body shorter than its Content-Length");
		if (json && clen > 0) {
			json_error_t err;
			json_t *j = json_loadb(p, (size_t)clen, JSON_DECODE_ANY, &err);
			if (j == NULL)
				fuzz_fail("an application/json body that is not JSON");
			json_decref(j);
		}
		at = (size_t)(p + clen - resp);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_level = -1;
	rig = rig_open();
	rig->http = http_channel_new_for_test(rig->base, rig->batch, rig->engine, rig->cfg, &port);
	if (rig->http == NULL) {
		fprintf(stderr, "fuzz_http: cannot listen on 127.0.0.1\n");
		abort();
	}
	http_channel_set_api(rig->http, rig->api);
	resp = malloc(FUZZ_RESP_MAX);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sin;
	size_t off = 0;
	int fd;

	resp_len = 0;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* loopback ports are shared with every other test on the machine: a connect that
	 * finds none free (EADDRNOTAVAIL), or is cut by libFuzzer's SIGALRM (EINTR), is
	 * retried on a new socket, then the input skipped, not failed */
	for (int try = 0;; try++) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0)
			break;
		if (fd >= 0)
			close(fd);
		if (errno != EADDRNOTAVAIL && errno != EAGAIN && errno != EINTR) {
			fprintf(stderr, "fuzz_http: connect: %s\n", strerror(errno));
			fuzz_fail("cannot connect");
		}
		if (try == 100) {
			fprintf(stderr, "fuzz_http: no loopback port free for 1 s: input skipped\n");
			return 0;
		}
		usleep(10000);
	}
	/* a close of ours resets: no TIME_WAIT left holding a port */
	struct linger lg = { 1, 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	/* the whole stream, as fast as the server reads it */
	for (int t = 0; off < size && t < 1000; t++) {
		ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);
		int progress = 0;
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			break;		/* the server closed on us: fine */
		event_base_loop(rig->base, EVLOOP_NONBLOCK);
		if (fuzz_read(fd, &progress))
			break;
	}
	/* everything answered that will be, then the client half-closes */
	if (!fuzz_settle(fd, 20000)) {
		shutdown(fd, SHUT_WR);
		if (!fuzz_settle(fd, 20000))
			fuzz_fail("the server kept the connection after the client half-closed");
	}
	close(fd);
	rig_turns(rig, 2);
	if (http_channel_connections(rig->http) != 0)
		fuzz_fail("a connection is still counted after the client left");
	if (getenv("RIG_LOG") != NULL)
		fprintf(stderr, "--- answers ---\n%.*s\n", (int)resp_len, resp);
	fuzz_check_answers(memmem(data, size, "HEAD", 4) != NULL);
	return 0;
}
