/* tests/fuzz/fuzz_reassembly.c: libFuzzer over the long-MO path, end to end in one
 * process (tests/fuzz/rig.c): deliver_sm PDUs made from the input go through a
 * test-mode SMPP session (smpp/session.c: UDH IEI 0 and 8, SAR TLVs, in short_message
 * or message_payload) into the real SMS channel (channels/sms.c), which stores each
 * part in SQLite (db/sms.c sms_parts), reassembles, decodes, stores the whole in sms_in
 * and handles it (parser, engine with the sim provider, outbox) inside the group
 * commit; deliver_sm are answered after the commit.
 *
 * The input is a list of records: a part (source, UDH 8-bit / UDH 16-bit / SAR TLVs /
 * SAR with message_payload, data_coding, reference, total, sequence, body), a whole
 * message, a commit, or an expiry of everything stored. A model here knows which parts
 * are stored, and after every PDU the sms_in rows added are checked against it:
 *  - a message completes exactly when its last missing part arrives, and its text is
 *    the decoding of its parts' bodies concatenated in sequence order (a redelivered
 *    part changes nothing: the first copy stays), as stored: PINs masked;
 *  - nothing completes twice, nothing completes early, nothing else appears;
 *  - more than 16 parts or more than 4096 octets (message_payload parts up to 1020)
 *    never complete; sms_parts holds exactly the parts the model holds (bounded
 *    storage); expiry empties it;
 *  - every deliver_sm is answered exactly once, ESME_ROK, and only after a commit.
 * Built with clang -fsanitize=fuzzer,address,undefined (mk/fuzz.mk). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "tests/fuzz/rig.h"
#include "db/internal.h"
#include "smpp/smpp.h"

#define FUZZ_PARTS_MAX 16                  /* SMS_LONG_MO_PARTS */
#define FUZZ_LONG_MAX 4096                 /* SMS_LONG_MO_MAX */
#define FUZZ_KEYS 2048                     /* more than 8192 octets of records can name */

/* What the model holds for one (source, ref, total). */
struct fuzz_msg {
	int used;
	int src, ref, total;
	int have[FUZZ_PARTS_MAX + 1];
	uint8_t body[FUZZ_PARTS_MAX + 1][1024];
	int len[FUZZ_PARTS_MAX + 1];
};

static struct rig *rig;
static struct smpp_session *sess;
static struct fuzz_msg *keys;
static sqlite3_stmt *st_new, *st_parts;
static int64_t last_row;
static int fed, answered, answered_ok, pending_answers;
static const char *const sources[2] = { "919876543210", "919000000001" };
static char want[3 * FUZZ_LONG_MAX + 1024];

static struct fuzz_msg *
fuzz_key(int src, int ref, int total, int create)
{
	struct fuzz_msg *free_slot = NULL;

	for (int i = 0; i < FUZZ_KEYS; i++) {
		struct fuzz_msg *m = &keys[i];
		if (m->used && m->src == src && m->ref == ref && m->total == total)
			return m;
		if (!m->used && free_slot == NULL)
			free_slot = m;
	}
	if (!create || free_slot == NULL)
		return NULL;
	memset(free_slot, 0, sizeof *free_slot);
	free_slot->used = 1;
	free_slot->src = src;
	free_slot->ref = ref;
	free_slot->total = total;
	return free_slot;
}

/* The sms_in rows added since the last look: none, or exactly the text expected (of
 * len bytes, NULs included): cut as the channel cuts it (under DB_SMS_TEXT_MAX, at a
 * character boundary), up to a NUL as SQLite reads it, PINs masked (sms_text_redact). */
