/*
 * smpp/: SMPP 3.4. Knows nothing of money, retailers or the database.
 *
 *  - pdu.c      framing and our own bounds-checked decoder for every inbound PDU
 *               (SMSC bytes never reach libsmpp34: it overflows a global trace buffer on
 *               valid input, see docs/design.md), and the encoder of our own PDUs, which
 *               uses libsmpp34's pack.
 *  - build.c    a raw PDU builder (any bytes, any TLVs) for the simulator and tests.
 *  - charset.c  GSM 03.38 (with the extension table), Latin-1, UCS-2/UTF-16 <-> UTF-8;
 *               splitting a long reply into parts.
 *  - session.c  the ESME session on libevent: connect, bind, enquire_link both ways,
 *               dead-link timeout, reconnect with backoff, window of submit_sm, answers
 *               to deliver_sm deferred until the caller has stored the message.
 */
#ifndef RECHARGD_SMPP_H
#define RECHARGD_SMPP_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

/* ---- constants ------------------------------------------------------------ */
#define SMPP_HEADER_LEN      16
#define SMPP_MAX_PDU_LEN     (64 * 1024)   /* larger command_length: the link is reset */

#define SMPP_RESP_BIT             0x80000000u
#define SMPP_GENERIC_NACK         0x80000000u
#define SMPP_BIND_RECEIVER        0x00000001u
#define SMPP_BIND_TRANSMITTER     0x00000002u
#define SMPP_QUERY_SM             0x00000003u
#define SMPP_SUBMIT_SM            0x00000004u
#define SMPP_DELIVER_SM           0x00000005u
#define SMPP_UNBIND               0x00000006u
#define SMPP_REPLACE_SM           0x00000007u
#define SMPP_CANCEL_SM            0x00000008u
#define SMPP_BIND_TRANSCEIVER     0x00000009u
#define SMPP_OUTBIND              0x0000000Bu
#define SMPP_ENQUIRE_LINK         0x00000015u
#define SMPP_SUBMIT_MULTI         0x00000021u
#define SMPP_ALERT_NOTIFICATION   0x00000102u
#define SMPP_DATA_SM              0x00000103u

#define ESME_ROK             0x00000000u
#define ESME_RINVMSGLEN      0x00000001u
#define ESME_RINVCMDLEN      0x00000002u
#define ESME_RINVCMDID       0x00000003u
#define ESME_RINVBNDSTS      0x00000004u
#define ESME_RALYBND         0x00000005u
#define ESME_RSYSERR         0x00000008u
#define ESME_RINVSRCADR      0x0000000Au
#define ESME_RINVDSTADR      0x0000000Bu
#define ESME_RBINDFAIL       0x0000000Du
#define ESME_RINVPASWD       0x0000000Eu
#define ESME_RINVSYSID       0x0000000Fu
#define ESME_RMSGQFUL        0x00000014u
#define ESME_RSUBMITFAIL     0x00000045u
#define ESME_RTHROTTLED      0x00000058u
#define ESME_RX_T_APPN       0x00000064u
#define ESME_RX_P_APPN       0x00000065u
#define ESME_RX_R_APPN       0x00000066u
#define ESME_RINVTLVSTREAM   0x000000C0u
/* added with pdu.c: the statuses our decoder answers with */
#define ESME_RINVMSGID       0x0000000Cu
#define ESME_RINVSERTYP      0x00000015u
#define ESME_RINVNUMDESTS    0x00000033u
#define ESME_RINVDLNAME      0x00000034u
#define ESME_RINVDESTFLAG    0x00000040u
#define ESME_RINVSYSTYP      0x00000053u
#define ESME_RINVSCHED       0x00000061u
#define ESME_RINVEXPIRY      0x00000062u
#define ESME_RINVPARLEN      0x000000C2u
#define ESME_RUNKNOWNERR     0x000000FFu

/* TLV tags we read or write */
#define SMPP_TLV_SAR_MSG_REF_NUM        0x020C
#define SMPP_TLV_SAR_TOTAL_SEGMENTS     0x020E
#define SMPP_TLV_SAR_SEGMENT_SEQNUM     0x020F
#define SMPP_TLV_MESSAGE_PAYLOAD        0x0424
#define SMPP_TLV_RECEIPTED_MESSAGE_ID   0x001E
#define SMPP_TLV_MESSAGE_STATE          0x0427

/* "ESME_RTHROTTLED" etc.; "0x0000045A" style (static buffer) for unknown ones. */
const char *smpp_status_name(uint32_t status);
/* "submit_sm" etc. */
const char *smpp_command_name(uint32_t command_id);

/* ---- framing and decoding (pdu.c) --------------------------------------------- */

