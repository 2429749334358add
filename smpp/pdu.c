/* smpp/pdu.c: framing, our own bounds-checked decoder of every PDU, and the encoder of
 * our own PDUs on libsmpp34's pack.
 *
 * SMSC bytes never reach libsmpp34: its unpack (and pack) append a trace of every field
 * to the global smpp34_strerror[2048] without clamping, so a valid deliver_sm with some
 * 29 empty TLVs writes past it. Here every read is checked against the PDU length and
 * every C-string against its SMPP width. Encoding our own PDUs is safe because we choose
 * the fields: every width is checked before pack (it truncates silently), and the
 * trace budget of the largest PDU we encode is proved by tests linked against an ASan
 * build of libsmpp34 (tests/libsmpp34-asan.sh). */
#include <stdio.h>
#include <string.h>

#include <stdint.h>
#include <smpp34.h>
#include <smpp34_structs.h>
#include <smpp34_params.h>
/* smpp.h defines the same statuses (unsigned): its definitions win here. */
#undef ESME_ROK
#undef ESME_RINVMSGLEN
#undef ESME_RINVCMDLEN
#undef ESME_RINVCMDID
#undef ESME_RINVBNDSTS
#undef ESME_RALYBND
#undef ESME_RSYSERR
#undef ESME_RINVSRCADR
#undef ESME_RINVDSTADR
#undef ESME_RBINDFAIL
#undef ESME_RINVPASWD
#undef ESME_RINVSYSID
#undef ESME_RMSGQFUL
#undef ESME_RSUBMITFAIL
#undef ESME_RTHROTTLED
#undef ESME_RX_T_APPN
#undef ESME_RX_P_APPN
#undef ESME_RX_R_APPN
#undef ESME_RINVMSGID
#undef ESME_RINVSERTYP
#undef ESME_RINVNUMDESTS
#undef ESME_RINVDLNAME
#undef ESME_RINVDESTFLAG
#undef ESME_RINVSYSTYP
#undef ESME_RINVSCHED
#undef ESME_RINVEXPIRY
#undef ESME_RINVPARLEN
#undef ESME_RUNKNOWNERR

#include "common/common.h"
#include "smpp/smpp.h"

/* ---- names ------------------------------------------------------------------ */

/* A number with its name: statuses and command ids share one lookup. */
struct smpp_name {
	uint32_t code;
	const char *name;
};

static const struct smpp_name smpp_status_names[] = {
	{ 0x00000000, "ESME_ROK" },
	{ 0x00000001, "ESME_RINVMSGLEN" },
	{ 0x00000002, "ESME_RINVCMDLEN" },
	{ 0x00000003, "ESME_RINVCMDID" },
	{ 0x00000004, "ESME_RINVBNDSTS" },
	{ 0x00000005, "ESME_RALYBND" },
	{ 0x00000006, "ESME_RINVPRTFLG" },
	{ 0x00000007, "ESME_RINVREGDLVFLG" },
	{ 0x00000008, "ESME_RSYSERR" },
	{ 0x0000000A, "ESME_RINVSRCADR" },
	{ 0x0000000B, "ESME_RINVDSTADR" },
	{ 0x0000000C, "ESME_RINVMSGID" },
	{ 0x0000000D, "ESME_RBINDFAIL" },
	{ 0x0000000E, "ESME_RINVPASWD" },
	{ 0x0000000F, "ESME_RINVSYSID" },
	{ 0x00000011, "ESME_RCANCELFAIL" },
	{ 0x00000013, "ESME_RREPLACEFAIL" },
	{ 0x00000014, "ESME_RMSGQFUL" },
	{ 0x00000015, "ESME_RINVSERTYP" },
	{ 0x00000033, "ESME_RINVNUMDESTS" },
	{ 0x00000034, "ESME_RINVDLNAME" },
	{ 0x00000040, "ESME_RINVDESTFLAG" },
	{ 0x00000042, "ESME_RINVSUBREP" },
	{ 0x00000043, "ESME_RINVESMCLASS" },
	{ 0x00000044, "ESME_RCNTSUBDL" },
	{ 0x00000045, "ESME_RSUBMITFAIL" },
	{ 0x00000048, "ESME_RINVSRCTON" },
	{ 0x00000049, "ESME_RINVSRCNPI" },
	{ 0x00000050, "ESME_RINVDSTTON" },
	{ 0x00000051, "ESME_RINVDSTNPI" },
	{ 0x00000053, "ESME_RINVSYSTYP" },
	{ 0x00000054, "ESME_RINVREPFLAG" },
	{ 0x00000055, "ESME_RINVNUMMSGS" },
	{ 0x00000058, "ESME_RTHROTTLED" },
	{ 0x00000061, "ESME_RINVSCHED" },
	{ 0x00000062, "ESME_RINVEXPIRY" },
	{ 0x00000063, "ESME_RINVDFTMSGID" },
	{ 0x00000064, "ESME_RX_T_APPN" },
	{ 0x00000065, "ESME_RX_P_APPN" },
	{ 0x00000066, "ESME_RX_R_APPN" },
	{ 0x00000067, "ESME_RQUERYFAIL" },
	{ 0x000000C0, "ESME_RINVTLVSTREAM" },
	{ 0x000000C1, "ESME_RTLVNOTALLWD" },
	{ 0x000000C2, "ESME_RINVTLVLEN" },
	{ 0x000000C3, "ESME_RMISSINGTLV" },
	{ 0x000000C4, "ESME_RINVTLVVAL" },
	{ 0x000000FE, "ESME_RDELIVERYFAILURE" },
	{ 0x000000FF, "ESME_RUNKNOWNERR" },
};

