/* tests/unit/test_pdu.c: framing, our own decoder for every PDU kind (valid, truncated,
 * over-long, garbage, the 29- and 1000-TLV deliver_sm that overflows libsmpp34), and
 * encode -> decode round trips of every PDU we encode. Linked against the ASan build
 * of libsmpp34 (make SANITIZER=address SMPP34_ASAN=...), the encode tests prove the
 * trace budget of our largest PDUs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smpp/smpp.h"

static uint8_t buf[128 * 1024];
static struct smpp_pdu pdu;

/* A deliver_sm like an SMSC sends: the common prefix of many tests. */
static void
build_deliver_prefix(struct smpp_build *b, uint32_t seq, uint8_t dc, const void *sm,
    uint8_t smlen)
{
	smpp_build_start(b, buf, sizeof buf, SMPP_DELIVER_SM, 0, seq);
	smpp_build_cstr(b, "");			/* service_type */
	smpp_build_u8(b, 1);
	smpp_build_u8(b, 1);
	smpp_build_cstr(b, "919876543210");
	smpp_build_u8(b, 0);
	smpp_build_u8(b, 1);
	smpp_build_cstr(b, "56789");
	smpp_build_u8(b, 0);			/* esm_class */
	smpp_build_u8(b, 0);
	smpp_build_u8(b, 0);
	smpp_build_cstr(b, "");
	smpp_build_cstr(b, "");
	smpp_build_u8(b, 0);
	smpp_build_u8(b, 0);
	smpp_build_u8(b, dc);
	smpp_build_u8(b, 0);
	smpp_build_u8(b, smlen);
	smpp_build_bytes(b, sm, smlen);
}

static int
build_deliver(const char *text)
{
	struct smpp_build b;

	build_deliver_prefix(&b, 42, 0, text, (uint8_t)strlen(text));
	return smpp_build_finish(&b);
}

static void
set_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- framing ---------------------------------------------------------------------- */

static void
test_frame(void **state)
{
	uint32_t n = 0;
	int len = build_deliver("hi");

	assert_int_equal(smpp_frame(buf, 0, &n), 0);
	assert_int_equal(smpp_frame(buf, 3, &n), 0);
	assert_int_equal(smpp_frame(buf, 4, &n), 0);
	assert_int_equal(smpp_frame(buf, (size_t)len - 1, &n), 0);
	assert_int_equal(smpp_frame(buf, (size_t)len, &n), 1);
	assert_int_equal(n, len);
	assert_int_equal(smpp_frame(buf, (size_t)len + 10, &n), 1);
	assert_int_equal(n, len);

	set_u32(buf, 15);
	assert_int_equal(smpp_frame(buf, 100, &n), -1);
	set_u32(buf, 0);
	assert_int_equal(smpp_frame(buf, 4, &n), -1);
	set_u32(buf, SMPP_MAX_PDU_LEN + 1);
	assert_int_equal(smpp_frame(buf, 4, &n), -1);
	set_u32(buf, 0xFFFFFFFFu);
	assert_int_equal(smpp_frame(buf, 4, &n), -1);
	set_u32(buf, SMPP_MAX_PDU_LEN);
	assert_int_equal(smpp_frame(buf, 16, &n), 0);
	set_u32(buf, 16);
	assert_int_equal(smpp_frame(buf, 16, &n), 1);
}

/* ---- decoding every kind ------------------------------------------------------------ */

static void
test_decode_bind(void **state)
{
	static const uint32_t ids[] = { SMPP_BIND_TRANSCEIVER, SMPP_BIND_TRANSMITTER,
	    SMPP_BIND_RECEIVER };
	struct smpp_build b;
	size_t i;

	for (i = 0; i < 3; i++) {
		smpp_build_start(&b, buf, sizeof buf, ids[i], 0, 1);
		smpp_build_cstr(&b, "rechargd");
		smpp_build_cstr(&b, "secret12");
		smpp_build_cstr(&b, "VMA");
		smpp_build_u8(&b, 0x34);
		smpp_build_u8(&b, 1);
		smpp_build_u8(&b, 1);
		smpp_build_cstr(&b, "^91");
		assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
		assert_int_equal(pdu.h.command_id, ids[i]);
		assert_string_equal(pdu.system_id, "rechargd");
		assert_string_equal(pdu.password, "secret12");
		assert_string_equal(pdu.system_type, "VMA");
		assert_int_equal(pdu.interface_version, 0x34);
		assert_int_equal(pdu.addr_ton, 1);
		assert_int_equal(pdu.addr_npi, 1);
		assert_string_equal(pdu.address_range, "^91");
	}

	/* 16-character system_id: one too many */
	smpp_build_start(&b, buf, sizeof buf, SMPP_BIND_TRANSCEIVER, 0, 1);
	smpp_build_cstr(&b, "0123456789abcdef");
	smpp_build_cstr(&b, "");
	smpp_build_cstr(&b, "");
	smpp_build_u8(&b, 0x34);
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 0);
	smpp_build_cstr(&b, "");
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), ESME_RINVSYSID);

	/* 9-character password */
	smpp_build_start(&b, buf, sizeof buf, SMPP_BIND_TRANSMITTER, 0, 1);
	smpp_build_cstr(&b, "x");
	smpp_build_cstr(&b, "123456789");
	smpp_build_cstr(&b, "");
	smpp_build_u8(&b, 0x34);
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 0);
	smpp_build_cstr(&b, "");
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), ESME_RINVPASWD);
}

static void
test_decode_bind_resp(void **state)
{
	static const uint32_t ids[] = { SMPP_BIND_TRANSCEIVER, SMPP_BIND_TRANSMITTER,
	    SMPP_BIND_RECEIVER };
	struct smpp_build b;
	uint8_t v = 0x34;
	size_t i;

	for (i = 0; i < 3; i++) {
		smpp_build_start(&b, buf, sizeof buf, ids[i] | SMPP_RESP_BIT, 0, 1);
		smpp_build_cstr(&b, "SMSC01");
		smpp_build_tlv(&b, 0x0210, &v, 1);	/* sc_interface_version */
		assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
		assert_string_equal(pdu.system_id, "SMSC01");
		assert_int_equal(pdu.ntlv, 1);
		assert_int_equal(pdu.ntlv_unknown, 0);

		/* header-only rejection, as many SMSCs send it */
		smpp_build_start(&b, buf, sizeof buf, ids[i] | SMPP_RESP_BIT, ESME_RBINDFAIL, 1);
		assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
		assert_int_equal(pdu.h.status, ESME_RBINDFAIL);
		assert_string_equal(pdu.system_id, "");

		/* header-only ROK: accepted with an empty system_id */
		smpp_build_start(&b, buf, sizeof buf, ids[i] | SMPP_RESP_BIT, 0, 1);
		assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);

		/* a vendor status with a broken body: the status still comes through */
		smpp_build_start(&b, buf, sizeof buf, ids[i] | SMPP_RESP_BIT, 0x0000045A, 9);
		smpp_build_bytes(&b, "abc", 3);
		assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
		assert_int_equal(pdu.h.status, 0x45A);
		assert_int_equal(pdu.h.sequence, 9);
	}
	/* the same broken body with ROK is an error */
	smpp_build_start(&b, buf, sizeof buf, SMPP_BIND_TRANSCEIVER | SMPP_RESP_BIT, 0, 1);
	smpp_build_bytes(&b, "abc", 3);
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), ESME_RINVCMDLEN);
}

static void
test_decode_header_only(void **state)
{
	static const uint32_t ids[] = { SMPP_GENERIC_NACK, SMPP_UNBIND,
	    SMPP_UNBIND | SMPP_RESP_BIT, SMPP_ENQUIRE_LINK, SMPP_ENQUIRE_LINK | SMPP_RESP_BIT,
	    SMPP_CANCEL_SM | SMPP_RESP_BIT, SMPP_REPLACE_SM | SMPP_RESP_BIT };
	struct smpp_build b;
	size_t i;

	for (i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		smpp_build_start(&b, buf, sizeof buf, ids[i], ids[i] == SMPP_GENERIC_NACK ?
		    ESME_RINVCMDID : 0, 0x7FFFFFFF);
		assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
		assert_int_equal(pdu.h.command_id, ids[i]);
		assert_int_equal(pdu.h.length, 16);
		assert_int_equal(pdu.h.sequence, 0x7FFFFFFF);

		/* a request with a body it should not have */
		smpp_build_start(&b, buf, sizeof buf, ids[i], 0, 1);
		smpp_build_u8(&b, 0);
		assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu),
		    ESME_RINVCMDLEN);
	}
}

static void
test_decode_outbind(void **state)
{
	struct smpp_build b;

	smpp_build_start(&b, buf, sizeof buf, SMPP_OUTBIND, 0, 3);
	smpp_build_cstr(&b, "smsc");
	smpp_build_cstr(&b, "pw");
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
	assert_string_equal(pdu.system_id, "smsc");
	assert_string_equal(pdu.password, "pw");
}

static void
test_decode_deliver_sm(void **state)
{
	struct smpp_build b;
	static const uint8_t ref[2] = { 0x12, 0x34 };
	uint8_t total = 3, seq = 2, st = 2;
	int len = build_deliver("RC 9876543210 199 1234");

	assert_int_equal(smpp_decode(buf, (size_t)len, &pdu), 0);
	assert_int_equal(pdu.h.command_id, SMPP_DELIVER_SM);
	assert_int_equal(pdu.h.sequence, 42);
	assert_string_equal(pdu.source_addr, "919876543210");
	assert_int_equal(pdu.source_addr_ton, 1);
	assert_int_equal(pdu.source_addr_npi, 1);
	assert_string_equal(pdu.destination_addr, "56789");
	assert_int_equal(pdu.sm_length, 22);
	assert_memory_equal(pdu.short_message, "RC 9876543210 199 1234", 22);
	assert_int_equal(pdu.ntlv, 0);

	/* with the TLVs we read */
	build_deliver_prefix(&b, 43, 8, NULL, 0);
	smpp_build_tlv(&b, SMPP_TLV_SAR_MSG_REF_NUM, ref, 2);
	smpp_build_tlv(&b, SMPP_TLV_SAR_TOTAL_SEGMENTS, &total, 1);
	smpp_build_tlv(&b, SMPP_TLV_SAR_SEGMENT_SEQNUM, &seq, 1);
	smpp_build_tlv(&b, SMPP_TLV_MESSAGE_PAYLOAD, "\x00h\x00i", 4);
	smpp_build_tlv(&b, SMPP_TLV_RECEIPTED_MESSAGE_ID, "0A1B2C\0", 7);
	smpp_build_tlv(&b, SMPP_TLV_MESSAGE_STATE, &st, 1);
	smpp_build_tlv(&b, 0x1401, "vendor", 6);
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
	assert_int_equal(pdu.data_coding, 8);
	assert_int_equal(pdu.sm_length, 0);
	assert_true(pdu.has_sar);
	assert_int_equal(pdu.sar_msg_ref_num, 0x1234);
	assert_int_equal(pdu.sar_total_segments, 3);
	assert_int_equal(pdu.sar_segment_seqnum, 2);
	assert_true(pdu.has_message_payload);
	assert_int_equal(pdu.message_payload_len, 4);
	assert_memory_equal(pdu.message_payload, "\x00h\x00i", 4);
	assert_true(pdu.has_receipted_message_id);
	assert_string_equal(pdu.receipted_message_id, "0A1B2C");
	assert_true(pdu.has_message_state);
	assert_int_equal(pdu.message_state, 2);
	assert_int_equal(pdu.ntlv, 7);
	assert_int_equal(pdu.ntlv_unknown, 1);

	/* receipted_message_id without its NUL, as some SMSCs send it */
	build_deliver_prefix(&b, 44, 0, "id:1", 4);
	smpp_build_tlv(&b, SMPP_TLV_RECEIPTED_MESSAGE_ID, "FF00", 4);
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
	assert_string_equal(pdu.receipted_message_id, "FF00");

	/* only two of the three SAR TLVs: not a SAR message */
	build_deliver_prefix(&b, 45, 0, "x", 1);
	smpp_build_tlv(&b, SMPP_TLV_SAR_MSG_REF_NUM, ref, 2);
	smpp_build_tlv(&b, SMPP_TLV_SAR_TOTAL_SEGMENTS, &total, 1);
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
	assert_false(pdu.has_sar);
}

