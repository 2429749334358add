/* tools/smscsim/mo.c: what the phones send (MOs) and the receipts of accepted MTs,
 * towards the ESME as deliver_sm. A queue holds what waits for a bind or for room in
 * the window; each record remembers the status its deliver_sm_resp carried, so tests
 * can check that the daemon answered only after storing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "smpp/smpp.h"
#include "tools/smscsim/smscsim.h"

/* Index of a free record, growing the array by doubling; -1 at SMSCSIM_MAX_MOS. */
static int64_t
smscsim_mo_alloc(struct smscsim *sim)
{
	if (sim->nmos >= SMSCSIM_MAX_MOS)
		return -1;
	if (sim->nmos == sim->mos_cap) {
		uint32_t cap = sim->mos_cap ? sim->mos_cap * 2 : 256;
		struct smscsim_mo *n;
		if (cap > SMSCSIM_MAX_MOS)
			cap = SMSCSIM_MAX_MOS;
		n = realloc(sim->mos, (size_t)cap * sizeof *n);
		if (n == NULL)
			return -1;
		sim->mos = n;
		sim->mos_cap = cap;
	}
	memset(&sim->mos[sim->nmos], 0, sizeof sim->mos[0]);
	return sim->nmos++;
}

static void
smscsim_mo_push_back(struct smscsim *sim, uint32_t rec)
{
	sim->queue[(sim->qhead + sim->qlen) % SMSCSIM_DEQUE_CAP] = rec;
	sim->qlen++;
	sim->mos[rec].queued = 1;
}

/* Redeliveries go first, so a phone's messages keep their order. */
static int
smscsim_mo_push_front(struct smscsim *sim, uint32_t rec)
{
	if (sim->qlen >= SMSCSIM_DEQUE_CAP)
		return -1;
	sim->qhead = (sim->qhead + SMSCSIM_DEQUE_CAP - 1) % SMSCSIM_DEQUE_CAP;
	sim->queue[sim->qhead] = rec;
	sim->qlen++;
	sim->mos[rec].queued = 1;
	return 0;
}

static void
smscsim_mo_pop(struct smscsim *sim)
{
	sim->mos[sim->queue[sim->qhead]].queued = 0;
	sim->qhead = (sim->qhead + 1) % SMSCSIM_DEQUE_CAP;
	sim->qlen--;
}

uint32_t
smscsim_mo_queue_len(const struct smscsim *sim)
{
	return sim->qlen;
}

/* TON/NPI a real SMSC would give: international for a full MSISDN, alphanumeric for
 * a name, unknown for anything else (short codes). */
void
smscsim_mo_ton_npi(const char *addr, uint8_t *ton, uint8_t *npi)
{
	size_t n = strlen(addr), digits = strspn(addr, "0123456789");

	if (n > 0 && digits == n) {
		*ton = n >= 11 ? 1 : 0;
		*npi = 1;
	} else if (addr[0] == '+' && strspn(addr + 1, "0123456789") == n - 1) {
		*ton = 1;
		*npi = 1;
	} else {
		*ton = 5;
		*npi = 0;
	}
}