/* Looks at the first bytes of a stream. Returns 1 and sets *pdu_len when a whole PDU
 * of *pdu_len bytes is available, 0 when more bytes are needed, -1 when the
 * command_length is impossible (< 16 or > SMPP_MAX_PDU_LEN): the link must be reset. */
int smpp_frame(const uint8_t *buf, size_t avail, uint32_t *pdu_len);

struct smpp_header {
	uint32_t length, command_id, status, sequence;
};

/* A decoded PDU. Strings are NUL-terminated copies; binary fields point into the
 * buffer passed to smpp_decode and stay valid only as long as it does. Only the fields
 * of the decoded command are meaningful; the rest are zero. */
struct smpp_pdu {
	struct smpp_header h;

	/* bind_* and bind_*_resp (system_id), outbind */
	char system_id[16];
	char password[9];
	char system_type[13];
	uint8_t interface_version;
	uint8_t addr_ton, addr_npi;
	char address_range[41];

	/* submit_sm, deliver_sm, data_sm */
	char service_type[6];
	uint8_t source_addr_ton, source_addr_npi;
	char source_addr[65];           /* 21 octets on the wire, 65 in alert_notification */
	uint8_t dest_addr_ton, dest_addr_npi;
	char destination_addr[21];
	uint8_t esm_class, protocol_id, priority_flag;
	char schedule_delivery_time[17];
	char validity_period[17];
	uint8_t registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id;
	uint8_t sm_length;
	const uint8_t *short_message;     /* sm_length bytes */

	/* optional parameters we understand (present flags tell which arrived) */
	const uint8_t *message_payload;   /* into the buffer */
	uint16_t message_payload_len;
	int has_message_payload;
	uint16_t sar_msg_ref_num; uint8_t sar_total_segments, sar_segment_seqnum;
	int has_sar;
	char receipted_message_id[65];
	int has_receipted_message_id;
	uint8_t message_state; int has_message_state;
	unsigned ntlv;                    /* optional parameters seen in all */
	unsigned ntlv_unknown;            /* of which tags we do not know (skipped) */

	/* *_resp with a message_id (submit_sm_resp, deliver_sm_resp, data_sm_resp); also
	 * query_sm, cancel_sm, replace_sm */
	char message_id[65];

	/* added with pdu.c, for the PDUs the header above did not cover */
	char final_date[17]; uint8_t error_code;  /* query_sm_resp (message_state above) */
	uint8_t number_of_dests;          /* submit_multi: the first SME destination is
	                                   * in dest_addr_ton/npi/destination_addr */
	uint8_t no_unsuccess;             /* submit_multi_resp */
	uint8_t esme_addr_ton, esme_addr_npi; char esme_addr[65];   /* alert_notification */
};

/* Decodes one whole PDU of len bytes (as framed by smpp_frame). Never reads outside
 * buf. Returns 0, or the SMPP status to answer with (ESME_RINVCMDLEN, ESME_RINVCMDID,
 * ESME_RINVMSGLEN, ESME_RINVTLVSTREAM, ...) when the body is malformed; out->h is filled
 * whenever len >= 16. A response PDU whose status is not ESME_ROK may be header-only.
 * Details (pdu.c): a body that ends early is ESME_RINVCMDLEN; a C-string with no NUL
 * within its SMPP width gets the field's status (ESME_RINVSYSID, ESME_RINVSRCADR,
 * ESME_RINVDSTADR, ESME_RINVMSGID ..., ESME_RINVMSGLEN for short_message); a TLV running
 * past the end is ESME_RINVTLVSTREAM; a known fixed-width TLV with another length is
 * ESME_RINVPARLEN; unknown TLVs are skipped and counted in ntlv_unknown. A response
 * with a non-ROK status is returned as 0 even if its body is short or malformed (the
 * status is what matters; fields not read stay zero). Header-only responses with ROK
 * are accepted too (message_id and system_id stay empty). */
uint32_t smpp_decode(const uint8_t *buf, size_t len, struct smpp_pdu *out);

/* Encodes one of our own PDUs with libsmpp34's pack, after checking every field fits
 * its SMPP width (so libsmpp34 never truncates or overflows). Supported command ids:
 * bind_transceiver/transmitter/receiver, unbind, unbind_resp, enquire_link,
 * enquire_link_resp, submit_sm (short_message up to 254 octets or message_payload up to
 * 1024 octets, UDH in short_message with esm_class 0x40), deliver_sm_resp,
 * generic_nack (header only). Uses the fields of pdu named for that command; pdu->h.length
 * is ignored. Returns the number of bytes written into out (cap bytes), or -1. */