static const struct smpp_name smpp_command_names[] = {
	{ 0x80000000, "generic_nack" },
	{ 0x00000001, "bind_receiver" },
	{ 0x80000001, "bind_receiver_resp" },
	{ 0x00000002, "bind_transmitter" },
	{ 0x80000002, "bind_transmitter_resp" },
	{ 0x00000003, "query_sm" },
	{ 0x80000003, "query_sm_resp" },
	{ 0x00000004, "submit_sm" },
	{ 0x80000004, "submit_sm_resp" },
	{ 0x00000005, "deliver_sm" },
	{ 0x80000005, "deliver_sm_resp" },
	{ 0x00000006, "unbind" },
	{ 0x80000006, "unbind_resp" },
	{ 0x00000007, "replace_sm" },
	{ 0x80000007, "replace_sm_resp" },
	{ 0x00000008, "cancel_sm" },
	{ 0x80000008, "cancel_sm_resp" },
	{ 0x00000009, "bind_transceiver" },
	{ 0x80000009, "bind_transceiver_resp" },
	{ 0x0000000B, "outbind" },
	{ 0x00000015, "enquire_link" },
	{ 0x80000015, "enquire_link_resp" },
	{ 0x00000021, "submit_multi" },
	{ 0x80000021, "submit_multi_resp" },
	{ 0x00000102, "alert_notification" },
	{ 0x00000103, "data_sm" },
	{ 0x80000103, "data_sm_resp" },
};

#define nitems(a) (sizeof (a) / sizeof (a)[0])

/* The name of code in table, or its hex in buf so vendor codes stay readable. */
static const char *
smpp_name_find(const struct smpp_name *table, size_t n, uint32_t code, char *buf, size_t cap)
{
	for (size_t i = 0; i < n; i++)
		if (table[i].code == code)
			return table[i].name;
	snprintf(buf, cap, "0x%08X", code);
	return buf;
}

/* Names for logs. */
const char *
smpp_status_name(uint32_t status)
{
	static char buf[16];

	return smpp_name_find(smpp_status_names, nitems(smpp_status_names), status, buf, sizeof buf);
}

const char *
smpp_command_name(uint32_t command_id)
{
	static char buf[16];

	return smpp_name_find(smpp_command_names, nitems(smpp_command_names), command_id, buf, sizeof buf);
}

/* ---- framing -------------------------------------------------------------------- */

/* SMPP is big-endian on the wire. */
static uint32_t
smpp_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The stream is ours to frame: libsmpp34 knows nothing of it. */
int
smpp_frame(const uint8_t *buf, size_t avail, uint32_t *pdu_len)
{
	uint32_t n;

	if (avail < 4)
		return 0;
	n = smpp_get_u32(buf);
	if (n < SMPP_HEADER_LEN || n > SMPP_MAX_PDU_LEN)
		return -1;
	if (avail < n)
		return 0;
	*pdu_len = n;
	return 1;
}

/* ---- the decoder ---------------------------------------------------------------- */

/* A cursor over one PDU; the first error sticks and makes every later read a no-op. */
struct smpp_reader {
	const uint8_t *p;
	size_t len, off;
	uint32_t err;
};

/* Bytes of the PDU not yet read. */
static size_t
smpp_reader_left(const struct smpp_reader *r)
{
	return r->len - r->off;
}

/* Integers: a body that ends early is ESME_RINVCMDLEN. */
static uint8_t
smpp_reader_u8(struct smpp_reader *r)
{
	if (r->err)
		return 0;
	if (smpp_reader_left(r) < 1) {
		r->err = ESME_RINVCMDLEN;
		return 0;
	}
	return r->p[r->off++];
}

/* Big-endian 16 bits, same rule. */
static uint16_t
smpp_reader_u16(struct smpp_reader *r)
{
	uint16_t v;

	if (r->err)
		return 0;
	if (smpp_reader_left(r) < 2) {
		r->err = ESME_RINVCMDLEN;
		return 0;
	}
	v = (uint16_t)(r->p[r->off] << 8 | r->p[r->off + 1]);
	r->off += 2;
	return v;
}

/* Big-endian 32 bits, same rule. */
static uint32_t
smpp_reader_u32(struct smpp_reader *r)
{
	uint32_t v;

	if (r->err)
		return 0;
	if (smpp_reader_left(r) < 4) {
		r->err = ESME_RINVCMDLEN;
		return 0;
	}
	v = smpp_get_u32(r->p + r->off);
	r->off += 4;
	return v;
}

/*
 * A C-Octet String of at most width bytes with its NUL, copied into dst (cap >= width).
 * No NUL within width: the field is too long (status bad). No NUL before the end of
 * the PDU (and fewer than width bytes left): the body is short (ESME_RINVCMDLEN).
 */
static void
smpp_reader_cstr(struct smpp_reader *r, char *dst, size_t width, uint32_t bad)
{
	size_t left, scan;
	const uint8_t *nul;

	dst[0] = '\0';
	if (r->err)
		return;
	left = smpp_reader_left(r);
	scan = left < width ? left : width;
	nul = memchr(r->p + r->off, 0, scan);
	if (nul == NULL) {
		r->err = left < width ? ESME_RINVCMDLEN : bad;
		return;
	}
	scan = (size_t)(nul - (r->p + r->off));
	memcpy(dst, r->p + r->off, scan);
	dst[scan] = '\0';
	r->off += scan + 1;
}

