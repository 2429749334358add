/* tests/unit/test_common.c: money, numbers and the config table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "common/common.h"

static void
test_money_parse(void **state)
{
	int64_t v;

	assert_int_equal(money_parse("299", &v), MONEY_OK); assert_int_equal(v, 29900);
	assert_int_equal(money_parse("299.5", &v), MONEY_OK); assert_int_equal(v, 29950);
	assert_int_equal(money_parse("299.05", &v), MONEY_OK); assert_int_equal(v, 29905);
	assert_int_equal(money_parse(".5", &v), MONEY_OK); assert_int_equal(v, 50);
	assert_int_equal(money_parse("0", &v), MONEY_OK); assert_int_equal(v, 0);
	assert_int_equal(money_parse("299.555", &v), MONEY_DECIMALS);
	assert_int_equal(money_parse("1,000", &v), MONEY_BAD);
	assert_int_equal(money_parse("", &v), MONEY_BAD);
	assert_int_equal(money_parse(".", &v), MONEY_BAD);
	assert_int_equal(money_parse("-5", &v), MONEY_BAD);
	assert_int_equal(money_parse("+5", &v), MONEY_BAD);
	assert_int_equal(money_parse("5 ", &v), MONEY_BAD);
	assert_int_equal(money_parse("1e3", &v), MONEY_BAD);
	assert_int_equal(money_parse("99999999999999999999", &v), MONEY_RANGE);
}

static void
test_money_format(void **state)
{
	char b[MONEY_BUFSZ];

	assert_string_equal(money_format(29900, b), "299.00");
	assert_string_equal(money_format(5, b), "0.05");
	assert_string_equal(money_format(-510, b), "-5.10");
	assert_string_equal(money_format(INT64_MIN, b), "-92233720368547758.08");
	assert_string_equal(money_format_short(29900, b), "299");
	assert_string_equal(money_format_short(29950, b), "299.50");
}

static void
test_commission(void **state)
{
	/* SPEC section 3: rounded down to the paisa */
	assert_int_equal(money_commission(29900, money_rate_parse("6")), 1794);
	assert_int_equal(money_commission(29900, money_rate_parse("3.33")), 995);
	assert_int_equal(money_commission(1, 600), 0);
	assert_int_equal(money_rate_parse("100.01"), -1);
	assert_int_equal(money_rate_parse("3.333"), -1);
}

static void
test_msisdn(void **state)
{
	char m[MSISDN_BUFSZ], l[MOBILE_BUFSZ];

	assert_int_equal(msisdn_normalize("+919876543210", m), 0); assert_string_equal(m, "919876543210");
	assert_int_equal(msisdn_normalize("919876543210", m), 0); assert_string_equal(m, "919876543210");
	assert_int_equal(msisdn_normalize("09876543210", m), 0); assert_string_equal(m, "919876543210");
	assert_int_equal(msisdn_normalize("9876543210", m), 0); assert_string_equal(m, "919876543210");
	assert_int_equal(msisdn_normalize("5876543210", m), -1);
	assert_int_equal(msisdn_normalize("98765432", m), -1);
	assert_int_equal(msisdn_normalize("98765432x0", m), -1);
	assert_int_equal(msisdn_normalize("+449876543210", m), -1);
	assert_int_equal(mobile_normalize("+919876543210", l), 0); assert_string_equal(l, "9876543210");
	assert_string_equal(msisdn_local("919876543210"), "9876543210");
}

/* Writes text to a temporary config file and loads it. */
static struct config *
load(const char *text, char **cause)
{
	char path[] = "/tmp/rechargd-test-XXXXXX";
	int fd = mkstemp(path);
	struct config *cfg;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	*cause = NULL;
	cfg = config_load(path, cause);
	unlink(path);
	return cfg;
}

#define BASE "[smpp]\nsystem_id = x\npassword = y\nsource_addr = 5555\n[engine]\ndefault_provider = sim\n[provider.sim]\ntype = sim\n"