/* Writes part `part` of rec as a deliver_sm on c. */
static void
smscsim_mo_send_part(struct smscsim *sim, struct smscsim_conn *c, uint32_t rec, uint8_t part)
{
	struct smscsim_mo *mo = &sim->mos[rec];
	uint8_t buf[512], sm[256], ton, npi, state = 2;   /* message_state DELIVERED */
	size_t off = mo->part_off[part], n = (size_t)(mo->part_off[part + 1] - off), smlen = 0;
	struct smpp_build b;
	uint32_t seq = smscsim_conn_next_seq(c);

	if (mo->nparts > 1) {
		sm[0] = 5; sm[1] = 0; sm[2] = 3;
		sm[3] = mo->ref; sm[4] = mo->nparts; sm[5] = (uint8_t)(part + 1);
		smlen = 6;
	}
	memcpy(sm + smlen, mo->body + off, n);
	smlen += n;

	smpp_build_start(&b, buf, sizeof buf, SMPP_DELIVER_SM, ESME_ROK, seq);
	smpp_build_cstr(&b, "");                       /* service_type */
	smscsim_mo_ton_npi(mo->from, &ton, &npi);
	smpp_build_u8(&b, ton);
	smpp_build_u8(&b, npi);
	smpp_build_cstr(&b, mo->from);
	smscsim_mo_ton_npi(mo->to, &ton, &npi);
	smpp_build_u8(&b, ton);
	smpp_build_u8(&b, npi);
	smpp_build_cstr(&b, mo->to);
	smpp_build_u8(&b, mo->esm_class);
	smpp_build_u8(&b, 0);                          /* protocol_id */
	smpp_build_u8(&b, 0);                          /* priority_flag */
	smpp_build_cstr(&b, "");                       /* schedule_delivery_time */
	smpp_build_cstr(&b, "");                       /* validity_period */
	smpp_build_u8(&b, 0);                          /* registered_delivery */
	smpp_build_u8(&b, 0);                          /* replace_if_present_flag */
	smpp_build_u8(&b, mo->dc);
	smpp_build_u8(&b, 0);                          /* sm_default_msg_id */
	smpp_build_u8(&b, (uint8_t)smlen);
	smpp_build_bytes(&b, sm, smlen);
	if (mo->is_dlr) {
		smpp_build_tlv(&b, SMPP_TLV_RECEIPTED_MESSAGE_ID, mo->receipted_id,
		    (uint16_t)(strlen(mo->receipted_id) + 1));
		smpp_build_tlv(&b, SMPP_TLV_MESSAGE_STATE, &state, 1);
	}
	if (smpp_build_finish(&b) < 0) {
		/* cannot happen: parts are at most 160 octets */
		log_error("smscsim: deliver_sm does not fit %zu bytes", sizeof buf);
		return;
	}
	smscsim_conn_send_raw(c, buf, b.len);
	c->inflight[c->ninflight].seq = seq;
	c->inflight[c->ninflight].rec = rec;
	c->inflight[c->ninflight].part = part;
	c->inflight[c->ninflight].sent_ms = clock_mono_ms();
	c->ninflight++;
	mo->part_state[part] = SMSCSIM_PART_SENT;
	mo->last_seq = seq;
	log_debug("smscsim: -> deliver_sm seq=%u from=%s part %u/%u to %s", seq, mo->from,
	    part + 1, mo->nparts, c->peer);
	/* drop_after_mo: the link breaks right behind this one */
	if (!mo->is_dlr && sim->drop_mo_left > 0 && --sim->drop_mo_left == 0)
		smscsim_conn_drop(c);
}

void
smscsim_mo_pump(struct smscsim *sim)
{
	while (sim->qlen > 0 && !sim->stopping && !sim->silent) {
		struct smscsim_conn *c = smscsim_receiver(sim);
		uint32_t rec = sim->queue[sim->qhead];
		struct smscsim_mo *mo = &sim->mos[rec];
		int part = -1, more = 0;

		if (mo->lost || mo->answered) {
			smscsim_mo_pop(sim);
			continue;
		}
		for (int i = 0; i < mo->nparts; i++)
			if (mo->part_state[i] == SMSCSIM_PART_QUEUED) {
				if (part < 0)
					part = i;
				else
					more = 1;
			}
		if (part < 0) {
			smscsim_mo_pop(sim);
			continue;
		}
		if (c == NULL || c->ninflight >= SMSCSIM_WINDOW)
			return;
		smscsim_mo_send_part(sim, c, rec, (uint8_t)part);
		if (!more) {
			smscsim_mo_pop(sim);
			smscsim_on_mo_sent(sim, &sim->mos[rec], sim->mos[rec].last_seq);
		}
	}
}

