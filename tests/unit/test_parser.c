/* tests/unit/test_parser.c: the SMS grammar of SPEC section 7 as a retailer or admin
 * types it: every command, every error with its parameter, separators, case, invalid
 * UTF-8 and hostile lengths. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "parser/parser.h"
#include "channels/channels.h"

static struct parser_command cmd;

/* Literals may hold NUL bytes, so their length comes from sizeof. */
#define PARSE(lit) parser_parse((lit), sizeof(lit) - 1, &cmd)
#define ERR(lit, verb, error, param) check_error((lit), sizeof(lit) - 1, (verb), (error), (param))

static void
check_error(const char *text, size_t len, enum parser_verb verb, enum parser_error error,
    const char *param)
{
	enum parser_error rc = parser_parse(text, len, &cmd);

	if (rc != error || cmd.verb != verb)
		print_error("text \"%.*s\": error %d verb %d\n", (int)(len > 80 ? 80 : len), text,
		    rc, cmd.verb);
	assert_int_equal(rc, error);
	assert_int_equal(cmd.error, error);
	assert_int_equal(cmd.verb, verb);
	if (param == NULL)
		assert_null(cmd.error_param);
	else {
		assert_non_null(cmd.error_param);
		assert_string_equal(cmd.error_param, param);
	}
}

/* Valid commands leave every field they do not use empty. */
static void
check_ok(const char *text, enum parser_verb verb)
{
	enum parser_error rc = parser_parse(text, strlen(text), &cmd);

	if (rc != PARSER_OK)
		print_error("text \"%s\": error %d param %s\n", text, rc,
		    cmd.error_param ? cmd.error_param : "-");
	assert_int_equal(rc, PARSER_OK);
	assert_int_equal(cmd.verb, verb);
	assert_null(cmd.error_param);
}

static int
group_setup(void **state)
{
	const char *cause = NULL;

	(void)state;
	return parser_init(&cause);
}

static int
group_teardown(void **state)
{
	(void)state;
	parser_free();
	return 0;
}

/* ---- RC ------------------------------------------------------------------- */

static void
test_rc_basic(void **state)
{
	check_ok("RC 9876543210 AIRTEL 299", PARSER_RC);
	assert_string_equal(cmd.target, "9876543210");
	assert_string_equal(cmd.operator_code, "AIRTEL");
	assert_int_equal(cmd.amount, 29900);
	assert_string_equal(cmd.circle, "");
	assert_string_equal(cmd.pin, "");
	assert_string_equal(cmd.pin_new, "");
	assert_string_equal(cmd.txn_id, "");
	assert_string_equal(cmd.text, "");
	assert_string_equal(cmd.plan, "");
}

static void
test_rc_amount_decimals(void **state)
{
	check_ok("RC 9876543210 AIRTEL 299.5", PARSER_RC);
	assert_int_equal(cmd.amount, 29950);
	check_ok("RC 9876543210 AIRTEL 299.50", PARSER_RC);
	assert_int_equal(cmd.amount, 29950);
	check_ok("RC 9876543210 AIRTEL 10.05", PARSER_RC);
	assert_int_equal(cmd.amount, 1005);
	check_ok("RC 9876543210 JIO 10000", PARSER_RC);
	assert_int_equal(cmd.amount, 1000000);
	assert_string_equal(cmd.pin, "");   /* the 4th argument is the amount, not a PIN */
}

static void
test_rc_mobile_forms(void **state)
{
	static const char *forms[] = {
		"RC +919876543210 AIRTEL 299", "RC 919876543210 AIRTEL 299",
		"RC 09876543210 AIRTEL 299", "RC 9876543210 AIRTEL 299",
	};

	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		check_ok(forms[i], PARSER_RC);
		assert_string_equal(cmd.target, "9876543210");
	}
	check_ok("RC 6000000000 VI 10", PARSER_RC);
	assert_string_equal(cmd.target, "6000000000");
}

static void
test_rc_circle_and_pin(void **state)
{
	check_ok("RC 9876543210 airtel 299 dl", PARSER_RC);
	assert_string_equal(cmd.operator_code, "AIRTEL");
	assert_string_equal(cmd.circle, "DL");
	assert_string_equal(cmd.pin, "");

	check_ok("RC 9876543210 AIRTEL 299 MH 1234", PARSER_RC);
	assert_string_equal(cmd.circle, "MH");
	assert_string_equal(cmd.pin, "1234");

	check_ok("RC 9876543210 AIRTEL 299 123456", PARSER_RC);
	assert_string_equal(cmd.circle, "");
	assert_string_equal(cmd.pin, "123456");
	assert_int_equal(cmd.amount, 29900);

	/* Any two letters are a circle here; whether it exists is the engine's (1009). */
	check_ok("RC 9876543210 AIRTEL 299 ZZ", PARSER_RC);
	assert_string_equal(cmd.circle, "ZZ");
}

static void
test_rc_without_operator(void **state)
{
	check_ok("RC 9876543210 299", PARSER_RC);
	assert_string_equal(cmd.target, "9876543210");
	assert_string_equal(cmd.operator_code, "");
	assert_string_equal(cmd.circle, "");
	assert_int_equal(cmd.amount, 29900);
	assert_string_equal(cmd.pin, "");

	check_ok("RC 9876543210 299.5 4321", PARSER_RC);
	assert_int_equal(cmd.amount, 29950);
	assert_string_equal(cmd.pin, "4321");

	/* Three tokens: a PIN-like number there is the amount. */
	check_ok("RC 9876543210 1234", PARSER_RC);
	assert_int_equal(cmd.amount, 123400);
	assert_string_equal(cmd.pin, "");
}

static void
test_rc_operator_forms(void **state)
{
	check_ok("RC 9876543210 D2H 299", PARSER_RC);
	assert_string_equal(cmd.operator_code, "D2H");
	check_ok("RC 9876543210 vodafone 49", PARSER_RC);
	assert_string_equal(cmd.operator_code, "VODAFONE");
	check_ok("RC 9876543210 Abcdefghijklmno 49", PARSER_RC);   /* 15 characters */
	assert_string_equal(cmd.operator_code, "ABCDEFGHIJKLMNO");
}