int smpp_encode(const struct smpp_pdu *pdu, uint8_t *out, size_t cap);
/* Also encodable (added, for the simulator, the session and tests): bind_*_resp,
 * submit_sm_resp, data_sm_resp (message_id, no TLVs) and deliver_sm (same fields as
 * submit_sm). Widths checked: every C-string below its SMPP width, TON 0-6 and NPI in
 * libsmpp34's list, interface_version 0x34, sequence 1..0x7FFFFFFF, status in
 * libsmpp34's list. A 254-octet short_message is packed as 253 by libsmpp34 (its limit)
 * and the last octet spliced in by us. Big enough for any PDU we encode: */
#define SMPP_ENCODE_MAX 2048
/* For tests: bytes of libsmpp34's global 2048-byte trace buffer the last pack used
 * (its overflow is the bug we must stay clear of; see docs/design.md). */
size_t smpp_encode_trace_used(void);

/* ---- raw builder (build.c): for the simulator and tests, any bytes at all -------- */
struct smpp_build {
	uint8_t *buf;       /* caller's buffer */
	size_t cap, len;
	int overflow;       /* set when a put did not fit; the result is unusable */
};
void smpp_build_start(struct smpp_build *b, uint8_t *buf, size_t cap, uint32_t command_id,
    uint32_t status, uint32_t sequence);
void smpp_build_u8(struct smpp_build *b, uint8_t v);
void smpp_build_u16(struct smpp_build *b, uint16_t v);
void smpp_build_u32(struct smpp_build *b, uint32_t v);
void smpp_build_cstr(struct smpp_build *b, const char *s);          /* with its NUL */
void smpp_build_bytes(struct smpp_build *b, const void *p, size_t n);
void smpp_build_tlv(struct smpp_build *b, uint16_t tag, const void *p, uint16_t n);
/* Writes command_length; returns total length, or -1 on overflow. */
int smpp_build_finish(struct smpp_build *b);

/* ---- charsets (charset.c) ------------------------------------------------------- */
#define SMPP_DC_DEFAULT 0x00   /* GSM 03.38, one septet per octet (unpacked) */
#define SMPP_DC_IA5     0x01   /* ASCII */
#define SMPP_DC_LATIN1  0x03
#define SMPP_DC_UCS2    0x08

/* Decodes an SMS body to UTF-8 (NUL-terminated) in out (cap bytes). UCS-2 is read as
 * UTF-16BE (surrogate pairs joined; a lone surrogate becomes U+FFFD). Other codings are
 * read as Latin-1. Returns the UTF-8 length, or -1 when out is too small. */
int smpp_text_decode(uint8_t data_coding, const uint8_t *in, size_t len, char *out, size_t cap);

/* Encodes UTF-8 text for sending: GSM 03.38 unpacked (data_coding 0) when every
 * character fits the default alphabet or its extension table, else UTF-16BE
 * (data_coding 8). Sets *data_coding. Returns bytes written, or -1 if cap is too small
 * or the text is not valid UTF-8. */
int smpp_text_encode(const char *utf8, uint8_t *out, size_t cap, uint8_t *data_coding);

/* Splits an encoded text (as smpp_text_encode wrote it) into SMS parts. When it fits one
 * SMS (160 septets for data_coding 0, where an escape pair counts two; 140 octets
 * otherwise) there is one part; else each part holds at most 153 septets (data_coding 0)
 * or 134 octets (others), leaving room for a 6-octet UDH with an 8-bit reference. A GSM
 * escape pair (0x1B x) and a UTF-16 surrogate pair are never split, and UCS-2 parts are
 * of even length. Part i is text[off[i] .. off[i+1]); off must hold max_parts + 1
 * entries. Returns the number of parts (0 for empty text), or -1 when more than
 * max_parts (at most 255) would be needed. */
int smpp_text_split(uint8_t data_coding, const uint8_t *text, size_t len, size_t *off,
    int max_parts);
#define SMPP_UDH_CONCAT_LEN 6   /* 05 00 03 ref total seq */

/* ---- the ESME session (session.c) ----------------------------------------------- */
struct smpp_session;

struct smpp_session_config {
	const char *host; int port;
	const char *system_id, *password, *system_type, *address_range;
	int bind_tx_rx;                 /* 0 transceiver; 1 transmitter + receiver pair */
	const char *source_addr; uint8_t source_ton, source_npi;
	int enquire_link_s, dead_link_s, reconnect_max_s;
	int window, response_timeout_s, submit_tps;
	int request_dlr, long_sms_payload;
};

/* An inbound short message, decoded; valid only during the callback. */
struct smpp_mo {
	const char *source_addr; uint8_t source_ton, source_npi;
	const char *dest_addr;
	uint8_t data_coding, esm_class;
	const char *text; size_t text_len;   /* UTF-8, NUL-terminated; NULL for a part */
	/* One part of a long message (UDH 8- or 16-bit reference, or SAR TLVs): its body
	 * without the UDH, still encoded in data_coding. The caller stores the parts and
	 * decodes the whole with smpp_text_decode once every part is in, so that an answer
	 * ESME_ROK to any part means that part is stored. part_total is 0 for a whole one. */
	uint16_t part_ref; uint8_t part_total, part_seq;
	const uint8_t *part; size_t part_len;
};

