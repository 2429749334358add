/* channels/sms.c: SMS in, SMS out. An MO is stored and processed in the open batch;
 * deliver_sm is answered ESME_ROK only after that batch commits. Replies go to the
 * durable outbox and are pumped into the SMPP session after commit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "channels/channels.h"
#include "parser/parser.h"

#define SMS_TICKETS_MAX 20000      /* deliver_sm answers waiting on one commit */
#define SMS_INFLIGHT_MAX 1024      /* replies handed to the session, not yet answered */
#define SMS_PUMP_BATCH 64

struct sms_channel {
	struct event_base *base;
	struct batch *batch;
	struct engine *engine;
	const struct config *cfg;
	struct smpp_session *session;

	uint64_t *tickets;             /* deliver_sm waiting for this batch's commit */
	int ntickets;
	int tickets_deferred;          /* a batch_defer is registered for them */

	int64_t inflight[SMS_INFLIGHT_MAX];   /* outbox ids in the session's hands */
	int ninflight;
	int64_t pump_after;            /* highest outbox id submitted on this bind */
	int pump_deferred;

	struct event *sweep_ev;        /* PENDING replies after pending_reply_s */
};

static void sms_pump(struct sms_channel *c);
static void sms_pump_after_commit(struct sms_channel *c);

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
static void
sms_render_txn(char *out, size_t cap, const struct db_txn *t, int64_t balance, int pending)
{
	char id[24], amt[MONEY_BUFSZ], bal[MONEY_BUFSZ], comm[MONEY_BUFSZ];

	db_txn_format_id(t->id, id);
	money_format(t->amount, amt);
	money_format(balance, bal);
	if (pending)
		snprintf(out, cap, "PENDING %s %s Rs%s Txn:%s Bal:Rs%s", t->target, t->operator_code, amt, id, bal);
	else if (strcmp(t->state, DB_STATE_SUCCESS) == 0)
		snprintf(out, cap, "SUCCESS %s %s Rs%s Txn:%s Ref:%s Comm:Rs%s Bal:Rs%s", t->target,
		    t->operator_code, amt, id, t->operator_ref, money_format(t->commission, comm), bal);
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
		else    /* admin commands arrive with SPEC section 7's admin part */
			sms_render_error(reply, cap, ENGINE_E_COMMAND, NULL);
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

/* ---- inbound: store, process, answer after commit ------------------------------------ */

static void
sms_tickets_answer_cb(void *arg, int committed)
{
	struct sms_channel *c = arg;
	int n = c->ntickets;

	c->ntickets = 0;
	c->tickets_deferred = 0;
	for (int i = 0; i < n; i++)
		if (c->session != NULL)
			smpp_session_mo_answer(c->session, c->tickets[i], committed ? ESME_ROK : ESME_RX_T_APPN);
	if (!committed && n > 0)
		log_warn("commit failed: %d deliver_sm answered ESME_RX_T_APPN (the SMSC redelivers)", n);
	sms_pump(c);
}

/* Stores and processes one MO inside a savepoint of the batch; 0 or -1. */
static int
sms_store_and_process(struct sms_channel *c, struct db_sms_in *m)
{
	struct db *db = batch_db(c->batch);
	char reply[1024];
	int64_t txn;

	if (db_savepoint(db) != 0)
		return -1;
	if (db_sms_in_add(db, m) != 0)
		goto fail;
	if ((txn = sms_channel_handle(c, m, reply, sizeof reply)) < 0)
		goto fail;
	if (reply[0] != '\0' &&
	    db_sms_out_add(db, m->source_addr, m->source_ton, m->source_npi, reply, m->id, txn) < 0)
		goto fail;
	if (db_sms_in_done(db, m->id, txn) != 0 || db_release(db) != 0)
		goto fail;
	return 0;
fail:
	log_error("cannot store MO from %s: %s", m->source_addr, db_error(db));
	db_rollback_to(db);
	return -1;
}

/* Copies text, cutting at a character boundary when it does not fit. */
static void
sms_copy_utf8(char *dst, size_t cap, const char *src, size_t len)
{
	size_t n = len < cap - 1 ? len : cap - 1;

	while (n > 0 && n < len && ((unsigned char)src[n] & 0xC0) == 0x80)
		n--;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static uint32_t
sms_mo_cb(void *arg, const struct smpp_mo *mo, uint64_t ticket)
{
	struct sms_channel *c = arg;
	struct db_sms_in m;

	/* back-pressure: the SMSC keeps the message and redelivers it */
	if (c->ntickets >= SMS_TICKETS_MAX || engine_inflight(c->engine) >= ENGINE_MAX_INFLIGHT)
		return ESME_RX_T_APPN;
	if (batch_join(c->batch) != 0)
		return ESME_RX_T_APPN;
	memset(&m, 0, sizeof m);
	strlcpy_safe(m.source_addr, mo->source_addr, sizeof m.source_addr);
	m.source_ton = mo->source_ton;
	m.source_npi = mo->source_npi;
	strlcpy_safe(m.dest_addr, mo->dest_addr ? mo->dest_addr : "", sizeof m.dest_addr);
	m.data_coding = mo->data_coding;
	sms_copy_utf8(m.text, sizeof m.text, mo->text, mo->text_len);
	if (sms_store_and_process(c, &m) != 0)
		return ESME_RX_T_APPN;
	if (c->tickets == NULL)
		c->tickets = xcalloc(SMS_TICKETS_MAX, sizeof *c->tickets);
	c->tickets[c->ntickets++] = ticket;
	if (!c->tickets_deferred) {
		c->tickets_deferred = 1;
		batch_defer(c->batch, sms_tickets_answer_cb, c);
	}
	return SMPP_MO_DEFER;
}

int
sms_channel_recover(struct sms_channel *c)
{
	struct db *db = batch_db(c->batch);
	struct db_sms_in *rows = xcalloc(64, sizeof *rows);
	int n, total = 0;

	/* each pass marks its rows processed, so the loop ends */
	while ((n = db_sms_in_pending(db, rows, 64)) > 0) {
		for (int i = 0; i < n; i++) {
			char reply[1024];
			int64_t txn = sms_channel_handle(c, &rows[i], reply, sizeof reply);
			if (txn < 0 || (reply[0] != '\0' && db_sms_out_add(db, rows[i].source_addr,
			    rows[i].source_ton, rows[i].source_npi, reply, rows[i].id, txn) < 0) ||
			    db_sms_in_done(db, rows[i].id, txn) != 0) {
				free(rows);
				return -1;
			}
		}
		total += n;
	}
	free(rows);
	if (n < 0)
		return -1;
	if (total > 0)
		log_info("processed %d messages stored before the last stop", total);
	return 0;
}

/* ---- transactions that started as SMS ----------------------------------------------- */

static int
sms_txn_cb(void *arg, const struct db_txn *t, enum engine_event ev, int64_t balance)
{
	struct sms_channel *c = arg;
	struct db *db = batch_db(c->batch);
	char reply[512];

	if (strcmp(t->channel, "sms") != 0 || t->reply_to[0] == '\0')
		return 0;
	if (ev == ENGINE_EVENT_PENDING && t->notified[0] != '\0')
		return 0;                 /* told PENDING already */
	sms_render_txn(reply, sizeof reply, t, balance, ev == ENGINE_EVENT_PENDING);
	if (db_sms_out_add(db, t->reply_to, t->reply_ton, t->reply_npi, reply, 0, t->id) < 0 ||
	    db_txn_set_notified(db, t->id, ev == ENGINE_EVENT_PENDING ? DB_STATE_PENDING : t->state) != 0) {
		log_error("cannot queue the reply for TXN%09lld: %s", (long long)t->id, db_error(db));
		return -1;
	}
	sms_pump_after_commit(c);
	return 0;
}

/* A PENDING reply for SMS recharges not settled within pending_reply_s. */
static void
sms_sweep_one(void *arg, const struct db_txn *t)
{
	struct sms_channel *c = arg;
	struct db_retailer r;

	if (strcmp(t->channel, "sms") != 0 || t->notified[0] != '\0' ||
	    t->created_at > clock_now_ms() - (int64_t)c->cfg->pending_reply_s * 1000)
		return;
	if (db_retailer_get(batch_db(c->batch), t->retailer_id, &r) == 1)
		(void)sms_txn_cb(c, t, ENGINE_EVENT_PENDING, r.balance);
}

static void
sms_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sms_channel *c = arg;

	if (engine_inflight(c->engine) == 0 || batch_join(c->batch) != 0)
		return;
	if (db_txn_each_pending(batch_db(c->batch), sms_sweep_one, c) != 0)
		log_warn("pending sweep: %s", db_error(batch_db(c->batch)));
}

/* ---- outbound: the outbox pump ------------------------------------------------------------ */

static void
sms_pump_deferred_cb(void *arg, int committed)
{
	struct sms_channel *c = arg;

	c->pump_deferred = 0;
	sms_pump(c);
}

/* Replies written in the open batch may be sent only once it is durable. */
static void
sms_pump_after_commit(struct sms_channel *c)
{
	if (c->pump_deferred)
		return;
	if (!db_in_transaction(batch_db(c->batch))) {
		sms_pump(c);
		return;
	}
	c->pump_deferred = 1;
	batch_defer(c->batch, sms_pump_deferred_cb, c);
}

static int
sms_inflight_remove(struct sms_channel *c, int64_t id)
{
	for (int i = 0; i < c->ninflight; i++) {
		if (c->inflight[i] == id) {
			c->inflight[i] = c->inflight[--c->ninflight];
			return 1;
		}
	}
	return 0;
}

static void
sms_pump(struct sms_channel *c)
{
	struct db *db = batch_db(c->batch);
	struct db_sms_out rows[SMS_PUMP_BATCH];
	int n;

	if (c->session == NULL)
		return;
	if (db_in_transaction(db)) {
		sms_pump_after_commit(c);
		return;
	}
	while (c->ninflight < SMS_INFLIGHT_MAX && smpp_session_can_submit(c->session)) {
		if ((n = db_sms_out_queued(db, c->pump_after, rows, SMS_PUMP_BATCH)) <= 0)
			return;
		for (int i = 0; i < n; i++) {
			if (c->ninflight == SMS_INFLIGHT_MAX || !smpp_session_can_submit(c->session))
				return;
			if (smpp_session_submit(c->session, (uint64_t)rows[i].id, rows[i].dest_addr,
			    (uint8_t)rows[i].dest_ton, (uint8_t)rows[i].dest_npi, rows[i].text) != 0) {
				/* not encodable: record it rather than retry forever */
				if (smpp_session_is_bound(c->session) && batch_join(c->batch) == 0)
					db_sms_out_failed(db, rows[i].id, "cannot encode");
				c->pump_after = rows[i].id;
				continue;
			}
			c->inflight[c->ninflight++] = rows[i].id;
			c->pump_after = rows[i].id;
		}
	}
}

static void
sms_submit_cb(void *arg, uint64_t ref, uint32_t status, const char *message_id)
{
	struct sms_channel *c = arg;
	struct db *db = batch_db(c->batch);
	int64_t id = (int64_t)ref;

	sms_inflight_remove(c, id);
	if (batch_join(c->batch) != 0) {
		log_warn("outbox %lld: cannot record the SMSC's answer now", (long long)id);
		return;
	}
	if (status == SMPP_STATUS_LINK_LOST) {
		/* still queued: sent again after the next bind */
		if (db_sms_out_attempt(db, id) != 0)
			log_error("outbox %lld: %s", (long long)id, db_error(db));
	} else if (status == ESME_ROK) {
		if (db_sms_out_sent(db, id, message_id ? message_id : "") != 0)
			log_error("outbox %lld: %s", (long long)id, db_error(db));
	} else {
		log_warn("outbox %lld refused by the SMSC: %s", (long long)id, smpp_status_name(status));
		if (db_sms_out_failed(db, id, smpp_status_name(status)) != 0)
			log_error("outbox %lld: %s", (long long)id, db_error(db));
	}
	sms_pump_after_commit(c);
}

static void
sms_state_cb(void *arg, int bound)
{
	struct sms_channel *c = arg;

	/* a new bind starts from the oldest queued reply */
	c->pump_after = 0;
	c->ninflight = 0;
	if (bound)
		sms_pump_after_commit(c);
}

static void
sms_dlr_cb(void *arg, const char *message_id, const char *stat)
{
	struct sms_channel *c = arg;
	int rc;

	if (batch_join(c->batch) != 0)
		return;       /* a receipt is information, not money: not worth a retry */
	rc = db_sms_out_dlr(batch_db(c->batch), message_id, stat);
	log_debug("delivery receipt for %s: %s%s", message_id, stat, rc == 1 ? "" : " (no such reply)");
}

/* ---- life cycle ---------------------------------------------------------------------------- */

struct sms_channel *
sms_channel_new(struct event_base *base, struct batch *batch, struct engine *engine,
    const struct config *cfg)
{
	struct sms_channel *c = xcalloc(1, sizeof *c);
	struct timeval tv = { 1, 0 };

	c->base = base;
	c->batch = batch;
	c->engine = engine;
	c->cfg = cfg;
	c->sweep_ev = event_new(base, -1, EV_PERSIST, sms_sweep_cb, c);
	event_add(c->sweep_ev, &tv);
	return c;
}

void
sms_channel_free(struct sms_channel *c)
{
	if (c == NULL)
		return;
	event_free(c->sweep_ev);
	free(c->tickets);
	free(c);
}

void
sms_channel_attach(struct sms_channel *c, struct smpp_session *s)
{
	c->session = s;
}

void
sms_channel_set_engine(struct sms_channel *c, struct engine *engine)
{
	c->engine = engine;
}

void
sms_channel_set_config(struct sms_channel *c, const struct config *cfg)
{
	c->cfg = cfg;
}

void
sms_channel_session_callbacks(struct sms_channel *c, struct smpp_session_callbacks *cbs)
{
	memset(cbs, 0, sizeof *cbs);
	cbs->mo_cb = sms_mo_cb;
	cbs->submit_cb = sms_submit_cb;
	cbs->state_cb = sms_state_cb;
	cbs->dlr_cb = sms_dlr_cb;
	cbs->arg = c;
}

void
sms_channel_engine_hooks(struct sms_channel *c, struct engine_hooks *hooks)
{
	hooks->txn_cb = sms_txn_cb;
	hooks->arg = c;
}

int
sms_channel_backlog(const struct sms_channel *c)
{
	return c->ntickets + c->ninflight;
}