static void
test_decode_submit_sm(void **state)
{
	struct smpp_build b;

	smpp_build_start(&b, buf, sizeof buf, SMPP_SUBMIT_SM, 0, 5);
	smpp_build_cstr(&b, "CMT");
	smpp_build_u8(&b, 5);
	smpp_build_u8(&b, 0);
	smpp_build_cstr(&b, "RECHRG");
	smpp_build_u8(&b, 1);
	smpp_build_u8(&b, 1);
	smpp_build_cstr(&b, "919876543210");
	smpp_build_u8(&b, 0x40);
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 1);
	smpp_build_cstr(&b, "261129211503000+");
	smpp_build_cstr(&b, "261130211503000+");
	smpp_build_u8(&b, 1);
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 3);
	smpp_build_bytes(&b, "abc", 3);
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
	assert_string_equal(pdu.service_type, "CMT");
	assert_int_equal(pdu.source_addr_ton, 5);
	assert_string_equal(pdu.source_addr, "RECHRG");
	assert_string_equal(pdu.destination_addr, "919876543210");
	assert_int_equal(pdu.esm_class, 0x40);
	assert_int_equal(pdu.priority_flag, 1);
	assert_string_equal(pdu.schedule_delivery_time, "261129211503000+");
	assert_string_equal(pdu.validity_period, "261130211503000+");
	assert_int_equal(pdu.registered_delivery, 1);
	assert_int_equal(pdu.sm_length, 3);
}

static void
test_decode_resps_with_message_id(void **state)
{
	struct smpp_build b;
	char id65[66];

	smpp_build_start(&b, buf, sizeof buf, SMPP_SUBMIT_SM | SMPP_RESP_BIT, 0, 5);
	smpp_build_cstr(&b, "5F2A77");
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
	assert_string_equal(pdu.message_id, "5F2A77");

	/* 64 characters fit, 65 do not */
	memset(id65, 'a', 64);
	id65[64] = '\0';
	smpp_build_start(&b, buf, sizeof buf, SMPP_SUBMIT_SM | SMPP_RESP_BIT, 0, 5);
	smpp_build_cstr(&b, id65);
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
	assert_int_equal(strlen(pdu.message_id), 64);
	memset(id65, 'a', 65);
	id65[65] = '\0';
	smpp_build_start(&b, buf, sizeof buf, SMPP_SUBMIT_SM | SMPP_RESP_BIT, 0, 5);
	smpp_build_cstr(&b, id65);
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), ESME_RINVMSGID);

	/* throttled, header-only */
	smpp_build_start(&b, buf, sizeof buf, SMPP_SUBMIT_SM | SMPP_RESP_BIT, ESME_RTHROTTLED, 6);
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
	assert_int_equal(pdu.h.status, ESME_RTHROTTLED);

	smpp_build_start(&b, buf, sizeof buf, SMPP_DELIVER_SM | SMPP_RESP_BIT, 0, 7);
	smpp_build_cstr(&b, "");
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
	assert_string_equal(pdu.message_id, "");

	smpp_build_start(&b, buf, sizeof buf, SMPP_DATA_SM | SMPP_RESP_BIT, 0, 8);
	smpp_build_cstr(&b, "m1");
	smpp_build_tlv(&b, 0x001D, "fine", 5);	/* additional_status_info_text */
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
	assert_string_equal(pdu.message_id, "m1");
	assert_int_equal(pdu.ntlv, 1);

	/* message_id running to the end with no NUL */
	smpp_build_start(&b, buf, sizeof buf, SMPP_SUBMIT_SM | SMPP_RESP_BIT, 0, 5);
	smpp_build_bytes(&b, "abc", 3);
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), ESME_RINVCMDLEN);
}

static void
test_decode_data_sm(void **state)
{
	struct smpp_build b;

	smpp_build_start(&b, buf, sizeof buf, SMPP_DATA_SM, 0, 9);
	smpp_build_cstr(&b, "");
	smpp_build_u8(&b, 1);
	smpp_build_u8(&b, 1);
	smpp_build_cstr(&b, "919876543210");
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 0);
	smpp_build_cstr(&b, "56789");
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 3);
	smpp_build_tlv(&b, SMPP_TLV_MESSAGE_PAYLOAD, "BAL", 3);
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
	assert_string_equal(pdu.source_addr, "919876543210");
	assert_int_equal(pdu.data_coding, 3);
	assert_true(pdu.has_message_payload);
	assert_int_equal(pdu.message_payload_len, 3);
}

static void
test_decode_query_replace_cancel(void **state)
{
	struct smpp_build b;

	smpp_build_start(&b, buf, sizeof buf, SMPP_QUERY_SM, 0, 10);
	smpp_build_cstr(&b, "abc");
	smpp_build_u8(&b, 1);
	smpp_build_u8(&b, 1);
	smpp_build_cstr(&b, "9198");
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
	assert_string_equal(pdu.message_id, "abc");
	assert_string_equal(pdu.source_addr, "9198");

	smpp_build_start(&b, buf, sizeof buf, SMPP_QUERY_SM | SMPP_RESP_BIT, 0, 10);
	smpp_build_cstr(&b, "abc");
	smpp_build_cstr(&b, "261129211503000+");
	smpp_build_u8(&b, 2);
	smpp_build_u8(&b, 7);
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
	assert_string_equal(pdu.final_date, "261129211503000+");
	assert_int_equal(pdu.message_state, 2);
	assert_true(pdu.has_message_state);
	assert_int_equal(pdu.error_code, 7);

	smpp_build_start(&b, buf, sizeof buf, SMPP_REPLACE_SM, 0, 11);
	smpp_build_cstr(&b, "abc");
	smpp_build_u8(&b, 1);
	smpp_build_u8(&b, 1);
	smpp_build_cstr(&b, "9198");
	smpp_build_cstr(&b, "");
	smpp_build_cstr(&b, "");
	smpp_build_u8(&b, 1);
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 2);
	smpp_build_bytes(&b, "ok", 2);
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
	assert_int_equal(pdu.registered_delivery, 1);
	assert_int_equal(pdu.sm_length, 2);
	assert_memory_equal(pdu.short_message, "ok", 2);

	smpp_build_start(&b, buf, sizeof buf, SMPP_CANCEL_SM, 0, 12);
	smpp_build_cstr(&b, "");
	smpp_build_cstr(&b, "abc");
	smpp_build_u8(&b, 1);
	smpp_build_u8(&b, 1);
	smpp_build_cstr(&b, "9198");
	smpp_build_u8(&b, 1);
	smpp_build_u8(&b, 1);
	smpp_build_cstr(&b, "9199");
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
	assert_string_equal(pdu.message_id, "abc");
	assert_string_equal(pdu.destination_addr, "9199");
}

static void
test_decode_submit_multi(void **state)
{
	struct smpp_build b;
	int len;

	smpp_build_start(&b, buf, sizeof buf, SMPP_SUBMIT_MULTI, 0, 13);
	smpp_build_cstr(&b, "");
	smpp_build_u8(&b, 5);
	smpp_build_u8(&b, 0);
	smpp_build_cstr(&b, "RECHRG");
	smpp_build_u8(&b, 3);
	smpp_build_u8(&b, 2);			/* a distribution list */
	smpp_build_cstr(&b, "retailers");
	smpp_build_u8(&b, 1);			/* an SME */
	smpp_build_u8(&b, 1);
	smpp_build_u8(&b, 1);
	smpp_build_cstr(&b, "919876543210");
	smpp_build_u8(&b, 1);
	smpp_build_u8(&b, 1);
	smpp_build_u8(&b, 1);
	smpp_build_cstr(&b, "919876543211");
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 0);
	smpp_build_cstr(&b, "");
	smpp_build_cstr(&b, "");
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 2);
	smpp_build_bytes(&b, "hi", 2);
	len = smpp_build_finish(&b);
	assert_int_equal(smpp_decode(buf, (size_t)len, &pdu), 0);
	assert_int_equal(pdu.number_of_dests, 3);
	assert_string_equal(pdu.destination_addr, "919876543210");
	assert_int_equal(pdu.sm_length, 2);

	/* a bad dest_flag */
	buf[16 + 1 + 2 + 7 + 1] = 9;
	assert_int_equal(smpp_decode(buf, (size_t)len, &pdu), ESME_RINVDESTFLAG);

	smpp_build_start(&b, buf, sizeof buf, SMPP_SUBMIT_MULTI | SMPP_RESP_BIT, 0, 13);
	smpp_build_cstr(&b, "mid");
	smpp_build_u8(&b, 1);
	smpp_build_u8(&b, 1);
	smpp_build_u8(&b, 1);
	smpp_build_cstr(&b, "919876543211");
	smpp_build_u32(&b, ESME_RINVDSTADR);
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
	assert_string_equal(pdu.message_id, "mid");
	assert_int_equal(pdu.no_unsuccess, 1);

	/* no_unsuccess says 5, one is there */
	smpp_build_start(&b, buf, sizeof buf, SMPP_SUBMIT_MULTI | SMPP_RESP_BIT, 0, 13);
	smpp_build_cstr(&b, "mid");
	smpp_build_u8(&b, 5);
	smpp_build_u8(&b, 1);
	smpp_build_u8(&b, 1);
	smpp_build_cstr(&b, "919876543211");
	smpp_build_u32(&b, ESME_RINVDSTADR);
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), ESME_RINVCMDLEN);
}

static void
test_decode_alert_notification(void **state)
{
	struct smpp_build b;
	char addr[65];
	uint8_t avail = 0;

	memset(addr, '7', 64);
	addr[64] = '\0';
	smpp_build_start(&b, buf, sizeof buf, SMPP_ALERT_NOTIFICATION, 0, 14);
	smpp_build_u8(&b, 1);
	smpp_build_u8(&b, 1);
	smpp_build_cstr(&b, addr);
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 0);
	smpp_build_cstr(&b, "esme");
	smpp_build_tlv(&b, 0x0422, &avail, 1);
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
	assert_string_equal(pdu.source_addr, addr);
	assert_string_equal(pdu.esme_addr, "esme");
	assert_int_equal(pdu.ntlv, 1);
}

