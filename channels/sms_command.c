/* channels/sms_command.c: one stored MO in, the reply text of SPEC section 7 out,
 * with the engine deciding. The reply wording lives here and only here. */
#include <stdio.h>
#include <string.h>

#include "channels/internal.h"
#include "parser/parser.h"

/* ---- reply texts (SPEC section 7, word for word) -------------------------------------- */

static const char sms_help_text[] =
    "RC <mobile> <operator> <amount> [circle] [pin]\n"
    "RC <mobile> <amount> [pin]\n"
    "DTH <id> <operator> <amount> [pin]\n"
    "BAL [pin]\n"
    "ST <txn> [pin]\n"
    "LAST [pin]\n"
    "CMP <txn> <text> [pin]\n"
    "PIN <new> or PIN <old> <new>";

/* "ERR 1002 Insufficient balance" plus what the code adds. */
static void
sms_render_error(char *out, size_t cap, int code, const char *param)
{
	if (code == ENGINE_E_PARAM)
		snprintf(out, cap, "ERR %d %s: %s", code, engine_code_message(code), param ? param : "parameter");
	else if (code == ENGINE_E_COMMAND)
		snprintf(out, cap, "ERR %d %s Send HELP", code, engine_code_message(code));
	else
		snprintf(out, cap, "ERR %d %s", code, engine_code_message(code));
}

/* "SUCCESS 9876543210 AIRTEL Rs299.00 Txn:TXN000000123 Ref:AT8812 Comm:Rs17.94 Bal:Rs9542.50" */
void
sms_render_txn(char *out, size_t cap, const struct db_txn *t, int64_t balance, int pending)
{
	char id[24], amt[MONEY_BUFSZ], bal[MONEY_BUFSZ], comm[MONEY_BUFSZ];

	db_txn_format_id(t->id, id);
	money_format(t->amount, amt);
	money_format(balance, bal);
	if (pending)
		snprintf(out, cap, "PENDING %s %s Rs%s Txn:%s Bal:Rs%s", t->target, t->operator_code, amt, id, bal);
	else if (strcmp(t->state, DB_STATE_SUCCESS) == 0)
		/* Ref only when the operator gave one: a reference is never invented */
		snprintf(out, cap, "SUCCESS %s %s Rs%s Txn:%s%s%s Comm:Rs%s Bal:Rs%s", t->target,
		    t->operator_code, amt, id, t->operator_ref[0] ? " Ref:" : "", t->operator_ref,
		    money_format(t->commission, comm), bal);
	else if (t->error_code == ENGINE_E_DOWN)
		snprintf(out, cap, "ERR %d %s Txn:%s Bal:Rs%s", ENGINE_E_DOWN,
		    engine_code_message(ENGINE_E_DOWN), id, bal);
	else if (strcmp(t->state, DB_STATE_REVERSED) == 0)
		snprintf(out, cap, "REVERSED %s %s Rs%s Txn:%s Refunded Bal:Rs%s", t->target,
		    t->operator_code, amt, id, bal);
	else
		snprintf(out, cap, "FAILED %s %s Rs%s Txn:%s Err:%d Refunded Bal:Rs%s", t->target,
		    t->operator_code, amt, id, t->error_code ? t->error_code : ENGINE_E_FAILED, bal);
}

/* "TXN000000123 SUCCESS 9876543210 AIRTEL Rs299.00 Ref:AT8812": ST and LAST lines. */
static int
sms_render_status(char *out, size_t cap, const struct db_txn *t)
{
	char id[24], amt[MONEY_BUFSZ];

	return snprintf(out, cap, "%s %s %s %s Rs%s%s%s", db_txn_format_id(t->id, id), t->state,
	    t->target, t->operator_code, money_format(t->amount, amt),
	    t->operator_ref[0] ? " Ref:" : "", t->operator_ref);
}

/* ---- commands -------------------------------------------------------------------------- */

static int
sms_parser_code(enum parser_error err)
{
	switch (err) {
	case PARSER_ERR_MOBILE: return ENGINE_E_MOBILE;
	case PARSER_ERR_AMOUNT: return ENGINE_E_AMOUNT;
	case PARSER_ERR_PARAM: return ENGINE_E_PARAM;
	default: return ENGINE_E_COMMAND;
	}
}