static void
test_rc_separators(void **state)
{
	static const char *same[] = {
		"*RC*9876543210*AIRTEL*299#",
		"RC 9876543210 AIRTEL 299",
		"rc 9876543210 airtel 299",
		"Rc\t9876543210\tAirTel\t299",
		"  RC   9876543210 , AIRTEL,,299  ",
		"RC 9876543210 AIRTEL 299\r\n",
		"##**RC*#,9876543210\r\nAIRTEL\t*#299##",
	};

	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
		check_ok(same[i], PARSER_RC);
		assert_string_equal(cmd.target, "9876543210");
		assert_string_equal(cmd.operator_code, "AIRTEL");
		assert_int_equal(cmd.amount, 29900);
		assert_string_equal(cmd.circle, "");
		assert_string_equal(cmd.pin, "");
	}
	check_ok("*rc*9876543210*airtel*299*up*1234#", PARSER_RC);
	assert_string_equal(cmd.circle, "UP");
	assert_string_equal(cmd.pin, "1234");
}

static void
test_rc_errors_mobile(void **state)
{
	ERR("RC", PARSER_RC, PARSER_ERR_PARAM, "mobile");
	ERR("*RC#", PARSER_RC, PARSER_ERR_PARAM, "mobile");
	ERR("RC 12345 AIRTEL 299", PARSER_RC, PARSER_ERR_MOBILE, "mobile");
	ERR("RC 5876543210 AIRTEL 299", PARSER_RC, PARSER_ERR_MOBILE, "mobile");
	ERR("RC 98765432101 AIRTEL 299", PARSER_RC, PARSER_ERR_MOBILE, "mobile");
	ERR("RC 9876543210x AIRTEL 299", PARSER_RC, PARSER_ERR_MOBILE, "mobile");
	ERR("RC 929876543210 AIRTEL 299", PARSER_RC, PARSER_ERR_MOBILE, "mobile");
	ERR("RC +9876543210 AIRTEL 299", PARSER_RC, PARSER_ERR_MOBILE, "mobile");
	ERR("RC AIRTEL 299", PARSER_RC, PARSER_ERR_MOBILE, "mobile");
	/* Devanagari digits are not digits here. */
	ERR("RC \xe0\xa5\xaf\xe0\xa5\xae\xe0\xa5\xad\xe0\xa5\xac\xe0\xa5\xab\xe0\xa5\xaa"
	    "\xe0\xa5\xa9\xe0\xa5\xa8\xe0\xa5\xa7\xe0\xa5\xa6 AIRTEL 299",
	    PARSER_RC, PARSER_ERR_MOBILE, "mobile");

	/* The PIN slot is still read, so the engine can check the PIN before answering. */
	ERR("RC 12345 AIRTEL 299 1234", PARSER_RC, PARSER_ERR_MOBILE, "mobile");
	assert_string_equal(cmd.pin, "1234");
}

static void
test_rc_errors_amount(void **state)
{
	ERR("RC 9876543210", PARSER_RC, PARSER_ERR_PARAM, "amount");
	ERR("RC 9876543210 AIRTEL", PARSER_RC, PARSER_ERR_PARAM, "amount");
	assert_string_equal(cmd.target, "9876543210");
	assert_string_equal(cmd.operator_code, "AIRTEL");
	ERR("RC 9876543210 AIRTEL abc", PARSER_RC, PARSER_ERR_AMOUNT, "amount");
	ERR("RC 9876543210 AIRTEL 299.555", PARSER_RC, PARSER_ERR_AMOUNT, "amount");
	ERR("RC 9876543210 AIRTEL 299.5.5", PARSER_RC, PARSER_ERR_AMOUNT, "amount");
	ERR("RC 9876543210 AIRTEL 0", PARSER_RC, PARSER_ERR_AMOUNT, "amount");
	ERR("RC 9876543210 AIRTEL 0.00", PARSER_RC, PARSER_ERR_AMOUNT, "amount");
	ERR("RC 9876543210 AIRTEL +299", PARSER_RC, PARSER_ERR_AMOUNT, "amount");
	ERR("RC 9876543210 AIRTEL 299rs", PARSER_RC, PARSER_ERR_AMOUNT, "amount");
	ERR("RC 9876543210 AIRTEL 99999999999999999999", PARSER_RC, PARSER_ERR_AMOUNT, "amount");
	ERR("RC 9876543210 -5", PARSER_RC, PARSER_ERR_AMOUNT, "amount");
	ERR("RC 9876543210 299.999", PARSER_RC, PARSER_ERR_AMOUNT, "amount");
	ERR("RC 9876543210 \xe2\x82\xb9" "299", PARSER_RC, PARSER_ERR_AMOUNT, "amount");
	/* Digit-group commas: never read as Rs 1 or Rs 10. */
	ERR("RC 9876543210 AIRTEL 1,000", PARSER_RC, PARSER_ERR_AMOUNT, "amount");
	ERR("RC 9876543210 AIRTEL 10,000 1234", PARSER_RC, PARSER_ERR_AMOUNT, "amount");
	ERR("RC 9876543210 AIRTEL 1,00,000", PARSER_RC, PARSER_ERR_AMOUNT, "amount");
	ERR("RC 9876543210 1,000.50", PARSER_RC, PARSER_ERR_AMOUNT, "amount");
	/* A comma before a real PIN is just a separator. */
	check_ok("RC 9876543210 AIRTEL 299,1234", PARSER_RC);
	assert_int_equal(cmd.amount, 29900);
	assert_string_equal(cmd.pin, "1234");
}

