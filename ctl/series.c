/* ctl/series.c: number series (the operator and circle of a mobile's first four
 * digits, a hint for detection) from CSV. Every row is checked before any is written,
 * and the good ones go in one transaction. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

/* Far above the 4,000 four-digit mobile prefixes: a wrong file, not a big one. */
#define CTL_SERIES_MAX_ROWS 100000

/* Strips spaces, tabs and a CR or LF at both ends, in place. */
static char *
ctl_series_trim(char *s)
{
	char *e = s + strlen(s);

	while (*s == ' ' || *s == '\t')
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	*e = '\0';
	return s;
}

/* Checks one data row; fills row or says why not (into why). */
static int
ctl_series_row_check(struct ctl *c, char *text, struct ctl_series_row *row, char *why, size_t cap)
{
	char *f[3], *p = text;
	struct db_operator op;
	int n = 0;

	for (;;) {
		char *comma = strchr(p, ',');
		if (n == 3) {
			snprintf(why, cap, "expected 3 fields (prefix,operator,circle)");
			return -1;
		}
		f[n++] = p;
		if (comma == NULL)
			break;
		*comma = '\0';
		p = comma + 1;
	}
	if (n != 3) {
		snprintf(why, cap, "expected 3 fields (prefix,operator,circle)");
		return -1;
	}
	for (int i = 0; i < 3; i++)
		f[i] = ctl_series_trim(f[i]);
	if (strlen(f[0]) != 4 || strspn(f[0], "0123456789") != 4 || f[0][0] < '6') {
		snprintf(why, cap, "prefix '%.16s' is not 4 digits starting 6 to 9", f[0]);
		return -1;
	}
	switch (db_operator_find(c->db, f[1], &op)) {
	case 0:
		snprintf(why, cap, "unknown operator '%.16s'", f[1]);
		return -1;
	case -1:
		snprintf(why, cap, "database: %s", db_error(c->db));
		return -1;
	}
	if (strcmp(op.service, "MOBILE") != 0) {
		snprintf(why, cap, "operator %s is not a mobile operator", op.code);
		return -1;
	}
	if (f[2][0] != '\0' && (strlen(f[2]) != 2 || db_circle_exists(c->db, f[2]) != 1)) {
		snprintf(why, cap, "unknown circle '%.16s'", f[2]);
		return -1;
	}
	strlcpy_safe(row->prefix, f[0], sizeof row->prefix);
	strlcpy_safe(row->operator_code, op.code, sizeof row->operator_code);
	row->circle[0] = (char)toupper((unsigned char)f[2][0]);
	row->circle[1] = row->circle[0] ? (char)toupper((unsigned char)f[2][1]) : '\0';
	row->circle[2] = '\0';
	return 0;
}

/* Checks every row first so a bad file is reported whole, with line numbers. */
int
ctl_series_read(struct ctl *c, const char *path, const char *label,
    struct ctl_series_row **rows, int *nrows, int *nbad)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, why[128];
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, header = 0, n = 0, ncap = 0;
	/* first line of each prefix 6000..9999, to report duplicates */
	static int seen[4000];
	struct ctl_series_row *out = NULL, row;

	*rows = NULL;
	*nrows = *nbad = 0;
	if (f == NULL)
		return ctl_error(c, "%s: %s", path, strerror(errno));
	memset(seen, 0, sizeof seen);
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *text = line;
		lineno++;
		if ((size_t)len != strlen(line)) {
			fprintf(stderr, "%s: %s%s:%d: NUL byte in the line\n", c->progname, label, path, lineno);
			(*nbad)++;
			continue;
		}
		if (lineno == 1 && strncmp(text, "\xef\xbb\xbf", 3) == 0)
			text += 3;
		text = ctl_series_trim(text);
		if (*text == '\0')
			continue;
		if (!header) {
			if (strcasecmp(text, "prefix,operator,circle") != 0) {
				ctl_error(c, "%s:%d: expected the header 'prefix,operator,circle'", path, lineno);
				goto fail;
			}
			header = 1;
			continue;
		}
		memset(&row, 0, sizeof row);
		row.line = lineno;
		if (ctl_series_row_check(c, text, &row, why, sizeof why) != 0) {
			fprintf(stderr, "%s: %s%s:%d: %s\n", c->progname, label, path, lineno, why);
			(*nbad)++;
			continue;
		}
		int slot = atoi(row.prefix) - 6000;
		if (seen[slot] != 0) {
			fprintf(stderr, "%s: %s%s:%d: prefix %s given twice (first on line %d)\n", c->progname,
			    label, path, lineno, row.prefix, seen[slot]);
			(*nbad)++;
			continue;
		}
		seen[slot] = lineno;
		if (n == CTL_SERIES_MAX_ROWS) {
			ctl_error(c, "%s: more than %d rows", path, CTL_SERIES_MAX_ROWS);
			goto fail;
		}
		if (n == ncap) {
			ncap = ncap ? ncap * 2 : 1024;
			struct ctl_series_row *grown = realloc(out, (size_t)ncap * sizeof *out);
			if (grown == NULL) {
				ctl_error(c, "out of memory");
				goto fail;
			}
			out = grown;
		}
		out[n++] = row;
	}
	if (ferror(f)) {
		ctl_error(c, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!header) {
		ctl_error(c, "%s: empty file (expected the header 'prefix,operator,circle')", path);
		goto fail;
	}
	free(line);
	fclose(f);
	*rows = out;
	*nrows = n;
	return 0;

fail:
	free(line);
	free(out);
	fclose(f);
	return CTL_ERROR;
}

struct ctl_series_importing {
	const char *path;
	struct ctl_series_row *rows;
	int n;
};

/* All good rows and one audit row, as one transaction. */
static int
ctl_series_import_tx(struct ctl *c, void *arg)
{
	struct ctl_series_importing *s = arg;
	char after[48];

	for (int i = 0; i < s->n; i++)
		if (db_series_put(c->db, s->rows[i].prefix, s->rows[i].operator_code, s->rows[i].circle, 1) < 0)
			return -1;
	snprintf(after, sizeof after, "prefixes=%d", s->n);
	return db_audit_add(c->db, c->actor, "series.import", s->path, "", after);
}

/* Admins refresh operator detection from newer DoT series files. */
enum ctl_retval
ctl_series_import(struct ctl *c, int argc, char **argv)
{
	struct ctl_series_importing s;
	char *pos[1];
	int rc, nbad;

	if ((rc = ctl_args(c, argc, argv, NULL, pos, 1, 1)) != 0)
		return rc;
	s.path = pos[0];
	if (ctl_series_read(c, s.path, "", &s.rows, &s.n, &nbad) != 0)
		return CTL_ERROR;
	rc = ctl_tx(c, ctl_series_import_tx, &s);
	free(s.rows);
	if (rc != CTL_OK)
		return rc;
	printf("imported %d prefixes from %s", s.n, s.path);
	if (nbad > 0)
		printf(" (%d bad rows left out)", nbad);
	putchar('\n');
	if (nbad > 0)
		return ctl_error(c, "%s: %d bad rows", s.path, nbad);
	return CTL_OK;
}