/* A sender that is neither retailer nor admin hears so at most once a day (IST). */
static void
sms_handle_unregistered(struct sms_channel *c, const char *who, char *reply, size_t cap)
{
	char day[32];

	clock_format_ist(clock_now_s(), day);
	day[10] = '\0';
	if (db_unregistered_claim(batch_db(c->batch), who, day) == 1)
		sms_render_error(reply, cap, ENGINE_E_UNREGISTERED, NULL);
	else
		log_info("unregistered sender %s ignored (already told today)", who);
}

static int64_t
sms_handle_recharge(struct sms_channel *c, struct db_retailer *r, const struct parser_command *cmd,
    const struct db_sms_in *m, char *reply, size_t cap)
{
	struct engine_recharge req = {
		.retailer = r, .channel = "sms", .dth = cmd->verb == PARSER_DTH,
		.target = cmd->target, .operator_code = cmd->operator_code, .circle = cmd->circle,
		.amount = cmd->amount, .request_id = "",
		.reply_to = m->source_addr, .reply_ton = m->source_ton, .reply_npi = m->source_npi,
	};
	struct engine_outcome out;
	char need[MONEY_BUFSZ], bal[MONEY_BUFSZ];

	if (engine_recharge_accept(c->engine, &req, &out) == ENGINE_OK)
		return out.txn.id;      /* the reply comes when it settles (or PENDING) */
	if (out.code == ENGINE_E_BALANCE)
		snprintf(reply, cap, "ERR %d %s Need:Rs%s Bal:Rs%s", out.code, engine_code_message(out.code),
		    money_format(out.need, need), money_format(out.balance, bal));
	else
		sms_render_error(reply, cap, out.code, out.param);
	return 0;
}

/* ---- admin commands (SPEC section 7, admin part) ----------------------------------------- */

static const char sms_admin_help_text[] =
    "REG <msisdn> <plan> <shop name> <pin>\n"
    "TOPUP <msisdn> <amount> <pin>\n"
    "BLOCK <msisdn> <pin>\n"
    "UNBLOCK <msisdn> <pin>";

/* A notice to a retailer other than the sender (welcome, wallet credited), in the same
 * savepoint as the change it tells of. */
static int
sms_notify_retailer(struct sms_channel *c, const struct db_sms_in *m, const char *msisdn, const char *text)
{
	return db_sms_out_add(batch_db(c->batch), msisdn, 1, 1, text, m->id, 0) < 0 ? -1 : 0;
}

/* REG, TOPUP, BLOCK, UNBLOCK from an admin phone; the engine decides, the words are here.
 * Returns 0, or -1 when storage failed (the savepoint is rolled back and the SMSC
 * redelivers). */