/* Binary bytes left in place: the pointer stays valid as long as the caller's buffer. */
static const uint8_t *
smpp_reader_bytes(struct smpp_reader *r, size_t n, uint32_t bad)
{
	const uint8_t *p;

	if (r->err)
		return NULL;
	if (smpp_reader_left(r) < n) {
		r->err = bad;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

/* Widths of the TLVs SMPP 3.4 (section 5.3.2) defines: fixed ones must match exactly,
 * variable ones (fixed == 0) must not exceed max. */
static const struct {
	uint16_t tag;
	uint16_t fixed, max;
} smpp_tlv_widths[] = {
	{ 0x0005, 1, 1 },	/* dest_addr_subunit */
	{ 0x0006, 1, 1 },	/* dest_network_type */
	{ 0x0007, 1, 1 },	/* dest_bearer_type */
	{ 0x0008, 2, 2 },	/* dest_telematics_id */
	{ 0x000D, 1, 1 },	/* source_addr_subunit */
	{ 0x000E, 1, 1 },	/* source_network_type */
	{ 0x000F, 1, 1 },	/* source_bearer_type */
	{ 0x0010, 1, 1 },	/* source_telematics_id */
	{ 0x0017, 4, 4 },	/* qos_time_to_live */
	{ 0x0019, 1, 1 },	/* payload_type */
	{ 0x001D, 0, 256 },	/* additional_status_info_text */
	{ 0x001E, 0, 65 },	/* receipted_message_id */
	{ 0x0030, 1, 1 },	/* ms_msg_wait_facilities */
	{ 0x0201, 1, 1 },	/* privacy_indicator */
	{ 0x0202, 0, 23 },	/* source_subaddress */
	{ 0x0203, 0, 23 },	/* dest_subaddress */
	{ 0x0204, 2, 2 },	/* user_message_reference */
	{ 0x0205, 1, 1 },	/* user_response_code */
	{ 0x020A, 2, 2 },	/* source_port */
	{ 0x020B, 2, 2 },	/* destination_port */
	{ 0x020C, 2, 2 },	/* sar_msg_ref_num */
	{ 0x020D, 1, 1 },	/* language_indicator */
	{ 0x020E, 1, 1 },	/* sar_total_segments */
	{ 0x020F, 1, 1 },	/* sar_segment_seqnum */
	{ 0x0210, 1, 1 },	/* sc_interface_version */
	{ 0x0302, 1, 1 },	/* callback_num_pres_ind */
	{ 0x0303, 0, 65 },	/* callback_num_atag */
	{ 0x0304, 1, 1 },	/* number_of_messages */
	{ 0x0381, 0, 19 },	/* callback_num */
	{ 0x0420, 1, 1 },	/* dpf_result */
	{ 0x0421, 1, 1 },	/* set_dpf */
	{ 0x0422, 1, 1 },	/* ms_availability_status */
	{ 0x0423, 3, 3 },	/* network_error_code */
	{ 0x0424, 0, 65535 },	/* message_payload */
	{ 0x0425, 1, 1 },	/* delivery_failure_reason */
	{ 0x0426, 1, 1 },	/* more_messages_to_send */
	{ 0x0427, 1, 1 },	/* message_state */
	{ 0x0501, 1, 1 },	/* ussd_service_op */
	{ 0x1201, 1, 1 },	/* display_time */
	{ 0x1203, 2, 2 },	/* sms_signal */
	{ 0x1204, 1, 1 },	/* ms_validity */
	{ 0x130C, 0, 0 },	/* alert_on_message_delivery: no value */
	{ 0x1380, 1, 1 },	/* its_reply_type */
	{ 0x1383, 2, 2 },	/* its_session_info */
};

/* -1 for a tag we do not know, else 0 when n is a valid length for it, 1 when not. */
static int
smpp_tlv_check_width(uint16_t tag, uint16_t n)
{
	size_t i;

	for (i = 0; i < nitems(smpp_tlv_widths); i++) {
		if (smpp_tlv_widths[i].tag != tag)
			continue;
		if (smpp_tlv_widths[i].fixed != 0)
			return n != smpp_tlv_widths[i].fixed;
		return n > smpp_tlv_widths[i].max;
	}
	return -1;
}

/* Walks the optional parameters to the end of the PDU, keeping the ones we use. */
static void
smpp_reader_tlvs(struct smpp_reader *r, struct smpp_pdu *out)
{
	unsigned sar = 0;
	uint16_t tag, n;
	const uint8_t *v;
	size_t k;
	int w;

	while (!r->err && smpp_reader_left(r) > 0) {
		if (smpp_reader_left(r) < 4) {
			r->err = ESME_RINVTLVSTREAM;
			return;
		}
		tag = smpp_reader_u16(r);
		n = smpp_reader_u16(r);
		v = smpp_reader_bytes(r, n, ESME_RINVTLVSTREAM);
		if (v == NULL)
			return;
		out->ntlv++;
		w = smpp_tlv_check_width(tag, n);
		if (w < 0) {
			out->ntlv_unknown++;
			continue;
		}
		if (w > 0) {
			r->err = ESME_RINVPARLEN;
			return;
		}
		switch (tag) {
		case SMPP_TLV_MESSAGE_PAYLOAD:
			out->message_payload = v;
			out->message_payload_len = n;
			out->has_message_payload = 1;
			break;
		case SMPP_TLV_SAR_MSG_REF_NUM:
			out->sar_msg_ref_num = (uint16_t)(v[0] << 8 | v[1]);
			sar |= 1;
			break;
		case SMPP_TLV_SAR_TOTAL_SEGMENTS:
			out->sar_total_segments = v[0];
			sar |= 2;
			break;
		case SMPP_TLV_SAR_SEGMENT_SEQNUM:
			out->sar_segment_seqnum = v[0];
			sar |= 4;
			break;
		case SMPP_TLV_RECEIPTED_MESSAGE_ID:
			/* a C-string, but some SMSCs leave out the NUL: take up to the first one */
			for (k = 0; k < n && v[k] != 0; k++)
				;
			if (k >= sizeof out->receipted_message_id) {
				r->err = ESME_RINVPARLEN;
				return;
			}
			memcpy(out->receipted_message_id, v, k);
			out->receipted_message_id[k] = '\0';
			out->has_receipted_message_id = 1;
			break;
		case SMPP_TLV_MESSAGE_STATE:
			out->message_state = v[0];
			out->has_message_state = 1;
			break;
		}
	}
	out->has_sar = (sar == 7);
}

/* short_message with its length; 255 is not a valid sm_length. */
static void
smpp_reader_short_message(struct smpp_reader *r, struct smpp_pdu *out)
{
	out->sm_length = smpp_reader_u8(r);
	if (!r->err && out->sm_length > 254)
		r->err = ESME_RINVMSGLEN;
	out->short_message = smpp_reader_bytes(r, out->sm_length, ESME_RINVMSGLEN);
}

/* From esm_class to the TLVs: the part submit_sm, deliver_sm and submit_multi share. */
static void
smpp_decode_sm_tail(struct smpp_reader *r, struct smpp_pdu *out)
{
	out->esm_class = smpp_reader_u8(r);
	out->protocol_id = smpp_reader_u8(r);
	out->priority_flag = smpp_reader_u8(r);
	smpp_reader_cstr(r, out->schedule_delivery_time, 17, ESME_RINVSCHED);
	smpp_reader_cstr(r, out->validity_period, 17, ESME_RINVEXPIRY);
	out->registered_delivery = smpp_reader_u8(r);
	out->replace_if_present_flag = smpp_reader_u8(r);
	out->data_coding = smpp_reader_u8(r);
	out->sm_default_msg_id = smpp_reader_u8(r);
	smpp_reader_short_message(r, out);
	smpp_reader_tlvs(r, out);
}

/* submit_sm and deliver_sm share their body (SMPP 3.4 4.4.1, 4.6.1). */
static void
smpp_decode_sm(struct smpp_reader *r, struct smpp_pdu *out)
{
	smpp_reader_cstr(r, out->service_type, 6, ESME_RINVSERTYP);
	out->source_addr_ton = smpp_reader_u8(r);
	out->source_addr_npi = smpp_reader_u8(r);
	smpp_reader_cstr(r, out->source_addr, 21, ESME_RINVSRCADR);
	out->dest_addr_ton = smpp_reader_u8(r);
	out->dest_addr_npi = smpp_reader_u8(r);
	smpp_reader_cstr(r, out->destination_addr, 21, ESME_RINVDSTADR);
	smpp_decode_sm_tail(r, out);
}

/* submit_multi: the destination list is walked and only the first SME kept. */
static void
smpp_decode_submit_multi(struct smpp_reader *r, struct smpp_pdu *out)
{
	char scratch[21];
	uint8_t flag, ton, npi;
	unsigned i;

	smpp_reader_cstr(r, out->service_type, 6, ESME_RINVSERTYP);
	out->source_addr_ton = smpp_reader_u8(r);
	out->source_addr_npi = smpp_reader_u8(r);
	smpp_reader_cstr(r, out->source_addr, 21, ESME_RINVSRCADR);
	out->number_of_dests = smpp_reader_u8(r);
	if (!r->err && out->number_of_dests == 0)
		r->err = ESME_RINVNUMDESTS;
	for (i = 0; !r->err && i < out->number_of_dests; i++) {
		flag = smpp_reader_u8(r);
		if (flag == 1) {
			ton = smpp_reader_u8(r);
			npi = smpp_reader_u8(r);
			smpp_reader_cstr(r, scratch, sizeof scratch, ESME_RINVDSTADR);
			if (!r->err && out->destination_addr[0] == '\0') {
				out->dest_addr_ton = ton;
				out->dest_addr_npi = npi;
				memcpy(out->destination_addr, scratch, sizeof scratch);
			}
		} else if (flag == 2) {
			smpp_reader_cstr(r, scratch, sizeof scratch, ESME_RINVDLNAME);
		} else if (!r->err)
			r->err = ESME_RINVDESTFLAG;
	}
	smpp_decode_sm_tail(r, out);
}

/* submit_multi_resp: the unsuccessful list is walked and dropped. */
static void
smpp_decode_submit_multi_resp(struct smpp_reader *r, struct smpp_pdu *out)
{
	char scratch[21];
	unsigned i;

	smpp_reader_cstr(r, out->message_id, 65, ESME_RINVMSGID);
	out->no_unsuccess = smpp_reader_u8(r);
	for (i = 0; !r->err && i < out->no_unsuccess; i++) {
		(void)smpp_reader_u8(r);
		(void)smpp_reader_u8(r);
		smpp_reader_cstr(r, scratch, sizeof scratch, ESME_RINVDSTADR);
		(void)smpp_reader_u32(r);
	}
	smpp_reader_tlvs(r, out);
}

/* A PDU that is only a header: anything after it is a length error. */
static void
smpp_decode_empty(struct smpp_reader *r)
{
	if (!r->err && smpp_reader_left(r) != 0)
		r->err = ESME_RINVCMDLEN;
}

/* The body of one command, by id; ESME_RINVCMDID for ids SMPP 3.4 does not define. */
static void
smpp_decode_body(struct smpp_reader *r, struct smpp_pdu *out)
{
	switch (out->h.command_id) {
	case SMPP_BIND_RECEIVER:
	case SMPP_BIND_TRANSMITTER:
	case SMPP_BIND_TRANSCEIVER:
		smpp_reader_cstr(r, out->system_id, 16, ESME_RINVSYSID);
		smpp_reader_cstr(r, out->password, 9, ESME_RINVPASWD);
		smpp_reader_cstr(r, out->system_type, 13, ESME_RINVSYSTYP);
		out->interface_version = smpp_reader_u8(r);
		out->addr_ton = smpp_reader_u8(r);
		out->addr_npi = smpp_reader_u8(r);
		smpp_reader_cstr(r, out->address_range, 41, ESME_RINVSRCADR);
		smpp_reader_tlvs(r, out);
		break;
	case SMPP_BIND_RECEIVER | SMPP_RESP_BIT:
	case SMPP_BIND_TRANSMITTER | SMPP_RESP_BIT:
	case SMPP_BIND_TRANSCEIVER | SMPP_RESP_BIT:
		if (smpp_reader_left(r) == 0)
			break;
		smpp_reader_cstr(r, out->system_id, 16, ESME_RINVSYSID);
		smpp_reader_tlvs(r, out);
		break;
	case SMPP_OUTBIND:
		smpp_reader_cstr(r, out->system_id, 16, ESME_RINVSYSID);
		smpp_reader_cstr(r, out->password, 9, ESME_RINVPASWD);
		smpp_decode_empty(r);
		break;
	case SMPP_GENERIC_NACK:
	case SMPP_UNBIND:
	case SMPP_UNBIND | SMPP_RESP_BIT:
	case SMPP_ENQUIRE_LINK:
	case SMPP_ENQUIRE_LINK | SMPP_RESP_BIT:
	case SMPP_CANCEL_SM | SMPP_RESP_BIT:
	case SMPP_REPLACE_SM | SMPP_RESP_BIT:
		smpp_decode_empty(r);
		break;
	case SMPP_SUBMIT_SM:
	case SMPP_DELIVER_SM:
		smpp_decode_sm(r, out);
		break;
	case SMPP_SUBMIT_SM | SMPP_RESP_BIT:
	case SMPP_DELIVER_SM | SMPP_RESP_BIT:
		if (smpp_reader_left(r) == 0)
			break;
		smpp_reader_cstr(r, out->message_id, 65, ESME_RINVMSGID);
		smpp_decode_empty(r);
		break;
	case SMPP_DATA_SM:
		smpp_reader_cstr(r, out->service_type, 6, ESME_RINVSERTYP);
		out->source_addr_ton = smpp_reader_u8(r);
		out->source_addr_npi = smpp_reader_u8(r);
		smpp_reader_cstr(r, out->source_addr, 21, ESME_RINVSRCADR);
		out->dest_addr_ton = smpp_reader_u8(r);
		out->dest_addr_npi = smpp_reader_u8(r);
		smpp_reader_cstr(r, out->destination_addr, 21, ESME_RINVDSTADR);
		out->esm_class = smpp_reader_u8(r);
		out->registered_delivery = smpp_reader_u8(r);
		out->data_coding = smpp_reader_u8(r);
		smpp_reader_tlvs(r, out);
		break;
	case SMPP_DATA_SM | SMPP_RESP_BIT:
		if (smpp_reader_left(r) == 0)
			break;
		smpp_reader_cstr(r, out->message_id, 65, ESME_RINVMSGID);
		smpp_reader_tlvs(r, out);
		break;
	case SMPP_QUERY_SM:
		smpp_reader_cstr(r, out->message_id, 65, ESME_RINVMSGID);
		out->source_addr_ton = smpp_reader_u8(r);
		out->source_addr_npi = smpp_reader_u8(r);
		smpp_reader_cstr(r, out->source_addr, 21, ESME_RINVSRCADR);
		smpp_decode_empty(r);
		break;
	case SMPP_QUERY_SM | SMPP_RESP_BIT:
		smpp_reader_cstr(r, out->message_id, 65, ESME_RINVMSGID);
		smpp_reader_cstr(r, out->final_date, 17, ESME_RINVMSGLEN);
		out->message_state = smpp_reader_u8(r);
		out->has_message_state = !r->err;
		out->error_code = smpp_reader_u8(r);
		smpp_decode_empty(r);
		break;
	case SMPP_REPLACE_SM:
		smpp_reader_cstr(r, out->message_id, 65, ESME_RINVMSGID);
		out->source_addr_ton = smpp_reader_u8(r);
		out->source_addr_npi = smpp_reader_u8(r);
		smpp_reader_cstr(r, out->source_addr, 21, ESME_RINVSRCADR);
		smpp_reader_cstr(r, out->schedule_delivery_time, 17, ESME_RINVSCHED);
		smpp_reader_cstr(r, out->validity_period, 17, ESME_RINVEXPIRY);
		out->registered_delivery = smpp_reader_u8(r);
		out->sm_default_msg_id = smpp_reader_u8(r);
		smpp_reader_short_message(r, out);
		smpp_decode_empty(r);
		break;
	case SMPP_CANCEL_SM:
		smpp_reader_cstr(r, out->service_type, 6, ESME_RINVSERTYP);
		smpp_reader_cstr(r, out->message_id, 65, ESME_RINVMSGID);
		out->source_addr_ton = smpp_reader_u8(r);
		out->source_addr_npi = smpp_reader_u8(r);
		smpp_reader_cstr(r, out->source_addr, 21, ESME_RINVSRCADR);
		out->dest_addr_ton = smpp_reader_u8(r);
		out->dest_addr_npi = smpp_reader_u8(r);
		smpp_reader_cstr(r, out->destination_addr, 21, ESME_RINVDSTADR);
		smpp_decode_empty(r);
		break;
	case SMPP_SUBMIT_MULTI:
		smpp_decode_submit_multi(r, out);
		break;
	case SMPP_SUBMIT_MULTI | SMPP_RESP_BIT:
		smpp_decode_submit_multi_resp(r, out);
		break;
	case SMPP_ALERT_NOTIFICATION:
		out->source_addr_ton = smpp_reader_u8(r);
		out->source_addr_npi = smpp_reader_u8(r);
		smpp_reader_cstr(r, out->source_addr, 65, ESME_RINVSRCADR);
		out->esme_addr_ton = smpp_reader_u8(r);
		out->esme_addr_npi = smpp_reader_u8(r);
		smpp_reader_cstr(r, out->esme_addr, 65, ESME_RINVDSTADR);
		smpp_reader_tlvs(r, out);
		break;
	default:
		r->err = ESME_RINVCMDID;
		break;
	}
}

/* Our own decoder: SMSC bytes never reach libsmpp34 (see the top of this file). */
uint32_t
smpp_decode(const uint8_t *buf, size_t len, struct smpp_pdu *out)
{
	struct smpp_reader r;
	struct smpp_header h;

	memset(out, 0, sizeof *out);
	if (len < SMPP_HEADER_LEN)
		return ESME_RINVCMDLEN;
	h.length = smpp_get_u32(buf);
	h.command_id = smpp_get_u32(buf + 4);
	h.status = smpp_get_u32(buf + 8);
	h.sequence = smpp_get_u32(buf + 12);
	out->h = h;
	if (h.length != len || len > SMPP_MAX_PDU_LEN)
		return ESME_RINVCMDLEN;

	r.p = buf;
	r.len = len;
	r.off = SMPP_HEADER_LEN;
	r.err = 0;
	smpp_decode_body(&r, out);
	if (r.err == 0)
		return 0;
	if (r.err != ESME_RINVCMDID && (h.command_id & SMPP_RESP_BIT) && h.status != ESME_ROK) {
		/* an error response: its status is what counts, whatever its body */
		return 0;
	}
	return r.err;
}

/* ---- the encoder ---------------------------------------------------------------- */

/* 1 when s (in an array of width bytes) is a C-string that fits that SMPP width. */
static int
smpp_fits(const char *s, size_t width)
{
	return memchr(s, 0, width) != NULL;
}

/* libsmpp34's own tables decide what pack refuses; asking them first gives a clean -1
 * and a log line instead of a half-written PDU. */
static int
smpp_ton_npi_ok(uint8_t ton, uint8_t npi)
{
	char b[SMALL_BUFF];

	if (*str_addr_ton(ton, b) == '\0')
		return 0;
	return *str_addr_npi(npi, b) != '\0';
}

/* Same for command_status (vendor codes 0x400-0x4FF are not in its list). */
static int
smpp_status_ok(uint32_t status)
{
	char b[SMALL_BUFF];

	return *str_command_status(status, b) != '\0';
}

/* The three bind requests share every field; copies after the width checks. */
#define SMPP_ENCODE_BIND(t, pdu) do {						\
	memcpy((t)->system_id, (pdu)->system_id, strlen((pdu)->system_id) + 1);	\
	memcpy((t)->password, (pdu)->password, strlen((pdu)->password) + 1);	\
	memcpy((t)->system_type, (pdu)->system_type,				\
	    strlen((pdu)->system_type) + 1);					\
	(t)->interface_version = 0x34;						\
	(t)->addr_ton = (pdu)->addr_ton;					\
	(t)->addr_npi = (pdu)->addr_npi;					\
	memcpy((t)->address_range, (pdu)->address_range,			\
	    strlen((pdu)->address_range) + 1);					\
} while (0)

/* submit_sm and deliver_sm have the same body in libsmpp34 too. */
#define SMPP_ENCODE_SM(t, pdu, smlen) do {					\
	memcpy((t)->service_type, (pdu)->service_type,				\
	    strlen((pdu)->service_type) + 1);					\
	(t)->source_addr_ton = (pdu)->source_addr_ton;				\
	(t)->source_addr_npi = (pdu)->source_addr_npi;				\
	memcpy((t)->source_addr, (pdu)->source_addr,				\
	    strlen((pdu)->source_addr) + 1);					\
	(t)->dest_addr_ton = (pdu)->dest_addr_ton;				\
	(t)->dest_addr_npi = (pdu)->dest_addr_npi;				\
	memcpy((t)->destination_addr, (pdu)->destination_addr,			\
	    strlen((pdu)->destination_addr) + 1);				\
	(t)->esm_class = (pdu)->esm_class;					\
	(t)->protocol_id = (pdu)->protocol_id;					\
	(t)->priority_flag = (pdu)->priority_flag;				\
	memcpy((t)->schedule_delivery_time, (pdu)->schedule_delivery_time,	\
	    strlen((pdu)->schedule_delivery_time) + 1);				\
	memcpy((t)->validity_period, (pdu)->validity_period,			\
	    strlen((pdu)->validity_period) + 1);				\
	(t)->registered_delivery = (pdu)->registered_delivery;			\
	(t)->replace_if_present_flag = (pdu)->replace_if_present_flag;		\
	(t)->data_coding = (pdu)->data_coding;					\
	(t)->sm_default_msg_id = (pdu)->sm_default_msg_id;			\
	(t)->sm_length = (uint8_t)(smlen);					\
	if ((smlen) > 0)							\
		memcpy((t)->short_message, (pdu)->short_message, (smlen));	\
} while (0)