static void
test_rc_errors_operator_circle_pin(void **state)
{
	ERR("RC 9876543210 AIRTEL_X 299", PARSER_RC, PARSER_ERR_PARAM, "operator");
	ERR("RC 9876543210 Abcdefghijklmnop 299", PARSER_RC, PARSER_ERR_PARAM, "operator");
	ERR("RC 9876543210 AIR\xc3\x89TEL 299", PARSER_RC, PARSER_ERR_PARAM, "operator");
	ERR("RC 9876543210 299 AIRTEL", PARSER_RC, PARSER_ERR_PARAM, "operator");

	ERR("RC 9876543210 AIRTEL 299 DELHI", PARSER_RC, PARSER_ERR_PARAM, "circle");
	ERR("RC 9876543210 AIRTEL 299 D1", PARSER_RC, PARSER_ERR_PARAM, "circle");
	ERR("RC 9876543210 AIRTEL 299 D1 1234", PARSER_RC, PARSER_ERR_PARAM, "circle");
	assert_string_equal(cmd.pin, "1234");
	ERR("RC 9876543210 AIRTEL 299 1234 DL", PARSER_RC, PARSER_ERR_PARAM, "circle");

	ERR("RC 9876543210 AIRTEL 299 123", PARSER_RC, PARSER_ERR_PARAM, "pin");
	ERR("RC 9876543210 AIRTEL 299 1234567", PARSER_RC, PARSER_ERR_PARAM, "pin");
	ERR("RC 9876543210 AIRTEL 299 DL 123", PARSER_RC, PARSER_ERR_PARAM, "pin");
	assert_string_equal(cmd.circle, "DL");
	ERR("RC 9876543210 AIRTEL 299 DL XYZ", PARSER_RC, PARSER_ERR_PARAM, "pin");
	ERR("RC 9876543210 299 12", PARSER_RC, PARSER_ERR_PARAM, "pin");
	ERR("RC 9876543210 299 1234 5678", PARSER_RC, PARSER_ERR_UNKNOWN, NULL);
	ERR("RC 9876543210 299 AIRTEL 1234", PARSER_RC, PARSER_ERR_PARAM, "operator");

	/* More than the grammar has room for. */
	ERR("RC 9876543210 AIRTEL 299 DL 1234 X", PARSER_RC, PARSER_ERR_UNKNOWN, NULL);
	ERR("RC 9876543210 AIRTEL 299 DL X 1234", PARSER_RC, PARSER_ERR_UNKNOWN, NULL);
	ERR("RC 9876543210 299 1 2 1234", PARSER_RC, PARSER_ERR_UNKNOWN, NULL);
}

/* ---- DTH ------------------------------------------------------------------ */

static void
test_dth(void **state)
{
	check_ok("DTH 1234567890 TATAPLAY 500", PARSER_DTH);
	assert_string_equal(cmd.target, "1234567890");
	assert_string_equal(cmd.operator_code, "TATAPLAY");
	assert_int_equal(cmd.amount, 50000);
	assert_string_equal(cmd.pin, "");
	assert_string_equal(cmd.circle, "");

	/* The subscriber ID is kept as typed: the leading 0 of a DISHTV ID matters. */
	check_ok("*dth*01234567890*dishtv*350.75*4321#", PARSER_DTH);
	assert_string_equal(cmd.target, "01234567890");
	assert_string_equal(cmd.operator_code, "DISHTV");
	assert_int_equal(cmd.amount, 35075);
	assert_string_equal(cmd.pin, "4321");

	check_ok("DTH 1 D2H 1000", PARSER_DTH);
	assert_string_equal(cmd.target, "1");
	assert_string_equal(cmd.operator_code, "D2H");
	assert_int_equal(cmd.amount, 100000);
	assert_string_equal(cmd.pin, "");

	check_ok("DTH 12345678901234567890 SUNDIRECT 100", PARSER_DTH);   /* 20 digits */
	assert_string_equal(cmd.target, "12345678901234567890");
}

static void
test_dth_errors(void **state)
{
	ERR("DTH", PARSER_DTH, PARSER_ERR_PARAM, "subscriber_id");
	ERR("DTH 12AB TATAPLAY 500", PARSER_DTH, PARSER_ERR_MOBILE, "subscriber_id");
	ERR("DTH +911234567890 TATAPLAY 500", PARSER_DTH, PARSER_ERR_MOBILE, "subscriber_id");
	ERR("DTH 123456789012345678901 TATAPLAY 500", PARSER_DTH, PARSER_ERR_MOBILE,
	    "subscriber_id");
	ERR("DTH 1234567890", PARSER_DTH, PARSER_ERR_PARAM, "operator");
	ERR("DTH 1234567890 500", PARSER_DTH, PARSER_ERR_PARAM, "operator");
	ERR("DTH 1234567890 TATA-PLAY 500", PARSER_DTH, PARSER_ERR_PARAM, "operator");
	ERR("DTH 1234567890 TATAPLAY", PARSER_DTH, PARSER_ERR_PARAM, "amount");
	ERR("DTH 1234567890 TATAPLAY 5.001", PARSER_DTH, PARSER_ERR_AMOUNT, "amount");
	ERR("DTH 1234567890 TATAPLAY five", PARSER_DTH, PARSER_ERR_AMOUNT, "amount");
	ERR("DTH 1234567890 TATAPLAY 500 12", PARSER_DTH, PARSER_ERR_PARAM, "pin");
	ERR("DTH 1234567890 TATAPLAY 500 DL", PARSER_DTH, PARSER_ERR_PARAM, "pin");
	ERR("DTH 1234567890 TATAPLAY 500 12 34", PARSER_DTH, PARSER_ERR_UNKNOWN, NULL);
}

/* ---- BAL, LAST, ST --------------------------------------------------------- */

static void
test_bal_last(void **state)
{
	check_ok("BAL", PARSER_BAL);
	assert_string_equal(cmd.pin, "");
	check_ok("bal 1234", PARSER_BAL);
	assert_string_equal(cmd.pin, "1234");
	check_ok("*BAL*123456#", PARSER_BAL);
	assert_string_equal(cmd.pin, "123456");
	check_ok("LAST", PARSER_LAST);
	check_ok("Last\t9999\r\n", PARSER_LAST);
	assert_string_equal(cmd.pin, "9999");

	ERR("BAL 123", PARSER_BAL, PARSER_ERR_PARAM, "pin");
	ERR("BAL 1234567", PARSER_BAL, PARSER_ERR_PARAM, "pin");
	ERR("BAL abcd", PARSER_BAL, PARSER_ERR_PARAM, "pin");
	ERR("BAL 1234 5678", PARSER_BAL, PARSER_ERR_UNKNOWN, NULL);
	ERR("BAL x y", PARSER_BAL, PARSER_ERR_UNKNOWN, NULL);
	ERR("LAST 12", PARSER_LAST, PARSER_ERR_PARAM, "pin");
	ERR("LAST 3 please", PARSER_LAST, PARSER_ERR_UNKNOWN, NULL);
}

