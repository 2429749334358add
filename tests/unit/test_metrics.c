/* tests/unit/test_metrics.c: common/metrics.c: values, the label cap ("other"), label
 * escaping, the histogram's cumulative buckets, gauges read at scrape time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/common.h"

static char *
render(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	metrics_write(out);
	fclose(out);
	return text;
}

static int64_t
gauge(void *arg, int id)
{
	return *(int *)arg + id;
}

static void
test_metrics_values(void **state)
{
	int g = 41;
	char *t;

	metrics_reset_for_test();
	metrics_inc(METRIC_SMS_IN);
	metrics_inc(METRIC_SMS_IN);
	metrics_inc(METRIC_SMS_OUT);
	metrics_recharge("SUCCESS", "AIRTEL", "sim");
	metrics_recharge("SUCCESS", "AIRTEL", "sim");
	metrics_recharge("FAILED", "JIO", "a\"b\\c\nd");
	metrics_http_request(200);
	metrics_provider_latency(10);
	metrics_provider_latency(11);
	metrics_provider_latency(20000);
	metrics_gauge_add("rechargd_test_gauge", "A test gauge.", gauge, &g, 1);
	g = 99;                                    /* read at scrape time */
	t = render();
	assert_non_null(strstr(t, "# TYPE rechargd_sms_in_total counter\nrechargd_sms_in_total 2\n"));
	assert_non_null(strstr(t, "\nrechargd_sms_out_total 1\n"));
	assert_non_null(strstr(t, "\nrechargd_recharges_total{status=\"SUCCESS\",operator=\"AIRTEL\",provider=\"sim\"} 2\n"));
	assert_non_null(strstr(t, "provider=\"a\\\"b\\\\c\\nd\"} 1\n"));
	assert_non_null(strstr(t, "\nrechargd_http_requests_total{code=\"200\"} 1\n"));
	assert_non_null(strstr(t, "\nrechargd_provider_latency_ms_bucket{le=\"10\"} 1\n"));
	assert_non_null(strstr(t, "\nrechargd_provider_latency_ms_bucket{le=\"25\"} 2\n"));
	assert_non_null(strstr(t, "\nrechargd_provider_latency_ms_bucket{le=\"10000\"} 2\n"));
	assert_non_null(strstr(t, "\nrechargd_provider_latency_ms_bucket{le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(t, "\nrechargd_provider_latency_ms_sum 20021\nrechargd_provider_latency_ms_count 3\n"));
	assert_non_null(strstr(t, "# TYPE rechargd_test_gauge gauge\nrechargd_test_gauge 100\n"));
	free(t);
	metrics_reset_for_test();
}

static void
test_metrics_cap(void **state)
{
	char op[16], *t;

	metrics_reset_for_test();
	for (int i = 0; i < 100; i++) {
		snprintf(op, sizeof op, "OP%d", i);
		metrics_recharge("SUCCESS", op, "sim");
	}
	metrics_recharge("SUCCESS", "OP0", "sim");    /* a known set still counts as itself */
	t = render();
	assert_non_null(strstr(t, "operator=\"OP0\",provider=\"sim\"} 2\n"));
	assert_non_null(strstr(t, "operator=\"OP63\",provider=\"sim\"} 1\n"));
	assert_null(strstr(t, "OP64"));
	assert_non_null(strstr(t, "{status=\"other\",operator=\"other\",provider=\"other\"} 36\n"));
	free(t);
	metrics_reset_for_test();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_values),
		cmocka_unit_test(test_metrics_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