/* Checks every field of a submit_sm/deliver_sm before libsmpp34 sees it. */
static int
smpp_encode_sm_check(const struct smpp_pdu *pdu)
{
	if (!smpp_fits(pdu->service_type, 6) || !smpp_fits(pdu->source_addr, 21) ||
	    !smpp_fits(pdu->destination_addr, 21) ||
	    !smpp_fits(pdu->schedule_delivery_time, 17) ||
	    !smpp_fits(pdu->validity_period, 17))
		return -1;
	if (!smpp_ton_npi_ok(pdu->source_addr_ton, pdu->source_addr_npi) ||
	    !smpp_ton_npi_ok(pdu->dest_addr_ton, pdu->dest_addr_npi))
		return -1;
	if (pdu->sm_length > 254 || (pdu->sm_length > 0 && pdu->short_message == NULL))
		return -1;
	if (pdu->has_message_payload && (pdu->message_payload_len == 0 ||
	    pdu->message_payload_len > MAX_TLV_SIZE || pdu->message_payload == NULL))
		return -1;
	return 0;
}

/* Attaches our TLVs to a submit_sm/deliver_sm list: build_tlv prepends, so they go in
 * reverse. The list is freed by the caller with destroy_tlv whatever happens. */
static int
smpp_encode_sm_tlvs(const struct smpp_pdu *pdu, tlv_t **list)
{
	tlv_t t;

	if (pdu->has_message_payload) {
		memset(&t, 0, sizeof t);
		t.tag = TLVID_message_payload;
		t.length = pdu->message_payload_len;
		memcpy(t.value.octet, pdu->message_payload, pdu->message_payload_len);
		if (build_tlv(list, &t) != 0)
			return -1;
	}
	if (pdu->has_sar) {
		memset(&t, 0, sizeof t);
		t.tag = TLVID_sar_segment_seqnum;
		t.length = 1;
		t.value.val08 = pdu->sar_segment_seqnum;
		if (build_tlv(list, &t) != 0)
			return -1;
		memset(&t, 0, sizeof t);
		t.tag = TLVID_sar_total_segments;
		t.length = 1;
		t.value.val08 = pdu->sar_total_segments;
		if (build_tlv(list, &t) != 0)
			return -1;
		memset(&t, 0, sizeof t);
		t.tag = TLVID_sar_msg_ref_num;
		t.length = 2;
		t.value.val16 = pdu->sar_msg_ref_num;
		if (build_tlv(list, &t) != 0)
			return -1;
	}
	return 0;
}

