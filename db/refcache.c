/* db/refcache.c: reference data (operators, number series, plans, commissions, routes,
 * circles) answered from memory between changes (issue 7). Every recharge asked SQLite
 * the same five or six questions about tables that change a few times a day; each
 * answer cost a statement execution on the loop.
 *
 * Only the daemon turns it on (db_refcache_enable). An answer is dropped when the tables
 * may have changed:
 *   - another connection (rechargectl) committed: PRAGMA data_version differs. Checked
 *     when the batch's transaction begins (no other writer can commit until it ends) and,
 *     outside a transaction, before an answer when the last check is DB_REF_OUTSIDE_MS
 *     old (each check opens a read transaction: as dear as the lookup it saves). A
 *     change by rechargectl reaches a lookup outside a transaction (the provider route
 *     of a dispatch) within that time, and every lookup in a batch at once;
 *   - this connection wrote a reference table: its writers in db/ call db_ref_flush;
 *   - a savepoint or transaction rolled back: what was read inside it may be gone.
 * A flush bumps a generation; entries of older generations are free. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/internal.h"

#define DB_REF_SLOTS 256               /* operators, plans x services, commissions, routes */
#define DB_REF_KEY 48
#define DB_REF_SERIES 10000            /* four-digit prefixes, indexed directly */
#define DB_REF_OUTSIDE_MS 100

struct db_ref_entry {
	uint32_t gen;                   /* valid when the cache's generation */
	int kind;
	int rc;                         /* the lookup's answer: 1 found, 0 not found */
	char key[DB_REF_KEY];
	union db_ref_value value;
};

struct db_ref_series {
	uint32_t gen;
	int rc;
	char operator_code[16];
	char circle[3];
};

struct db_refcache {
	uint32_t gen;                   /* starts at 1: zeroed entries are free */
	int used;                       /* entries of this generation in slots */
	int64_t data_version;
	int64_t checked_ms;             /* monotonic, of the last data_version check */
	struct db_ref_entry slots[DB_REF_SLOTS];
	struct db_ref_series series[DB_REF_SERIES];
};

void
db_refcache_enable(struct db *db)
{
	if (db->ref != NULL)
		return;
	db->ref = xcalloc(1, sizeof *db->ref);
	db->ref->gen = 1;
	db->ref->data_version = -1;     /* the first check reads it */
}

void
db_refcache_free(struct db *db)
{
	free(db->ref);
	db->ref = NULL;
}

void
db_ref_flush(struct db *db)
{
	if (db->ref == NULL)
		return;
	db->ref->gen++;
	db->ref->used = 0;
}

/* Flushes if another connection committed since the last check; -1 on error. */
int
db_ref_check(struct db *db)
{
	static const char sql[] = "PRAGMA data_version";
	sqlite3_stmt *st;
	int64_t v;
	int rc;

	if (db->ref == NULL)
		return 0;
	if ((st = db_stmt(db, sql)) == NULL)
		return -1;
	rc = sqlite3_step(st);
	v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return db_fail(db, rc, "data_version");
	db->ref->checked_ms = clock_mono_ms();
	if (v != db->ref->data_version) {
		db_ref_flush(db);
		db->ref->data_version = v;
	}
	return 0;
}

/* Outside a transaction nothing stops another connection committing meanwhile. */
static int
db_ref_usable(struct db *db)
{
	if (db->ref == NULL)
		return 0;
	if (!db->in_tx && clock_mono_ms() - db->ref->checked_ms >= DB_REF_OUTSIDE_MS &&
	    db_ref_check(db) != 0)
		return 0;
	return 1;
}

/* FNV-1a over the kind and the key. */
static unsigned
db_ref_hash(int kind, const char *key)
{
	uint32_t h = 2166136261u ^ (uint32_t)kind;

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h;
}

/* "a" or "a\x1fb" into key; 0 if it does not fit (then the lookup is not kept). */
static int
db_ref_key(char key[DB_REF_KEY], const char *a, const char *b)
{
	int n = snprintf(key, DB_REF_KEY, "%s%s%s", a, b ? "\x1f" : "", b ? b : "");
	return n > 0 && n < DB_REF_KEY;
}

int
db_ref_get(struct db *db, int kind, const char *a, const char *b, union db_ref_value *out)
{
	char key[DB_REF_KEY];

	if (!db_ref_usable(db) || !db_ref_key(key, a, b))
		return -1;
	struct db_refcache *c = db->ref;
	for (unsigned i = 0, h = db_ref_hash(kind, key); i < DB_REF_SLOTS; i++) {
		struct db_ref_entry *e = &c->slots[(h + i) % DB_REF_SLOTS];
		if (e->gen != c->gen)
			return -1;              /* a free slot: not cached */
		if (e->kind == kind && strcmp(e->key, key) == 0) {
			if (out != NULL)
				*out = e->value;
			return e->rc;
		}
	}
	return -1;
}

void
db_ref_put(struct db *db, int kind, const char *a, const char *b, int rc, const union db_ref_value *v)
{
	char key[DB_REF_KEY];

	if (db->ref == NULL || rc < 0 || !db_ref_key(key, a, b))
		return;
	struct db_refcache *c = db->ref;
	if (c->used >= DB_REF_SLOTS * 3 / 4)
		db_ref_flush(db);           /* bounded: start again rather than grow */
	for (unsigned i = 0, h = db_ref_hash(kind, key); i < DB_REF_SLOTS; i++) {
		struct db_ref_entry *e = &c->slots[(h + i) % DB_REF_SLOTS];
		if (e->gen == c->gen)
			continue;
		e->gen = c->gen;
		e->kind = kind;
		e->rc = rc;
		memcpy(e->key, key, sizeof key);
		if (v != NULL)
			e->value = *v;
		c->used++;
		return;
	}
}

/* The four leading digits as an index, or -1. */
static int
db_ref_prefix(const char *mobile)
{
	int n = 0;

	for (int i = 0; i < 4; i++) {
		if (mobile[i] < '0' || mobile[i] > '9')
			return -1;
		n = n * 10 + (mobile[i] - '0');
	}
	return n;
}

int
db_ref_series_get(struct db *db, const char *mobile, char operator_code[16], char circle[3])
{
	int i = db_ref_prefix(mobile);

	if (i < 0 || !db_ref_usable(db))
		return -1;
	struct db_ref_series *s = &db->ref->series[i];
	if (s->gen != db->ref->gen)
		return -1;
	if (s->rc == 1) {
		memcpy(operator_code, s->operator_code, sizeof s->operator_code);
		memcpy(circle, s->circle, sizeof s->circle);
	}
	return s->rc;
}

void
db_ref_series_put(struct db *db, const char *mobile, int rc, const char *operator_code, const char *circle)
{
	int i = db_ref_prefix(mobile);

	if (db->ref == NULL || i < 0 || rc < 0)
		return;
	struct db_ref_series *s = &db->ref->series[i];
	s->gen = db->ref->gen;
	s->rc = rc;
	if (rc == 1) {
		strlcpy_safe(s->operator_code, operator_code, sizeof s->operator_code);
		strlcpy_safe(s->circle, circle, sizeof s->circle);
	}
}
