/* ctl/complaint.c: complaints retailers raise by SMS (CMP). Closing one queues the note
 * to the retailer in the same transaction as the state change, so the retailer is told
 * exactly once; the running daemon sends queued rows within a second. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

#define CTL_COMPLAINT_NOTE_MAX 120
#define CTL_COMPLAINT_SMS_MAX 160

struct ctl_complaint_listing {
	struct ctl_json json;
	int as_json;
};

/* One complaint, newest first. */
static void
ctl_complaint_list_cb(void *arg, const struct db_complaint *m)
{
	struct ctl_complaint_listing *l = arg;
	char when[32], closed[32], txn[24];

	db_txn_format_id(m->txn_id, txn);
	if (l->as_json) {
		struct ctl_json *j = &l->json;
		ctl_json_open(j, NULL, '{');
		ctl_json_int(j, "id", m->id);
		ctl_json_str(j, "msisdn", m->msisdn);
		ctl_json_str(j, "txn", txn);
		ctl_json_str(j, "state", m->state);
		ctl_json_str(j, "text", m->text);
		ctl_json_str(j, "created_at", ctl_time(m->created_at, when));
		if (m->closed_at > 0) {
			ctl_json_str(j, "closed_at", ctl_time(m->closed_at, closed));
			ctl_json_str(j, "note", m->note);
		} else {
			ctl_json_null(j, "closed_at");
			ctl_json_null(j, "note");
		}
		ctl_json_close(j, '}');
		return;
	}
	printf("%-6lld %-13s %-13s %-6s %-25s %s%s%s\n", (long long)m->id, m->msisdn, txn, m->state,
	    ctl_time(m->created_at, when), m->text, m->note[0] ? " | note: " : "", m->note);
}

/* Support's queue: --open for the ones still waiting. */
enum ctl_retval
ctl_complaint_list(struct ctl *c, int argc, char **argv)
{
	struct ctl_complaint_listing l = { .as_json = 0 };
	int open_only = 0, rc;
	struct ctl_opt opts[] = {
		{ "--json", NULL, &l.as_json }, { "--open", NULL, &open_only }, { NULL, NULL, NULL },
	};

	if ((rc = ctl_args(c, argc, argv, opts, NULL, 0, 0)) != 0)
		return rc;
	if (l.as_json) {
		ctl_json_begin(&l.json, stdout);
		ctl_json_open(&l.json, NULL, '[');
	} else {
		printf("%-6s %-13s %-13s %-6s %-25s %s\n", "ID", "MSISDN", "TXN", "STATE", "CREATED (IST)",
		    "TEXT");
	}
	if (db_complaint_each(c->db, open_only, ctl_complaint_list_cb, &l) != 0)
		return ctl_db_error(c);
	if (l.as_json) {
		ctl_json_close(&l.json, ']');
		ctl_json_end(&l.json);
	}
	return CTL_OK;
}

struct ctl_complaint_closing {
	int64_t id;
	const char *note;
	struct db_complaint m;
	char sms[CTL_COMPLAINT_SMS_MAX + 1];
};

/* State, the retailer's SMS and the audit row together. */
static int
ctl_complaint_close_tx(struct ctl *c, void *arg)
{
	struct ctl_complaint_closing *x = arg;
	char subject[32];

	switch (db_complaint_get(c->db, x->id, &x->m)) {
	case 0:
		return ctl_error(c, "complaint %lld not found", (long long)x->id);
	case -1:
		return -1;
	}
	switch (db_complaint_close(c->db, x->id, x->note)) {
	case 0:
		return ctl_error(c, "complaint %lld is already closed", (long long)x->id);
	case -1:
		return -1;
	}
	/* bounded: one SMS; the note is checked short enough, this only guards the id */
	snprintf(x->sms, sizeof x->sms, "CMP %lld closed: %s", (long long)x->id, x->note);
	if (db_sms_out_add(c->db, x->m.msisdn, 1, 1, x->sms, 0, x->m.txn_id) < 0)
		return -1;
	snprintf(subject, sizeof subject, "complaint %lld", (long long)x->id);
	return db_audit_add(c->db, c->actor, "complaint.close", subject, "state=open", x->note);
}

/* The note is what the retailer reads: printable text, short enough for one SMS. */
enum ctl_retval
ctl_complaint_close(struct ctl *c, int argc, char **argv)
{
	const char *note = NULL;
	struct ctl_opt opts[] = { { "--note", &note, NULL }, { NULL, NULL, NULL } };
	struct ctl_complaint_closing x;
	char *pos[1], *end;
	int rc;

	if ((rc = ctl_args(c, argc, argv, opts, pos, 1, 1)) != 0)
		return rc;
	if (note == NULL)
		return ctl_usage(c, "--note is required (it is sent to the retailer)");
	memset(&x, 0, sizeof x);
	errno = 0;
	x.id = strtoll(pos[0], &end, 10);
	if (errno != 0 || end == pos[0] || *end != '\0' || x.id <= 0)
		return ctl_error(c, "invalid complaint id '%s'", pos[0]);
	if (note[0] == '\0' || strlen(note) > CTL_COMPLAINT_NOTE_MAX)
		return ctl_error(c, "the note must be 1 to %d bytes", CTL_COMPLAINT_NOTE_MAX);
	for (const char *p = note; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			return ctl_error(c, "the note must not contain control characters");
	x.note = note;
	if ((rc = ctl_tx(c, ctl_complaint_close_tx, &x)) != CTL_OK)
		return rc;
	printf("complaint %lld closed; %s is told: %s\n", (long long)x.id, x.m.msisdn, x.sms);
	return CTL_OK;
}