/*
 * libsmpp34 packs at most 253 octets of short_message though SMPP allows 254: pack the
 * first 253, then open a gap after them and put the last octet in it. The sm_length
 * octet sits after the header and the fixed fields, whose lengths we know.
 */
static int
smpp_encode_splice_254(const struct smpp_pdu *pdu, uint8_t *buf, size_t cap, int n)
{
	size_t at, end;
	uint32_t total;

	at = SMPP_HEADER_LEN + strlen(pdu->service_type) + 1 + 2 +
	    strlen(pdu->source_addr) + 1 + 2 + strlen(pdu->destination_addr) + 1 + 3 +
	    strlen(pdu->schedule_delivery_time) + 1 + strlen(pdu->validity_period) + 1 + 4;
	end = at + 1 + 253;
	if ((size_t)n < end || (size_t)n + 1 > cap || buf[at] != 253)
		return -1;
	memmove(buf + end + 1, buf + end, (size_t)n - end);
	buf[end] = pdu->short_message[253];
	buf[at] = 254;
	total = (uint32_t)n + 1;
	buf[0] = (uint8_t)(total >> 24);
	buf[1] = (uint8_t)(total >> 16);
	buf[2] = (uint8_t)(total >> 8);
	buf[3] = (uint8_t)total;
	return (int)total;
}

