/* tests/unit/test_engine.c: the engine on a real SQLite database and a real event
 * loop, with the built-in sim provider: holds, settlement, refunds, the conditional
 * debit under a stale balance, the duplicate guard, PIN lockout. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "common/common.h"
#include "db/db.h"
#include "engine/engine.h"

struct fixture {
	char dir[64];
	struct config *cfg;
	struct event_base *base;
	struct db *db;
	struct batch *batch;
	struct engine *engine;
	uint8_t pepper[PEPPER_LEN];
	int finals, pendings;
	struct db_txn last;
	int64_t last_balance;
};

static int
fx_txn_cb(void *arg, const struct db_txn *t, enum engine_event ev, int64_t balance)
{
	struct fixture *fx = arg;

	if (ev == ENGINE_EVENT_FINAL)
		fx->finals++;
	else
		fx->pendings++;
	fx->last = *t;
	fx->last_balance = balance;
	return 0;
}

static int
setup_with(void **state, const char *sim)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	char path[128], *cause = NULL;
	FILE *f;

	strcpy(fx->dir, "/tmp/rechargd-engine-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(path, sizeof path, "%s/rechargd.conf", fx->dir);
	f = fopen(path, "w");
	fprintf(f, "[smpp]\nsystem_id = x\npassword = y\nsource_addr = 5555\n[engine]\n"
	    "default_provider = sim\n[provider.sim]\ntype = sim\n%s\n[provider.down]\ntype = sim\n"
	    "down_pct = 100\n", sim);
	fclose(f);
	fx->cfg = config_load(path, &cause);
	assert_non_null(fx->cfg);
	fx->db = db_open(fx->cfg->db_path, 1, &cause);
	assert_non_null(fx->db);
	fx->base = event_base_new();
	event_base_priority_init(fx->base, 3);
	fx->batch = batch_new(fx->base, fx->db);
	memset(fx->pepper, 7, sizeof fx->pepper);
	struct engine_hooks hooks = { .txn_cb = fx_txn_cb, .arg = fx };
	fx->engine = engine_new(fx->base, fx->batch, fx->cfg, fx->pepper, &hooks, &cause);
	assert_non_null(fx->engine);
	*state = fx;
	return 0;
}

static int setup(void **state) { return setup_with(state, "latency_ms = 0"); }

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	batch_commit(fx->batch);       /* its deferred callbacks point into the engine */
	engine_free(fx->engine);
	batch_free(fx->batch);
	db_close(fx->db);
	event_base_free(fx->base);
	config_free(fx->cfg);
	snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* A retailer with balance rupees in its wallet. */
static void
retailer_with(struct fixture *fx, const char *msisdn, int64_t paise, struct db_retailer *r)
{
	memset(r, 0, sizeof *r);
	strcpy(r->msisdn, msisdn);
	strcpy(r->name, "Shop");
	strcpy(r->plan, "starter");
	assert_int_equal(batch_join(fx->batch), 0);
	assert_int_equal(db_retailer_add(fx->db, r), 1);
	struct db_line credit[2] = { { DB_ACCOUNT_FUNDING, -paise }, { r->wallet_account, paise } };
	assert_int_equal(db_posting_add(fx->db, "credit", 0, "test", NULL, credit, 2), 1);
	assert_int_equal(batch_commit(fx->batch), 0);
	assert_int_equal(db_retailer_find(fx->db, msisdn, r), 1);
}

static int
try_recharge(struct fixture *fx, const struct db_retailer *r, const char *target, const char *op, int64_t amount,
    struct engine_outcome *out)
{
	struct engine_recharge req = { .retailer = r, .channel = "sms", .target = target,
		.operator_code = op, .circle = "", .amount = amount, .request_id = "",
		.reply_to = r->msisdn };
	assert_int_equal(batch_join(fx->batch), 0);
	return engine_recharge_accept(fx->engine, &req, out);
}

static void
run_loop(struct fixture *fx)
{
	struct timeval tv = { 0, 200000 };
	event_base_loopexit(fx->base, &tv);
	event_base_dispatch(fx->base);
}

static void
report(void *arg, const char *line)
{
	fprintf(stderr, "check: %s\n", line);
}

static void
test_success_commission(void **state)
{
	struct fixture *fx = *state;
	struct db_retailer r;
	struct engine_outcome out;
	int64_t bal;

	retailer_with(fx, "919800000001", 1000000, &r);
	assert_int_equal(try_recharge(fx, &r, "9876543210", "at", 29900, &out), ENGINE_OK);
	assert_string_equal(out.txn.state, "PENDING");
	assert_int_equal(out.balance, 1000000 - 29900);
	assert_int_equal(fx->finals, 0);     /* nothing before the commit */
	run_loop(fx);
	assert_int_equal(fx->finals, 1);
	assert_string_equal(fx->last.state, "SUCCESS");
	assert_string_equal(fx->last.operator_code, "AIRTEL");
	assert_int_equal(fx->last.commission, 897);      /* 3% of 299.00 */
	assert_int_equal(fx->last_balance, 1000000 - 29900);
	assert_true(strncmp(fx->last.operator_ref, "SIM", 3) == 0);
	assert_int_equal(db_retailer_find(fx->db, "919800000001", &r), 1);
	assert_int_equal(r.commission, 897);
	assert_int_equal(db_account_balance(fx->db, DB_ACCOUNT_IN_FLIGHT, &bal), 1);
	assert_int_equal(bal, 0);
	assert_int_equal(db_check(fx->db, report, NULL), 0);
}

