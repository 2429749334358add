/* common/metrics.c: counters, bounded labelled counters, one latency histogram and
 * gauges read at scrape time, served as Prometheus text (GET /metrics). Everything runs
 * on the loop thread; an increment is a lookup in a fixed table, never an allocation.
 * Each labelled family holds at most METRICS_MAX_SETS label sets; later ones are
 * counted under the value "other". Labels carry only statuses, operator codes, provider
 * names and HTTP codes: never a key, a PIN or a number. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "common/common.h"

#define METRICS_MAX_SETS 64
#define METRICS_MAX_LABELS 3
#define METRICS_LABEL_LEN 32
#define METRICS_MAX_GAUGES 16

struct metrics_set {
	char v[METRICS_MAX_LABELS][METRICS_LABEL_LEN];
	uint64_t n;
};

struct metrics_family {
	const char *name, *help;
	int nlabels;
	const char *labels[METRICS_MAX_LABELS];
	int nsets;
	struct metrics_set sets[METRICS_MAX_SETS];
	uint64_t other;                    /* beyond METRICS_MAX_SETS */
};

static const struct { const char *name, *help; } metrics_counter_info[METRIC_COUNTERS] = {
	[METRIC_SMS_IN] = { "rechargd_sms_in_total", "SMS received from the SMSC and stored." },
	[METRIC_SMS_OUT] = { "rechargd_sms_out_total", "SMS submitted and accepted by the SMSC (ESME_ROK)." },
	[METRIC_SMS_OUT_REFUSED] = { "rechargd_sms_out_refused_total", "SMS submits refused by the SMSC." },
	[METRIC_STORAGE_REFUSED] = { "rechargd_storage_refused_total",
	    "Work refused at once because storage is degraded (disk full, read-only, I/O error)." },
	[METRIC_COMMIT_FAILED] = { "rechargd_db_commit_failures_total",
	    "Batches whose commit failed and was rolled back whole (their requests answered as not accepted)." },
	[METRIC_CHECKPOINT_THREAD] = { "rechargd_db_checkpoints_background_total",
	    "WAL checkpoints run by the checkpoint thread (counted at the next commit)." },
	[METRIC_CHECKPOINT_INLINE] = { "rechargd_db_checkpoints_loop_total",
	    "WAL checkpoints the loop ran itself because the WAL reached its limit." },
	[METRIC_CHECKPOINT_FAILED] = { "rechargd_db_checkpoint_failures_total",
	    "WAL checkpoints that failed (I/O error, disk full); busy ones are not counted." },
	[METRIC_SMS_IN_REDELIVERED] = { "rechargd_sms_in_redelivered_total",
	    "MOs taken for the SMSC's second delivery of one already processed (its answer lost "
	    "with the link or the process): acknowledged, not processed again." },
};
static uint64_t metrics_counters[METRIC_COUNTERS];

static struct metrics_family metrics_recharges = {
	"rechargd_recharges_total", "Recharges settled, by final status, operator and provider.",
	3, { "status", "operator", "provider" }, 0, { { { "" }, 0 } }, 0
};
static struct metrics_family metrics_http = {
	"rechargd_http_requests_total", "HTTP requests answered, by status code.",
	1, { "code" }, 0, { { { "" }, 0 } }, 0
};

static const int64_t metrics_buckets[] = { 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000 };
#define METRICS_NBUCKETS (sizeof metrics_buckets / sizeof metrics_buckets[0])
static uint64_t metrics_hist[METRICS_NBUCKETS + 1];     /* per bucket, not cumulative; last +Inf */
static uint64_t metrics_hist_count;
static int64_t metrics_hist_sum;

static struct {
	const char *name, *help;
	metrics_gauge_fn fn;
	void *arg;
	int id;
} metrics_gauges[METRICS_MAX_GAUGES];
static int metrics_ngauges;

void
metrics_inc(enum metric_counter m)
{
	if ((int)m >= 0 && m < METRIC_COUNTERS)
		metrics_counters[m]++;
}

/* The label set equal to v (truncated to METRICS_LABEL_LEN - 1), added while there is room. */
static void
metrics_family_inc(struct metrics_family *f, const char *const *v)
{
	for (int i = 0; i < f->nsets; i++) {
		int j;
		for (j = 0; j < f->nlabels; j++)
			if (strncmp(f->sets[i].v[j], v[j], METRICS_LABEL_LEN - 1) != 0)
				break;
		if (j == f->nlabels) {
			f->sets[i].n++;
			return;
		}
	}
	if (f->nsets == METRICS_MAX_SETS) {
		f->other++;
		return;
	}
	struct metrics_set *s = &f->sets[f->nsets++];
	for (int j = 0; j < f->nlabels; j++)
		strlcpy_safe(s->v[j], v[j], METRICS_LABEL_LEN);
	s->n = 1;
}

void
metrics_recharge(const char *status, const char *operator_code, const char *provider)
{
	const char *v[3] = { status ? status : "", operator_code ? operator_code : "",
	    provider ? provider : "" };

	metrics_family_inc(&metrics_recharges, v);
}