/* Our own PDUs through libsmpp34's pack, with every width checked first. */
int
smpp_encode(const struct smpp_pdu *pdu, uint8_t *out, size_t cap)
{
	union {
		bind_transmitter_t btx;
		bind_receiver_t brx;
		bind_transceiver_t btrx;
		bind_transmitter_resp_t btx_r;
		bind_receiver_resp_t brx_r;
		bind_transceiver_resp_t btrx_r;
		unbind_t unbind;
		unbind_resp_t unbind_r;
		enquire_link_t el;
		enquire_link_resp_t el_r;
		generic_nack_t nack;
		submit_sm_t sm;
		submit_sm_resp_t sm_r;
		deliver_sm_t dsm;
		deliver_sm_resp_t dsm_r;
		data_sm_resp_t data_r;
	} u;
	uint8_t buf[SMPP_ENCODE_MAX];
	uint32_t id = pdu->h.command_id;
	tlv_t **tlvs = NULL;
	int n = 0, rc, splice = 0;
	unsigned smlen;

	if (pdu->h.sequence == 0 || pdu->h.sequence > 0x7FFFFFFFu ||
	    !smpp_status_ok(pdu->h.status))
		goto bad;

	/* Every libsmpp34 PDU struct starts with the four header fields. */
	memset(&u, 0, sizeof u);
	u.nack.command_id = id;
	u.nack.command_status = pdu->h.status;
	u.nack.sequence_number = pdu->h.sequence;

	switch (id) {
	case SMPP_BIND_TRANSMITTER:
	case SMPP_BIND_RECEIVER:
	case SMPP_BIND_TRANSCEIVER:
		if (!smpp_fits(pdu->system_id, 16) || !smpp_fits(pdu->password, 9) ||
		    !smpp_fits(pdu->system_type, 13) || !smpp_fits(pdu->address_range, 41) ||
		    !smpp_ton_npi_ok(pdu->addr_ton, pdu->addr_npi))
			goto bad;
		if (id == SMPP_BIND_TRANSMITTER)
			SMPP_ENCODE_BIND(&u.btx, pdu);
		else if (id == SMPP_BIND_RECEIVER)
			SMPP_ENCODE_BIND(&u.brx, pdu);
		else
			SMPP_ENCODE_BIND(&u.btrx, pdu);
		break;
	case SMPP_BIND_TRANSMITTER | SMPP_RESP_BIT:
	case SMPP_BIND_RECEIVER | SMPP_RESP_BIT:
	case SMPP_BIND_TRANSCEIVER | SMPP_RESP_BIT:
		/* same layout in all three: system_id, then an (empty) TLV list */
		if (!smpp_fits(pdu->system_id, 16))
			goto bad;
		memcpy(u.btrx_r.system_id, pdu->system_id, strlen(pdu->system_id) + 1);
		break;
	case SMPP_UNBIND:
	case SMPP_UNBIND | SMPP_RESP_BIT:
	case SMPP_ENQUIRE_LINK:
	case SMPP_ENQUIRE_LINK | SMPP_RESP_BIT:
	case SMPP_GENERIC_NACK:
		break;
	case SMPP_SUBMIT_SM:
	case SMPP_DELIVER_SM:
		if (smpp_encode_sm_check(pdu) != 0)
			goto bad;
		smlen = pdu->sm_length;
		if (smlen == 254) {
			smlen = 253;
			splice = 1;
		}
		if (id == SMPP_SUBMIT_SM) {
			SMPP_ENCODE_SM(&u.sm, pdu, smlen);
			tlvs = &u.sm.tlv;
		} else {
			SMPP_ENCODE_SM(&u.dsm, pdu, smlen);
			tlvs = &u.dsm.tlv;
		}
		if (smpp_encode_sm_tlvs(pdu, tlvs) != 0) {
			destroy_tlv(*tlvs);
			goto bad;
		}
		break;
	case SMPP_SUBMIT_SM | SMPP_RESP_BIT:
		if (!smpp_fits(pdu->message_id, 65))
			goto bad;
		memcpy(u.sm_r.message_id, pdu->message_id, strlen(pdu->message_id) + 1);
		break;
	case SMPP_DELIVER_SM | SMPP_RESP_BIT:
		/* SMPP 3.4: message_id is unused here and must be empty */
		if (pdu->message_id[0] != '\0')
			goto bad;
		break;
	case SMPP_DATA_SM | SMPP_RESP_BIT:
		if (!smpp_fits(pdu->message_id, 65))
			goto bad;
		memcpy(u.data_r.message_id, pdu->message_id, strlen(pdu->message_id) + 1);
		break;
	default:
		goto bad;
	}

	rc = smpp34_pack(id, buf, sizeof buf, &n, &u);
	if (tlvs != NULL)
		destroy_tlv(*tlvs);
	if (rc != 0) {
		log_debug("smpp: pack %s failed: %.200s", smpp_command_name(id),
		    smpp34_strerror);
		goto bad;
	}
	if (splice)
		n = smpp_encode_splice_254(pdu, buf, sizeof buf, n);
	if (n < SMPP_HEADER_LEN || (size_t)n > cap)
		goto bad;
	memcpy(out, buf, (size_t)n);
	return n;

bad:
	log_debug("smpp: cannot encode %s seq %u", smpp_command_name(id), pdu->h.sequence);
	return -1;
}

/* How close the last pack came to the end of libsmpp34's trace buffer. */
size_t
smpp_encode_trace_used(void)
{
	return strnlen(smpp34_strerror, sizeof smpp34_strerror);
}