static void
test_decode_unknown_command(void **state)
{
	static const uint32_t ids[] = { 0x0000000A, 0x80000102, 0x8000000B, 0x00010200,
	    0xFFFFFFFF, 0x00000104 };
	struct smpp_build b;
	size_t i;

	for (i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		smpp_build_start(&b, buf, sizeof buf, ids[i], 0, 77);
		smpp_build_u32(&b, 1);
		assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu),
		    ESME_RINVCMDID);
		assert_int_equal(pdu.h.command_id, ids[i]);
		assert_int_equal(pdu.h.sequence, 77);
	}
}

/* ---- malformed input ---------------------------------------------------------------- */

static void
test_decode_short_and_mismatched(void **state)
{
	int len = build_deliver("hello");

	assert_int_equal(smpp_decode(buf, 0, &pdu), ESME_RINVCMDLEN);
	assert_int_equal(smpp_decode(buf, 15, &pdu), ESME_RINVCMDLEN);
	/* command_length says one thing, the framer another */
	assert_int_equal(smpp_decode(buf, (size_t)len - 1, &pdu), ESME_RINVCMDLEN);
	assert_int_equal(pdu.h.command_id, SMPP_DELIVER_SM);
	assert_int_equal(pdu.h.sequence, 42);
}

/* Every prefix of a valid deliver_sm, relabelled as whole, must fail cleanly. In a
 * heap copy of exactly that size, so ASan sees a read past its end. */
static void
test_decode_truncated_everywhere(void **state)
{
	struct smpp_build b;
	uint8_t v = 1;
	size_t cut, body;
	int len;

	build_deliver_prefix(&b, 50, 0, "RC 9876543210 199", 17);
	body = b.len;		/* whole PDUs end here and after each TLV (6, 5, 5 bytes) */
	smpp_build_tlv(&b, SMPP_TLV_SAR_MSG_REF_NUM, "\x00\x01", 2);
	smpp_build_tlv(&b, SMPP_TLV_SAR_TOTAL_SEGMENTS, &v, 1);
	smpp_build_tlv(&b, SMPP_TLV_SAR_SEGMENT_SEQNUM, &v, 1);
	len = smpp_build_finish(&b);
	assert_true(len > 16);
	for (cut = 16; cut < (size_t)len; cut++) {
		uint8_t *copy = malloc(cut);
		uint32_t rc;

		memcpy(copy, buf, cut);
		set_u32(copy, (uint32_t)cut);
		rc = smpp_decode(copy, cut, &pdu);
		free(copy);
		if (cut == body || cut == body + 6 || cut == body + 11) {
			assert_int_equal(rc, 0);
			continue;
		}
		assert_int_not_equal(rc, 0);
		assert_true(rc == ESME_RINVCMDLEN || rc == ESME_RINVMSGLEN ||
		    rc == ESME_RINVTLVSTREAM);
	}
}

static void
test_decode_overlong_fields(void **state)
{
	struct smpp_build b;
	uint8_t one = 1;

	/* source_addr of 21 characters */
	smpp_build_start(&b, buf, sizeof buf, SMPP_DELIVER_SM, 0, 1);
	smpp_build_cstr(&b, "");
	smpp_build_u8(&b, 1);
	smpp_build_u8(&b, 1);
	smpp_build_cstr(&b, "123456789012345678901");
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), ESME_RINVSRCADR);

	/* service_type of 6 */
	smpp_build_start(&b, buf, sizeof buf, SMPP_DELIVER_SM, 0, 1);
	smpp_build_cstr(&b, "ABCDEF");
	smpp_build_bytes(&b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 21);
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), ESME_RINVSERTYP);

	/* sm_length beyond the PDU */
	build_deliver_prefix(&b, 1, 0, "abc", 3);
	b.len -= 4;
	smpp_build_u8(&b, 200);
	smpp_build_bytes(&b, "abc", 3);
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), ESME_RINVMSGLEN);

	/* sm_length 255: SMPP's maximum is 254 */
	{
		uint8_t sm[255];

		memset(sm, 'a', sizeof sm);
		build_deliver_prefix(&b, 1, 0, sm, 255);
		assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu),
		    ESME_RINVMSGLEN);
		build_deliver_prefix(&b, 1, 0, sm, 254);
		assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), 0);
		assert_int_equal(pdu.sm_length, 254);
	}

	/* a TLV whose length runs past the end */
	build_deliver_prefix(&b, 1, 0, "x", 1);
	smpp_build_u16(&b, SMPP_TLV_MESSAGE_PAYLOAD);
	smpp_build_u16(&b, 10);
	smpp_build_bytes(&b, "12345", 5);
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), ESME_RINVTLVSTREAM);

	/* 1, 2 and 3 stray bytes after the last TLV */
	for (int k = 1; k <= 3; k++) {
		build_deliver_prefix(&b, 1, 0, "x", 1);
		smpp_build_tlv(&b, 0x1400, NULL, 0);
		smpp_build_bytes(&b, "\x02\x0C\x00", (size_t)k);
		assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu),
		    ESME_RINVTLVSTREAM);
	}

	/* fixed-width TLVs with the wrong length */
	build_deliver_prefix(&b, 1, 0, "x", 1);
	smpp_build_tlv(&b, SMPP_TLV_SAR_MSG_REF_NUM, &one, 1);
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), ESME_RINVPARLEN);
	build_deliver_prefix(&b, 1, 0, "x", 1);
	smpp_build_tlv(&b, SMPP_TLV_SAR_TOTAL_SEGMENTS, "\0\0", 2);
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), ESME_RINVPARLEN);
	build_deliver_prefix(&b, 1, 0, "x", 1);
	smpp_build_tlv(&b, SMPP_TLV_MESSAGE_STATE, NULL, 0);
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), ESME_RINVPARLEN);
	build_deliver_prefix(&b, 1, 0, "x", 1);
	smpp_build_tlv(&b, 0x0017, "\0\0\0", 3);	/* qos_time_to_live is 4 */
	assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu), ESME_RINVPARLEN);
	{
		char id[66];

		memset(id, 'f', sizeof id);
		build_deliver_prefix(&b, 1, 4, "x", 1);
		smpp_build_tlv(&b, SMPP_TLV_RECEIPTED_MESSAGE_ID, id, 66);
		assert_int_equal(smpp_decode(buf, (size_t)smpp_build_finish(&b), &pdu),
		    ESME_RINVPARLEN);
	}
}

/* The PDU that overflows libsmpp34's trace buffer must be ordinary to us. */
static void
check_many_empty_tlvs(unsigned n)
{
	struct smpp_build b;
	unsigned i;
	int len;

	build_deliver_prefix(&b, 60, 0, "BAL 1234", 8);
	for (i = 0; i < n; i++)
		smpp_build_tlv(&b, (uint16_t)(0x1400 + i % 0x2000), NULL, 0);
	len = smpp_build_finish(&b);
	assert_true(len > 0);
	assert_int_equal(smpp_decode(buf, (size_t)len, &pdu), 0);
	assert_int_equal(pdu.ntlv, n);
	assert_int_equal(pdu.ntlv_unknown, n);
	assert_int_equal(pdu.sm_length, 8);
	assert_memory_equal(pdu.short_message, "BAL 1234", 8);
}

static void
test_decode_29_empty_tlvs(void **state)
{
	check_many_empty_tlvs(28);
	check_many_empty_tlvs(29);
}

static void
test_decode_1000_empty_tlvs(void **state)
{
	check_many_empty_tlvs(1000);
}

/* Deterministic garbage: random bytes under a valid header of each command id. */
static void
test_decode_garbage(void **state)
{
	static const uint32_t ids[] = { SMPP_BIND_TRANSCEIVER, SMPP_BIND_TRANSCEIVER | SMPP_RESP_BIT,
	    SMPP_SUBMIT_SM, SMPP_DELIVER_SM, SMPP_SUBMIT_SM | SMPP_RESP_BIT, SMPP_DATA_SM,
	    SMPP_QUERY_SM | SMPP_RESP_BIT, SMPP_REPLACE_SM, SMPP_CANCEL_SM, SMPP_SUBMIT_MULTI,
	    SMPP_SUBMIT_MULTI | SMPP_RESP_BIT, SMPP_ALERT_NOTIFICATION, SMPP_OUTBIND,
	    SMPP_ENQUIRE_LINK, 0x12345678 };
	uint32_t x = 2463534242u;
	size_t i, n, k;

	for (i = 0; i < 20000; i++) {
		x ^= x << 13; x ^= x >> 17; x ^= x << 5;
		n = 16 + x % 300;
		uint8_t *p = malloc(n);
		for (k = 0; k < n; k++) {
			x ^= x << 13; x ^= x >> 17; x ^= x << 5;
			/* mostly small bytes, so NULs and short lengths are common */
			p[k] = (uint8_t)(x % 3 == 0 ? 0 : x >> 8);
		}
		set_u32(p, (uint32_t)n);
		set_u32(p + 4, ids[i % (sizeof ids / sizeof ids[0])]);
		(void)smpp_decode(p, n, &pdu);
		assert_true(strlen(pdu.source_addr) < sizeof pdu.source_addr);
		assert_true(strlen(pdu.message_id) < sizeof pdu.message_id);
		if (pdu.short_message != NULL)
			assert_true(pdu.short_message >= p && pdu.short_message + pdu.sm_length <= p + n);
		if (pdu.message_payload != NULL)
			assert_true(pdu.message_payload >= p &&
			    pdu.message_payload + pdu.message_payload_len <= p + n);
		free(p);
	}
}

/* ---- encoding ----------------------------------------------------------------------- */

static uint8_t enc[SMPP_ENCODE_MAX];
static struct smpp_pdu in;

static void
reset_in(uint32_t id, uint32_t seq)
{
	memset(&in, 0, sizeof in);
	in.h.command_id = id;
	in.h.sequence = seq;
}

/* Encodes in, decodes it back and checks the header. */
static int
round_trip(void)
{
	int n = smpp_encode(&in, enc, sizeof enc);

	assert_true(n >= SMPP_HEADER_LEN);
	assert_true(smpp_encode_trace_used() < 2048 - 64);
	assert_int_equal(smpp_decode(enc, (size_t)n, &pdu), 0);
	assert_int_equal(pdu.h.length, n);
	assert_int_equal(pdu.h.command_id, in.h.command_id);
	assert_int_equal(pdu.h.status, in.h.status);
	assert_int_equal(pdu.h.sequence, in.h.sequence);
	return n;
}

