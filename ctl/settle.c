/* ctl/settle.c: rechargectl settle (SPEC 5). One run per IST date settles every
 * retailer's due commission and clawbacks into one batch (db/settle.c); the CSV of paid
 * batches is what the bank transfer is made from. A date settled before is printed
 * again from the stored batches and moves nothing; an earlier date than the latest
 * settled one is refused (its postings already went into later batches). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl.h"

struct ctl_settling {
	const char *date;
	int64_t end_ms;
	int already;                   /* settled by an earlier run: nothing moved now */
	int64_t run_at, nbatches;
	/* totals of the date's batches */
	int64_t paid, carried, gross, tds, net;
};

/* Totals for the audit row and the summary. */
static void
ctl_settle_sum_cb(void *arg, const struct db_settle_batch *b)
{
	struct ctl_settling *s = arg;

	if (b->posting_id != 0) {
		s->paid++;
		s->gross += b->gross;
		s->tds += b->tds;
		s->net += b->net;
	} else {
		s->carried++;
	}
}

/* Settles the date once; a second run only reads. */
static int
ctl_settle_tx(struct ctl *c, void *arg)
{
	struct ctl_settling *s = arg;
	char last[11], after[200], g[MONEY_BUFSZ], t[MONEY_BUFSZ], n[MONEY_BUFSZ];
	int rc;

	s->paid = s->carried = s->gross = s->tds = s->net = 0;
	if ((rc = db_settle_run_get(c->db, s->date, &s->run_at, &s->nbatches)) < 0)
		return -1;
	if (rc == 1) {
		s->already = 1;
		return db_settle_each(c->db, s->date, ctl_settle_sum_cb, s);
	}
	if (db_settle_last_date(c->db, last) != 0)
		return -1;
	if (last[0] != '\0' && strcmp(s->date, last) < 0)
		return ctl_error(c, "%s is before %s, already settled: its commission went into later batches",
		    s->date, last);
	if ((rc = db_settle_run(c->db, s->date, s->end_ms, c->cfg->tds_bp, c->actor)) < 0)
		return -1;
	s->nbatches = rc;
	s->run_at = clock_now_ms();
	if (db_settle_each(c->db, s->date, ctl_settle_sum_cb, s) != 0)
		return -1;
	snprintf(after, sizeof after, "batches=%lld paid=%lld carried=%lld gross=%s tds=%s net=%s tds_bp=%d",
	    (long long)s->nbatches, (long long)s->paid, (long long)s->carried, money_format(s->gross, g),
	    money_format(s->tds, t), money_format(s->net, n), (int)c->cfg->tds_bp);
	return db_audit_add(c->db, c->actor, "settle", s->date, "", after);
}

/* A CSV field, quoted when it holds a comma, quote, line break or edge blank. */
void
ctl_csv_field(FILE *f, const char *v)
{
	size_t n = strlen(v);

	if (strpbrk(v, ",\"\r\n") == NULL && (n == 0 || (v[0] != ' ' && v[n - 1] != ' '))) {
		fputs(v, f);
		return;
	}
	fputc('"', f);
	for (; *v != '\0'; v++) {
		if (*v == '"')
			fputc('"', f);
		fputc(*v, f);
	}
	fputc('"', f);
}

struct ctl_settle_out {
	FILE *f;
	struct ctl *c;
};

/* A text a person typed (shop names come by SMS) must not become a formula when the
 * bank file is opened in a spreadsheet: a leading = + - @ gets a quote mark. */
static void
ctl_settle_text_field(FILE *f, const char *v)
{
	char buf[128];

	if (strchr("=+-@\t\r", v[0]) != NULL && v[0] != '\0') {
		snprintf(buf, sizeof buf, "'%s", v);
		ctl_csv_field(f, buf);
	} else
		ctl_csv_field(f, v);
}