static void
test_stale_balance_cannot_overdraw(void **state)
{
	struct fixture *fx = *state;
	struct db_retailer r;
	struct engine_outcome out;

	retailer_with(fx, "919800000002", 15000, &r);
	/* r still says Rs150.00 for the second call: the conditional debit must refuse */
	assert_int_equal(try_recharge(fx, &r, "9876543210", "AIRTEL", 10000, &out), ENGINE_OK);
	assert_int_equal(try_recharge(fx, &r, "9876543211", "AIRTEL", 10000, &out), ENGINE_E_BALANCE);
	assert_int_equal(out.balance, 5000);
	assert_int_equal(out.need, 10000);
	run_loop(fx);
	assert_int_equal(db_retailer_find(fx->db, "919800000002", &r), 1);
	assert_int_equal(r.balance, 5000);
	assert_int_equal(db_check(fx->db, report, NULL), 0);
}

static void
test_down_refunds(void **state)
{
	struct fixture *fx = *state;
	struct db_retailer r;
	struct engine_outcome out;

	retailer_with(fx, "919800000003", 100000, &r);
	assert_int_equal(batch_join(fx->batch), 0);
	assert_int_equal(db_route_set(fx->db, "JIO", "down"), 0);
	assert_int_equal(try_recharge(fx, &r, "9876543210", "JIO", 5000, &out), ENGINE_OK);
	run_loop(fx);
	assert_string_equal(fx->last.state, "FAILED");
	assert_int_equal(fx->last.error_code, ENGINE_E_DOWN);
	assert_int_equal(fx->last_balance, 100000);
	assert_int_equal(db_check(fx->db, report, NULL), 0);
}

static void
test_validation(void **state)
{
	struct fixture *fx = *state;
	struct db_retailer r;
	struct engine_outcome out;

	retailer_with(fx, "919800000004", 100000, &r);
	assert_int_equal(try_recharge(fx, &r, "9876543210", "NOPE", 5000, &out), ENGINE_E_OPERATOR);
	assert_int_equal(try_recharge(fx, &r, "9876543210", "TATAPLAY", 15000, &out), ENGINE_E_OPERATOR);
	assert_int_equal(try_recharge(fx, &r, "9876543210", "AIRTEL", 999, &out), ENGINE_E_AMOUNT);
	assert_int_equal(try_recharge(fx, &r, "9876543210", "AIRTEL", 1000001, &out), ENGINE_E_AMOUNT);
	assert_int_equal(try_recharge(fx, &r, "6000000000", "", 1000, &out), ENGINE_E_OPERATOR);
	assert_int_equal(try_recharge(fx, &r, "9876543210", "AIRTEL", 1000, &out), ENGINE_OK);
	assert_int_equal(try_recharge(fx, &r, "9876543210", "AT", 1000, &out), ENGINE_E_DUPLICATE);
	run_loop(fx);
	/* SUCCESS within duplicate_window_s is still a duplicate */
	assert_int_equal(try_recharge(fx, &r, "9876543210", "AIRTEL", 1000, &out), ENGINE_E_DUPLICATE);
	assert_int_equal(batch_commit(fx->batch), 0);
	assert_int_equal(db_check(fx->db, report, NULL), 0);
}

static void
test_pin_lockout(void **state)
{
	struct fixture *fx = *state;
	struct db_retailer r;

	retailer_with(fx, "919800000005", 0, &r);
	assert_int_equal(batch_join(fx->batch), 0);
	assert_int_equal(engine_pin_change(fx->engine, &r, "", "1234"), ENGINE_OK);
	assert_int_equal(engine_retailer_authorize(fx->engine, &r, "1234"), ENGINE_OK);
	for (int i = 1; i < ENGINE_PIN_LIMIT; i++)
		assert_int_equal(engine_retailer_authorize(fx->engine, &r, "9999"), ENGINE_E_PIN);
	assert_int_equal(engine_retailer_authorize(fx->engine, &r, "9999"), ENGINE_E_LOCKED);
	assert_int_equal(batch_commit(fx->batch), 0);
	assert_int_equal(db_retailer_find(fx->db, "919800000005", &r), 1);
	assert_int_equal(r.locked, 1);
	assert_true(strcmp(r.pin_hash, "1234") != 0 && strlen(r.pin_hash) == 64);
	assert_int_equal(engine_retailer_authorize(fx->engine, &r, "1234"), ENGINE_E_LOCKED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_success_commission, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_balance_cannot_overdraw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_down_refunds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin_lockout, setup, teardown),
	};
	log_level = LOGL_WARN;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