static void
fuzz_expect(const char *text, size_t len)
{
	static char cut[DB_SMS_TEXT_MAX];
	int rc, n = 0;

	if (text != NULL) {
		size_t k = len < sizeof cut - 1 ? len : sizeof cut - 1;
		while (k > 0 && k < len && ((unsigned char)text[k] & 0xC0) == 0x80)
			k--;
		memcpy(cut, text, k);
		cut[k] = '\0';
		sms_text_redact(cut);
	}
	sqlite3_bind_int64(st_new, 1, last_row);
	while ((rc = sqlite3_step(st_new)) == SQLITE_ROW) {
		const char *got = (const char *)sqlite3_column_text(st_new, 1);

		last_row = sqlite3_column_int64(st_new, 0);
		if (n++ > 0 || text == NULL) {
			fprintf(stderr, "reassembly: unexpected message '%.80s'\n", got ? got : "");
			abort();
		}
		if (strcmp(got != NULL ? got : "", cut) != 0) {
			fprintf(stderr, "reassembly: got '%.80s' (%zu), want '%.80s' (%zu)\n",
			    got ? got : "", got ? strlen(got) : 0, cut, strlen(cut));
			abort();
		}
	}
	if (rc != SQLITE_DONE)
		abort();
	sqlite3_reset(st_new);
	if (text != NULL && n != 1) {
		fprintf(stderr, "reassembly: message '%.80s' did not complete\n", cut);
		abort();
	}
}

/* sms_parts holds exactly what the model holds. */
static void
fuzz_check_parts(void)
{
	int model = 0, stored = -1;

	for (int i = 0; i < FUZZ_KEYS; i++)
		if (keys[i].used)
			for (int s = 1; s <= keys[i].total; s++)
				model += keys[i].have[s];
	if (sqlite3_step(st_parts) == SQLITE_ROW)
		stored = sqlite3_column_int(st_parts, 0);
	sqlite3_reset(st_parts);
	if (stored != model) {
		fprintf(stderr, "reassembly: %d parts stored, %d expected\n", stored, model);
		abort();
	}
}

/* Reads what the session sent: deliver_sm_resp are counted (submit_sm of replies are
 * left unanswered). */
static void
fuzz_drain(void)
{
	static uint8_t out[1 << 16];
	static uint8_t buf[1 << 18];
	static size_t have;
	struct smpp_pdu p;
	uint32_t n;
	size_t got, at = 0;

	while ((got = smpp_session_sent_for_test(sess, 0, out, sizeof out)) > 0) {
		if (got > sizeof buf - have)
			abort();
		memcpy(buf + have, out, got);
		have += got;
	}
	while (at < have && smpp_frame(buf + at, have - at, &n) > 0) {
		(void)smpp_decode(buf + at, n, &p);
		if (p.h.command_id == (SMPP_DELIVER_SM | SMPP_RESP_BIT)) {
			answered++;
			if (p.h.status == ESME_ROK)
				answered_ok++;
		}
		at += n;
	}
	memmove(buf, buf + at, have - at);
	have -= at;
}

/* A commit: every deliver_sm fed so far is answered ESME_ROK, none before. */
static void
fuzz_commit(void)
{
	fuzz_drain();
	if (answered != fed - pending_answers)
		abort();
	rig_turns(rig, 3);
	fuzz_drain();
	if (answered != fed || answered_ok != fed) {
		fprintf(stderr, "reassembly: %d deliver_sm, %d answered, %d ESME_ROK\n", fed, answered,
		    answered_ok);
		abort();
	}
	pending_answers = 0;
}

/* One deliver_sm into the session. */
static void
fuzz_feed(int src, int esm, uint8_t dc, const uint8_t *sm, size_t smlen, const uint8_t *payload,
    size_t paylen, int sar, int ref, int total, int seq)
{
	static uint8_t pdu[2048];
	struct smpp_build b;
	int len;

	smpp_build_start(&b, pdu, sizeof pdu, SMPP_DELIVER_SM, 0, (uint32_t)fed + 1);
	smpp_build_cstr(&b, "");
	smpp_build_u8(&b, 1);
	smpp_build_u8(&b, 1);
	smpp_build_cstr(&b, sources[src]);
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 1);
	smpp_build_cstr(&b, "56789");
	smpp_build_u8(&b, (uint8_t)esm);
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 0);
	smpp_build_cstr(&b, "");
	smpp_build_cstr(&b, "");
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, dc);
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, (uint8_t)smlen);
	smpp_build_bytes(&b, sm, smlen);
	if (sar) {
		uint8_t r[2] = { (uint8_t)(ref >> 8), (uint8_t)ref }, t = (uint8_t)total, s = (uint8_t)seq;
		smpp_build_tlv(&b, SMPP_TLV_SAR_MSG_REF_NUM, r, 2);
		smpp_build_tlv(&b, SMPP_TLV_SAR_TOTAL_SEGMENTS, &t, 1);
		smpp_build_tlv(&b, SMPP_TLV_SAR_SEGMENT_SEQNUM, &s, 1);
	}
	if (payload != NULL)
		smpp_build_tlv(&b, SMPP_TLV_MESSAGE_PAYLOAD, payload, (uint16_t)paylen);
	if ((len = smpp_build_finish(&b)) < 0)
		abort();
	fed++;
	pending_answers++;
	if (smpp_session_feed_for_test(sess, 0, pdu, (size_t)len) != 0)
		abort();
	if (pending_answers >= 64)
		fuzz_commit();
}

