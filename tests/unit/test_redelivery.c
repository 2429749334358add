/* tests/unit/test_redelivery.c: recognising the SMSC's second delivery of an MO
 * (channels/redelivery.c). The fingerprint is keyed and covers every field, the PIN
 * included (a retry with the right PIN is not a copy of the refused one); only what was
 * answered shortly before a drop becomes a suspect; a suspect matches once, only its own
 * fingerprint, only until its window ends; a second drop keeps what was already seen
 * again, unless it was answered again since; the table keeps the newest; and after a
 * restart the fingerprints the last process stored last come back from sms_in. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/common.h"
#include "db/db.h"
#include "channels/internal.h"
#include "db/internal.h"      /* db_exec, to age a row */

static struct mac64 *key;

static uint64_t
fp(const char *source, const char *text)
{
	return sms_mo_fingerprint(key, source, "5555", 0, text);
}

static struct sms_redelivery *
fresh(void)
{
	return calloc(1, sizeof(struct sms_redelivery));
}

static void
test_fingerprint_fields(void **state)
{
	uint8_t other_pepper[PEPPER_LEN];
	struct mac64 *other;
	uint64_t a = sms_mo_fingerprint(key, "919800000001", "5555", 0, "TOPUP 9800000010 500 1234");

	(void)state;
	assert_true(a == sms_mo_fingerprint(key, "919800000001", "5555", 0, "TOPUP 9800000010 500 1234"));
	assert_true(a != sms_mo_fingerprint(key, "919800000002", "5555", 0, "TOPUP 9800000010 500 1234"));
	assert_true(a != sms_mo_fingerprint(key, "919800000001", "5556", 0, "TOPUP 9800000010 500 1234"));
	assert_true(a != sms_mo_fingerprint(key, "919800000001", "5555", 8, "TOPUP 9800000010 500 1234"));
	assert_true(a != sms_mo_fingerprint(key, "919800000001", "5555", 0, "TOPUP 9800000010 501 1234"));
	/* the PIN counts: a retry with the right one is new work */
	assert_true(a != sms_mo_fingerprint(key, "919800000001", "5555", 0, "TOPUP 9800000010 500 1235"));
	/* the separators: fields cannot trade characters */
	assert_true(sms_mo_fingerprint(key, "9198", "5555", 0, "1X") != sms_mo_fingerprint(key, "91981", "5555", 0, "X"));
	/* keyed: another pepper, another fingerprint */
	memset(other_pepper, 7, sizeof other_pepper);
	assert_non_null(other = mac64_new(other_pepper, "rechargd MO fingerprint"));
	assert_true(a != sms_mo_fingerprint(other, "919800000001", "5555", 0, "TOPUP 9800000010 500 1234"));
	mac64_free(other);
}

static void
test_only_recent_answers_become_suspects(void **state)
{
	struct sms_redelivery *r = fresh();
	int64_t now = clock_mono_ms();

	(void)state;
	sms_redelivery_remember(r, fp("A", "TOPUP 1 100 ****"), 1, now - 60000);   /* long before */
	sms_redelivery_remember(r, fp("A", "TOPUP 1 200 ****"), 2, now - 2000);
	sms_redelivery_remember(r, fp("B", "RC 9876543210 AIRTEL 10"), 3, now - 1000);
	assert_false(sms_redelivery_armed(r, now));
	assert_int_equal(sms_redelivery_match(r, fp("A", "TOPUP 1 200 ****"), now), 0);   /* no drop yet */
	sms_redelivery_arm(r, now - 10000, now + 300000, now);
	assert_true(sms_redelivery_armed(r, now));
	assert_int_equal(sms_redelivery_match(r, fp("A", "TOPUP 1 100 ****"), now), 0);
	assert_int_equal(sms_redelivery_match(r, fp("A", "TOPUP 1 300 ****"), now), 0);
	assert_int_equal(sms_redelivery_match(r, fp("B", "RC 9876543210 AIRTEL 10"), now), 3);
	assert_int_equal(sms_redelivery_match(r, fp("A", "TOPUP 1 200 ****"), now), 2);
	/* once each: a third copy is new work */
	assert_int_equal(sms_redelivery_match(r, fp("A", "TOPUP 1 200 ****"), now), 0);
	free(r);
}

static void
test_equal_texts_are_two_suspects_and_windows_end(void **state)
{
	struct sms_redelivery *r = fresh();
	int64_t now = clock_mono_ms();
	uint64_t f = fp("A", "TOPUP 1 100 ****");

	(void)state;
	sms_redelivery_remember(r, f, 7, now - 3000);
	sms_redelivery_remember(r, f, 8, now - 2000);
	sms_redelivery_arm(r, now - 10000, now + 300000, now);
	assert_int_equal(sms_redelivery_match(r, f, now), 7);
	assert_int_equal(sms_redelivery_match(r, f, now), 8);
	assert_int_equal(sms_redelivery_match(r, f, now), 0);

	sms_redelivery_remember(r, f, 9, now);
	sms_redelivery_arm(r, now - 10000, now + 300000, now);
	/* the window is over: the same text is new work */
	assert_int_equal(sms_redelivery_match(r, f, now + 300000), 0);
	assert_false(sms_redelivery_armed(r, now + 300000));
	/* a later drop does not bring expired suspects back */
	sms_redelivery_arm(r, now + 400000, now + 700000, now + 400000);
	assert_false(sms_redelivery_armed(r, now + 400000));
	free(r);
}