static void
test_st(void **state)
{
	check_ok("ST TXN000000123", PARSER_ST);
	assert_string_equal(cmd.txn_id, "TXN000000123");
	assert_string_equal(cmd.pin, "");
	check_ok("st txn000000123 1234", PARSER_ST);
	assert_string_equal(cmd.txn_id, "TXN000000123");
	assert_string_equal(cmd.pin, "1234");
	check_ok("*ST*Txn1234567890123#", PARSER_ST);
	assert_string_equal(cmd.txn_id, "TXN1234567890123");
	check_ok("ST TXN1234567890123456789012345678", PARSER_ST);   /* 28 digits fit */
	assert_string_equal(cmd.txn_id, "TXN1234567890123456789012345678");

	ERR("ST", PARSER_ST, PARSER_ERR_PARAM, "txn_id");
	ERR("ST TXN12345678", PARSER_ST, PARSER_ERR_PARAM, "txn_id");   /* 8 digits */
	ERR("ST 000000123", PARSER_ST, PARSER_ERR_PARAM, "txn_id");
	ERR("ST 1234", PARSER_ST, PARSER_ERR_PARAM, "txn_id");
	ERR("ST TXN00000012X", PARSER_ST, PARSER_ERR_PARAM, "txn_id");
	ERR("ST TX N000000123", PARSER_ST, PARSER_ERR_PARAM, "txn_id");
	ERR("ST TXN12345678901234567890123456789", PARSER_ST, PARSER_ERR_PARAM, "txn_id");
	ERR("ST TXN000000123 12", PARSER_ST, PARSER_ERR_PARAM, "pin");
	ERR("ST TXN000000123 TXN000000124 1234", PARSER_ST, PARSER_ERR_UNKNOWN, NULL);
	ERR("ST TXN000000123 TXN000000124", PARSER_ST, PARSER_ERR_PARAM, "pin");
	ERR("ST TXN000000123 a b", PARSER_ST, PARSER_ERR_UNKNOWN, NULL);
}

/* ---- CMP ------------------------------------------------------------------ */

static void
test_cmp(void **state)
{
	check_ok("CMP TXN000000123 not received yet", PARSER_CMP);
	assert_string_equal(cmd.txn_id, "TXN000000123");
	assert_string_equal(cmd.text, "not received yet");
	assert_string_equal(cmd.pin, "");

	check_ok("cmp txn000000123 Not Received 1234", PARSER_CMP);
	assert_string_equal(cmd.txn_id, "TXN000000123");
	assert_string_equal(cmd.text, "Not Received");   /* text keeps its case */
	assert_string_equal(cmd.pin, "1234");

	check_ok("*CMP*TXN000000123*not,,received\t\tyet#", PARSER_CMP);
	assert_string_equal(cmd.text, "not received yet");

	/* A number inside the text stays there; only the last token can be the PIN. */
	check_ok("CMP TXN000000123 paid 1234 twice", PARSER_CMP);
	assert_string_equal(cmd.text, "paid 1234 twice");
	assert_string_equal(cmd.pin, "");

	/* UTF-8 text (Hindi) is kept byte for byte. */
	check_ok("CMP TXN000000123 \xe0\xa4\xb0\xe0\xa4\xbf\xe0\xa4\x9a\xe0\xa4\xbe\xe0\xa4\xb0"
	    "\xe0\xa5\x8d\xe0\xa4\x9c  \xe0\xa4\xa8\xe0\xa4\xb9\xe0\xa5\x80\xe0\xa4\x82", PARSER_CMP);
	assert_string_equal(cmd.text, "\xe0\xa4\xb0\xe0\xa4\xbf\xe0\xa4\x9a\xe0\xa4\xbe\xe0\xa4\xb0"
	    "\xe0\xa5\x8d\xe0\xa4\x9c \xe0\xa4\xa8\xe0\xa4\xb9\xe0\xa5\x80\xe0\xa4\x82");
}

static void
test_cmp_errors(void **state)
{
	ERR("CMP", PARSER_CMP, PARSER_ERR_PARAM, "txn_id");
	ERR("CMP not received", PARSER_CMP, PARSER_ERR_PARAM, "txn_id");
	ERR("CMP TXN000000123", PARSER_CMP, PARSER_ERR_PARAM, "text");
	assert_string_equal(cmd.txn_id, "TXN000000123");
	/* A lone PIN-like token is the PIN: the text is still missing. */
	ERR("CMP TXN000000123 1234", PARSER_CMP, PARSER_ERR_PARAM, "text");
	assert_string_equal(cmd.pin, "1234");
	ERR("CMP TXN000000123 ,,**##", PARSER_CMP, PARSER_ERR_PARAM, "text");
}

/* ---- PIN, HELP --------------------------------------------------------------- */

static void
test_pin(void **state)
{
	check_ok("PIN 1234", PARSER_PIN);
	assert_string_equal(cmd.pin_new, "1234");
	assert_string_equal(cmd.pin, "");
	check_ok("pin 1234 567890", PARSER_PIN);
	assert_string_equal(cmd.pin, "1234");
	assert_string_equal(cmd.pin_new, "567890");
	check_ok("*PIN*0000*000000#", PARSER_PIN);
	assert_string_equal(cmd.pin, "0000");
	assert_string_equal(cmd.pin_new, "000000");

	ERR("PIN", PARSER_PIN, PARSER_ERR_PARAM, "pin");
	ERR("PIN 123", PARSER_PIN, PARSER_ERR_PARAM, "pin");
	ERR("PIN 1234567", PARSER_PIN, PARSER_ERR_PARAM, "pin");
	ERR("PIN abcd", PARSER_PIN, PARSER_ERR_PARAM, "pin");
	ERR("PIN 1234 56", PARSER_PIN, PARSER_ERR_PARAM, "pin");
	ERR("PIN 12 5678", PARSER_PIN, PARSER_ERR_PARAM, "pin");
	ERR("PIN 1234 5678 9999", PARSER_PIN, PARSER_ERR_UNKNOWN, NULL);
	ERR("PIN 1234 5678 9 9", PARSER_PIN, PARSER_ERR_UNKNOWN, NULL);
}

