/* tools/smscsim/main.c: options and the loop; everything else is in the other files so
 * tests can link it. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/common.h"
#include "tools/smscsim/smscsim.h"

static void
smscsim_usage(FILE *f)
{
	fprintf(f,
	    "usage: smscsim --listen HOST:PORT [--system-id ID --password PW] [--shortcode 5555]\n"
	    "               (--console --from MSISDN | --script FILE|-) [--log FILE]\n"
	    "               [--no-redeliver] [--no-dlr] [--enquire-link SECONDS] [-v]\n"
	    "An SMPP 3.4 SMSC for rechargd: the demo's phone console, or a script of\n"
	    "commands for tests (see docs/smscsim.md). Port 0 picks a free port (printed).\n");
}

/* SIGINT/SIGTERM: a person leaving the console, or a test harness giving up. */
static void
smscsim_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct smscsim *sim = arg;

	if (sim->mode == SMSCSIM_MODE_SCRIPT) {
		printf("FAIL interrupted by signal %d\n", (int)sig);
		smscsim_stop(sim, 1);
	} else
		smscsim_stop(sim, 0);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "system-id", required_argument, NULL, 'i' },
		{ "password", required_argument, NULL, 'p' },
		{ "shortcode", required_argument, NULL, 'c' },
		{ "console", no_argument, NULL, 'C' },
		{ "from", required_argument, NULL, 'f' },
		{ "script", required_argument, NULL, 's' },
		{ "log", required_argument, NULL, 'L' },
		{ "no-redeliver", no_argument, NULL, 'R' },
		{ "no-dlr", no_argument, NULL, 'D' },
		{ "enquire-link", required_argument, NULL, 'e' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct smscsim_options opt;
	struct event_base *base;
	struct event *sigint_ev, *sigterm_ev;
	struct smscsim *sim;
	char *cause = NULL;
	int ch, code;

	memset(&opt, 0, sizeof opt);
	opt.listen = "127.0.0.1:2775";
	opt.shortcode = "5555";
	opt.redeliver = 1;
	opt.dlr = 1;
	opt.enquire_link_s = 30;
	while ((ch = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l': opt.listen = optarg; break;
		case 'i': opt.system_id = optarg; break;
		case 'p': opt.password = optarg; break;
		case 'c': opt.shortcode = optarg; break;
		case 'C': opt.console = 1; break;
		case 'f': opt.from = optarg; break;
		case 's': opt.script = optarg; break;
		case 'L': opt.log_file = optarg; break;
		case 'R': opt.redeliver = 0; break;
		case 'D': opt.dlr = 0; break;
		case 'e':
			opt.enquire_link_s = atoi(optarg);
			if (opt.enquire_link_s < 0 || opt.enquire_link_s > 86400) {
				fprintf(stderr, "smscsim: --enquire-link wants 0 to 86400 seconds\n");
				return 2;
			}
			break;
		case 'v': opt.verbose++; break;
		case 'h': smscsim_usage(stdout); return 0;
		default: smscsim_usage(stderr); return 2;
		}
	}
	if (optind != argc || opt.console == (opt.script != NULL)) {
		fprintf(stderr, "smscsim: give exactly one of --console and --script\n");
		smscsim_usage(stderr);
		return 2;
	}
	if (opt.console && (opt.from == NULL || opt.from[0] == '\0' || strlen(opt.from) > 20)) {
		fprintf(stderr, "smscsim: --console needs --from MSISDN (up to 20 characters)\n");
		return 2;
	}
	if (opt.shortcode[0] == '\0' || strlen(opt.shortcode) > 20) {
		fprintf(stderr, "smscsim: --shortcode wants 1 to 20 characters\n");
		return 2;
	}
	if (opt.log_file != NULL && freopen(opt.log_file, "a", stderr) == NULL) {
		fprintf(stdout, "smscsim: cannot open %s\n", opt.log_file);
		return 2;
	}
	/* the console is for a person: only problems on stderr unless -v */
	log_level = (opt.console ? LOGL_WARN : LOGL_INFO) + opt.verbose;
	if (log_level > LOGL_TRACE)
		log_level = LOGL_TRACE;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);

	if ((base = event_base_new()) == NULL) {
		fprintf(stderr, "smscsim: event_base_new failed\n");
		return 2;
	}
	if ((sim = smscsim_new(base, &opt, &cause)) == NULL) {
		fprintf(stderr, "smscsim: %s\n", cause);
		if (opt.script != NULL)
			printf("FAIL %s\n", cause);
		free(cause);
		event_base_free(base);
		return opt.script != NULL ? 1 : 2;
	}
	if (opt.script != NULL) {
		printf("LISTENING %s\n", sim->listen_addr);
		if (smscsim_script_new(sim, opt.script, &cause) == NULL) {
			printf("FAIL %s\n", cause);
			free(cause);
			smscsim_free(sim);
			event_base_free(base);
			return 1;
		}
	} else
		smscsim_console_new(sim, opt.from);
	log_info("smscsim: listening on %s, short code %s", sim->listen_addr, opt.shortcode);

	sigint_ev = evsignal_new(base, SIGINT, smscsim_signal_cb, sim);
	sigterm_ev = evsignal_new(base, SIGTERM, smscsim_signal_cb, sim);
	event_add(sigint_ev, NULL);
	event_add(sigterm_ev, NULL);

	event_base_dispatch(base);
	code = sim->exit_code;
	fflush(stdout);

	event_free(sigint_ev);
	event_free(sigterm_ev);
	smscsim_script_free(sim->script);
	smscsim_console_free(sim->console);
	smscsim_free(sim);
	event_base_free(base);
	return code;
}