static int64_t
sms_handle_admin(struct sms_channel *c, struct db_admin *admin, const struct db_sms_in *m,
    char *reply, size_t cap)
{
	struct parser_command cmd;
	struct engine_admin_result res;
	char text[512], amt[MONEY_BUFSZ], bal[MONEY_BUFSZ];
	const char *who;

	parser_parse(m->text, strlen(m->text), &cmd);
	/* the verb only: admin texts always carry the PIN */
	log_debug("MO %lld from admin %s: verb %d, parse %d", (long long)m->id, admin->msisdn,
	    (int)cmd.verb, (int)cmd.error);
	if (cmd.verb == PARSER_HELP) {
		snprintf(reply, cap, "%s", sms_admin_help_text);
		return 0;
	}
	if (cmd.verb < PARSER_REG) {
		sms_render_error(reply, cap, ENGINE_E_COMMAND, NULL);
		return 0;
	}
	if (cmd.error != PARSER_OK) {
		/* a missing PIN guesses nothing: 1011 (1012 when locked), not counted */
		if (cmd.error == PARSER_ERR_PARAM && strcmp(cmd.error_param, "pin") == 0)
			sms_render_error(reply, cap, admin->locked ? ENGINE_E_LOCKED : ENGINE_E_PIN, NULL);
		else
			sms_render_error(reply, cap, sms_parser_code(cmd.error), cmd.error_param);
		return 0;
	}
	switch (cmd.verb) {
	case PARSER_REG:
		engine_admin_register(c->engine, admin, cmd.pin, cmd.target, cmd.plan, cmd.text, &res);
		break;
	case PARSER_TOPUP:
		engine_admin_topup(c->engine, admin, cmd.pin, cmd.target, cmd.amount, &res);
		break;
	default:
		engine_admin_block(c->engine, admin, cmd.pin, cmd.target, cmd.verb == PARSER_BLOCK, &res);
		break;
	}
	if (res.code == ENGINE_E_BUSY)
		return -1;
	if (res.code != ENGINE_OK) {
		sms_render_error(reply, cap, res.code, res.param);
		return 0;
	}
	who = msisdn_local(res.retailer.msisdn);
	switch (cmd.verb) {
	case PARSER_REG:
		snprintf(text, sizeof text, "Welcome to rechargd, %s. Recharge: RC <mobile> <operator>"
		    " <amount>. Balance: BAL. Help: HELP", res.retailer.name);
		if (sms_notify_retailer(c, m, res.retailer.msisdn, text) != 0)
			return -1;
		snprintf(reply, cap, "OK REG %s %s Bal:Rs%s", who, res.retailer.plan,
		    money_format(res.retailer.balance, bal));
		break;
	case PARSER_TOPUP:
		snprintf(text, sizeof text, "Wallet credited Rs%s Bal:Rs%s", money_format(res.amount, amt),
		    money_format(res.retailer.balance, bal));
		if (sms_notify_retailer(c, m, res.retailer.msisdn, text) != 0)
			return -1;
		snprintf(reply, cap, "OK TOPUP %s Rs%s Bal:Rs%s", who, amt, bal);
		break;
	default:
		snprintf(reply, cap, "OK %s %s", cmd.verb == PARSER_BLOCK ? "BLOCK" : "UNBLOCK", who);
		break;
	}
	return 0;
}

int64_t
sms_channel_handle(struct sms_channel *c, const struct db_sms_in *m, char *reply, size_t cap)
{
	struct db *db = batch_db(c->batch);
	struct parser_command cmd;
	struct db_retailer r;
	struct db_admin admin;
	char msisdn[MSISDN_BUFSZ], bal[MONEY_BUFSZ], comm[MONEY_BUFSZ];
	struct db_txn t;
	int rc;

	reply[0] = '\0';
	if (msisdn_normalize(m->source_addr, msisdn) != 0) {
		sms_handle_unregistered(c, m->source_addr, reply, cap);
		return 0;
	}
	if ((rc = db_retailer_find(db, msisdn, &r)) < 0)
		goto busy;
	if (rc == 0) {
		if ((rc = db_admin_find(db, msisdn, &admin)) < 0)
			goto busy;
		if (rc == 0)
			sms_handle_unregistered(c, msisdn, reply, cap);
		else
			return sms_handle_admin(c, &admin, m, reply, cap);
		return 0;
	}

	parser_parse(m->text, strlen(m->text), &cmd);
	/* the verb only: message texts carry PINs and never reach the log */
	log_debug("MO %lld from %s: verb %d, parse %d", (long long)m->id, msisdn, (int)cmd.verb, (int)cmd.error);
	if (cmd.verb >= PARSER_REG || cmd.verb == PARSER_NONE) {
		sms_render_error(reply, cap, ENGINE_E_COMMAND, NULL);
		return 0;
	}
	if (cmd.error != PARSER_OK) {
		sms_render_error(reply, cap, sms_parser_code(cmd.error), cmd.error_param);
		return 0;
	}
	if (cmd.verb == PARSER_HELP) {
		snprintf(reply, cap, "%s", sms_help_text);
		return 0;
	}
	if (cmd.verb == PARSER_PIN) {
		int had_pin = r.pin_hash[0] != '\0';
		rc = engine_pin_change(c->engine, &r, cmd.pin, cmd.pin_new);
		if (rc == ENGINE_OK)
			snprintf(reply, cap, "OK PIN %s", had_pin ? "changed" : "set");
		else
			sms_render_error(reply, cap, rc, "pin");
		return 0;
	}
	if ((rc = engine_retailer_authorize(c->engine, &r, cmd.pin)) != ENGINE_OK) {
		sms_render_error(reply, cap, rc, NULL);
		return 0;
	}
	switch (cmd.verb) {
	case PARSER_RC:
	case PARSER_DTH:
		return sms_handle_recharge(c, &r, &cmd, m, reply, cap);
	case PARSER_BAL:
		snprintf(reply, cap, "BAL Bal:Rs%s Comm:Rs%s", money_format(r.balance, bal),
		    money_format(r.commission, comm));
		return 0;
	case PARSER_ST:
		if ((rc = engine_txn_lookup(c->engine, &r, cmd.txn_id, &t)) != ENGINE_OK) {
			sms_render_error(reply, cap, rc, NULL);
			return 0;
		}
		rc = snprintf(reply, cap, "ST ");
		sms_render_status(reply + rc, cap - (size_t)rc, &t);
		return 0;
	case PARSER_LAST: {
		struct db_txn last[3];
		int n = db_txn_latest(db, r.id, last, 3);
		size_t off = 0;
		if (n < 0)
			goto busy;
		if (n == 0)
			snprintf(reply, cap, "LAST No transactions");
		for (int i = 0; i < n && off < cap; i++) {
			if (i > 0)
				reply[off++] = '\n';
			int w = sms_render_status(reply + off, cap - off, &last[i]);
			off += w > 0 ? (size_t)w : 0;
		}
		return 0;
	}
	case PARSER_CMP: {
		char id[24];
		int64_t no;
		if ((rc = engine_txn_lookup(c->engine, &r, cmd.txn_id, &t)) != ENGINE_OK) {
			sms_render_error(reply, cap, rc, NULL);
			return 0;
		}
		if ((no = db_complaint_add(db, r.id, t.id, cmd.text)) < 0)
			goto busy;
		snprintf(reply, cap, "OK Complaint %lld registered for %s", (long long)no,
		    db_txn_format_id(t.id, id));
		return 0;
	}
	default:
		sms_render_error(reply, cap, ENGINE_E_COMMAND, NULL);
		return 0;
	}
busy:
	return -1;
}