static void
test_encode_bind(void **state)
{
	static const uint32_t ids[] = { SMPP_BIND_TRANSCEIVER, SMPP_BIND_TRANSMITTER,
	    SMPP_BIND_RECEIVER };
	size_t i;

	for (i = 0; i < 3; i++) {
		reset_in(ids[i], 1);
		/* every string at its widest */
		strcpy(in.system_id, "abcdefghijklmno");
		strcpy(in.password, "12345678");
		strcpy(in.system_type, "ABCDEFGHIJKL");
		in.addr_ton = 1;
		in.addr_npi = 1;
		memset(in.address_range, 'r', 40);
		round_trip();
		assert_string_equal(pdu.system_id, "abcdefghijklmno");
		assert_string_equal(pdu.password, "12345678");
		assert_string_equal(pdu.system_type, "ABCDEFGHIJKL");
		assert_int_equal(pdu.interface_version, 0x34);
		assert_int_equal(pdu.addr_ton, 1);
		assert_int_equal(strlen(pdu.address_range), 40);

		/* one more character each: refused, not truncated */
		strcpy(in.system_id, "abcdefghijklmno");
		in.system_id[15] = 'p';
		assert_int_equal(smpp_encode(&in, enc, sizeof enc), -1);

		reset_in(ids[i] | SMPP_RESP_BIT, 2);
		strcpy(in.system_id, "SMSC");
		round_trip();
		assert_string_equal(pdu.system_id, "SMSC");
	}
}

static void
test_encode_header_only(void **state)
{
	static const uint32_t ids[] = { SMPP_UNBIND, SMPP_UNBIND | SMPP_RESP_BIT,
	    SMPP_ENQUIRE_LINK, SMPP_ENQUIRE_LINK | SMPP_RESP_BIT, SMPP_GENERIC_NACK };
	size_t i;

	for (i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		reset_in(ids[i], 0x7FFFFFFF);
		if (ids[i] == SMPP_GENERIC_NACK)
			in.h.status = ESME_RINVCMDID;
		assert_int_equal(round_trip(), 16);
	}
}

static void
test_encode_submit_sm(void **state)
{
	uint8_t sm[254];
	int n;

	reset_in(SMPP_SUBMIT_SM, 100);
	strcpy(in.source_addr, "RECHRG");
	in.source_addr_ton = 5;
	strcpy(in.destination_addr, "919876543210");
	in.dest_addr_ton = 1;
	in.dest_addr_npi = 1;
	in.registered_delivery = 1;
	in.short_message = (const uint8_t *)"Recharge of Rs 199 done";
	in.sm_length = 23;
	round_trip();
	assert_string_equal(pdu.source_addr, "RECHRG");
	assert_int_equal(pdu.source_addr_ton, 5);
	assert_string_equal(pdu.destination_addr, "919876543210");
	assert_int_equal(pdu.registered_delivery, 1);
	assert_int_equal(pdu.sm_length, 23);
	assert_memory_equal(pdu.short_message, "Recharge of Rs 199 done", 23);

	/* 253 and 254 octets (libsmpp34 stops at 253; the last octet is spliced in) */
	for (n = 0; n < 254; n++)
		sm[n] = (uint8_t)n;
	in.short_message = sm;
	in.sm_length = 253;
	round_trip();
	assert_int_equal(pdu.sm_length, 253);
	assert_memory_equal(pdu.short_message, sm, 253);
	in.sm_length = 254;
	round_trip();
	assert_int_equal(pdu.sm_length, 254);
	assert_memory_equal(pdu.short_message, sm, 254);
	assert_int_equal(pdu.ntlv, 0);

	/* 254 octets with SAR TLVs after them: the splice keeps them intact */
	in.has_sar = 1;
	in.sar_msg_ref_num = 0xBEEF;
	in.sar_total_segments = 2;
	in.sar_segment_seqnum = 1;
	round_trip();
	assert_int_equal(pdu.sm_length, 254);
	assert_memory_equal(pdu.short_message, sm, 254);
	assert_true(pdu.has_sar);
	assert_int_equal(pdu.sar_msg_ref_num, 0xBEEF);
	assert_int_equal(pdu.sar_total_segments, 2);
	assert_int_equal(pdu.sar_segment_seqnum, 1);
}

/* The trace-budget risk: every field at its widest, 1024 octets of payload, SAR. */
static void
test_encode_submit_sm_payload_1024(void **state)
{
	static uint8_t payload[1025];
	size_t i;

	for (i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i * 7);
	reset_in(SMPP_SUBMIT_SM, 0x7FFFFFFF);
	strcpy(in.service_type, "ABCDE");
	memset(in.source_addr, '1', 20);
	in.source_addr_ton = 6;
	in.source_addr_npi = 18;
	memset(in.destination_addr, '9', 20);
	in.dest_addr_ton = 4;
	in.dest_addr_npi = 14;
	in.esm_class = 0xFF;
	in.protocol_id = 0xFF;
	in.priority_flag = 0xFF;
	strcpy(in.schedule_delivery_time, "261129211503000+");
	strcpy(in.validity_period, "261130211503000R");
	in.registered_delivery = 0xFF;
	in.replace_if_present_flag = 0xFF;
	in.data_coding = 0xFF;
	in.sm_default_msg_id = 0xFF;
	in.has_message_payload = 1;
	in.message_payload = payload;
	in.message_payload_len = 1024;
	in.has_sar = 1;
	in.sar_msg_ref_num = 0xFFFF;
	in.sar_total_segments = 255;
	in.sar_segment_seqnum = 255;
	round_trip();
	print_message("submit_sm with 1024-octet payload: %zu of 2048 trace bytes used\n",
	    smpp_encode_trace_used());
	assert_true(pdu.has_message_payload);
	assert_int_equal(pdu.message_payload_len, 1024);
	assert_memory_equal(pdu.message_payload, payload, 1024);
	assert_true(pdu.has_sar);
	assert_int_equal(pdu.sar_msg_ref_num, 0xFFFF);
	assert_int_equal(pdu.ntlv, 4);
	assert_int_equal(strlen(pdu.source_addr), 20);
	assert_string_equal(pdu.validity_period, "261130211503000R");

	/* and with a 254-octet short_message as well: the widest PDU we can encode */
	{
		uint8_t sm[254];

		memset(sm, 0xAA, sizeof sm);
		in.short_message = sm;
		in.sm_length = 254;
		round_trip();
		print_message("plus 254-octet short_message: %zu of 2048 trace bytes used\n",
		    smpp_encode_trace_used());
		assert_int_equal(pdu.sm_length, 254);
		assert_int_equal(pdu.message_payload_len, 1024);
	}

	/* 1025 octets: over libsmpp34's TLV cap, refused */
	in.sm_length = 0;
	in.message_payload_len = 1025;
	assert_int_equal(smpp_encode(&in, enc, sizeof enc), -1);
}

static void
test_encode_udh_part(void **state)
{
	uint8_t sm[6 + 153];

	memcpy(sm, "\x05\x00\x03\x2A\x02\x01", 6);
	memset(sm + 6, 'a', 153);
	reset_in(SMPP_SUBMIT_SM, 3);
	strcpy(in.source_addr, "RECHRG");
	in.source_addr_ton = 5;
	strcpy(in.destination_addr, "919876543210");
	in.dest_addr_ton = 1;
	in.dest_addr_npi = 1;
	in.esm_class = 0x40;
	in.short_message = sm;
	in.sm_length = sizeof sm;
	round_trip();
	assert_int_equal(pdu.esm_class, 0x40);
	assert_int_equal(pdu.sm_length, sizeof sm);
	assert_memory_equal(pdu.short_message, sm, sizeof sm);
}

static void
test_encode_other(void **state)
{
	reset_in(SMPP_SUBMIT_SM | SMPP_RESP_BIT, 4);
	memset(in.message_id, 'z', 64);
	round_trip();
	assert_int_equal(strlen(pdu.message_id), 64);

	reset_in(SMPP_DELIVER_SM | SMPP_RESP_BIT, 5);
	assert_int_equal(round_trip(), 17);
	reset_in(SMPP_DELIVER_SM | SMPP_RESP_BIT, 6);
	in.h.status = ESME_RX_T_APPN;
	assert_int_equal(round_trip(), 17);
	strcpy(in.message_id, "x");		/* must be empty in deliver_sm_resp */
	assert_int_equal(smpp_encode(&in, enc, sizeof enc), -1);

	reset_in(SMPP_DATA_SM | SMPP_RESP_BIT, 8);
	in.h.status = ESME_RX_P_APPN;
	assert_int_equal(round_trip(), 17);
	assert_string_equal(pdu.message_id, "");

	reset_in(SMPP_DELIVER_SM, 7);
	strcpy(in.source_addr, "919876543210");
	in.source_addr_ton = 1;
	in.source_addr_npi = 1;
	strcpy(in.destination_addr, "56789");
	in.data_coding = 8;
	in.has_message_payload = 1;
	in.message_payload = (const uint8_t *)"\x09\x28\x09\x2E";
	in.message_payload_len = 4;
	round_trip();
	assert_int_equal(pdu.data_coding, 8);
	assert_int_equal(pdu.message_payload_len, 4);
	assert_memory_equal(pdu.message_payload, "\x09\x28\x09\x2E", 4);
}

static void
test_encode_refusals(void **state)
{
	uint8_t small[20];

	reset_in(SMPP_SUBMIT_SM, 1);
	strcpy(in.destination_addr, "919876543210");
	in.dest_addr_ton = 1;
	in.dest_addr_npi = 1;
	assert_true(smpp_encode(&in, enc, sizeof enc) > 0);

	memset(in.source_addr, '1', 21);		/* 21 characters: too long */
	assert_int_equal(smpp_encode(&in, enc, sizeof enc), -1);
	in.source_addr[0] = '\0';
	in.dest_addr_ton = 7;				/* TON outside 0..6 */
	assert_int_equal(smpp_encode(&in, enc, sizeof enc), -1);
	in.dest_addr_ton = 1;
	in.dest_addr_npi = 2;				/* NPI not in the list */
	assert_int_equal(smpp_encode(&in, enc, sizeof enc), -1);
	in.dest_addr_npi = 1;
	in.h.sequence = 0;
	assert_int_equal(smpp_encode(&in, enc, sizeof enc), -1);
	in.h.sequence = 0x80000000u;
	assert_int_equal(smpp_encode(&in, enc, sizeof enc), -1);
	in.h.sequence = 1;
	strcpy(in.schedule_delivery_time, "12345678901234567");
	assert_int_equal(smpp_encode(&in, enc, sizeof enc), -1);
	in.schedule_delivery_time[0] = '\0';
	in.sm_length = 3;				/* a length with no bytes */
	assert_int_equal(smpp_encode(&in, enc, sizeof enc), -1);
	in.sm_length = 0;
	in.has_message_payload = 1;			/* an empty payload */
	assert_int_equal(smpp_encode(&in, enc, sizeof enc), -1);
	in.has_message_payload = 0;
	assert_int_equal(smpp_encode(&in, small, sizeof small), -1);	/* no room */
	assert_true(smpp_encode(&in, enc, sizeof enc) > 0);

	reset_in(SMPP_GENERIC_NACK, 1);
	in.h.status = 0x0000045A;			/* vendor status: libsmpp34 refuses */
	assert_int_equal(smpp_encode(&in, enc, sizeof enc), -1);

	reset_in(SMPP_QUERY_SM, 1);			/* not one we encode */
	assert_int_equal(smpp_encode(&in, enc, sizeof enc), -1);
	reset_in(SMPP_DATA_SM, 1);
	assert_int_equal(smpp_encode(&in, enc, sizeof enc), -1);
}

