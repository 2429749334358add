/* tools/smscsim/main.c: options and the loop; everything else is in the other files so
 * tests can link it. */
#include <errno.h>
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
	    "       smscsim --listen HOST:PORT [--system-id ID --password PW] --load --count N\n"
	    "               --senders FIRST:K [--rate R | --window W] [--text TEMPLATE]\n"
	    "               [--reply-timeout S] [--progress]\n"
	    "An SMPP 3.4 SMSC for rechargd: the demo's phone console, a script of commands\n"
	    "for tests, or a load generator for benchmarks (see docs/smscsim.md). Port 0\n"
	    "picks a free port (printed).\n");
}

/* Option numbers: a whole decimal number, else *bad is set. */
static long
smscsim_parse_long(const char *s, int *bad)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		*bad = 1;
	return v;
}

static double
smscsim_parse_double(const char *s, int *bad)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0')
		*bad = 1;
	return v;
}

/* --senders FIRST:K */
static void
smscsim_parse_senders(const char *s, struct smscsim_load_options *o, int *bad)
{
	char *end;
	unsigned long long first;
	long k;

	errno = 0;
	first = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != ':') {
		*bad = 1;
		return;
	}
	k = smscsim_parse_long(end + 1, bad);
	o->first = first;
	o->senders = k > 0 && k <= (long)SMSCSIM_LOAD_MAX_SENDERS ? (uint32_t)k : 0;
}

/* SIGINT/SIGTERM: a person leaving the console, or a test harness giving up. */
static void
smscsim_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct smscsim *sim = arg;

	if (sim->mode == SMSCSIM_MODE_LOAD && sim->load != NULL) {
		smscsim_load_abort(sim->load);
		smscsim_stop(sim, 1);
	} else if (sim->mode == SMSCSIM_MODE_SCRIPT) {
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
		{ "load", no_argument, NULL, 'M' },
		{ "count", required_argument, NULL, 'N' },
		{ "senders", required_argument, NULL, 'K' },
		{ "rate", required_argument, NULL, 'r' },
		{ "window", required_argument, NULL, 'w' },
		{ "text", required_argument, NULL, 't' },
		{ "reply-timeout", required_argument, NULL, 'T' },
		{ "progress", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	struct smscsim_options opt;
	struct smscsim_load_options lopt;
	int load = 0, bad_num = 0;
	const char *lcause = NULL;
	struct event_base *base;
	struct event *sigint_ev, *sigterm_ev;
	struct smscsim *sim;
	char *cause = NULL;
	int ch, code;

	memset(&opt, 0, sizeof opt);
	memset(&lopt, 0, sizeof lopt);
	lopt.window = 1000;
	lopt.text = "RC 97%08d AIRTEL 10";
	lopt.reply_timeout_s = 30;
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
		case 'M': load = 1; break;
		case 'N': lopt.count = smscsim_parse_long(optarg, &bad_num); break;
		case 'K': smscsim_parse_senders(optarg, &lopt, &bad_num); break;
		case 'r': lopt.rate = smscsim_parse_double(optarg, &bad_num); break;
		case 'w': lopt.window = (int)smscsim_parse_long(optarg, &bad_num); break;
		case 't': lopt.text = optarg; break;
		case 'T': lopt.reply_timeout_s = smscsim_parse_double(optarg, &bad_num); break;
		case 'P': lopt.progress = 1; break;
		case 'h': smscsim_usage(stdout); return 0;
		default: smscsim_usage(stderr); return 2;
		}
	}
	if (bad_num) {
		fprintf(stderr, "smscsim: --count, --senders, --rate, --window and --reply-timeout "
		    "want numbers\n");
		return 2;
	}
	if (optind != argc || opt.console + (opt.script != NULL) + load != 1) {
		fprintf(stderr, "smscsim: give exactly one of --console, --script and --load\n");
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
	log_level = (opt.console || load ? LOGL_WARN : LOGL_INFO) + opt.verbose;
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
	if (load) {
		sim->mode = SMSCSIM_MODE_LOAD;
		if (smscsim_load_new(sim, &lopt, &lcause) == NULL) {
			fprintf(stderr, "smscsim: %s\n", lcause);
			smscsim_free(sim);
			event_base_free(base);
			return 2;
		}
		fprintf(stderr, "smscsim: load mode, listening on %s\n", sim->listen_addr);
	} else if (opt.script != NULL) {
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
	smscsim_load_free(sim->load);
	smscsim_script_free(sim->script);
	smscsim_console_free(sim->console);
	smscsim_free(sim);
	event_base_free(base);
	return code;
}