/* The text a whole body must become (decoded as the channel decodes it). */
static void
fuzz_expect_text(uint8_t dc, const uint8_t *body, size_t len)
{
	int n = smpp_text_decode(dc, body, len, want, sizeof want);

	if (n < 0)
		abort();
	fuzz_expect(want, (size_t)n);
}

/* One part: fed, then the model's expectation checked. */
static void
fuzz_part(int src, int mode, uint8_t dc, int ref, int total, int seq, const uint8_t *body, size_t len)
{
	uint8_t sm[254];
	size_t smlen = 0;
	struct fuzz_msg *m;

	if (mode == 0 || mode == 1) {
		if (mode == 0) {
			uint8_t h[6] = { 5, 0x00, 3, (uint8_t)ref, (uint8_t)total, (uint8_t)seq };
			memcpy(sm, h, 6);
			smlen = 6;
			ref &= 0xFF;
		} else {
			uint8_t h[7] = { 6, 0x08, 4, (uint8_t)(ref >> 8), (uint8_t)ref, (uint8_t)total,
				(uint8_t)seq };
			memcpy(sm, h, 7);
			smlen = 7;
		}
		if (len > 254 - smlen)
			len = 254 - smlen;	/* short_message holds 254 octets at most */
		memcpy(sm + smlen, body, len);
		smlen += len;
		fuzz_feed(src, 0x40, dc, sm, smlen, NULL, 0, 0, 0, 0, 0);
	} else if (mode == 2) {
		if (len > 254)
			len = 254;
		fuzz_feed(src, 0, dc, body, len, NULL, 0, 1, ref, total, seq);
	} else
		fuzz_feed(src, 0, dc, NULL, 0, body, len, 1, ref, total, seq);

	if (total < 2 || seq < 1 || seq > total) {
		/* nonsense numbering: the session takes it whole */
		fuzz_expect_text(dc, body, len);
		return;
	}
	if (total > FUZZ_PARTS_MAX) {
		fuzz_expect(NULL, 0);	/* answered, dropped */
		fuzz_check_parts();
		return;
	}
	m = fuzz_key(src, ref, total, 1);
	if (m == NULL)
		abort();	/* more keys than the model has room for: inputs cannot get there */
	if (!m->have[seq]) {
		m->have[seq] = 1;
		memcpy(m->body[seq], body, len);
		m->len[seq] = (int)len;
	}
	int count = 0;
	size_t whole = 0;
	for (int s = 1; s <= total; s++)
		if (m->have[s]) {
			count++;
			whole += (size_t)m->len[s];
		}
	if (count < total || whole > FUZZ_LONG_MAX) {
		/* waiting; or too long to take, left for the expiry */
		fuzz_expect(NULL, 0);
		fuzz_check_parts();
		return;
	}
	uint8_t *all = malloc(whole + 1);
	size_t at = 0;
	for (int s = 1; s <= total; s++) {
		memcpy(all + at, m->body[s], (size_t)m->len[s]);
		at += (size_t)m->len[s];
	}
	m->used = 0;
	fuzz_expect_text(dc, all, whole);
	free(all);
	fuzz_check_parts();
}

static void
fuzz_dropped(void *arg, const char *source, int ref, int have, int total)
{
}