/* ---- names -------------------------------------------------------------------------- */

static void
test_names(void **state)
{
	assert_string_equal(smpp_status_name(ESME_ROK), "ESME_ROK");
	assert_string_equal(smpp_status_name(ESME_RTHROTTLED), "ESME_RTHROTTLED");
	assert_string_equal(smpp_status_name(ESME_RMSGQFUL), "ESME_RMSGQFUL");
	assert_string_equal(smpp_status_name(ESME_RBINDFAIL), "ESME_RBINDFAIL");
	assert_string_equal(smpp_status_name(ESME_RX_T_APPN), "ESME_RX_T_APPN");
	assert_string_equal(smpp_status_name(0x45A), "0x0000045A");
	assert_string_equal(smpp_command_name(SMPP_SUBMIT_SM), "submit_sm");
	assert_string_equal(smpp_command_name(SMPP_DELIVER_SM | SMPP_RESP_BIT), "deliver_sm_resp");
	assert_string_equal(smpp_command_name(SMPP_GENERIC_NACK), "generic_nack");
	assert_string_equal(smpp_command_name(SMPP_BIND_TRANSCEIVER), "bind_transceiver");
	assert_string_equal(smpp_command_name(0x12345678), "0x12345678");
}


/* ---- the session (test mode: no socket) ------------------------------------------- */

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/bufferevent.h>
#include <event2/buffer.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

static struct event_base *base;

/* What the callbacks saw. */
static struct {
	int nmo, ndlr, nsubmit, nstate, bound;
	char mo_text[512], mo_src[65];
	uint8_t mo_ton, mo_npi, mo_dc;
	uint64_t mo_ticket;
	uint32_t mo_return;
	int part_total, part_seq, part_ref;
	char part[64]; size_t part_len;
	char dlr_id[65], dlr_stat[16];
	uint64_t submit_ref[64];
	uint32_t submit_status[64];
	char submit_id[64][65];
	int stopped;
} seen;

static uint32_t
cb_mo(void *arg, const struct smpp_mo *mo, uint64_t ticket)
{
	seen.nmo++;
	snprintf(seen.mo_src, sizeof seen.mo_src, "%s", mo->source_addr);
	seen.mo_ton = mo->source_ton;
	seen.mo_npi = mo->source_npi;
	seen.mo_dc = mo->data_coding;
	seen.mo_ticket = ticket;
	seen.part_total = mo->part_total;
	seen.part_seq = mo->part_seq;
	seen.part_ref = mo->part_ref;
	if (mo->part_total > 0) {
		assert_null(mo->text);
		assert_true(mo->part_len <= sizeof seen.part);
		seen.part_len = mo->part_len;
		memcpy(seen.part, mo->part, mo->part_len);
		seen.mo_text[0] = '\0';
	} else {
		snprintf(seen.mo_text, sizeof seen.mo_text, "%s", mo->text);
		assert_int_equal(strlen(mo->text), mo->text_len);
	}
	return seen.mo_return;
}

static void
cb_submit(void *arg, uint64_t ref, uint32_t status, const char *message_id)
{
	int i = seen.nsubmit++ % 64;

	seen.submit_ref[i] = ref;
	seen.submit_status[i] = status;
	snprintf(seen.submit_id[i], sizeof seen.submit_id[i], "%s", message_id ? message_id : "(null)");
}

static void
cb_state(void *arg, int bound)
{
	seen.nstate++;
	seen.bound = bound;
}

static void
cb_dlr(void *arg, const char *message_id, const char *stat)
{
	seen.ndlr++;
	snprintf(seen.dlr_id, sizeof seen.dlr_id, "%s", message_id);
	snprintf(seen.dlr_stat, sizeof seen.dlr_stat, "%s", stat);
}

static void
cb_stopped(void *arg)
{
	seen.stopped++;
}

static struct smpp_session_config scfg;
static struct smpp_session_callbacks scbs;

static void
session_defaults(void)
{
	memset(&seen, 0, sizeof seen);
	seen.mo_return = SMPP_MO_DEFER;
	memset(&scfg, 0, sizeof scfg);
	scfg.host = "127.0.0.1";
	scfg.port = 1;
	scfg.system_id = "rechargd";
	scfg.password = "secret";
	scfg.system_type = "";
	scfg.address_range = "";
	scfg.source_addr = "RECHRG";
	scfg.source_ton = 5;
	scfg.source_npi = 0;
	scfg.enquire_link_s = 30;
	scfg.dead_link_s = 90;
	scfg.reconnect_max_s = 2;
	scfg.window = 4;
	scfg.response_timeout_s = 30;
	scfg.submit_tps = 0;
	memset(&scbs, 0, sizeof scbs);
	scbs.mo_cb = cb_mo;
	scbs.submit_cb = cb_submit;
	scbs.state_cb = cb_state;
	scbs.dlr_cb = cb_dlr;
	if (base == NULL)
		base = event_base_new();
}

/* What the session wrote, framed and decoded; pointers stay valid until the next call. */
static struct smpp_pdu out_pdus[64];
static uint8_t out_buf[256 * 1024];

static int
session_sent(struct smpp_session *ss, int conn)
{
	size_t n = smpp_session_sent_for_test(ss, conn, out_buf, sizeof out_buf), at = 0;
	uint32_t len;
	int k = 0;

	while (at < n && k < 64) {
		assert_int_equal(smpp_frame(out_buf + at, n - at, &len), 1);
		assert_int_equal(smpp_decode(out_buf + at, len, &out_pdus[k]), 0);
		at += len;
		k++;
	}
	assert_int_equal(at, n);
	return k;
}

static void
feed(struct smpp_session *ss, int conn, int len, int expect)
{
	assert_true(len > 0);
	assert_int_equal(smpp_session_feed_for_test(ss, conn, buf, (size_t)len), expect);
}

/* Runs the loop for ms milliseconds (timers of the session fire). */
static void
run_loop_ms(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static int
build_submit_resp(uint32_t seq, uint32_t status, const char *id)
{
	struct smpp_build b;

	smpp_build_start(&b, buf, sizeof buf, SMPP_SUBMIT_SM | SMPP_RESP_BIT, status, seq);
	if (id != NULL)
		smpp_build_cstr(&b, id);
	return smpp_build_finish(&b);
}

static int
build_header(uint32_t id, uint32_t status, uint32_t seq)
{
	struct smpp_build b;

	smpp_build_start(&b, buf, sizeof buf, id, status, seq);
	return smpp_build_finish(&b);
}

static void
test_session_mo_deferred(void **state)
{
	struct smpp_session *ss;
	struct smpp_build b;
	uint64_t ticket;

	session_defaults();
	ss = smpp_session_new_for_test(base, &scfg, &scbs);
	assert_int_equal(seen.nstate, 1);
	assert_int_equal(seen.bound, 1);
	assert_true(smpp_session_is_bound(ss));
	assert_true(smpp_session_can_submit(ss));

	/* enquire_link is answered with its sequence */
	feed(ss, 0, build_header(SMPP_ENQUIRE_LINK, 0, 900), 0);
	assert_int_equal(session_sent(ss, 0), 1);
	assert_int_equal(out_pdus[0].h.command_id, SMPP_ENQUIRE_LINK | SMPP_RESP_BIT);
	assert_int_equal(out_pdus[0].h.sequence, 900);

	/* a GSM MO, deferred, then answered */
	feed(ss, 0, build_deliver("RC 9876543210 199 1234 \x1B\x65"), 0);
	assert_int_equal(seen.nmo, 1);
	assert_string_equal(seen.mo_text, "RC 9876543210 199 1234 €");
	assert_string_equal(seen.mo_src, "919876543210");
	assert_int_equal(seen.mo_ton, 1);
	assert_int_equal(seen.mo_npi, 1);
	assert_int_equal(session_sent(ss, 0), 0);
	ticket = seen.mo_ticket;
	assert_int_equal(ticket & 0xFFFFFFFFu, 42);
	smpp_session_mo_answer(ss, ticket, ESME_ROK);
	assert_int_equal(session_sent(ss, 0), 1);
	assert_int_equal(out_pdus[0].h.command_id, SMPP_DELIVER_SM | SMPP_RESP_BIT);
	assert_int_equal(out_pdus[0].h.sequence, 42);
	assert_int_equal(out_pdus[0].h.status, ESME_ROK);

	/* an answer for another generation is dropped */
	smpp_session_mo_answer(ss, ticket + (1ull << 32), ESME_ROK);
	assert_int_equal(session_sent(ss, 0), 0);

	/* the caller cannot take it: answered at once */
	seen.mo_return = ESME_RX_T_APPN;
	feed(ss, 0, build_deliver("BAL 1234"), 0);
	assert_int_equal(seen.nmo, 2);
	assert_int_equal(session_sent(ss, 0), 1);
	assert_int_equal(out_pdus[0].h.status, ESME_RX_T_APPN);

	/* UCS-2 Hindi */
	seen.mo_return = ESME_ROK;
	build_deliver_prefix(&b, 43, 8, "\x09\x28\x09\x2E\x09\x38\x09\x4D\x09\x24\x09\x47", 12);
	feed(ss, 0, smpp_build_finish(&b), 0);
	assert_string_equal(seen.mo_text, "नमस्ते");
	assert_int_equal(seen.mo_dc, 8);
	assert_int_equal(session_sent(ss, 0), 1);

	/* a UDH that is not a concatenation is stripped */
	build_deliver_prefix(&b, 44, 0, "\x03\x24\x01\x00" "BAL", 7);
	buf[16 + 1 + 2 + 13 + 2 + 6] = 0x40;	/* esm_class */
	feed(ss, 0, smpp_build_finish(&b), 0);
	assert_string_equal(seen.mo_text, "BAL");
	session_sent(ss, 0);

	/* a data_sm MO is answered with data_sm_resp */
	seen.mo_return = SMPP_MO_DEFER;
	smpp_build_start(&b, buf, sizeof buf, SMPP_DATA_SM, 0, 45);
	smpp_build_cstr(&b, "");
	smpp_build_u8(&b, 1);
	smpp_build_u8(&b, 1);
	smpp_build_cstr(&b, "919876543210");
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 0);
	smpp_build_cstr(&b, "56789");
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 1);
	smpp_build_tlv(&b, SMPP_TLV_MESSAGE_PAYLOAD, "HELP", 4);
	feed(ss, 0, smpp_build_finish(&b), 0);
	assert_string_equal(seen.mo_text, "HELP");
	smpp_session_mo_answer(ss, seen.mo_ticket, ESME_ROK);
	assert_int_equal(session_sent(ss, 0), 1);
	assert_int_equal(out_pdus[0].h.command_id, SMPP_DATA_SM | SMPP_RESP_BIT);
	assert_int_equal(out_pdus[0].h.sequence, 45);
	smpp_session_free(ss);
}

