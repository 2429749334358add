/* tests/fuzz/fuzz_pdu.c: libFuzzer over the whole inbound SMPP path. The input is a
 * byte stream from the SMSC:
 *   1. framed and decoded PDU by PDU (smpp_frame, smpp_decode), every decoded field
 *      checked to lie inside the input;
 *   2. the text of every deliver_sm/data_sm decoded under its own data_coding and under
 *      each coding we know, then encoded back (smpp_text_encode) and split;
 *   3. the same bytes fed to a bound test-mode session (smpp_session_feed_for_test),
 *      which dispatches them exactly as it would from a socket, answering MOs at once,
 *      later or never, and submitting a reply for each so responses find a window.
 * Built with clang -fsanitize=fuzzer,address,undefined (mk/fuzz.mk). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/common.h"
#include "smpp/smpp.h"

static struct event_base *fuzz_base;
static struct smpp_session *fuzz_session;
static uint64_t fuzz_tickets[8];
static int fuzz_nticket, fuzz_nmo;
static char fuzz_out[3 * SMPP_MAX_PDU_LEN + 1];
static uint8_t fuzz_enc[4 * SMPP_MAX_PDU_LEN];

/* Decoded text must be NUL-terminated UTF-8 of the length reported; re-encoding it
 * must work whenever it is short enough, and splitting what comes out must too. */
static void
fuzz_text(uint8_t dc, const uint8_t *p, size_t len)
{
	size_t off[256];
	uint8_t got;
	int n, e;

	n = smpp_text_decode(dc, p, len, fuzz_out, sizeof fuzz_out);
	if (n < 0)
		abort();
	if (strlen(fuzz_out) > (size_t)n)
		abort();
	e = smpp_text_encode(fuzz_out, fuzz_enc, sizeof fuzz_enc, &got);
	if (e < 0 && strlen(fuzz_out) == (size_t)n)
		abort();	/* our own decoder's output is valid UTF-8 */
	if (e >= 0)
		(void)smpp_text_split(got, fuzz_enc, (size_t)e, off, 255);
}

static void
fuzz_inside(const uint8_t *base, size_t len, const uint8_t *p, size_t n)
{
	if (p == NULL)
		return;
	if (p < base || p + n > base + len)
		abort();
}

static uint32_t
fuzz_mo_cb(void *arg, const struct smpp_mo *mo, uint64_t ticket)
{
	fuzz_nmo++;
	if (mo->part_total > 0) {
		/* a part: still encoded, decoded whole later by the caller; touch every byte */
		if (mo->text != NULL || mo->part_seq < 1 || mo->part_seq > mo->part_total)
			abort();
		fuzz_text(mo->data_coding, mo->part, mo->part_len);
	} else if (strlen(mo->text) > mo->text_len)
		abort();
	/* a reply, so submit_sm_resp in the input can match a window slot */
	(void)smpp_session_submit(fuzz_session, (uint64_t)fuzz_nmo, mo->source_addr,
	    mo->source_ton, mo->source_npi, mo->text != NULL ? mo->text : "part");
	switch (fuzz_nmo % 3) {
	case 0:
		return ESME_RX_T_APPN;
	case 1:
		if (fuzz_nticket < 8)
			fuzz_tickets[fuzz_nticket++] = ticket;
		return SMPP_MO_DEFER;
	default:
		smpp_session_mo_answer(fuzz_session, ticket, ESME_ROK);	/* from inside */
		return SMPP_MO_DEFER;
	}
}

static void
fuzz_submit_cb(void *arg, uint64_t ref, uint32_t status, const char *message_id)
{
	if (status == ESME_ROK && message_id == NULL)
		abort();
}

static void
fuzz_dlr_cb(void *arg, const char *message_id, const char *stat)
{
	if (strlen(message_id) > 64 || strlen(stat) > 15)
		abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_level = -1;		/* silent: the fuzzer's own output is what matters */
	fuzz_base = event_base_new();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t codings[] = { 0, 1, 3, 8, 4 };
	struct smpp_session_config cfg;
	struct smpp_session_callbacks cbs;
	struct smpp_pdu pdu;
	uint8_t sink[4096];
	size_t at = 0, i;
	uint32_t n;
	int r;

	/* 1 and 2: the decoder and the charsets */
	while (at < size) {
		r = smpp_frame(data + at, size - at, &n);
		if (r <= 0)
			break;
		/* a heap copy of exactly the PDU: ASan sees any read past it */
		uint8_t *copy = malloc(n);
		memcpy(copy, data + at, n);
		(void)smpp_decode(copy, n, &pdu);
		if (pdu.h.length != n && n >= SMPP_HEADER_LEN)
			abort();
		fuzz_inside(copy, n, pdu.short_message, pdu.sm_length);
		fuzz_inside(copy, n, pdu.message_payload, pdu.message_payload_len);
		if (pdu.short_message != NULL) {
			fuzz_text(pdu.data_coding, pdu.short_message, pdu.sm_length);
			for (i = 0; i < sizeof codings; i++)
				fuzz_text(codings[i], pdu.short_message, pdu.sm_length);
		}
		if (pdu.message_payload != NULL)
			fuzz_text(pdu.data_coding, pdu.message_payload, pdu.message_payload_len);
		free(copy);
		at += n;
	}
	/* raw bytes as text too */
	fuzz_text(size > 0 ? data[0] & 0x0F : 0, data, size > 512 ? 512 : size);

	/* 3: the session's dispatch */
	memset(&cfg, 0, sizeof cfg);
	cfg.host = "127.0.0.1";
	cfg.port = 2775;
	cfg.system_id = "rechargd";
	cfg.password = "pw";
	cfg.source_addr = "RECHRG";
	cfg.source_ton = 5;
	cfg.window = 4;
	cfg.response_timeout_s = 30;
	cfg.enquire_link_s = 30;
	cfg.dead_link_s = 90;
	cfg.bind_tx_rx = size > 0 && (data[size - 1] & 1);
	memset(&cbs, 0, sizeof cbs);
	cbs.mo_cb = fuzz_mo_cb;
	cbs.submit_cb = fuzz_submit_cb;
	cbs.dlr_cb = fuzz_dlr_cb;
	fuzz_nticket = 0;
	fuzz_nmo = 0;
	fuzz_session = smpp_session_new_for_test(fuzz_base, &cfg, &cbs);
	/* in two pieces, so split reads are exercised */
	if (smpp_session_feed_for_test(fuzz_session, cfg.bind_tx_rx, data, size / 2) == 0)
		(void)smpp_session_feed_for_test(fuzz_session, cfg.bind_tx_rx, data + size / 2,
		    size - size / 2);
	for (r = 0; r < fuzz_nticket; r++)
		smpp_session_mo_answer(fuzz_session, fuzz_tickets[r], ESME_ROK);
	smpp_session_tick_for_test(fuzz_session);
	while (smpp_session_sent_for_test(fuzz_session, 0, sink, sizeof sink) > 0)
		;
	smpp_session_free(fuzz_session);
	fuzz_session = NULL;
	return 0;
}
