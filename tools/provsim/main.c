/* tools/provsim/main.c: options and the loop; everything else is in the other files so
 * tests can link it. Every behaviour option is a setting of control.c's table, so the
 * command line and POST /_control take the same names (--latency-ms = latency_ms). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/common.h"
#include "tools/provsim/provsim.h"

#define PROVSIM_OPT_SETTING 1000   /* getopt values of the settings: 1000 + index */

enum { PROVSIM_OPT_SHAPE = 256, PROVSIM_OPT_MAX_TXNS, PROVSIM_OPT_MAX_HUNG,
	PROVSIM_OPT_BALANCE };

/* The settings are listed from the table, so --help never falls behind. */
static void
provsim_usage(FILE *f)
{
	fprintf(f,
	    "usage: provsim --listen HOST:PORT --shape json|flat [--balance RUPEES]\n"
	    "               [--max-txns N] [--max-hung N] [-v] [SETTINGS...]\n"
	    "A recharge aggregator's HTTP API for tests and benchmarks (docs/provsim.md).\n"
	    "Port 0 picks a free port; \"LISTENING HOST:PORT\" is printed once ready.\n"
	    "Settings (also POST /_control {\"name\":value} with _ for -):\n");
	for (int i = 0; provsim_settings_name(i) != NULL; i++) {
		char name[64];

		strlcpy_safe(name, provsim_settings_name(i), sizeof name);
		for (char *p = name; *p != '\0'; p++)
			if (*p == '_')
				*p = '-';
		fprintf(f, "  --%-18s %s\n", name, provsim_settings_help(i));
	}
}

/* SIGINT/SIGTERM: the test or the benchmark is over. */
static void
provsim_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	provsim_stop(arg, 0);
}

/* A positive count from an option, or exits with a usage error. */
static uint32_t
provsim_count_arg(const char *opt, const char *v, uint32_t max)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);

	if (end == v || *end != '\0' || n < 1 || n > max) {
		fprintf(stderr, "provsim: --%s wants 1 to %u\n", opt, max);
		exit(2);
	}
	return (uint32_t)n;
}

int
main(int argc, char **argv)
{
	static const struct option fixed[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "shape", required_argument, NULL, PROVSIM_OPT_SHAPE },
		{ "max-txns", required_argument, NULL, PROVSIM_OPT_MAX_TXNS },
		{ "max-hung", required_argument, NULL, PROVSIM_OPT_MAX_HUNG },
		{ "balance", required_argument, NULL, PROVSIM_OPT_BALANCE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
	};
	const int nfixed = (int)(sizeof fixed / sizeof fixed[0]);
	struct provsim_options opt;
	struct provsim_settings set;
	struct option *longopts;
	char **names;
	const char *balance = NULL, *cause_s = NULL;
	struct event_base *base;
	struct event *sigint_ev, *sigterm_ev;
	struct provsim *sim;
	char *cause = NULL;
	int nset, ch, code, li;

	for (nset = 0; provsim_settings_name(nset) != NULL; nset++)
		;
	longopts = xcalloc((size_t)(nfixed + nset + 1), sizeof *longopts);
	names = xcalloc((size_t)nset, sizeof *names);
	memcpy(longopts, fixed, sizeof fixed);
	for (int i = 0; i < nset; i++) {
		names[i] = xstrdup(provsim_settings_name(i));
		for (char *p = names[i]; *p != '\0'; p++)
			if (*p == '_')
				*p = '-';
		longopts[nfixed + i].name = names[i];
		/* a flag alone turns a boolean on: --callback-hmac, --callback-hmac=0 */
		longopts[nfixed + i].has_arg = provsim_settings_is_bool(i) ? optional_argument :
		    required_argument;
		longopts[nfixed + i].val = PROVSIM_OPT_SETTING + i;
	}

	memset(&opt, 0, sizeof opt);
	opt.listen = "127.0.0.1:8099";
	opt.shape = PROVSIM_SHAPE_JSON;
	opt.max_txns = PROVSIM_MAX_TXNS_DEFAULT;
	opt.max_hung = PROVSIM_MAX_HUNG_DEFAULT;
	provsim_settings_defaults(&set);
	code = 2;
	while ((ch = getopt_long(argc, argv, "vh", longopts, &li)) != -1) {
		switch (ch) {
		case 'l': opt.listen = optarg; break;
		case PROVSIM_OPT_SHAPE:
			if (strcmp(optarg, "json") == 0)
				opt.shape = PROVSIM_SHAPE_JSON;
			else if (strcmp(optarg, "flat") == 0)
				opt.shape = PROVSIM_SHAPE_FLAT;
			else {
				fprintf(stderr, "provsim: --shape wants json or flat\n");
				goto out;
			}
			break;
		case PROVSIM_OPT_MAX_TXNS:
			opt.max_txns = provsim_count_arg("max-txns", optarg, PROVSIM_MAX_TXNS_LIMIT);
			break;
		case PROVSIM_OPT_MAX_HUNG:
			opt.max_hung = provsim_count_arg("max-hung", optarg, 100000);
			break;
		case PROVSIM_OPT_BALANCE: balance = optarg; break;
		case 'v': opt.verbose++; break;
		case 'h': provsim_usage(stdout); code = 0; goto out;
		default:
			if (ch >= PROVSIM_OPT_SETTING && ch < PROVSIM_OPT_SETTING + nset) {
				const char *name = provsim_settings_name(ch - PROVSIM_OPT_SETTING);
				const char *v = optarg != NULL ? optarg : "1";

				if (provsim_settings_set(&set, name, v, &cause_s) != 0) {
					fprintf(stderr, "provsim: --%s %s: %s\n",
					    names[ch - PROVSIM_OPT_SETTING], v, cause_s);
					goto out;
				}
				break;
			}
			provsim_usage(stderr);
			goto out;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "provsim: unexpected argument '%s'\n", argv[optind]);
		goto out;
	}
	log_level = LOGL_WARN + opt.verbose;
	if (log_level > LOGL_TRACE)
		log_level = LOGL_TRACE;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);

	if ((base = event_base_new()) == NULL) {
		fprintf(stderr, "provsim: event_base_new failed\n");
		goto out;
	}
	if ((sim = provsim_new(base, &opt, &cause)) == NULL) {
		fprintf(stderr, "provsim: %s\n", cause != NULL ? cause : "cannot start");
		free(cause);
		event_base_free(base);
		goto out;
	}
	sim->set = set;
	if (balance != NULL && provsim_balance_set(sim, balance, &cause_s) < 0) {
		fprintf(stderr, "provsim: --balance %s: %s\n", balance, cause_s);
		provsim_free(sim);
		event_base_free(base);
		goto out;
	}
	printf("LISTENING %s\n", sim->listen_addr);
	log_info("provsim: %s shape listening on %s", opt.shape == PROVSIM_SHAPE_JSON ? "json" :
	    "flat", sim->listen_addr);

	sigint_ev = evsignal_new(base, SIGINT, provsim_signal_cb, sim);
	sigterm_ev = evsignal_new(base, SIGTERM, provsim_signal_cb, sim);
	event_add(sigint_ev, NULL);
	event_add(sigterm_ev, NULL);

	event_base_dispatch(base);
	code = sim->exit_code;
	fflush(stdout);

	event_free(sigint_ev);
	event_free(sigterm_ev);
	provsim_free(sim);
	event_base_free(base);
out:
	for (int i = 0; i < nset; i++)
		free(names[i]);
	free(names);
	free(longopts);
	return code;
}
