/* tools/smscsim/mt.c: MTs from the ESME. A long reply comes as UDH parts (8- or 16-bit
 * reference), SAR TLVs or one message_payload; tests want the logical message, so the
 * raw parts are joined before decoding (a UCS-2 surrogate pair or a GSM escape may
 * straddle two parts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "smpp/smpp.h"
#include "tools/smscsim/smscsim.h"

/* FNV-1a over "to\0text": where (to, text) sits in the duplicate set. */
static uint32_t
smscsim_mt_hash(const char *to, const char *text)
{
	uint32_t h = 2166136261u;

	for (const char *p = to; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	h = (h ^ 0) * 16777619u;
	for (const char *p = text; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h;
}

/* Whether (to, text) was kept before; when keep is set, index idx is filed under it
 * (the set grows at half full, so a probe always ends). */
static int
smscsim_mt_dup_check(struct smscsim *sim, const char *to, const char *text, int64_t idx)
{
	uint32_t h, i;

	if (idx >= 0 && (sim->nmts + 1) * 2 > sim->dup_cap) {
		uint32_t ncap = sim->dup_cap ? sim->dup_cap * 2 : 1024, *n = xcalloc(ncap, sizeof *n);
		for (i = 0; i < sim->dup_cap; i++) {
			uint32_t v = sim->dup_set[i], j;
			if (v == 0)
				continue;
			j = smscsim_mt_hash(sim->mts[v - 1].to, sim->mts[v - 1].text) & (ncap - 1);
			while (n[j] != 0)
				j = (j + 1) & (ncap - 1);
			n[j] = v;
		}
		free(sim->dup_set);
		sim->dup_set = n;
		sim->dup_cap = ncap;
	}
	if (sim->dup_cap == 0)
		return 0;
	h = smscsim_mt_hash(to, text);
	for (i = h & (sim->dup_cap - 1); sim->dup_set[i] != 0; i = (i + 1) & (sim->dup_cap - 1)) {
		const struct smscsim_mt *o = &sim->mts[sim->dup_set[i] - 1];
		if (strcmp(o->to, to) == 0 && strcmp(o->text, text) == 0)
			return 1;     /* the first copy stays filed */
	}
	if (idx >= 0)
		sim->dup_set[i] = (uint32_t)idx + 1;
	return 0;
}

/* Decodes and stores one whole MT, then tells the front end. */
static void
smscsim_mt_record(struct smscsim *sim, const char *to, const char *from, uint8_t dc,
    const uint8_t *raw, size_t len, uint8_t nparts)
{
	size_t cap = len * 3 + 4;
	char *text = malloc(cap);
	struct smscsim_mt tmp, *mt;

	if (text == NULL)
		fatal("smscsim: out of memory");
	if (smpp_text_decode(dc, raw, len, text, cap) < 0)
		snprintf(text, cap, "%s", "");
	if (sim->nmts == sim->mts_cap && sim->mts_cap < SMSCSIM_MAX_MTS) {
		uint32_t ncap = sim->mts_cap ? sim->mts_cap * 2 : 256;
		struct smscsim_mt *n;
		if (ncap > SMSCSIM_MAX_MTS)
			ncap = SMSCSIM_MAX_MTS;
		if ((n = realloc(sim->mts, (size_t)ncap * sizeof *n)) == NULL)
			fatal("smscsim: out of memory");
		sim->mts = n;
		sim->mts_cap = ncap;
	}
	if (sim->nmts < sim->mts_cap)
		mt = &sim->mts[sim->nmts++];
	else {
		/* full: still shown, no longer kept for expect and mt_dump */
		if (!sim->mts_full_warned)
			log_warn("smscsim: %d MTs kept; later ones are printed only", SMSCSIM_MAX_MTS);
		sim->mts_full_warned = 1;
		mt = &tmp;
	}
	memset(mt, 0, sizeof *mt);
	strlcpy_safe(mt->to, to, sizeof mt->to);
	strlcpy_safe(mt->from, from, sizeof mt->from);
	mt->dc = dc;
	mt->nparts = nparts;
	mt->text = text;
	mt->at_ms = clock_mono_ms();
	mt->dup = smscsim_mt_dup_check(sim, to, text, mt == &tmp ? -1 : (int64_t)(mt - sim->mts));
	if (mt->dup)
		sim->ndups++;
	log_debug("smscsim: MT to %s, %u part(s), dc %u", to, nparts, dc);
	smscsim_on_mt(sim, mt);
	if (mt == &tmp)
		free(text);
}

static void
smscsim_mt_reasm_clear(struct smscsim_reasm *r)
{
	for (int i = 0; i < 256; i++)
		free(r->part[i]);
	memset(r, 0, sizeof *r);
}

/* Drops parts that waited too long, so a lost part does not hold a slot forever. */
static void
smscsim_mt_reasm_expire(struct smscsim *sim, int64_t now)
{
	for (int i = 0; i < SMSCSIM_REASM_SLOTS; i++) {
		struct smscsim_reasm *r = &sim->reasm[i];
		if (r->used && now - r->first_ms > SMSCSIM_REASM_TIMEOUT_MS) {
			log_warn("smscsim: MT to %s ref %u: %u of %u parts after %d s, dropped", r->to,
			    r->ref, r->have, r->total, SMSCSIM_REASM_TIMEOUT_MS / 1000);
			if (sim->script != NULL)
				smscsim_script_event(sim->script, "MT_PARTS_DROPPED to=%s ref=%u have=%u total=%u",
				    r->to, r->ref, r->have, r->total);
			smscsim_mt_reasm_clear(r);
		}
	}
}

/* The slot holding (to, from, ref, total), a free one, or the oldest (evicted). */
static struct smscsim_reasm *
smscsim_mt_reasm_find(struct smscsim *sim, const char *to, const char *from, uint16_t ref,
    uint8_t total)
{
	struct smscsim_reasm *free_slot = NULL, *oldest = NULL;

	for (int i = 0; i < SMSCSIM_REASM_SLOTS; i++) {
		struct smscsim_reasm *r = &sim->reasm[i];
		if (!r->used) {
			if (free_slot == NULL)
				free_slot = r;
			continue;
		}
		if (r->ref == ref && r->total == total && strcmp(r->to, to) == 0 &&
		    strcmp(r->from, from) == 0)
			return r;
		if (oldest == NULL || r->first_ms < oldest->first_ms)
			oldest = r;
	}
	if (free_slot == NULL) {
		log_warn("smscsim: too many partial MTs; dropping the oldest (to %s)", oldest->to);
		smscsim_mt_reasm_clear(oldest);
		free_slot = oldest;
	}
	free_slot->used = 1;
	strlcpy_safe(free_slot->to, to, sizeof free_slot->to);
	strlcpy_safe(free_slot->from, from, sizeof free_slot->from);
	free_slot->ref = ref;
	free_slot->total = total;
	free_slot->first_ms = clock_mono_ms();
	return free_slot;
}

void
smscsim_mt_take(struct smscsim *sim, const struct smpp_pdu *p)
{
	const uint8_t *body = p->short_message;
	size_t len = p->sm_length;
	int concat = 0;
	uint16_t ref = 0;
	uint8_t total = 0, seq = 0;
	struct smscsim_reasm *r;

	if (p->has_message_payload) {
		body = p->message_payload;
		len = p->message_payload_len;
	}
	if (body == NULL) {
		static const uint8_t none[1];
		body = none;
		len = 0;
	}
	if ((p->esm_class & 0x40) && len >= 1 && (size_t)body[0] + 1 <= len) {
		size_t udhl = body[0], i = 1;
		while (i + 2 <= udhl + 1) {
			uint8_t iei = body[i], iel = body[i + 1];
			if (i + 2 + iel > udhl + 1)
				break;
			if (iei == 0x00 && iel == 3) {
				ref = body[i + 2]; total = body[i + 3]; seq = body[i + 4];
				concat = 1;
			} else if (iei == 0x08 && iel == 4) {
				ref = (uint16_t)(body[i + 2] << 8 | body[i + 3]);
				total = body[i + 4]; seq = body[i + 5];
				concat = 1;
			}
			i += 2 + (size_t)iel;
		}
		body += udhl + 1;
		len -= udhl + 1;
	} else if (p->has_sar) {
		ref = p->sar_msg_ref_num;
		total = p->sar_total_segments;
		seq = p->sar_segment_seqnum;
		concat = 1;
	}
	if (!concat || total <= 1 || seq == 0 || seq > total) {
		if (concat && total > 1)
			log_warn("smscsim: MT to %s: part %u of %u makes no sense; kept alone",
			    p->destination_addr, seq, total);
		smscsim_mt_record(sim, p->destination_addr, p->source_addr, p->data_coding, body, len, 1);
		return;
	}

	smscsim_mt_reasm_expire(sim, clock_mono_ms());
	r = smscsim_mt_reasm_find(sim, p->destination_addr, p->source_addr, ref, total);
	if (r->part[seq - 1] == NULL)
		r->have++;
	free(r->part[seq - 1]);
	r->part[seq - 1] = malloc(len ? len : 1);
	if (r->part[seq - 1] == NULL)
		fatal("smscsim: out of memory");
	if (len > 0)
		memcpy(r->part[seq - 1], body, len);
	r->part_len[seq - 1] = (uint16_t)len;
	if (seq == 1 || r->have == 1)
		r->dc = p->data_coding;
	if (r->have < r->total)
		return;

	{
		size_t all = 0, off = 0;
		uint8_t *joined;
		for (int i = 0; i < r->total; i++)
			all += r->part_len[i];
		if ((joined = malloc(all ? all : 1)) == NULL)
			fatal("smscsim: out of memory");
		for (int i = 0; i < r->total; i++) {
			if (r->part_len[i] > 0)
				memcpy(joined + off, r->part[i], r->part_len[i]);
			off += r->part_len[i];
		}
		char to[21], from[21];
		uint8_t dc = r->dc, n = r->total;
		strlcpy_safe(to, r->to, sizeof to);
		strlcpy_safe(from, r->from, sizeof from);
		smscsim_mt_reasm_clear(r);
		smscsim_mt_record(sim, to, from, dc, joined, all, n);
		free(joined);
	}
}

void
smscsim_mt_free_all(struct smscsim *sim)
{
	for (uint32_t i = 0; i < sim->nmts; i++)
		free(sim->mts[i].text);
	free(sim->mts);
	sim->mts = NULL;
	sim->nmts = sim->mts_cap = 0;
	free(sim->dup_set);
	sim->dup_set = NULL;
	sim->dup_cap = 0;
	for (int i = 0; i < SMSCSIM_REASM_SLOTS; i++)
		smscsim_mt_reasm_clear(&sim->reasm[i]);
}
