/* ctl/report.c: the daily report and pruning of old SMS rows. Days are calendar days in
 * Asia/Kolkata (UTC+05:30, no daylight saving), as retailers and settlement count them. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"

#define CTL_IST_OFFSET_MS 19800000LL

/* "YYYY-MM-DD" -> the epoch ms of that day's IST midnight. 0 or CTL_ERROR. */
int
ctl_parse_day(struct ctl *c, const char *text, int64_t *start_ms)
{
	struct tm tm, back;
	time_t t;

	memset(&tm, 0, sizeof tm);
	if (strlen(text) != 10 || strspn(text, "0123456789-") != 10 || text[4] != '-' || text[7] != '-' ||
	    sscanf(text, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
		return ctl_error(c, "invalid date '%s' (YYYY-MM-DD)", text);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	back = tm;
	t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_year != back.tm_year || tm.tm_mon != back.tm_mon ||
	    tm.tm_mday != back.tm_mday || tm.tm_year < 100)
		return ctl_error(c, "invalid date '%s' (YYYY-MM-DD)", text);
	*start_ms = (int64_t)t * 1000 - CTL_IST_OFFSET_MS;
	return 0;
}

struct ctl_report {
	struct ctl_json json;
	int as_json;
	char group[12];                /* the group being written */
};

/* Rows come grouped (total, state, operator, provider, retailer): a heading per group. */
static void
ctl_report_row_cb(void *arg, const struct db_report_row *row)
{
	struct ctl_report *r = arg;
	char amt[MONEY_BUFSZ], com[MONEY_BUFSZ];
	int new_group = strcmp(r->group, row->group) != 0;

	if (r->as_json) {
		struct ctl_json *j = &r->json;
		if (strcmp(row->group, "total") == 0) {
			ctl_json_open(j, "total", '{');
		} else {
			char key[24];
			if (new_group) {
				if (strcmp(r->group, "total") != 0)
					ctl_json_close(j, ']');
				snprintf(key, sizeof key, "by_%s", row->group);
				ctl_json_open(j, key, '[');
			}
			ctl_json_open(j, NULL, '{');
			ctl_json_str(j, "key", row->key);
		}
		ctl_json_int(j, "count", row->count);
		ctl_json_money(j, "amount", row->amount);
		ctl_json_money(j, "commission", row->commission);
		ctl_json_close(j, '}');
	} else {
		if (strcmp(row->group, "total") == 0)
			printf("total: %lld transactions, %s, commission %s\n", (long long)row->count,
			    money_format(row->amount, amt), money_format(row->commission, com));
		else {
			if (new_group)
				printf("\nby %s:\n  %-16s %6s %14s %12s\n", row->group, "", "COUNT", "AMOUNT",
				    "COMMISSION");
			printf("  %-16s %6lld %14s %12s\n", row->key, (long long)row->count,
			    money_format(row->amount, amt), money_format(row->commission, com));
		}
	}
	strlcpy_safe(r->group, row->group, sizeof r->group);
}

/* Counts and sums of the day's transactions by state, operator, provider and retailer. */
enum ctl_retval
ctl_report_daily(struct ctl *c, int argc, char **argv)
{
	const char *date = NULL;
	struct ctl_report r;
	struct ctl_opt opts[] = {
		{ "--date", &date, NULL }, { "--json", NULL, &r.as_json }, { NULL, NULL, NULL },
	};
	int64_t start;
	int rc;

	memset(&r, 0, sizeof r);
	if ((rc = ctl_args(c, argc, argv, opts, NULL, 0, 0)) != 0)
		return rc;
	if (date == NULL)
		return ctl_usage(c, "--date is required");
	if (ctl_parse_day(c, date, &start) != 0)
		return CTL_ERROR;
	if (r.as_json) {
		ctl_json_begin(&r.json, stdout);
		ctl_json_open(&r.json, NULL, '{');
		ctl_json_str(&r.json, "date", date);
	} else {
		printf("daily report for %s (Asia/Kolkata), transactions created that day\n", date);
	}
	if (db_report_each(c->db, start, start + CTL_DAY_MS, ctl_report_row_cb, &r) != 0)
		return ctl_db_error(c);
	if (r.as_json) {
		if (strcmp(r.group, "total") != 0)
			ctl_json_close(&r.json, ']');
		ctl_json_close(&r.json, '}');
		ctl_json_end(&r.json);
	}
	return CTL_OK;
}

struct ctl_pruning {
	int64_t before_ms;
	const char *date;
	const char *path;              /* the archive */
	int fd, created;               /* created: by this run (its directory is synced too) */
	off_t base;                    /* the archive's size before this run */
	FILE *f;                       /* during an attempt */
	const char *table;             /* the section being written */
	int64_t a_in, a_out;           /* rows archived */
	int64_t n_in, n_out;           /* rows deleted */
};

/* One archive row; a section header (table,<columns>) before each table's first row.
 * SQL NULL is an empty field, an empty string "". */
static int
ctl_prune_row_cb(void *arg, const char *table, int ncol, const char *const *names,
    const char *const *values)
{
	struct ctl_pruning *p = arg;
	int i;

	if (p->table == NULL || strcmp(p->table, table) != 0) {
		p->table = table;
		fputs("table", p->f);
		for (i = 0; i < ncol; i++) {
			fputc(',', p->f);
			ctl_csv_field(p->f, names[i]);
		}
		fputc('\n', p->f);
	}
	fputs(table, p->f);
	for (i = 0; i < ncol; i++) {
		fputc(',', p->f);
		if (values[i] == NULL)
			continue;
		if (values[i][0] == '\0')
			fputs("\"\"", p->f);
		else
			ctl_csv_field(p->f, values[i]);
	}
	fputc('\n', p->f);
	if (strcmp(table, "sms_in") == 0)
		p->a_in++;
	else
		p->a_out++;
	return ferror(p->f) ? 1 : 0;
}

/* Writes the rows about to go to the archive and syncs it: 0 or CTL_ERROR printed.
 * A retried attempt first cuts the archive back to where this run started. */
static int
ctl_prune_archive(struct ctl *c, struct ctl_pruning *p)
{
	int fd, rc, err = 0;

	p->a_in = p->a_out = 0;
	p->table = NULL;
	if (ftruncate(p->fd, p->base) != 0)
		return ctl_error(c, "%s: %s", p->path, strerror(errno));
	if ((fd = dup(p->fd)) < 0 || (p->f = fdopen(fd, "a")) == NULL) {
		err = errno;
		if (fd >= 0)
			close(fd);
		return ctl_error(c, "%s: %s", p->path, strerror(err));
	}
	rc = db_sms_prune_each(c->db, p->before_ms, ctl_prune_row_cb, p);
	errno = 0;
	if (fflush(p->f) != 0 || ferror(p->f) || fsync(fileno(p->f)) != 0)
		err = errno != 0 ? errno : EIO;
	if (fclose(p->f) != 0 && err == 0)
		err = errno;
	p->f = NULL;
	if (rc < 0)
		return -1;
	if (rc > 0 && err == 0)
		err = EIO;
	if (err == 0 && p->created) {
		char dir[PATH_MAX];
		const char *slash = strrchr(p->path, '/');
		int dfd;

		snprintf(dir, sizeof dir, "%.*s", slash == NULL ? 1 : slash == p->path ? 1 : (int)(slash - p->path),
		    slash == NULL ? "." : p->path);
		if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd) != 0)
			err = errno;
		if (dfd >= 0)
			close(dfd);
	}
	if (err != 0)
		return ctl_error(c, "%s: %s: nothing pruned", p->path, strerror(err));
	return 0;
}