/* One part of a long MO: UDH with an 8-bit (iei 0) or 16-bit (iei 8) reference. */
static int
build_part(uint32_t seq, const char *src, int iei, uint16_t ref, uint8_t total, uint8_t no,
    uint8_t dc, const void *text, size_t n)
{
	struct smpp_build b;
	uint8_t sm[254];
	size_t h;

	if (iei == 0) {
		memcpy(sm, "\x05\x00\x03", 3);
		sm[3] = (uint8_t)ref;
		sm[4] = total;
		sm[5] = no;
		h = 6;
	} else {
		memcpy(sm, "\x06\x08\x04", 3);
		sm[3] = (uint8_t)(ref >> 8);
		sm[4] = (uint8_t)ref;
		sm[5] = total;
		sm[6] = no;
		h = 7;
	}
	memcpy(sm + h, text, n);
	smpp_build_start(&b, buf, sizeof buf, SMPP_DELIVER_SM, 0, seq);
	smpp_build_cstr(&b, "");
	smpp_build_u8(&b, 1);
	smpp_build_u8(&b, 1);
	smpp_build_cstr(&b, src);
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 1);
	smpp_build_cstr(&b, "56789");
	smpp_build_u8(&b, 0x40);
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 0);
	smpp_build_cstr(&b, "");
	smpp_build_cstr(&b, "");
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, dc);
	smpp_build_u8(&b, 0);
	smpp_build_u8(&b, (uint8_t)(h + n));
	smpp_build_bytes(&b, sm, h + n);
	return smpp_build_finish(&b);
}

/* Parts of a long MO go to the caller one by one, each answered only when the caller
 * says it is stored; reassembly is the caller's (channels/sms.c, durable). */
static void
test_session_long_mo(void **state)
{
	struct smpp_session *ss;
	struct smpp_build b;
	uint8_t one = 1, two = 2;

	session_defaults();
	ss = smpp_session_new_for_test(base, &scfg, &scbs);

	/* 8-bit reference: the body without its UDH, still encoded, and not answered yet */
	feed(ss, 0, build_part(1, "919876543210", 0, 0x2A, 3, 3, 0, "two \x1B", 5), 0);
	assert_int_equal(seen.nmo, 1);
	assert_int_equal(seen.part_total, 3);
	assert_int_equal(seen.part_seq, 3);
	assert_int_equal(seen.part_ref, 0x2A);
	assert_int_equal(seen.part_len, 5);
	assert_memory_equal(seen.part, "two \x1B", 5);
	assert_int_equal(session_sent(ss, 0), 0);
	smpp_session_mo_answer(ss, seen.mo_ticket, ESME_ROK);
	assert_int_equal(session_sent(ss, 0), 1);
	assert_int_equal(out_pdus[0].h.status, ESME_ROK);

	/* 16-bit reference */
	feed(ss, 0, build_part(2, "919876543210", 8, 0xBEEF, 2, 1, 8, "\x00" "A\xD8\x3D", 4), 0);
	assert_int_equal(seen.part_ref, 0xBEEF);
	assert_int_equal(seen.part_total, 2);
	assert_int_equal(seen.mo_dc, 8);
	assert_int_equal(seen.part_len, 4);

	/* SAR TLVs; a part the caller cannot take is answered so, and comes again */
	seen.mo_return = ESME_RX_T_APPN;
	build_deliver_prefix(&b, 7, 0, "BAL ", 4);
	smpp_build_tlv(&b, SMPP_TLV_SAR_MSG_REF_NUM, "\x00\x09", 2);
	smpp_build_tlv(&b, SMPP_TLV_SAR_TOTAL_SEGMENTS, &two, 1);
	smpp_build_tlv(&b, SMPP_TLV_SAR_SEGMENT_SEQNUM, &one, 1);
	feed(ss, 0, smpp_build_finish(&b), 0);
	assert_int_equal(seen.part_ref, 9);
	assert_int_equal(seen.part_seq, 1);
	session_sent(ss, 0);
	assert_int_equal(out_pdus[0].h.status, ESME_RX_T_APPN);
	seen.mo_return = SMPP_MO_DEFER;

	/* nonsense numbering is taken as a whole message */
	feed(ss, 0, build_part(10, "919876543210", 0, 1, 2, 3, 0, "odd", 3), 0);
	assert_int_equal(seen.part_total, 0);
	assert_string_equal(seen.mo_text, "odd");
	smpp_session_free(ss);
}

static void
test_session_dlr(void **state)
{
	struct smpp_session *ss;
	struct smpp_build b;
	const char *t = "id:0A1B2C3D sub:001 dlvrd:001 submit date:2611292115 done date:2611292116 "
	    "stat:DELIVRD err:000 text:stat:FAKE";
	uint8_t st = 5;

	session_defaults();
	ss = smpp_session_new_for_test(base, &scfg, &scbs);
	build_deliver_prefix(&b, 50, 0, t, (uint8_t)strlen(t));
	buf[16 + 1 + 2 + 13 + 2 + 6] = 0x04;
	feed(ss, 0, smpp_build_finish(&b), 0);
	assert_int_equal(seen.nmo, 0);
	assert_int_equal(seen.ndlr, 1);
	assert_string_equal(seen.dlr_id, "0A1B2C3D");
	assert_string_equal(seen.dlr_stat, "DELIVRD");
	assert_int_equal(session_sent(ss, 0), 1);
	assert_int_equal(out_pdus[0].h.status, ESME_ROK);
	assert_int_equal(out_pdus[0].h.sequence, 50);

	/* TLV form, no text */
	build_deliver_prefix(&b, 51, 0, NULL, 0);
	smpp_build_tlv(&b, SMPP_TLV_RECEIPTED_MESSAGE_ID, "12345", 6);
	smpp_build_tlv(&b, SMPP_TLV_MESSAGE_STATE, &st, 1);
	buf[16 + 1 + 2 + 13 + 2 + 6] = 0x04;
	feed(ss, 0, smpp_build_finish(&b), 0);
	assert_int_equal(seen.ndlr, 2);
	assert_string_equal(seen.dlr_id, "12345");
	assert_string_equal(seen.dlr_stat, "UNDELIV");
	assert_int_equal(seen.nmo, 0);
	assert_int_equal(session_sent(ss, 0), 1);
	smpp_session_free(ss);
}

static void
test_session_bad_input(void **state)
{
	struct smpp_session *ss;
	struct smpp_build b;

	session_defaults();
	ss = smpp_session_new_for_test(base, &scfg, &scbs);

	/* malformed deliver_sm: its resp carries the decode status; the link stays */
	smpp_build_start(&b, buf, sizeof buf, SMPP_DELIVER_SM, 0, 60);
	smpp_build_cstr(&b, "");
	smpp_build_u8(&b, 1);
	smpp_build_u8(&b, 1);
	smpp_build_cstr(&b, "123456789012345678901");
	feed(ss, 0, smpp_build_finish(&b), 0);
	assert_int_equal(session_sent(ss, 0), 1);
	assert_int_equal(out_pdus[0].h.command_id, SMPP_DELIVER_SM | SMPP_RESP_BIT);
	assert_int_equal(out_pdus[0].h.status, ESME_RINVSRCADR);
	assert_int_equal(seen.nmo, 0);

	/* unknown command: generic_nack */
	smpp_build_start(&b, buf, sizeof buf, 0x00000104, 0, 61);
	feed(ss, 0, smpp_build_finish(&b), 0);
	assert_int_equal(session_sent(ss, 0), 1);
	assert_int_equal(out_pdus[0].h.command_id, SMPP_GENERIC_NACK);
	assert_int_equal(out_pdus[0].h.status, ESME_RINVCMDID);
	assert_int_equal(out_pdus[0].h.sequence, 61);

	/* a submit_sm from the SMSC is not ours to serve */
	feed(ss, 0, build_header(SMPP_SUBMIT_SM, 0, 62), 0);
	assert_int_equal(session_sent(ss, 0), 1);
	assert_int_equal(out_pdus[0].h.command_id, SMPP_GENERIC_NACK);

	/* sequence 0 (libsmpp34 cannot encode it): answered raw */
	feed(ss, 0, build_header(SMPP_ENQUIRE_LINK, 0, 0), 0);
	assert_int_equal(session_sent(ss, 0), 1);
	assert_int_equal(out_pdus[0].h.command_id, SMPP_ENQUIRE_LINK | SMPP_RESP_BIT);
	assert_int_equal(out_pdus[0].h.sequence, 0);

	/* two PDUs in one read, then half of a third */
	{
		int a = build_header(SMPP_ENQUIRE_LINK, 0, 70), k;
		uint8_t two[48];

		memcpy(two, buf, 16);
		build_header(SMPP_ENQUIRE_LINK, 0, 71);
		memcpy(two + 16, buf, 16);
		build_header(SMPP_ENQUIRE_LINK, 0, 72);
		memcpy(two + 32, buf, 16);
		assert_int_equal(smpp_session_feed_for_test(ss, 0, two, 40), 0);
		k = session_sent(ss, 0);
		assert_int_equal(k, 2);
		assert_int_equal(smpp_session_feed_for_test(ss, 0, two + 40, 8), 0);
		assert_int_equal(session_sent(ss, 0), 1);
		assert_int_equal(out_pdus[0].h.sequence, 72);
		(void)a;
	}

	/* an impossible command_length drops the link */
	memcpy(buf, "\x00\x00\x00\x05\x00\x00\x00\x15", 8);
	assert_int_equal(smpp_session_feed_for_test(ss, 0, buf, 8), -1);
	assert_int_equal(seen.bound, 0);
	assert_false(smpp_session_is_bound(ss));
	assert_int_equal(smpp_session_feed_for_test(ss, 0, buf, 8), -1);
	smpp_session_free(ss);
}