static void
test_help(void **state)
{
	check_ok("HELP", PARSER_HELP);
	check_ok("help me please", PARSER_HELP);
	assert_string_equal(cmd.pin, "");
	check_ok("*Help#", PARSER_HELP);
	check_ok("HELP 1234", PARSER_HELP);
	assert_string_equal(cmd.pin, "1234");
}

/* ---- admin --------------------------------------------------------------------- */

static void
test_reg(void **state)
{
	check_ok("REG 9876543210 Gold Sharma Mobile Shop 1234", PARSER_REG);
	assert_string_equal(cmd.target, "9876543210");
	assert_string_equal(cmd.plan, "gold");
	assert_string_equal(cmd.text, "Sharma Mobile Shop");
	assert_string_equal(cmd.pin, "1234");

	/* The number is kept as typed; the engine normalizes it. */
	check_ok("reg +919876543210 PLATINUM Ravi,Stores 987654", PARSER_REG);
	assert_string_equal(cmd.target, "+919876543210");
	assert_string_equal(cmd.plan, "platinum");
	assert_string_equal(cmd.text, "Ravi Stores");
	assert_string_equal(cmd.pin, "987654");

	check_ok("REG 09876543210 starter Shop 24 1234", PARSER_REG);
	assert_string_equal(cmd.target, "09876543210");
	assert_string_equal(cmd.text, "Shop 24");
}

static void
test_reg_errors(void **state)
{
	ERR("REG", PARSER_REG, PARSER_ERR_PARAM, "msisdn");
	ERR("REG 12345 gold Shop 1234", PARSER_REG, PARSER_ERR_MOBILE, "msisdn");
	assert_string_equal(cmd.target, "");
	ERR("REG 9876543210", PARSER_REG, PARSER_ERR_PARAM, "plan");
	ERR("REG 9876543210 1234", PARSER_REG, PARSER_ERR_PARAM, "plan");
	ERR("REG 9876543210 g@ld Shop 1234", PARSER_REG, PARSER_ERR_PARAM, "plan");
	ERR("REG 9876543210 gold", PARSER_REG, PARSER_ERR_PARAM, "shop_name");
	ERR("REG 9876543210 gold 1234", PARSER_REG, PARSER_ERR_PARAM, "shop_name");
	assert_string_equal(cmd.pin, "1234");
	ERR("REG 9876543210 gold Sharma Shop", PARSER_REG, PARSER_ERR_PARAM, "pin");
	assert_string_equal(cmd.text, "Sharma Shop");
	ERR("REG 9876543210 gold Sharma Shop 123", PARSER_REG, PARSER_ERR_PARAM, "pin");
}

static void
test_topup(void **state)
{
	check_ok("TOPUP 9876543210 5000 1234", PARSER_TOPUP);
	assert_string_equal(cmd.target, "9876543210");
	assert_int_equal(cmd.amount, 500000);
	assert_string_equal(cmd.pin, "1234");
	check_ok("*topup*919876543210*5000.5*123456#", PARSER_TOPUP);
	assert_string_equal(cmd.target, "919876543210");
	assert_int_equal(cmd.amount, 500050);
	assert_string_equal(cmd.pin, "123456");

	ERR("TOPUP", PARSER_TOPUP, PARSER_ERR_PARAM, "msisdn");
	ERR("TOPUP 123 5000 1234", PARSER_TOPUP, PARSER_ERR_MOBILE, "msisdn");
	ERR("TOPUP 9876543210", PARSER_TOPUP, PARSER_ERR_PARAM, "amount");
	/* Three tokens: the number is the amount and the PIN is missing. */
	ERR("TOPUP 9876543210 5000", PARSER_TOPUP, PARSER_ERR_PARAM, "pin");
	assert_int_equal(cmd.amount, 500000);
	ERR("TOPUP 9876543210 abc 1234", PARSER_TOPUP, PARSER_ERR_AMOUNT, "amount");
	assert_string_equal(cmd.pin, "1234");
	ERR("TOPUP 9876543210 50.005 1234", PARSER_TOPUP, PARSER_ERR_AMOUNT, "amount");
	ERR("TOPUP 9876543210 10,000 1234", PARSER_TOPUP, PARSER_ERR_AMOUNT, "amount");
	ERR("TOPUP 9876543210 -500 1234", PARSER_TOPUP, PARSER_ERR_AMOUNT, "amount");
	ERR("TOPUP 9876543210 5000 12", PARSER_TOPUP, PARSER_ERR_PARAM, "pin");
	ERR("TOPUP 9876543210 5000 x y", PARSER_TOPUP, PARSER_ERR_UNKNOWN, NULL);
}

static void
test_block_unblock(void **state)
{
	check_ok("BLOCK 9876543210 1234", PARSER_BLOCK);
	assert_string_equal(cmd.target, "9876543210");
	assert_string_equal(cmd.pin, "1234");
	check_ok("unblock 09876543210 123456", PARSER_UNBLOCK);
	assert_string_equal(cmd.target, "09876543210");
	assert_string_equal(cmd.pin, "123456");

	ERR("BLOCK", PARSER_BLOCK, PARSER_ERR_PARAM, "msisdn");
	ERR("BLOCK 9876543210", PARSER_BLOCK, PARSER_ERR_PARAM, "pin");
	ERR("BLOCK 1234", PARSER_BLOCK, PARSER_ERR_MOBILE, "msisdn");
	ERR("BLOCK 9876543210 12", PARSER_BLOCK, PARSER_ERR_PARAM, "pin");
	ERR("BLOCK 9876543210 x y", PARSER_BLOCK, PARSER_ERR_UNKNOWN, NULL);
	ERR("UNBLOCK", PARSER_UNBLOCK, PARSER_ERR_PARAM, "msisdn");
	ERR("UNBLOCK +919876543210", PARSER_UNBLOCK, PARSER_ERR_PARAM, "pin");
	ERR("UNBLOCK 98765 1234", PARSER_UNBLOCK, PARSER_ERR_MOBILE, "msisdn");
}

/* ---- unknown, hostile ------------------------------------------------------------ */