static void
test_config(void **state)
{
	char *cause;
	struct config *cfg = load(BASE, &cause);

	assert_non_null(cfg);
	assert_int_equal(cfg->smpp_port, 2775);
	assert_int_equal(cfg->window, 10);
	assert_int_equal(cfg->duplicate_window_s, 180);
	assert_int_equal(cfg->tds_bp, 200);
	assert_int_equal(cfg->low_balance, 100000);
	assert_int_equal(cfg->nproviders, 1);
	assert_string_equal(cfg->providers[0].type, "sim");
	config_free(cfg);

	cfg = load(BASE "[smpp]\nwindow = many\n", &cause);
	assert_null(cfg);
	assert_non_null(strstr(cause, ":10: key 'window'"));
	free(cause);

	cfg = load(BASE "[http]\nlisten_on = 1\n", &cause);
	assert_null(cfg);
	assert_non_null(strstr(cause, ":10: key 'listen_on': unknown key in [http]"));
	free(cause);

	cfg = load(BASE "[nosuch]\nx = 1\n", &cause);
	assert_null(cfg);
	assert_non_null(strstr(cause, "unknown section [nosuch]"));
	free(cause);

	cfg = load("[smpp]\nsystem_id = x\n", &cause);
	assert_null(cfg);
	assert_non_null(strstr(cause, "required"));
	free(cause);

	cfg = load(BASE "[log]\nlevel = loud\n", &cause);
	assert_null(cfg);
	assert_non_null(strstr(cause, "key 'level'"));
	free(cause);
}

/* config_has_secrets and config_perms_check on real files: o+r/o+w refused only where a
 * secret is held, group access allowed */
static void
test_config_perms(void **state)
{
	char dir[] = "/tmp/rechargd-perms-XXXXXX", conf[256], db[256], cmd[600];
	char *cause, *warning;
	struct config *cfg;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(conf, sizeof conf, "%s/r.conf", dir);
	snprintf(db, sizeof db, "%s/rechargd.db", dir);
	assert_non_null(f = fopen(conf, "w"));
	fputs(BASE, f);
	fclose(f);
	assert_non_null(cfg = config_load(conf, &cause));
	assert_true(config_has_secrets(cfg));
	chmod(conf, 0644);
	assert_int_equal(config_perms_check(cfg, &cause, &warning), -1);
	assert_non_null(strstr(cause, "(mode 0644) and holds secrets"));
	assert_non_null(strstr(cause, "chmod 640"));
	free(cause);
	chmod(conf, 0640);
	assert_int_equal(config_perms_check(cfg, &cause, &warning), 0);
	assert_null(warning);
	/* the database and its WAL: always secret */
	assert_non_null(f = fopen(db, "w"));
	fclose(f);
	snprintf(cmd, sizeof cmd, "%s-wal", db);
	assert_non_null(f = fopen(cmd, "w"));
	fclose(f);
	chmod(db, 0600);
	chmod(cmd, 0604);
	assert_int_equal(config_perms_check(cfg, &cause, &warning), -1);
	assert_non_null(strstr(cause, "rechargd.db-wal is readable"));
	free(cause);
	unlink(cmd);
	unlink(db);
	config_free(cfg);
	/* no secret: a warning */
	assert_non_null(f = fopen(conf, "w"));
	fputs("[smpp]\nsystem_id = x\npassword =\nsource_addr = 5555\n[engine]\ndefault_provider = sim\n"
	    "[provider.sim]\ntype = sim\n", f);
	fclose(f);
	chmod(conf, 0666);
	assert_non_null(cfg = config_load(conf, &cause));
	assert_false(config_has_secrets(cfg));
	assert_int_equal(config_perms_check(cfg, &cause, &warning), 0);
	assert_non_null(warning);
	assert_non_null(strstr(warning, "(mode 0666)"));
	free(warning);
	config_free(cfg);
	/* a provider secret makes it secret again */
	assert_non_null(f = fopen(conf, "a"));
	fputs("[provider.agg]\ntype = http-json\ncallback_secret = s\n", f);
	fclose(f);
	assert_non_null(cfg = config_load(conf, &cause));
	assert_true(config_has_secrets(cfg));
	config_free(cfg);
	unlink(conf);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_money_parse),
		cmocka_unit_test(test_money_format),
		cmocka_unit_test(test_commission),
		cmocka_unit_test(test_msisdn),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_perms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
