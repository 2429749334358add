/* smpp/build.c: a raw PDU builder. The simulator and tests use it to write any
 * PDU at all, hostile ones included; the daemon encodes its own PDUs in pdu.c. */
#include <string.h>

#include "smpp/smpp.h"

static void
smpp_build_put(struct smpp_build *b, const void *p, size_t n)
{
	if (b->overflow || n > b->cap - b->len) {
		b->overflow = 1;
		return;
	}
	if (n == 0)
		return;		/* p may be NULL then: memcpy must not see it */
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

void
smpp_build_u8(struct smpp_build *b, uint8_t v)
{
	smpp_build_put(b, &v, 1);
}

void
smpp_build_u16(struct smpp_build *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	smpp_build_put(b, x, 2);
}

void
smpp_build_u32(struct smpp_build *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	smpp_build_put(b, x, 4);
}

void
smpp_build_cstr(struct smpp_build *b, const char *s)
{
	smpp_build_put(b, s, strlen(s) + 1);
}

void
smpp_build_bytes(struct smpp_build *b, const void *p, size_t n)
{
	smpp_build_put(b, p, n);
}

void
smpp_build_tlv(struct smpp_build *b, uint16_t tag, const void *p, uint16_t n)
{
	smpp_build_u16(b, tag);
	smpp_build_u16(b, n);
	if (n > 0)
		smpp_build_put(b, p, n);
}

/* The length is written last, so a builder can be filled in any order of fields. */
void
smpp_build_start(struct smpp_build *b, uint8_t *buf, size_t cap, uint32_t command_id,
    uint32_t status, uint32_t sequence)
{
	b->buf = buf;
	b->cap = cap;
	b->len = 0;
	b->overflow = 0;
	smpp_build_u32(b, 0);
	smpp_build_u32(b, command_id);
	smpp_build_u32(b, status);
	smpp_build_u32(b, sequence);
}

int
smpp_build_finish(struct smpp_build *b)
{
	if (b->overflow || b->len < SMPP_HEADER_LEN || b->len > 0x7fffffff)
		return -1;
	uint32_t n = (uint32_t)b->len;
	b->buf[0] = (uint8_t)(n >> 24);
	b->buf[1] = (uint8_t)(n >> 16);
	b->buf[2] = (uint8_t)(n >> 8);
	b->buf[3] = (uint8_t)n;
	return (int)n;
}
