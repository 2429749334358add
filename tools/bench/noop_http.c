/* tools/bench/noop_http.c: the no-op backend of the Kannel baseline (tools/bench/kannel.sh).
 * Answers every HTTP request with 200, text/plain, the value of its `text` query
 * parameter (empty when there is none), which smsbox sends back as the reply SMS. One
 * libevent evhttp loop, keep-alive as the client asks, nothing stored, so the responder
 * is never what limits Kannel.
 *
 *   noop_http --listen HOST:PORT      (port 0 picks a free one)
 *
 * Prints `LISTENING HOST:PORT` on stdout once it accepts connections; runs until SIGTERM
 * or SIGINT. Exit status 2 on a usage error, 1 when it cannot listen. */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

/* Every request gets the same treatment, so one callback answers them all. */
static void
noop_http_request_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *body = arg;
	struct evkeyvalq query;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
	const char *text = NULL;

	TAILQ_INIT(&query);
	if (q && evhttp_parse_query_str(q, &query) == 0)
		text = evhttp_find_header(&query, "text");
	evbuffer_add(body, text ? text : "", text ? strlen(text) : 0);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain");
	evhttp_send_reply(req, 200, "OK", body); /* drains body */
	evhttp_clear_headers(&query);
}

/* SIGTERM and SIGINT end the loop so the process exits cleanly. */
static void
noop_http_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(arg);
}

int
main(int argc, char **argv)
{
	char host[64] = "127.0.0.1";
	int port = 0;
	const char *colon;

	if (argc != 3 || strcmp(argv[1], "--listen") != 0 || !(colon = strrchr(argv[2], ':')) ||
	    (size_t)(colon - argv[2]) >= sizeof host) {
		fprintf(stderr, "usage: noop_http --listen HOST:PORT\n");
		return 2;
	}
	memcpy(host, argv[2], colon - argv[2]);
	host[colon - argv[2]] = '\0';
	port = atoi(colon + 1);

	signal(SIGPIPE, SIG_IGN);
	struct event_base *base = event_base_new();
	struct evhttp *http = base ? evhttp_new(base) : NULL;
	struct evbuffer *body = evbuffer_new();
	if (!http || !body)
		return 1;
	evhttp_set_gencb(http, noop_http_request_cb, body);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(http, host, port);
	if (!bound) {
		fprintf(stderr, "noop_http: cannot listen on %s\n", argv[2]);
		return 1;
	}
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	printf("LISTENING %s:%d\n", host, port);
	fflush(stdout);

	struct event *term = evsignal_new(base, SIGTERM, noop_http_signal_cb, base);
	struct event *intr = evsignal_new(base, SIGINT, noop_http_signal_cb, base);
	event_add(term, NULL);
	event_add(intr, NULL);
	event_base_dispatch(base);
	event_free(term);
	event_free(intr);
	evhttp_free(http);
	evbuffer_free(body);
	event_base_free(base);
	return 0;
}