static void
test_second_drop_keeps_what_was_matched(void **state)
{
	struct sms_redelivery *r = fresh();
	int64_t now = clock_mono_ms();
	uint64_t f = fp("A", "TOPUP 1 100 ****"), g = fp("A", "TOPUP 2 100 ****");

	(void)state;
	sms_redelivery_remember(r, f, 1, now - 1000);
	sms_redelivery_remember(r, g, 2, now - 500);
	sms_redelivery_arm(r, now - 10000, now + 300000, now);
	assert_int_equal(sms_redelivery_match(r, f, now), 1);
	/* the link flaps again at once: row 1 was seen again already, row 2 not yet */
	sms_redelivery_arm(r, now - 10000, now + 300000, now);
	assert_int_equal(sms_redelivery_match(r, f, now), 0);
	assert_int_equal(sms_redelivery_match(r, g, now), 2);
	assert_int_equal(sms_redelivery_match(r, g, now), 0);
	/* the copy of row 2 was answered (remembered again) and the link dropped before the
	 * SMSC read that answer: the third delivery is a copy too */
	sms_redelivery_remember(r, g, 2, now + 10);
	sms_redelivery_arm(r, now, now + 300000, now + 20);
	assert_int_equal(sms_redelivery_match(r, g, now + 30), 2);
	assert_int_equal(sms_redelivery_match(r, f, now + 30), 0);
	free(r);
}

static void
test_ring_forgets_the_oldest(void **state)
{
	struct sms_redelivery *r = fresh();
	int64_t now = clock_mono_ms();
	char text[32];

	(void)state;
	for (int i = 0; i < SMS_RECENT_MAX + 10; i++) {
		snprintf(text, sizeof text, "TOPUP 1 %d ****", i);
		sms_redelivery_remember(r, fp("A", text), i + 1, now);
	}
	sms_redelivery_arm(r, now - 10000, now + 300000, now);
	assert_int_equal(r->nsuspects, SMS_RECENT_MAX);
	assert_int_equal(sms_redelivery_match(r, fp("A", "TOPUP 1 5 ****"), now), 0);   /* overwritten */
	snprintf(text, sizeof text, "TOPUP 1 %d ****", SMS_RECENT_MAX + 9);
	assert_int_equal(sms_redelivery_match(r, fp("A", text), now), SMS_RECENT_MAX + 10);
	free(r);
}

/* At start: the fingerprints sms_in keeps, of the last process's final DOUBT ms;
 * rows without one (before migration 10, unprocessed) are not suspects. */
static void
test_load_after_restart(void **state)
{
	char dir[64], path[96], sql[128], *cause = NULL;
	struct db *db;
	struct sms_redelivery *r = fresh();
	struct db_sms_in m;
	int64_t ids[4];
	const char *texts[4] = { "TOPUP 9800000010 100 4321", "TOPUP 9800000010 200 4321",
	    "TOPUP 9800000010 300 4321", "TOPUP 9800000010 400 4321" };

	(void)state;
	log_level = LOGL_ERROR;
	strcpy(dir, "/tmp/rechargd-unit-redeliver-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/t.db", dir);
	assert_non_null(db = db_open(path, 1, &cause));
	for (int i = 0; i < 4; i++) {
		memset(&m, 0, sizeof m);
		strcpy(m.source_addr, "919800000099");
		strcpy(m.dest_addr, "5555");
		strcpy(m.text, texts[i]);
		assert_int_equal(db_sms_in_add(db, &m), 0);
		ids[i] = m.id;
		/* 0: processed long before the end; 1: processed, no fingerprint; 2: processed
		 * with one; 3: never processed */
		if (i < 3)
			assert_int_equal(db_sms_in_done(db, m.id, 0, "TOPUP masked",
			    i == 1 ? 0 : fp("919800000099", texts[i])), 0);
	}
	snprintf(sql, sizeof sql, "UPDATE sms_in SET received_at = received_at - 60000 WHERE id = %lld",
	    (long long)ids[0]);
	assert_int_equal(db_exec(db, sql), 0);

	assert_int_equal(sms_redelivery_load(r, db, 10000, 300000), 0);
	int64_t now = clock_mono_ms();
	assert_true(sms_redelivery_armed(r, now));
	assert_int_equal(sms_redelivery_match(r, fp("919800000099", texts[0]), now), 0);
	assert_int_equal(sms_redelivery_match(r, fp("919800000099", texts[1]), now), 0);
	assert_int_equal(sms_redelivery_match(r, fp("919800000099", texts[3]), now), 0);
	assert_int_equal(sms_redelivery_match(r, fp("919800000099", texts[2]), now), ids[2]);
	db_close(db);
	snprintf(sql, sizeof sql, "rm -rf %s", dir);
	assert_int_equal(system(sql), 0);
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fingerprint_fields),
		cmocka_unit_test(test_only_recent_answers_become_suspects),
		cmocka_unit_test(test_equal_texts_are_two_suspects_and_windows_end),
		cmocka_unit_test(test_second_drop_keeps_what_was_matched),
		cmocka_unit_test(test_ring_forgets_the_oldest),
		cmocka_unit_test(test_load_after_restart),
	};
	uint8_t pepper[PEPPER_LEN];

	memset(pepper, 1, sizeof pepper);
	key = mac64_new(pepper, "rechargd MO fingerprint");
	if (key == NULL)
		return 1;
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	mac64_free(key);
	return rc;
}