void
metrics_http_request(int code)
{
	char buf[16];
	const char *v[1] = { buf };

	snprintf(buf, sizeof buf, "%d", code);
	metrics_family_inc(&metrics_http, v);
}

void
metrics_provider_latency(int64_t ms)
{
	size_t i = 0;

	if (ms < 0)
		ms = 0;
	while (i < METRICS_NBUCKETS && ms > metrics_buckets[i])
		i++;
	metrics_hist[i]++;
	metrics_hist_count++;
	metrics_hist_sum += ms;
}

int
metrics_gauge_add(const char *name, const char *help, metrics_gauge_fn fn, void *arg, int id)
{
	if (metrics_ngauges == METRICS_MAX_GAUGES)
		return -1;
	metrics_gauges[metrics_ngauges].name = name;
	metrics_gauges[metrics_ngauges].help = help;
	metrics_gauges[metrics_ngauges].fn = fn;
	metrics_gauges[metrics_ngauges].arg = arg;
	metrics_gauges[metrics_ngauges].id = id;
	metrics_ngauges++;
	return 0;
}

void
metrics_gauge_clear(void)
{
	metrics_ngauges = 0;
}

void
metrics_reset_for_test(void)
{
	memset(metrics_counters, 0, sizeof metrics_counters);
	metrics_recharges.nsets = 0;
	metrics_recharges.other = 0;
	metrics_http.nsets = 0;
	metrics_http.other = 0;
	memset(metrics_hist, 0, sizeof metrics_hist);
	metrics_hist_count = 0;
	metrics_hist_sum = 0;
	metrics_ngauges = 0;
}

/* A label value in the exposition format: backslash, double quote and newline escaped. */
static void
metrics_put_value(FILE *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '"')
			fputs("\\\"", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

static void
metrics_head(FILE *out, const char *name, const char *help, const char *type)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
metrics_put_family(FILE *out, const struct metrics_family *f)
{
	metrics_head(out, f->name, f->help, "counter");
	for (int i = 0; i <= f->nsets; i++) {
		if (i == f->nsets && f->other == 0)
			break;
		fprintf(out, "%s{", f->name);
		for (int j = 0; j < f->nlabels; j++) {
			fprintf(out, "%s%s=\"", j ? "," : "", f->labels[j]);
			metrics_put_value(out, i < f->nsets ? f->sets[i].v[j] : "other");
			fputc('"', out);
		}
		fprintf(out, "} %llu\n", (unsigned long long)(i < f->nsets ? f->sets[i].n : f->other));
	}
}

void
metrics_write(FILE *out)
{
	uint64_t cum = 0;

	for (int m = 0; m < METRIC_COUNTERS; m++) {
		metrics_head(out, metrics_counter_info[m].name, metrics_counter_info[m].help, "counter");
		fprintf(out, "%s %llu\n", metrics_counter_info[m].name, (unsigned long long)metrics_counters[m]);
	}
	metrics_put_family(out, &metrics_recharges);
	metrics_put_family(out, &metrics_http);
	metrics_head(out, "rechargd_provider_latency_ms", "Provider HTTP call latency in milliseconds.",
	    "histogram");
	for (size_t i = 0; i <= METRICS_NBUCKETS; i++) {
		cum += metrics_hist[i];
		if (i < METRICS_NBUCKETS)
			fprintf(out, "rechargd_provider_latency_ms_bucket{le=\"%lld\"} %llu\n",
			    (long long)metrics_buckets[i], (unsigned long long)cum);
		else
			fprintf(out, "rechargd_provider_latency_ms_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	}
	fprintf(out, "rechargd_provider_latency_ms_sum %lld\nrechargd_provider_latency_ms_count %llu\n",
	    (long long)metrics_hist_sum, (unsigned long long)metrics_hist_count);
	for (int g = 0; g < metrics_ngauges; g++) {
		metrics_head(out, metrics_gauges[g].name, metrics_gauges[g].help, "gauge");
		fprintf(out, "%s %lld\n", metrics_gauges[g].name,
		    (long long)metrics_gauges[g].fn(metrics_gauges[g].arg, metrics_gauges[g].id));
	}
}

/* GET|HEAD /metrics. Always 0 (so the router can write `... && metrics_serve(req) == 0`). */
int
metrics_serve(struct evhttp_request *req)
{
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	struct evbuffer *buf;
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
		metrics_http_request(405);
		evhttp_add_header(hdr, "Content-Type", "text/plain");
		evhttp_add_header(hdr, "Allow", "GET, HEAD");
		evhttp_send_reply(req, 405, "Method Not Allowed", NULL);
		return 0;
	}
	metrics_http_request(200);
	buf = evbuffer_new();
	if (buf == NULL || (out = open_memstream(&text, &len)) == NULL) {
		if (buf != NULL)
			evbuffer_free(buf);
		evhttp_send_reply(req, 503, "Service Unavailable", NULL);
		return 0;
	}
	metrics_write(out);
	fclose(out);
	evbuffer_add(buf, text, len);
	free(text);
	evhttp_add_header(hdr, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	evhttp_send_reply(req, 200, "OK", buf);
	evbuffer_free(buf);
	return 0;
}
