/* ctl/init.c: first-time set-up, safe to repeat: the database (migrated and seeded by
 * db_open), the pepper file, and the shipped number series. A second run adds only
 * what is missing and never replaces a secret or an admin's import. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/ctl.h"

#define CTL_SERIES_FILE "number-series.csv"

/* 1 when path is a regular file. */
static int
ctl_is_file(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The shipped series: $RECHARGD_DATA (a folder or the file itself), then the data/
 * folder of the source tree relative to the binary (build/rechargectl or deeper),
 * then the installed share folders. */
static int
ctl_series_default(char *out, size_t cap)
{
	static const char *const rel[] = {
		"../data", "../../data", "../share/rechargd", "data",
	};
	char exe[PATH_MAX], *slash;
	const char *env = getenv("RECHARGD_DATA");
	ssize_t n;

	if (env != NULL && *env != '\0') {
		if (ctl_is_file(env)) {
			snprintf(out, cap, "%s", env);
			return 0;
		}
		snprintf(out, cap, "%s/%s", env, CTL_SERIES_FILE);
		return ctl_is_file(out) ? 0 : -1;
	}
	if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL) {
			*slash = '\0';
			for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
				char try[PATH_MAX + 64], real[PATH_MAX];
				snprintf(try, sizeof try, "%s/%s/%s", exe, rel[i], CTL_SERIES_FILE);
				if (ctl_is_file(try)) {
					snprintf(out, cap, "%s", realpath(try, real) ? real : try);
					return 0;
				}
			}
		}
	}
	snprintf(out, cap, "/usr/share/rechargd/%s", CTL_SERIES_FILE);
	return ctl_is_file(out) ? 0 : -1;
}

struct ctl_init_series {
	struct ctl_series_row *rows;
	int n, added;
	int64_t before;
};

/* Adds the prefixes not already present; an admin's later import stays as it is. */
static int
ctl_init_series_tx(struct ctl *c, void *arg)
{
	struct ctl_init_series *s = arg;
	char before[32], after[32];

	s->added = 0;
	if (db_series_count(c->db, &s->before) != 0)
		return -1;
	for (int i = 0; i < s->n; i++) {
		int rc = db_series_put(c->db, s->rows[i].prefix, s->rows[i].operator_code, s->rows[i].circle, 0);
		if (rc < 0)
			return -1;
		s->added += rc;
	}
	snprintf(before, sizeof before, "prefixes=%lld", (long long)s->before);
	snprintf(after, sizeof after, "prefixes=%lld", (long long)(s->before + s->added));
	return db_audit_add(c->db, c->actor, "init", "number_series", before, after);
}

/* The pepper file, unless losing it would orphan the PIN hashes already stored. */
static int
ctl_init_pepper(struct ctl *c, int db_existed)
{
	const char *path = c->cfg->pepper_file;
	char *cause = NULL;
	int64_t hashes = 0;
	int rc;

	if (access(path, F_OK) != 0 && db_existed) {
		if (db_pin_hash_count(c->db, &hashes) != 0)
			return ctl_db_error(c);
		if (hashes > 0)
			return ctl_error(c, "%s is missing but the database holds %lld PIN hashes made with"
			    " it: restore it from a backup (a new pepper would invalidate every PIN)",
			    path, (long long)hashes);
	}
	if ((rc = pepper_create(path, &cause)) < 0) {
		ctl_error(c, "%s", cause ? cause : "cannot create the pepper file");
		free(cause);
		return CTL_ERROR;
	}
	if (ctl_load_pepper(c) != 0)
		return CTL_ERROR;
	printf("pepper file %s: %s\n", path, rc == 1 ? "created (mode 0600; back it up)" : "kept");
	return 0;
}

/* Each step is idempotent, so a half-finished or repeated init is harmless. */
enum ctl_retval
ctl_init(struct ctl *c, int argc, char **argv)
{
	const char *series = NULL;
	struct ctl_opt opts[] = { { "--series", &series, NULL }, { NULL, NULL, NULL } };
	struct ctl_init_series s = { .rows = NULL };
	char found[PATH_MAX + 64];
	int rc, nbad, existed;

	if ((rc = ctl_args(c, argc, argv, opts, NULL, 0, 0)) != 0)
		return rc;
	existed = access(c->cfg->db_path, F_OK) == 0;
	if (ctl_open_db(c, 1) != 0)
		return CTL_ERROR;
	printf("database %s: %s (schema version %d)\n", c->cfg->db_path, existed ? "exists" : "created",
	    db_schema_version(c->db));
	if (ctl_init_pepper(c, existed) != 0)
		return CTL_ERROR;

	if (series == NULL) {
		if (ctl_series_default(found, sizeof found) != 0)
			return ctl_error(c, "the number series (%s) was not found next to the program or in"
			    " $RECHARGD_DATA: pass --series FILE", CTL_SERIES_FILE);
		series = found;
	}
	/* the shipped file is a stale hint: its odd rows are warnings, not a failed init */
	if (ctl_series_read(c, series, "warning: skipped ", &s.rows, &s.n, &nbad) != 0)
		return CTL_ERROR;
	rc = ctl_tx(c, ctl_init_series_tx, &s);
	free(s.rows);
	if (rc != CTL_OK)
		return rc;
	printf("number series %s: %d prefixes added, %d already present", series, s.added,
	    s.n - s.added);
	if (nbad > 0)
		printf(", %d rows skipped", nbad);
	putchar('\n');
	return CTL_OK;
}