int64_t
smscsim_mo_submit(struct smscsim *sim, const char *from, const char *text, int dc, int quiet,
    const char **cause)
{
	static uint8_t body[SMSCSIM_MO_TEXT_MAX * 4];
	uint8_t dco = 0;
	size_t single, per, off = 0;
	int n;
	int64_t rec;
	struct smscsim_mo *mo;

	if (from[0] == '\0' || strlen(from) > 20) {
		*cause = "the phone number must be 1 to 20 characters";
		return -1;
	}
	if (strlen(text) > SMSCSIM_MO_TEXT_MAX) {
		*cause = "text longer than 4096 bytes";
		return -1;
	}
	if (sim->qlen >= SMSCSIM_QUEUE_MAX) {
		*cause = "MO queue full (1000 waiting)";
		return -1;
	}
	if ((n = smscsim_text_encode(text, dc, body, sizeof body, &dco, cause)) < 0)
		return -1;
	if ((rec = smscsim_mo_alloc(sim)) < 0) {
		*cause = "too many MOs for one run";
		return -1;
	}
	mo = &sim->mos[rec];
	strlcpy_safe(mo->from, from, sizeof mo->from);
	strlcpy_safe(mo->to, sim->opt.shortcode, sizeof mo->to);
	mo->dc = dco;
	mo->quiet = quiet;

	/* one SMS holds 160 septets or 140 octets; parts lose 6 octets to the UDH */
	single = (dco == SMPP_DC_DEFAULT || dco == SMPP_DC_IA5) ? 160 : 140;
	per = (dco == SMPP_DC_DEFAULT || dco == SMPP_DC_IA5) ? 153 : 134;
	if ((size_t)n <= single) {
		mo->nparts = 1;
		mo->part_off[1] = (uint16_t)n;
	} else {
		while (off < (size_t)n) {
			size_t cut = smscsim_text_cut(dco, body + off, (size_t)n - off, per);
			if (mo->nparts == SMSCSIM_MO_MAX_PARTS || cut == 0) {
				sim->nmos--;
				*cause = "text needs more than 16 SMS parts";
				return -1;
			}
			off += cut;
			mo->part_off[++mo->nparts] = (uint16_t)off;
		}
		mo->esm_class = 0x40;
		mo->ref = ++sim->next_ref;
	}
	mo->body = malloc((size_t)n + 1);
	mo->text = xstrdup(text);
	if (mo->body == NULL)
		fatal("smscsim: out of memory");
	memcpy(mo->body, body, (size_t)n);
	mo->number = ++sim->mo_numbers;
	mo->status = ESME_ROK;
	mo->created_ms = clock_mono_ms();
	sim->last_mo = rec;
	smscsim_mo_push_back(sim, (uint32_t)rec);
	smscsim_mo_pump(sim);
	return rec;
}

/* The SMPP 3.4 appendix B receipt text, for an MT we accepted at once. */
void
smscsim_mo_receipt(struct smscsim *sim, const char *phone, const char *shortcode,
    const char *message_id)
{
	char text[256], when[16];
	time_t now = time(NULL);
	struct tm tm;
	int64_t rec;
	struct smscsim_mo *mo;
	size_t n;

	if (sim->qlen >= SMSCSIM_QUEUE_MAX || (rec = smscsim_mo_alloc(sim)) < 0) {
		log_warn("smscsim: receipt for %s dropped: queue full", message_id);
		return;
	}
	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%y%m%d%H%M", &tm);
	snprintf(text, sizeof text,
	    "id:%s sub:001 dlvrd:001 submit date:%s done date:%s stat:DELIVRD err:000 text:",
	    message_id, when, when);
	n = strlen(text);
	mo = &sim->mos[rec];
	mo->is_dlr = 1;
	strlcpy_safe(mo->from, phone[0] ? phone : "0", sizeof mo->from);
	strlcpy_safe(mo->to, shortcode[0] ? shortcode : sim->opt.shortcode, sizeof mo->to);
	strlcpy_safe(mo->receipted_id, message_id, sizeof mo->receipted_id);
	mo->text = xstrdup(text);
	mo->body = malloc(n);
	if (mo->body == NULL)
		fatal("smscsim: out of memory");
	memcpy(mo->body, text, n);          /* ASCII letters and digits are GSM 03.38 too */
	mo->dc = SMPP_DC_DEFAULT;
	mo->esm_class = 0x04;
	mo->nparts = 1;
	mo->part_off[1] = (uint16_t)n;
	mo->status = ESME_ROK;
	mo->created_ms = clock_mono_ms();
	smscsim_mo_push_back(sim, (uint32_t)rec);
	smscsim_mo_pump(sim);
}