/* The answer to a deliver_sm is deferred until the message is stored: mo_cb returns
 * SMPP_MO_DEFER and later calls smpp_session_mo_answer(ticket, status) exactly once, or
 * returns a status to answer at once (ESME_RX_T_APPN when it cannot take the message).
 * A ticket from a connection that has since dropped is ignored (the SMSC redelivers). */
#define SMPP_MO_DEFER 0xFFFFFFFFu
/* Status passed to submit_cb when the link dropped before the response came. */
#define SMPP_STATUS_LINK_LOST 0xFFFFFFFEu

struct smpp_session_callbacks {
	uint32_t (*mo_cb)(void *arg, const struct smpp_mo *mo, uint64_t ticket);
	/* A submitted message is done: every part answered ESME_ROK (status ESME_ROK,
	 * message_id of the last part), or the first failing status. */
	void (*submit_cb)(void *arg, uint64_t ref, uint32_t status, const char *message_id);
	/* Bound (1) or unbound (0); when bound, the caller resubmits what is outstanding. */
	void (*state_cb)(void *arg, int bound);
	/* A delivery receipt (esm_class 0x04); never passed to mo_cb. */
	void (*dlr_cb)(void *arg, const char *message_id, const char *stat);
	void *arg;
};

/* Creates the session and starts connecting. Strings in cfg are copied. */
struct smpp_session *smpp_session_new(struct event_base *base, const struct smpp_session_config *cfg,
    const struct smpp_session_callbacks *cbs);
/* Sends unbind, waits for outstanding responses up to a few seconds, then calls done
 * (may be synchronous when not connected). */
void smpp_session_stop(struct smpp_session *s, void (*done)(void *), void *arg);
void smpp_session_free(struct smpp_session *s);    /* NULL ok */
/* 1 when bound and a submit would fit the window now. */
int smpp_session_can_submit(const struct smpp_session *s);
int smpp_session_is_bound(const struct smpp_session *s);
/* Queues one reply (split into parts when long); ref comes back in submit_cb. 0 or -1
 * (not bound, window full, text not encodable). */
int smpp_session_submit(struct smpp_session *s, uint64_t ref, const char *dest,
    uint8_t dest_ton, uint8_t dest_npi, const char *utf8_text);
/* 0 sent, -1 not: the MO's connection is gone (the SMSC will deliver it again). */
int smpp_session_mo_answer(struct smpp_session *s, uint64_t ticket, uint32_t status);

/* Notes on the above (session.c):
 *  - callbacks may call smpp_session_submit, _mo_answer, _can_submit and _is_bound, but
 *    not smpp_session_free; smpp_session_stop's done may free the session.
 *  - on a link drop every accepted ref gets submit_cb(SMPP_STATUS_LINK_LOST), then
 *    state_cb(0); ESME_RTHROTTLED / ESME_RMSGQFUL pause submits (1 s doubling to 30 s)
 *    and resend the same part; a submit_sm unanswered after response_timeout_s drops the
 *    link. At most cfg->window refs are accepted at once (each may have up to 16 parts);
 *    at most cfg->window submit_sm are unacknowledged.
 *  - a ticket also marks data_sm (bit 31 of its low half), answered with data_sm_resp.
 *  - parts of long MOs (UDH IEI 0 or 8, or SAR TLVs) go to mo_cb one by one, each with
 *    its own ticket, still encoded (struct smpp_mo part fields): the caller stores
 *    each before it is answered, and reassembles (channels/sms.c).
 *  - bind_tx_rx = 1: conns 0 (transmitter, submits) and 1 (receiver); if either drops,
 *    both are closed and reconnected. */

/* Test seams (unit tests and the fuzzer): a session bound at once on no socket (both
 * connections when bind_tx_rx); what it writes is kept in memory and no reconnect is
 * scheduled after a link drop. */
struct smpp_session *smpp_session_new_for_test(struct event_base *base,
    const struct smpp_session_config *cfg, const struct smpp_session_callbacks *cbs);
/* Bytes as if read from the SMSC on connection conn (0, or 1 for the receiver of a
 * pair). Returns 0, or -1 when the link is (or went) down. */
int smpp_session_feed_for_test(struct smpp_session *s, int conn, const void *bytes, size_t len);
/* Moves up to cap bytes the session wrote on conn into out; returns how many. */
size_t smpp_session_sent_for_test(struct smpp_session *s, int conn, uint8_t *out, size_t cap);
/* Runs the deadline checks (enquire_link, dead link, response timeouts) now. */
void smpp_session_tick_for_test(struct smpp_session *s);

#endif