static void
test_unknown(void **state)
{
	ERR("", PARSER_NONE, PARSER_ERR_UNKNOWN, NULL);
	ERR("   ", PARSER_NONE, PARSER_ERR_UNKNOWN, NULL);
	ERR("*#,\t\r\n *#", PARSER_NONE, PARSER_ERR_UNKNOWN, NULL);
	ERR("HELLO", PARSER_NONE, PARSER_ERR_UNKNOWN, NULL);
	ERR("RCX 9876543210 AIRTEL 299", PARSER_NONE, PARSER_ERR_UNKNOWN, NULL);
	ERR("R C 9876543210 AIRTEL 299", PARSER_NONE, PARSER_ERR_UNKNOWN, NULL);
	ERR("9876543210 AIRTEL 299", PARSER_NONE, PARSER_ERR_UNKNOWN, NULL);
	ERR("RECHARGE 9876543210 AIRTEL 299", PARSER_NONE, PARSER_ERR_UNKNOWN, NULL);
	/* Keywords fold ASCII only: LATIN SMALL LETTER LONG S is not "s". */
	ERR("\xc5\xbfT TXN000000123", PARSER_NONE, PARSER_ERR_UNKNOWN, NULL);
	/* Fullwidth "BAL". */
	ERR("\xef\xbc\xa2\xef\xbc\xa1\xef\xbc\xac", PARSER_NONE, PARSER_ERR_UNKNOWN, NULL);

	assert_int_equal(parser_parse(NULL, 0, &cmd), PARSER_ERR_UNKNOWN);
	assert_int_equal(cmd.verb, PARSER_NONE);
}

static void
test_invalid_utf8(void **state)
{
	ERR("\xff\xfe", PARSER_NONE, PARSER_ERR_UNKNOWN, NULL);
	ERR("BAL \xff", PARSER_NONE, PARSER_ERR_UNKNOWN, NULL);
	ERR("RC 9876543210 AIRTEL 299 \xfe", PARSER_NONE, PARSER_ERR_UNKNOWN, NULL);
	ERR("CMP TXN000000123 overlong \xc0\xaf", PARSER_NONE, PARSER_ERR_UNKNOWN, NULL);
	ERR("CMP TXN000000123 cut \xe0\xa4", PARSER_NONE, PARSER_ERR_UNKNOWN, NULL);
	ERR("CMP TXN000000123 surrogate \xed\xa0\x80", PARSER_NONE, PARSER_ERR_UNKNOWN, NULL);
	ERR("CMP TXN000000123 big \xf4\x90\x80\x80", PARSER_NONE, PARSER_ERR_UNKNOWN, NULL);
	ERR("HELP \x80", PARSER_NONE, PARSER_ERR_UNKNOWN, NULL);
	/* A NUL byte inside the given length is not text either. */
	ERR("BAL\0 1234", PARSER_NONE, PARSER_ERR_UNKNOWN, NULL);
	ERR("BAL 1234\0", PARSER_NONE, PARSER_ERR_UNKNOWN, NULL);
	/* Only len bytes are read: what follows does not count. */
	assert_int_equal(parser_parse("BAL 1234\xff", 8, &cmd), PARSER_OK);
	assert_string_equal(cmd.pin, "1234");
}

static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* 5000 bytes where a short token belongs: refused, nothing overflows. */
static void
test_hostile_long_tokens(void **state)
{
	char *big = repeat('9', 5000), *buf = malloc(6000);

	assert_non_null(buf);
	snprintf(buf, 6000, "RC %s AIRTEL 299", big);
	check_error(buf, strlen(buf), PARSER_RC, PARSER_ERR_MOBILE, "mobile");
	snprintf(buf, 6000, "RC 9876543210 AIRTEL %s", big);
	check_error(buf, strlen(buf), PARSER_RC, PARSER_ERR_AMOUNT, "amount");
	snprintf(buf, 6000, "DTH %s TATAPLAY 500", big);
	check_error(buf, strlen(buf), PARSER_DTH, PARSER_ERR_MOBILE, "subscriber_id");
	snprintf(buf, 6000, "ST TXN%s", big);
	check_error(buf, strlen(buf), PARSER_ST, PARSER_ERR_PARAM, "txn_id");
	snprintf(buf, 6000, "TOPUP %s 500 1234", big);
	check_error(buf, strlen(buf), PARSER_TOPUP, PARSER_ERR_MOBILE, "msisdn");
	assert_string_equal(cmd.target, "");
	snprintf(buf, 6000, "PIN %s", big);
	check_error(buf, strlen(buf), PARSER_PIN, PARSER_ERR_PARAM, "pin");
	free(big);

	big = repeat('A', 5000);
	snprintf(buf, 6000, "RC 9876543210 %s 299", big);
	check_error(buf, strlen(buf), PARSER_RC, PARSER_ERR_PARAM, "operator");
	snprintf(buf, 6000, "REG 9876543210 %s Shop 1234", big);
	check_error(buf, strlen(buf), PARSER_REG, PARSER_ERR_PARAM, "plan");
	check_error(big, 5000, PARSER_NONE, PARSER_ERR_UNKNOWN, NULL);
	free(big);

	big = repeat('*', 5000);
	check_error(big, 5000, PARSER_NONE, PARSER_ERR_UNKNOWN, NULL);
	memcpy(big + 2500, "BAL", 3);
	check_error(big, 5000, PARSER_BAL, PARSER_OK, NULL);
	free(big);
	free(buf);
}