/* ---- PINs out of storage --------------------------------------------------------- */

/* A token separator of the grammar (parser/parser.h). */
static int
sms_text_sep(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '*' || ch == '#' || ch == ',';
}

/* Masks the last whole token equal to tok; 1 when there was one. */
static int
sms_text_mask_token(char *text, const char *tok)
{
	size_t n = strlen(tok), len = strlen(text);

	if (n == 0 || n > len)
		return 0;
	for (size_t i = len - n + 1; i-- > 0;) {
		if (memcmp(text + i, tok, n) == 0 && (i == 0 || sms_text_sep(text[i - 1])) &&
		    (i + n == len || sms_text_sep(text[i + n]))) {
			memset(text + i, '*', n);
			return 1;
		}
	}
	return 0;
}

/* Stored texts are read by people (rechargectl, backups): a PIN there is a PIN lost. */
void
sms_text_redact(char *text)
{
	struct parser_command cmd;
	size_t len = strlen(text), i = 0, start;

	parser_parse(text, len, &cmd);
	if (cmd.verb == PARSER_PIN) {
		while (i < len && sms_text_sep(text[i]))
			i++;
		while (i < len && !sms_text_sep(text[i]))
			i++;
		for (; i < len; i++)
			if (text[i] >= '0' && text[i] <= '9')
				text[i] = '*';
		return;
	}
	sms_text_mask_token(text, cmd.pin);
	sms_text_mask_token(text, cmd.pin_new);
	if (cmd.pin[0] != '\0' || cmd.error == PARSER_OK)
		return;
	/* refused texts: a trailing 4 to 6 digits is taken for a PIN */
	while (len > 0 && sms_text_sep(text[len - 1]))
		len--;
	for (start = len; start > 0 && text[start - 1] >= '0' && text[start - 1] <= '9'; start--)
		;
	if (len - start >= 4 && len - start <= 6 && (start == 0 || sms_text_sep(text[start - 1])))
		memset(text + start, '*', len - start);
}

/* Only these may not happen twice when the SMSC delivers an MO again; a question asked
 * twice is answered twice (a retailer's BAL after a link flap must get its answer). */
int
sms_text_changes_state(const char *text)
{
	struct parser_command cmd;

	parser_parse(text, strlen(text), &cmd);
	if (cmd.error != PARSER_OK)
		return 0;
	switch (cmd.verb) {
	case PARSER_NONE: case PARSER_BAL: case PARSER_ST: case PARSER_LAST: case PARSER_HELP:
		return 0;
	default:
		return 1;
	}
}