/* One row per paid batch; carried ones are told on stderr. */
static void
ctl_settle_row_cb(void *arg, const struct db_settle_batch *b)
{
	struct ctl_settle_out *o = arg;
	char g[MONEY_BUFSZ], t[MONEY_BUFSZ], n[MONEY_BUFSZ];

	if (b->posting_id == 0) {
		fprintf(stderr, "%s: batch %lld of %s carried forward: %s not paid (%lld postings)\n",
		    o->c->progname, (long long)b->id, b->msisdn, money_format(b->gross, g), (long long)b->count);
		return;
	}
	if (b->bank_account[0] == '\0' || b->bank_ifsc[0] == '\0')
		fprintf(stderr, "%s: warning: batch %lld of %s: no bank account or IFSC (retailer set-bank)\n",
		    o->c->progname, (long long)b->id, b->msisdn);
	fprintf(o->f, "%lld,", (long long)b->id);
	ctl_csv_field(o->f, b->msisdn);
	fputc(',', o->f);
	ctl_settle_text_field(o->f, b->name);
	fputc(',', o->f);
	ctl_csv_field(o->f, b->bank_account);
	fputc(',', o->f);
	ctl_csv_field(o->f, b->bank_ifsc);
	fprintf(o->f, ",%lld,%s,%s,%s\n", (long long)b->count, money_format(b->gross, g), money_format(b->tds, t),
	    money_format(b->net, n));
}

/* Settles --date and writes the CSV of paid batches to --out or stdout; the summary
 * goes to stderr. */
enum ctl_retval
ctl_settle(struct ctl *c, int argc, char **argv)
{
	const char *out = NULL;
	struct ctl_settling s;
	struct ctl_opt opts[] = { { "--date", &s.date, NULL }, { "--out", &out, NULL }, { NULL, NULL, NULL } };
	struct ctl_settle_out o = { .f = stdout, .c = c };
	char when[32], g[MONEY_BUFSZ], t[MONEY_BUFSZ], n[MONEY_BUFSZ];
	int64_t start;
	int rc;

	memset(&s, 0, sizeof s);
	if ((rc = ctl_args(c, argc, argv, opts, NULL, 0, 0)) != 0)
		return rc;
	if (s.date == NULL)
		return ctl_usage(c, "--date is required");
	if (ctl_parse_day(c, s.date, &start) != 0)
		return CTL_ERROR;
	s.end_ms = start + CTL_DAY_MS;
	/* a day still running would leave its later successes to the next batch */
	if (clock_now_ms() < s.end_ms)
		return ctl_error(c, "%s has not ended yet (Asia/Kolkata): settle it from the next day", s.date);
	/* the file first, beside the target: a settlement whose CSV cannot be written is not
	 * started, and an earlier file of the same name survives until the new one is whole */
	char tmp[4096];
	if (out != NULL) {
		snprintf(tmp, sizeof tmp, "%s.tmp", out);
		if ((o.f = fopen(tmp, "w")) == NULL)
			return ctl_error(c, "%s: %s", tmp, strerror(errno));
	}
	if ((rc = ctl_tx(c, ctl_settle_tx, &s)) != CTL_OK) {
		if (out != NULL) {
			fclose(o.f);
			remove(tmp);
		}
		return rc;
	}
	fputs("batch,msisdn,shop_name,bank_account,ifsc,count,gross,tds,net\n", o.f);
	rc = db_settle_each(c->db, s.date, ctl_settle_row_cb, &o);
	if (fflush(o.f) != 0 || ferror(o.f)) {
		if (out != NULL) {
			fclose(o.f);
			remove(tmp);
		}
		return ctl_error(c, "%s: %s (rerun settle --date %s to write it again)", out ? out : "stdout",
		    strerror(errno), s.date);
	}
	if (out != NULL && (fsync(fileno(o.f)) != 0 || fclose(o.f) != 0 || rename(tmp, out) != 0)) {
		remove(tmp);
		return ctl_error(c, "%s: %s (rerun settle --date %s to write it again)", out, strerror(errno), s.date);
	}
	if (rc != 0)
		return ctl_db_error(c);
	fprintf(stderr, "%s: %s %s %s: %lld batches, %lld paid (gross %s, tds %s, net %s), %lld carried forward%s\n",
	    c->progname, s.date, s.already ? "already settled at" : "settled at", ctl_time(s.run_at, when),
	    (long long)s.nbatches,
	    (long long)s.paid, money_format(s.gross, g), money_format(s.tds, t), money_format(s.net, n),
	    (long long)s.carried, s.already ? "; nothing settled now, no money moved" : "");
	return CTL_OK;
}