static void
test_session_submit(void **state)
{
	struct smpp_session *ss;
	char text[400];
	uint32_t s1, s2;

	session_defaults();
	scfg.request_dlr = 1;
	ss = smpp_session_new_for_test(base, &scfg, &scbs);

	assert_int_equal(smpp_session_submit(ss, 7, "919876543210", 1, 1, "Recharge done"), 0);
	assert_int_equal(session_sent(ss, 0), 1);
	assert_int_equal(out_pdus[0].h.command_id, SMPP_SUBMIT_SM);
	assert_string_equal(out_pdus[0].source_addr, "RECHRG");
	assert_int_equal(out_pdus[0].source_addr_ton, 5);
	assert_string_equal(out_pdus[0].destination_addr, "919876543210");
	assert_int_equal(out_pdus[0].dest_addr_ton, 1);
	assert_int_equal(out_pdus[0].registered_delivery, 1);
	assert_int_equal(out_pdus[0].esm_class, 0);
	assert_int_equal(out_pdus[0].sm_length, 13);
	s1 = out_pdus[0].h.sequence;
	feed(ss, 0, build_submit_resp(s1, 0, "MSG1"), 0);
	assert_int_equal(seen.nsubmit, 1);
	assert_int_equal(seen.submit_ref[0], 7);
	assert_int_equal(seen.submit_status[0], ESME_ROK);
	assert_string_equal(seen.submit_id[0], "MSG1");

	/* 300 characters: two UDH parts, one ref, complete when both are answered */
	memset(text, 'a', 300);
	text[300] = '\0';
	assert_int_equal(smpp_session_submit(ss, 8, "919876543210", 1, 1, text), 0);
	assert_int_equal(session_sent(ss, 0), 2);
	assert_int_equal(out_pdus[0].esm_class, 0x40);
	assert_int_equal(out_pdus[1].esm_class, 0x40);
	assert_int_equal(out_pdus[0].sm_length, 6 + 153);
	assert_int_equal(out_pdus[1].sm_length, 6 + 147);
	assert_memory_equal(out_pdus[0].short_message, "\x05\x00\x03", 3);
	assert_int_equal(out_pdus[0].short_message[3], out_pdus[1].short_message[3]);
	assert_int_equal(out_pdus[0].short_message[4], 2);
	assert_int_equal(out_pdus[0].short_message[5], 1);
	assert_int_equal(out_pdus[1].short_message[5], 2);
	s1 = out_pdus[0].h.sequence;
	s2 = out_pdus[1].h.sequence;
	feed(ss, 0, build_submit_resp(s2, 0, "P2"), 0);
	assert_int_equal(seen.nsubmit, 1);
	feed(ss, 0, build_submit_resp(s1, 0, "P1"), 0);
	assert_int_equal(seen.nsubmit, 2);
	assert_int_equal(seen.submit_ref[1], 8);
	assert_int_equal(seen.submit_status[1], ESME_ROK);
	assert_string_equal(seen.submit_id[1], "P1");

	/* a late or unknown answer changes nothing */
	feed(ss, 0, build_submit_resp(s1, 0, "again"), 0);
	assert_int_equal(seen.nsubmit, 2);

	/* refused: the status goes to the caller, the other part is dropped */
	assert_int_equal(smpp_session_submit(ss, 9, "919876543210", 1, 1, text), 0);
	assert_int_equal(session_sent(ss, 0), 2);
	feed(ss, 0, build_submit_resp(out_pdus[0].h.sequence, ESME_RINVDSTADR, NULL), 0);
	assert_int_equal(seen.nsubmit, 3);
	assert_int_equal(seen.submit_ref[2], 9);
	assert_int_equal(seen.submit_status[2], ESME_RINVDSTADR);
	assert_string_equal(seen.submit_id[2], "(null)");
	feed(ss, 0, build_submit_resp(out_pdus[1].h.sequence, 0, "late"), 0);
	assert_int_equal(seen.nsubmit, 3);

	/* UCS-2 text */
	assert_int_equal(smpp_session_submit(ss, 10, "919876543210", 1, 1, "रिचार्ज सफल"), 0);
	assert_int_equal(session_sent(ss, 0), 1);
	assert_int_equal(out_pdus[0].data_coding, 8);
	feed(ss, 0, build_submit_resp(out_pdus[0].h.sequence, 0, "U1"), 0);

	/* not encodable: bad UTF-8, dest too long, TON out of range */
	assert_int_equal(smpp_session_submit(ss, 11, "919876543210", 1, 1, "\xC0\x80"), -1);
	assert_int_equal(smpp_session_submit(ss, 11, "123456789012345678901", 1, 1, "x"), -1);
	assert_int_equal(smpp_session_submit(ss, 11, "919876543210", 9, 1, "x"), -1);
	assert_int_equal(session_sent(ss, 0), 0);
	smpp_session_free(ss);
}

static void
test_session_payload_mode(void **state)
{
	struct smpp_session *ss;
	char text[400];

	session_defaults();
	scfg.long_sms_payload = 1;
	ss = smpp_session_new_for_test(base, &scfg, &scbs);
	memset(text, 'b', 300);
	text[300] = '\0';
	assert_int_equal(smpp_session_submit(ss, 1, "919876543210", 1, 1, text), 0);
	assert_int_equal(session_sent(ss, 0), 1);
	assert_int_equal(out_pdus[0].sm_length, 0);
	assert_true(out_pdus[0].has_message_payload);
	assert_int_equal(out_pdus[0].message_payload_len, 300);
	smpp_session_free(ss);
}

static void
test_session_window_and_link_lost(void **state)
{
	struct smpp_session *ss;

	session_defaults();
	scfg.window = 2;
	ss = smpp_session_new_for_test(base, &scfg, &scbs);
	assert_int_equal(smpp_session_submit(ss, 1, "919876543210", 1, 1, "one"), 0);
	assert_int_equal(smpp_session_submit(ss, 2, "919876543210", 1, 1, "two"), 0);
	assert_false(smpp_session_can_submit(ss));
	assert_int_equal(smpp_session_submit(ss, 3, "919876543210", 1, 1, "three"), -1);
	assert_int_equal(session_sent(ss, 0), 2);

	/* the SMSC unbinds: unbind_resp, then every outstanding ref is lost */
	feed(ss, 0, build_header(SMPP_UNBIND, 0, 5), -1);
	assert_int_equal(session_sent(ss, 0), 1);
	assert_int_equal(out_pdus[0].h.command_id, SMPP_UNBIND | SMPP_RESP_BIT);
	assert_int_equal(out_pdus[0].h.sequence, 5);
	assert_int_equal(seen.nsubmit, 2);
	assert_int_equal(seen.submit_status[0], SMPP_STATUS_LINK_LOST);
	assert_int_equal(seen.submit_status[1], SMPP_STATUS_LINK_LOST);
	assert_int_equal(seen.submit_ref[0] + seen.submit_ref[1], 3);
	assert_int_equal(seen.bound, 0);
	assert_false(smpp_session_can_submit(ss));
	assert_int_equal(smpp_session_submit(ss, 4, "919876543210", 1, 1, "four"), -1);
	smpp_session_free(ss);
}

static void
test_session_throttled(void **state)
{
	struct smpp_session *ss;
	uint32_t seq;

	session_defaults();
	ss = smpp_session_new_for_test(base, &scfg, &scbs);
	assert_int_equal(smpp_session_submit(ss, 1, "919876543210", 1, 1, "hello"), 0);
	assert_int_equal(session_sent(ss, 0), 1);
	seq = out_pdus[0].h.sequence;
	feed(ss, 0, build_submit_resp(seq, ESME_RTHROTTLED, NULL), 0);
	assert_int_equal(seen.nsubmit, 0);
	/* paused: a new message waits too */
	assert_int_equal(smpp_session_submit(ss, 2, "919876543210", 1, 1, "world"), 0);
	assert_int_equal(session_sent(ss, 0), 0);
	run_loop_ms(1300);
	assert_int_equal(session_sent(ss, 0), 2);
	assert_memory_equal(out_pdus[0].short_message, "hello", 5);
	assert_int_not_equal(out_pdus[0].h.sequence, seq);
	assert_memory_equal(out_pdus[1].short_message, "world", 5);
	feed(ss, 0, build_submit_resp(out_pdus[0].h.sequence, ESME_RMSGQFUL, NULL), 0);
	feed(ss, 0, build_submit_resp(out_pdus[1].h.sequence, 0, "W"), 0);
	assert_int_equal(seen.nsubmit, 1);
	assert_int_equal(seen.submit_ref[0], 2);
	/* the pause doubled: 2 s */
	run_loop_ms(1500);
	assert_int_equal(session_sent(ss, 0), 0);
	run_loop_ms(700);
	assert_int_equal(session_sent(ss, 0), 1);
	feed(ss, 0, build_submit_resp(out_pdus[0].h.sequence, 0, "H"), 0);
	assert_int_equal(seen.nsubmit, 2);
	assert_int_equal(seen.submit_ref[1], 1);
	assert_string_equal(seen.submit_id[1], "H");
	smpp_session_free(ss);
}

/* A whole window refused by one throttle is one pause of 1 s, not a doubling per
 * answer (which reached 30 s at once); a refusal of a part sent after it doubles it. */
static void
test_session_throttled_window(void **state)
{
	struct smpp_session *ss;
	uint32_t seqs[4];
	int i;

	session_defaults();
	ss = smpp_session_new_for_test(base, &scfg, &scbs);
	for (i = 0; i < 4; i++)
		assert_int_equal(smpp_session_submit(ss, (uint64_t)i + 1, "919876543210", 1, 1, "hi"), 0);
	assert_int_equal(session_sent(ss, 0), 4);
	for (i = 0; i < 4; i++)
		seqs[i] = out_pdus[i].h.sequence;
	for (i = 0; i < 4; i++)
		feed(ss, 0, build_submit_resp(seqs[i], i % 2 ? ESME_RMSGQFUL : ESME_RTHROTTLED, NULL), 0);
	assert_int_equal(seen.nsubmit, 0);
	run_loop_ms(1300);
	assert_int_equal(session_sent(ss, 0), 4);
	feed(ss, 0, build_submit_resp(out_pdus[0].h.sequence, ESME_RTHROTTLED, NULL), 0);
	for (i = 1; i < 4; i++)
		feed(ss, 0, build_submit_resp(out_pdus[i].h.sequence, 0, "X"), 0);
	assert_int_equal(seen.nsubmit, 3);
	/* sent after the pause began: the pause doubled to 2 s */
	run_loop_ms(1500);
	assert_int_equal(session_sent(ss, 0), 0);
	run_loop_ms(700);
	assert_int_equal(session_sent(ss, 0), 1);
	feed(ss, 0, build_submit_resp(out_pdus[0].h.sequence, 0, "Y"), 0);
	assert_int_equal(seen.nsubmit, 4);
	smpp_session_free(ss);
}

static void
test_session_tps(void **state)
{
	struct smpp_session *ss;
	int i, total;

	session_defaults();
	scfg.window = 10;
	scfg.submit_tps = 4;
	ss = smpp_session_new_for_test(base, &scfg, &scbs);
	for (i = 0; i < 6; i++)
		assert_int_equal(smpp_session_submit(ss, (uint64_t)i, "919876543210", 1, 1, "x"), 0);
	total = session_sent(ss, 0);
	assert_int_equal(total, 1);
	run_loop_ms(600);
	total += session_sent(ss, 0);
	/* 1 at once, then 4 per second: about 3 more in 0.6 s */
	assert_true(total >= 3 && total <= 4);
	run_loop_ms(700);
	total += session_sent(ss, 0);
	assert_int_equal(total, 6);
	smpp_session_free(ss);
}

static void
test_session_response_timeout(void **state)
{
	struct smpp_session *ss;

	session_defaults();
	scfg.response_timeout_s = 1;
	ss = smpp_session_new_for_test(base, &scfg, &scbs);
	assert_int_equal(smpp_session_submit(ss, 1, "919876543210", 1, 1, "x"), 0);
	smpp_session_tick_for_test(ss);
	assert_true(smpp_session_is_bound(ss));
	usleep(1100 * 1000);
	smpp_session_tick_for_test(ss);
	assert_false(smpp_session_is_bound(ss));
	assert_int_equal(seen.nsubmit, 1);
	assert_int_equal(seen.submit_status[0], SMPP_STATUS_LINK_LOST);
	smpp_session_free(ss);
}