/* The complaint text is cut to fit, on a character boundary, never past the buffer. */
static void
test_hostile_long_text(void **state)
{
	char *buf = malloc(6000);
	size_t n;

	assert_non_null(buf);
	/* One 5000-byte word. */
	n = (size_t)snprintf(buf, 6000, "CMP TXN000000123 ");
	memset(buf + n, 'x', 5000);
	buf[n + 5000] = '\0';
	check_error(buf, strlen(buf), PARSER_CMP, PARSER_OK, NULL);
	assert_int_equal(strlen(cmd.text), PARSER_TEXT_MAX - 1);

	/* Devanagari (3 bytes a letter): 479 is not a multiple of 3, so the cut backs off. */
	n = (size_t)snprintf(buf, 6000, "CMP TXN000000123 ");
	while (n + 3 < 5000) {
		memcpy(buf + n, "\xe0\xa4\x95", 3);
		n += 3;
	}
	strcpy(buf + n, " 1234");
	check_error(buf, strlen(buf), PARSER_CMP, PARSER_OK, NULL);
	assert_int_equal(strlen(cmd.text), 477);
	assert_int_equal(strlen(cmd.text) % 3, 0);
	assert_memory_equal(cmd.text + 474, "\xe0\xa4\x95", 3);
	assert_string_equal(cmd.pin, "1234");

	/* Short words and separators for 5000 bytes: single spaces, no trailing one. */
	n = (size_t)snprintf(buf, 6000, "CMP TXN000000123");
	while (n + 5 < 5000) {
		memcpy(buf + n, " ab*,", 5);
		n += 5;
	}
	buf[n] = '\0';
	check_error(buf, n, PARSER_CMP, PARSER_OK, NULL);
	n = strlen(cmd.text);
	assert_true(n < PARSER_TEXT_MAX);
	assert_true(n >= PARSER_TEXT_MAX - 3);
	assert_int_not_equal(cmd.text[n - 1], ' ');
	assert_memory_equal(cmd.text, "ab ab ab", 8);
	assert_null(strstr(cmd.text, "  "));
	free(buf);
}

/* Builds "PREFIX w01 w02 ... [last]" with total tokens in all, the prefix's included. */
static void
build_tokens(char *buf, size_t cap, const char *prefix, int total, const char *last)
{
	size_t n = (size_t)snprintf(buf, cap, "%s", prefix);
	int words = total - 1 - (last != NULL);

	for (const char *p = prefix; *p != '\0'; p++)
		words -= *p == ' ';
	for (int i = 1; i <= words; i++)
		n += (size_t)snprintf(buf + n, cap - n, " w%02d", i);
	if (last != NULL)
		snprintf(buf + n, cap - n, " %s", last);
}

static void
test_many_tokens(void **state)
{
	char buf[1024], expect[1024];
	size_t n = 0;

	build_tokens(buf, sizeof buf, "RC 9876543210", 50, NULL);
	check_error(buf, strlen(buf), PARSER_RC, PARSER_ERR_UNKNOWN, NULL);
	build_tokens(buf, sizeof buf, "BAL", 50, "1234");
	check_error(buf, strlen(buf), PARSER_BAL, PARSER_ERR_UNKNOWN, NULL);
	build_tokens(buf, sizeof buf, "ST", 50, "1234");
	check_error(buf, strlen(buf), PARSER_ST, PARSER_ERR_UNKNOWN, NULL);
	build_tokens(buf, sizeof buf, "TOPUP", 50, "1234");
	check_error(buf, strlen(buf), PARSER_TOPUP, PARSER_ERR_UNKNOWN, NULL);
	build_tokens(buf, sizeof buf, "HELP", 50, "1234");
	check_error(buf, strlen(buf), PARSER_HELP, PARSER_OK, NULL);
	assert_string_equal(cmd.pin, "1234");

	/* CMP: the text runs past the token cap; the 50th token is still the PIN. */
	build_tokens(buf, sizeof buf, "CMP TXN000000123", 50, "4321");
	check_error(buf, strlen(buf), PARSER_CMP, PARSER_OK, NULL);
	for (int i = 1; i <= 47; i++)
		n += (size_t)snprintf(expect + n, sizeof expect - n, "%sw%02d", i > 1 ? " " : "", i);
	assert_string_equal(cmd.text, expect);
	assert_string_equal(cmd.pin, "4321");

	/* Without a PIN the 50th token is text. */
	build_tokens(buf, sizeof buf, "CMP TXN000000123", 50, NULL);
	check_error(buf, strlen(buf), PARSER_CMP, PARSER_OK, NULL);
	snprintf(expect + n, sizeof expect - n, " w48");
	assert_string_equal(cmd.text, expect);
	assert_string_equal(cmd.pin, "");

	/* REG: a long shop name, the PIN last. */
	build_tokens(buf, sizeof buf, "REG 9876543210 gold", 50, "1234");
	check_error(buf, strlen(buf), PARSER_REG, PARSER_OK, NULL);
	assert_int_equal(strncmp(cmd.text, "w01 w02", 7), 0);
	assert_non_null(strstr(cmd.text, "w46"));
	assert_null(strstr(cmd.text, "1234"));
	assert_string_equal(cmd.pin, "1234");
}

/* Around the cap: 40 tokens are all kept, 41 are not for fixed commands. */
static void
test_token_cap_boundary(void **state)
{
	char buf[1024];

	build_tokens(buf, sizeof buf, "CMP TXN000000123", PARSER_TOKENS_MAX, "1234");
	check_error(buf, strlen(buf), PARSER_CMP, PARSER_OK, NULL);
	assert_non_null(strstr(cmd.text, "w37"));
	assert_null(strstr(cmd.text, "w38"));
	assert_string_equal(cmd.pin, "1234");
	build_tokens(buf, sizeof buf, "CMP TXN000000123", PARSER_TOKENS_MAX + 1, "1234");
	check_error(buf, strlen(buf), PARSER_CMP, PARSER_OK, NULL);
	assert_non_null(strstr(cmd.text, "w38"));
	assert_string_equal(cmd.pin, "1234");

	build_tokens(buf, sizeof buf, "BAL", PARSER_TOKENS_MAX, "1234");
	check_error(buf, strlen(buf), PARSER_BAL, PARSER_ERR_UNKNOWN, NULL);
	build_tokens(buf, sizeof buf, "BAL", PARSER_TOKENS_MAX + 1, "1234");
	check_error(buf, strlen(buf), PARSER_BAL, PARSER_ERR_UNKNOWN, NULL);
}