/* The archive, then the deletes (the same rows: one write transaction) and their audit
 * row together. */
static int
ctl_prune_tx(struct ctl *c, void *arg)
{
	struct ctl_pruning *p = arg;
	char after[96 + PATH_MAX];
	int rc;

	if ((rc = ctl_prune_archive(c, p)) != 0)
		return rc;
	if (db_sms_prune(c->db, p->before_ms, &p->n_in, &p->n_out) != 0)
		return -1;
	if (p->n_in != p->a_in || p->n_out != p->a_out)
		return ctl_error(c, "prune would delete %lld sms_in and %lld sms_out rows but archived %lld"
		    " and %lld: nothing pruned", (long long)p->n_in, (long long)p->n_out,
		    (long long)p->a_in, (long long)p->a_out);
	snprintf(after, sizeof after, "sms_in=%lld sms_out=%lld deleted archive=%s", (long long)p->n_in,
	    (long long)p->n_out, p->path);
	return db_audit_add(c->db, c->actor, "prune", p->date, "", after);
}

/* Old SMS rows that are done with, archived first; the ledger and transactions are
 * never touched. SMS texts can hold PINs: the archive is created 0600. */
enum ctl_retval
ctl_prune(struct ctl *c, int argc, char **argv)
{
	struct ctl_pruning p;
	struct ctl_opt opts[] = { { "--before", &p.date, NULL }, { "--archive", &p.path, NULL },
		{ NULL, NULL, NULL } };
	char def[PATH_MAX];
	struct stat sb;
	int rc;

	memset(&p, 0, sizeof p);
	p.fd = -1;
	if ((rc = ctl_args(c, argc, argv, opts, NULL, 0, 0)) != 0)
		return rc;
	if (p.date == NULL)
		return ctl_usage(c, "--before is required");
	if (p.path != NULL && p.path[0] == '\0')
		return ctl_usage(c, "--archive needs a file name");
	if (ctl_parse_day(c, p.date, &p.before_ms) != 0)
		return CTL_ERROR;
	if (p.path == NULL) {
		const char *db = c->cfg->db_path, *slash = strrchr(db, '/');

		if ((size_t)snprintf(def, sizeof def, "%.*ssms-archive-%s.csv",
		    slash == NULL ? 0 : (int)(slash - db + 1), db, p.date) >= sizeof def)
			return ctl_error(c, "%s: path too long for the archive", db);
		p.path = def;
	}
	/* the file first: rows whose archive cannot be written are not deleted */
	if ((p.fd = open(p.path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) >= 0)
		p.created = 1;
	else if (errno == EEXIST)
		p.fd = open(p.path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (p.fd < 0)
		return ctl_error(c, "%s: %s: nothing pruned", p.path, strerror(errno));
	if ((rc = fstat(p.fd, &sb)) != 0 || !S_ISREG(sb.st_mode)) {
		const char *why = rc != 0 ? strerror(errno) : "not a regular file";

		close(p.fd);
		return ctl_error(c, "%s: %s: nothing pruned", p.path, why);
	}
	p.base = sb.st_size;
	if ((rc = ctl_tx(c, ctl_prune_tx, &p)) != CTL_OK) {
		/* nothing deleted: the archive does not keep rows still in the database */
		if (p.created)
			unlink(p.path);
		else if (ftruncate(p.fd, p.base) == 0)
			fsync(p.fd);
		close(p.fd);
		return rc;
	}
	close(p.fd);
	printf("pruned %lld sms_in and %lld sms_out rows from before %s\n", (long long)p.n_in,
	    (long long)p.n_out, p.date);
	printf("archived to %s\n", p.path);
	return CTL_OK;
}