void
smscsim_mo_resp(struct smscsim *sim, struct smscsim_conn *c, uint32_t seq, uint32_t status)
{
	struct smscsim_mo *mo;
	struct smscsim_inflight f;
	int i;

	for (i = 0; i < c->ninflight; i++)
		if (c->inflight[i].seq == seq)
			break;
	if (i == c->ninflight) {
		log_info("smscsim: response seq=%u status=%s from %s matches no deliver_sm", seq,
		    smpp_status_name(status), c->peer);
		return;
	}
	f = c->inflight[i];
	memmove(&c->inflight[i], &c->inflight[i + 1],
	    (size_t)(c->ninflight - i - 1) * sizeof c->inflight[0]);
	c->ninflight--;

	mo = &sim->mos[f.rec];
	mo->part_state[f.part] = SMSCSIM_PART_DONE;
	if (status != ESME_ROK && mo->status == ESME_ROK)
		mo->status = status;
	mo->last_seq = seq;
	for (i = 0; i < mo->nparts; i++)
		if (mo->part_state[i] != SMSCSIM_PART_DONE)
			break;
	if (i == mo->nparts && !mo->answered) {
		mo->answered = 1;
		mo->answered_ms = clock_mono_ms();
		if (!mo->is_dlr) {
			sim->mo_answered++;
			if (mo->status == ESME_ROK)
				sim->mo_ok++;
		}
		smscsim_on_mo_resp(sim, mo);
	}
	smscsim_mo_pump(sim);
	smscsim_on_progress(sim);
}

void
smscsim_mo_conn_lost(struct smscsim *sim, struct smscsim_conn *c)
{
	/* backwards, so that pushing each to the front keeps the original order */
	for (int i = c->ninflight - 1; i >= 0; i--) {
		struct smscsim_mo *mo = &sim->mos[c->inflight[i].rec];

		if (sim->opt.redeliver && !sim->stopping) {
			mo->part_state[c->inflight[i].part] = SMSCSIM_PART_QUEUED;
			if (!mo->queued && smscsim_mo_push_front(sim, c->inflight[i].rec) == 0)
				continue;
			if (mo->queued)
				continue;
		}
		if (!mo->lost) {
			mo->lost = 1;
			if (!mo->is_dlr) {
				sim->mo_lost++;
				if (sim->script != NULL && !mo->quiet)
					smscsim_script_event(sim->script, "MO_LOST mo=%u seq=%u", mo->number,
					    c->inflight[i].seq);
			}
		}
	}
	c->ninflight = 0;
}

void
smscsim_mo_counts(const struct smscsim *sim, uint32_t *total, uint32_t *answered, uint32_t *ok)
{
	*total = sim->mo_numbers;
	*answered = sim->mo_answered;
	*ok = sim->mo_ok;
}

void
smscsim_mo_free_all(struct smscsim *sim)
{
	for (uint32_t i = 0; i < sim->nmos; i++) {
		free(sim->mos[i].text);
		free(sim->mos[i].body);
	}
	free(sim->mos);
	sim->mos = NULL;
	sim->nmos = sim->mos_cap = 0;
	sim->qlen = 0;
}