static void
test_session_enquire_and_dead(void **state)
{
	struct smpp_session *ss;

	session_defaults();
	scfg.enquire_link_s = 1;
	scfg.dead_link_s = 2;
	ss = smpp_session_new_for_test(base, &scfg, &scbs);
	usleep(1050 * 1000);
	smpp_session_tick_for_test(ss);
	assert_int_equal(session_sent(ss, 0), 1);
	assert_int_equal(out_pdus[0].h.command_id, SMPP_ENQUIRE_LINK);
	feed(ss, 0, build_header(SMPP_ENQUIRE_LINK | SMPP_RESP_BIT, 0, out_pdus[0].h.sequence), 0);
	/* then silence */
	usleep(2100 * 1000);
	smpp_session_tick_for_test(ss);
	assert_false(smpp_session_is_bound(ss));
	smpp_session_free(ss);
}

static void
test_session_stop(void **state)
{
	struct smpp_session *ss;

	session_defaults();
	ss = smpp_session_new_for_test(base, &scfg, &scbs);
	feed(ss, 0, build_deliver("BAL 1234"), 0);
	assert_int_equal(seen.nmo, 1);
	smpp_session_stop(ss, cb_stopped, NULL);
	assert_false(smpp_session_can_submit(ss));
	/* the owed answer first, then unbind */
	assert_int_equal(session_sent(ss, 0), 0);
	assert_int_equal(seen.stopped, 0);
	/* while stopping, a new MO is refused for redelivery */
	feed(ss, 0, build_deliver("BAL 9999"), 0);
	assert_int_equal(seen.nmo, 1);
	assert_int_equal(session_sent(ss, 0), 1);
	assert_int_equal(out_pdus[0].h.status, ESME_RX_T_APPN);
	smpp_session_mo_answer(ss, seen.mo_ticket, ESME_ROK);
	assert_int_equal(session_sent(ss, 0), 2);
	assert_int_equal(out_pdus[0].h.command_id, SMPP_DELIVER_SM | SMPP_RESP_BIT);
	assert_int_equal(out_pdus[0].h.status, ESME_ROK);
	assert_int_equal(out_pdus[1].h.command_id, SMPP_UNBIND);
	assert_int_equal(seen.stopped, 1);
	smpp_session_free(ss);

	/* stop when not bound: done at once */
	session_defaults();
	ss = smpp_session_new(base, &scfg, &scbs);
	smpp_session_stop(ss, cb_stopped, NULL);
	assert_int_equal(seen.stopped, 1);
	smpp_session_free(ss);
	smpp_session_free(NULL);
}

static void
test_session_tx_rx(void **state)
{
	struct smpp_session *ss;

	session_defaults();
	scfg.bind_tx_rx = 1;
	ss = smpp_session_new_for_test(base, &scfg, &scbs);
	assert_true(smpp_session_is_bound(ss));
	/* MOs arrive on the receiver */
	feed(ss, 1, build_deliver("BAL 1234"), 0);
	assert_int_equal(seen.nmo, 1);
	smpp_session_mo_answer(ss, seen.mo_ticket, ESME_ROK);
	assert_int_equal(session_sent(ss, 1), 1);
	assert_int_equal(out_pdus[0].h.command_id, SMPP_DELIVER_SM | SMPP_RESP_BIT);
	/* not on the transmitter */
	feed(ss, 0, build_deliver("BAL 1234"), 0);
	assert_int_equal(seen.nmo, 1);
	assert_int_equal(session_sent(ss, 0), 1);
	assert_int_equal(out_pdus[0].h.status, ESME_RINVBNDSTS);
	/* submits go on the transmitter */
	assert_int_equal(smpp_session_submit(ss, 1, "919876543210", 1, 1, "x"), 0);
	assert_int_equal(session_sent(ss, 1), 0);
	assert_int_equal(session_sent(ss, 0), 1);
	assert_int_equal(out_pdus[0].h.command_id, SMPP_SUBMIT_SM);
	/* one side dropping takes both */
	feed(ss, 1, build_header(SMPP_UNBIND, 0, 3), -1);
	assert_int_equal(seen.nsubmit, 1);
	assert_int_equal(seen.submit_status[0], SMPP_STATUS_LINK_LOST);
	assert_int_equal(smpp_session_feed_for_test(ss, 0, buf, 16), -1);
	smpp_session_free(ss);
}

/* ---- the session over a real socket: a scripted SMSC on loopback ------------------- */

static struct {
	int accepts, binds, submits, unbind_resps;
	struct bufferevent *bev;
} smsc;

static void
smsc_send(struct bufferevent *bev, int len)
{
	bufferevent_write(bev, buf, (size_t)len);
}

static void
smsc_read_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer *input = bufferevent_get_input(bev);
	uint8_t pdu_buf[4096];
	struct smpp_pdu p;
	uint32_t n;

	for (;;) {
		size_t avail = evbuffer_get_length(input);
		uint8_t hdr[4];

		if (avail < 4)
			return;
		evbuffer_copyout(input, hdr, 4);
		if (smpp_frame(hdr, avail, &n) != 1)
			return;
		assert_true(n <= sizeof pdu_buf);
		evbuffer_remove(input, pdu_buf, n);
		assert_int_equal(smpp_decode(pdu_buf, n, &p), 0);
		switch (p.h.command_id) {
		case SMPP_BIND_TRANSCEIVER:
			assert_string_equal(p.system_id, "rechargd");
			assert_string_equal(p.password, "secret");
			/* the first bind is refused header-only, as real SMSCs do */
			if (smsc.binds++ == 0) {
				smsc_send(bev, build_header(SMPP_BIND_TRANSCEIVER | SMPP_RESP_BIT,
				    ESME_RBINDFAIL, p.h.sequence));
			} else {
				struct smpp_build b;

				smpp_build_start(&b, buf, sizeof buf,
				    SMPP_BIND_TRANSCEIVER | SMPP_RESP_BIT, 0, p.h.sequence);
				smpp_build_cstr(&b, "SIM");
				smsc_send(bev, smpp_build_finish(&b));
			}
			break;
		case SMPP_SUBMIT_SM:
			smsc.submits++;
			smsc_send(bev, build_submit_resp(p.h.sequence, 0, "S1"));
			/* then the SMSC unbinds */
			smsc_send(bev, build_header(SMPP_UNBIND, 0, 77));
			break;
		case SMPP_UNBIND | SMPP_RESP_BIT:
			assert_int_equal(p.h.sequence, 77);
			smsc.unbind_resps++;
			break;
		case SMPP_ENQUIRE_LINK:
			smsc_send(bev, build_header(SMPP_ENQUIRE_LINK | SMPP_RESP_BIT, 0, p.h.sequence));
			break;
		case SMPP_UNBIND:
			smsc_send(bev, build_header(SMPP_UNBIND | SMPP_RESP_BIT, 0, p.h.sequence));
			break;
		}
	}
}

static void
smsc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (smsc.bev == bev)
			smsc.bev = NULL;
		bufferevent_free(bev);
	}
}

static void
smsc_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
    void *arg)
{
	struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);

	smsc.accepts++;
	smsc.bev = bev;
	bufferevent_setcb(bev, smsc_read_cb, NULL, smsc_event_cb, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static struct smpp_session *tcp_session;

/* Once bound the second time (after the SMSC's unbind), stop the session. */
static void
cb_state_tcp(void *arg, int bound)
{
	cb_state(arg, bound);
	if (bound && seen.nstate == 1)
		assert_int_equal(smpp_session_submit(tcp_session, 99, "919876543210", 1, 1, "hi"), 0);
	if (bound && seen.nstate == 3)
		smpp_session_stop(tcp_session, cb_stopped, NULL);
}

static void
test_session_tcp(void **state)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof sin;
	struct evconnlistener *l;
	int i;

	session_defaults();
	memset(&smsc, 0, sizeof smsc);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = evconnlistener_new_bind(base, smsc_accept_cb, NULL, LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_REUSEABLE, 16, (struct sockaddr *)&sin, sizeof sin);
	assert_non_null(l);
	getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&sin, &slen);
	scfg.port = ntohs(sin.sin_port);
	scfg.reconnect_max_s = 1;
	scbs.state_cb = cb_state_tcp;
	tcp_session = smpp_session_new(base, &scfg, &scbs);
	assert_false(smpp_session_is_bound(tcp_session));
	for (i = 0; i < 60 && seen.stopped == 0; i++)
		run_loop_ms(100);
	/* refused once, bound, submit answered, unbound by the SMSC, bound again, stopped */
	assert_int_equal(seen.stopped, 1);
	assert_int_equal(smsc.binds, 3);
	assert_int_equal(smsc.accepts, 3);
	assert_int_equal(smsc.submits, 1);
	assert_int_equal(smsc.unbind_resps, 1);
	assert_int_equal(seen.nsubmit, 1);
	assert_int_equal(seen.submit_ref[0], 99);
	assert_int_equal(seen.submit_status[0], ESME_ROK);
	assert_string_equal(seen.submit_id[0], "S1");
	assert_int_equal(seen.nstate, 4);	/* up, down (SMSC unbind), up, down (stop) */
	smpp_session_free(tcp_session);
	run_loop_ms(50);
	if (smsc.bev != NULL)
		bufferevent_free(smsc.bev);
	evconnlistener_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_decode_bind),
		cmocka_unit_test(test_decode_bind_resp),
		cmocka_unit_test(test_decode_header_only),
		cmocka_unit_test(test_decode_outbind),
		cmocka_unit_test(test_decode_deliver_sm),
		cmocka_unit_test(test_decode_submit_sm),
		cmocka_unit_test(test_decode_resps_with_message_id),
		cmocka_unit_test(test_decode_data_sm),
		cmocka_unit_test(test_decode_query_replace_cancel),
		cmocka_unit_test(test_decode_submit_multi),
		cmocka_unit_test(test_decode_alert_notification),
		cmocka_unit_test(test_decode_unknown_command),
		cmocka_unit_test(test_decode_short_and_mismatched),
		cmocka_unit_test(test_decode_truncated_everywhere),
		cmocka_unit_test(test_decode_overlong_fields),
		cmocka_unit_test(test_decode_29_empty_tlvs),
		cmocka_unit_test(test_decode_1000_empty_tlvs),
		cmocka_unit_test(test_decode_garbage),
		cmocka_unit_test(test_encode_bind),
		cmocka_unit_test(test_encode_header_only),
		cmocka_unit_test(test_encode_submit_sm),
		cmocka_unit_test(test_encode_submit_sm_payload_1024),
		cmocka_unit_test(test_encode_udh_part),
		cmocka_unit_test(test_encode_other),
		cmocka_unit_test(test_encode_refusals),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_session_mo_deferred),
		cmocka_unit_test(test_session_long_mo),
		cmocka_unit_test(test_session_dlr),
		cmocka_unit_test(test_session_bad_input),
		cmocka_unit_test(test_session_submit),
		cmocka_unit_test(test_session_payload_mode),
		cmocka_unit_test(test_session_window_and_link_lost),
		cmocka_unit_test(test_session_throttled),
		cmocka_unit_test(test_session_throttled_window),
		cmocka_unit_test(test_session_tps),
		cmocka_unit_test(test_session_response_timeout),
		cmocka_unit_test(test_session_enquire_and_dead),
		cmocka_unit_test(test_session_stop),
		cmocka_unit_test(test_session_tx_rx),
		cmocka_unit_test(test_session_tcp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