/* Random bytes biased toward the grammar: whatever comes in, the answer is well formed. */
static void
test_random_inputs(void **state)
{
	static const char *pieces[] = {
		"RC", "rc", "DTH", "BAL", "ST", "LAST", "CMP", "PIN", "HELP", "REG", "TOPUP",
		"BLOCK", "UNBLOCK", " ", "*", "#", ",", "\t", "\r\n", "9876543210", "+91",
		"AIRTEL", "D2H", "299", "299.50", "1,000", "DL", "1234", "123456", "TXN000000123",
		"gold", "\xe0\xa4\x95", "\xff", "\xc0", "\xed\xa0\x80", "x", "0", ".", "-",
	};
	static char buf[8192];
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	size_t npieces = sizeof pieces / sizeof pieces[0];

	for (int round = 0; round < 20000; round++) {
		size_t n = 0, want;

		seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
		want = seed % (round % 100 == 0 ? 8000 : 120);
		while (n < want) {
			seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
			if (seed % 5 == 0) {
				buf[n++] = (char)(seed >> 24);
				continue;
			}
			const char *p = pieces[(seed >> 8) % npieces];
			size_t k = strlen(p);
			if (n + k > sizeof buf)
				break;
			memcpy(buf + n, p, k);
			n += k;
		}
		enum parser_error rc = parser_parse(buf, n, &cmd);

		assert_int_equal(rc, cmd.error);
		assert_in_range(cmd.verb, PARSER_NONE, PARSER_UNBLOCK);
		assert_in_range(cmd.error, PARSER_OK, PARSER_ERR_PARAM);
		if (cmd.error == PARSER_OK || cmd.error == PARSER_ERR_UNKNOWN)
			assert_null(cmd.error_param);
		else
			assert_non_null(cmd.error_param);
		if (cmd.verb == PARSER_NONE)
			assert_int_equal(cmd.error, PARSER_ERR_UNKNOWN);
		assert_true(strnlen(cmd.target, sizeof cmd.target) < sizeof cmd.target);
		assert_true(strnlen(cmd.operator_code, sizeof cmd.operator_code) <
		    sizeof cmd.operator_code);
		assert_true(strnlen(cmd.circle, sizeof cmd.circle) < sizeof cmd.circle);
		assert_true(strnlen(cmd.txn_id, sizeof cmd.txn_id) < sizeof cmd.txn_id);
		assert_true(strnlen(cmd.text, sizeof cmd.text) < sizeof cmd.text);
		assert_true(strnlen(cmd.plan, sizeof cmd.plan) < sizeof cmd.plan);
		assert_true(strnlen(cmd.pin, sizeof cmd.pin) < sizeof cmd.pin);
		assert_true(strnlen(cmd.pin_new, sizeof cmd.pin_new) < sizeof cmd.pin_new);
		assert_true(cmd.amount >= 0);
		if (cmd.error == PARSER_OK && cmd.verb == PARSER_RC) {
			assert_int_equal(strlen(cmd.target), 10);
			assert_true(cmd.amount > 0);
		}
	}
}

static void
test_init_free(void **state)
{
	const char *cause = NULL;

	assert_int_equal(parser_init(&cause), 0);   /* second call: nothing to do */
	parser_free();
	parser_free();
	assert_int_equal(parser_init(&cause), 0);
	assert_int_equal(PARSE("BAL 1234"), PARSER_OK);
	assert_string_equal(cmd.pin, "1234");
}

/* sms_in keeps the text after processing: every PIN masked, length and the rest kept */
static void
redact_is(const char *in, const char *want)
{
	char t[256];

	snprintf(t, sizeof t, "%s", in);
	sms_text_redact(t);
	if (strcmp(t, want) != 0)
		fail_msg("redact \"%s\": \"%s\", wanted \"%s\"", in, t, want);
}

static void
test_redact_pins(void **state)
{
	(void)state;
	redact_is("RC 9876543210 AIRTEL 10 1234", "RC 9876543210 AIRTEL 10 ****");
	redact_is("RC 9876543210 AIRTEL 2999", "RC 9876543210 AIRTEL 2999");   /* an amount */
	redact_is("*RC*9876543210*50*123456#", "*RC*9876543210*50*******#");
	redact_is("BAL 4321", "BAL ****");
	redact_is("BAL", "BAL");
	redact_is("CMP TXN000000001 paid 1234 twice 5678", "CMP TXN000000001 paid 1234 twice ****");
	redact_is("PIN 1234", "PIN ****");
	redact_is("PIN 1234 1234", "PIN **** ****");
	redact_is("pin 12 9x87", "pin ** *x**");
	redact_is("REG 9800000010 gold Shop 4321 4321", "REG 9800000010 gold Shop 4321 ****");
	redact_is("TOPUP 9800000010 500 4321", "TOPUP 9800000010 500 ****");
	redact_is("BLOCK 9800000010 1111", "BLOCK 9800000010 ****");
	redact_is("RCC 9876543210 AIRTEL 10 1234", "RCC 9876543210 AIRTEL 10 ****");  /* refused */
	redact_is("RC 98765 AIRTEL 10 654321 ", "RC 98765 AIRTEL 10 ****** ");
	redact_is("HELP", "HELP");
	redact_is("", "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rc_basic),
		cmocka_unit_test(test_rc_amount_decimals),
		cmocka_unit_test(test_rc_mobile_forms),
		cmocka_unit_test(test_rc_circle_and_pin),
		cmocka_unit_test(test_rc_without_operator),
		cmocka_unit_test(test_rc_operator_forms),
		cmocka_unit_test(test_rc_separators),
		cmocka_unit_test(test_rc_errors_mobile),
		cmocka_unit_test(test_rc_errors_amount),
		cmocka_unit_test(test_rc_errors_operator_circle_pin),
		cmocka_unit_test(test_dth),
		cmocka_unit_test(test_dth_errors),
		cmocka_unit_test(test_bal_last),
		cmocka_unit_test(test_st),
		cmocka_unit_test(test_cmp),
		cmocka_unit_test(test_cmp_errors),
		cmocka_unit_test(test_pin),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_reg),
		cmocka_unit_test(test_reg_errors),
		cmocka_unit_test(test_topup),
		cmocka_unit_test(test_block_unblock),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_hostile_long_tokens),
		cmocka_unit_test(test_hostile_long_text),
		cmocka_unit_test(test_many_tokens),
		cmocka_unit_test(test_token_cap_boundary),
		cmocka_unit_test(test_random_inputs),
		cmocka_unit_test(test_init_free),
		cmocka_unit_test(test_redact_pins),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