/* Everything stored expires (as the sweep does after reassembly_timeout_s). */
static void
fuzz_expire(void)
{
	int n;

	if (batch_join(rig->batch) != 0)
		abort();
	while ((n = db_sms_part_expire(rig->db, clock_now_ms() + 86400000LL, fuzz_dropped, NULL)) > 0)
		;
	if (n < 0)
		abort();
	for (int i = 0; i < FUZZ_KEYS; i++)
		keys[i].used = 0;
	fuzz_check_parts();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_level = -1;
	rig = rig_open();
	keys = xcalloc(FUZZ_KEYS, sizeof *keys);
	if (sqlite3_prepare_v2(rig->db->sql, "SELECT id, text FROM sms_in WHERE id > ?1 ORDER BY id",
	    -1, &st_new, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(rig->db->sql, "SELECT count(*) FROM sms_parts", -1, &st_parts,
	    NULL) != SQLITE_OK)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t codings[4] = { SMPP_DC_DEFAULT, SMPP_DC_UCS2, SMPP_DC_LATIN1, SMPP_DC_IA5 };
	struct smpp_session_callbacks cbs;
	struct smpp_session_config cfg;
	size_t at = 0;

	/* a clean slate: no parts, no messages, a fresh channel and session */
	rig_sql(rig, "DELETE FROM sms_out; DELETE FROM sms_parts; DELETE FROM sms_in;");
	for (int i = 0; i < FUZZ_KEYS; i++)
		keys[i].used = 0;
	last_row = 0;
	fed = answered = answered_ok = pending_answers = 0;
	memset(&cfg, 0, sizeof cfg);
	cfg.host = "127.0.0.1";
	cfg.port = 2775;
	cfg.system_id = "rechargd";
	cfg.password = "pw";
	cfg.source_addr = "5555";
	cfg.window = 8;
	cfg.response_timeout_s = 30;
	cfg.enquire_link_s = 30;
	cfg.dead_link_s = 90;
	rig->sms = sms_channel_new(rig->base, rig->batch, rig->engine, rig->cfg);
	sms_channel_engine_hooks(rig->sms, &rig->sms_hooks);
	sms_channel_session_callbacks(rig->sms, &cbs);
	sess = smpp_session_new_for_test(rig->base, &cfg, &cbs);
	sms_channel_attach(rig->sms, sess);

	while (at < size) {
		uint8_t op = data[at++];
		if ((op & 7) <= 4 && at + 5 <= size) {
			/* a part: flags ref total seq len body */
			uint8_t fl = data[at], rb = data[at + 1], tb = data[at + 2], sb = data[at + 3];
			size_t len = data[at + 4];
			int mode = (fl >> 1) & 3, ref, total, seq;
			at += 5;
			total = fl & 0x80 ? tb : 2 + tb % 4;
			seq = fl & 0x40 || total == 0 ? sb : 1 + sb % total;
			ref = mode == 0 ? rb : (op & 0x80 ? rb << 8 : 0) | rb;
			if (!(fl & 0x20))
				len %= 48;
			else if (mode == 3 && (op & 0x40))
				len *= 4;	/* a message_payload part may be long: past 4096 in all */
			if (len > size - at)
				len = size - at;
			fuzz_part(fl & 1, mode, codings[(fl >> 3) & 3], ref, total, seq, data + at, len);
			at += len;
		} else if ((op & 7) == 5)
			fuzz_commit();
		else if ((op & 7) == 6)
			fuzz_expire();
		else if (at + 2 <= size) {
			/* a whole message: flags len body */
			uint8_t fl = data[at];
			size_t len = data[at + 1] % 160;
			at += 2;
			if (len > size - at)
				len = size - at;
			fuzz_feed(fl & 1, 0, codings[(fl >> 3) & 3], data + at, len, NULL, 0, 0, 0, 0, 0);
			fuzz_expect_text(codings[(fl >> 3) & 3], data + at, len);
			at += len;
		} else
			break;
	}
	fuzz_commit();
	smpp_session_free(sess);
	sess = NULL;
	sms_channel_free(rig->sms);
	rig->sms = NULL;
	/* what the last commit's callbacks opened (replies, settlements) ends too */
	for (int i = 0; i < 8 && batch_is_open(rig->batch); i++)
		batch_commit(rig->batch);
	return 0;
}
