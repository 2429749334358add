/* ctl/json.c: a streaming JSON writer for --json. jansson escapes the strings; numbers
 * are written here, money from paise by money_format, because jansson prints a real
 * such as 17.94 as 17.940000000000001. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl/ctl.h"

/* One writer per document, on the stack of the command. */
void
ctl_json_begin(struct ctl_json *j, FILE *f)
{
	memset(j, 0, sizeof *j);
	j->f = f;
}

/* Documents end with a newline, for shells and jq. */
void
ctl_json_end(struct ctl_json *j)
{
	fputc('\n', j->f);
}

/* Newline and two spaces per level. */
static void
ctl_json_indent(struct ctl_json *j)
{
	fputc('\n', j->f);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

/* A string literal; bytes that are not UTF-8 become '?' so the output stays valid. */
static void
ctl_json_quote(struct ctl_json *j, const char *s)
{
	json_t *v = json_string(s);
	char *text;

	if (v == NULL) {
		char *copy = xstrdup(s);
		for (char *p = copy; *p != '\0'; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		v = json_string(copy);
		free(copy);
	}
	text = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
	fputs(text ? text : "\"\"", j->f);
	free(text);
	json_decref(v);
}

/* The separator, indentation and key before any value. */
static void
ctl_json_member(struct ctl_json *j, const char *key)
{
	if (j->depth > 0) {
		if (j->count[j->depth]++ > 0)
			fputc(',', j->f);
		ctl_json_indent(j);
	}
	if (key != NULL) {
		ctl_json_quote(j, key);
		fputs(": ", j->f);
	}
}

/* Objects and arrays nest up to CTL_JSON_DEPTH. */
void
ctl_json_open(struct ctl_json *j, const char *key, char bracket)
{
	ctl_json_member(j, key);
	fputc(bracket, j->f);
	if (j->depth + 1 < CTL_JSON_DEPTH)
		j->depth++;
	j->count[j->depth] = 0;
}

/* Empty containers stay on one line ([] and {}). */
void
ctl_json_close(struct ctl_json *j, char bracket)
{
	int empty = j->count[j->depth] == 0;

	if (j->depth > 0)
		j->depth--;
	if (!empty)
		ctl_json_indent(j);
	fputc(bracket, j->f);
}

/* Strings go through jansson for correct escaping. */
void
ctl_json_str(struct ctl_json *j, const char *key, const char *s)
{
	ctl_json_member(j, key);
	ctl_json_quote(j, s);
}

/* Counts and ids are exact integers. */
void
ctl_json_int(struct ctl_json *j, const char *key, int64_t v)
{
	ctl_json_member(j, key);
	fprintf(j->f, "%" PRId64, v);
}

/* Paise as a JSON number with exactly two decimals, never via a double. */
void
ctl_json_money(struct ctl_json *j, const char *key, int64_t paise)
{
	char buf[MONEY_BUFSZ];

	ctl_json_member(j, key);
	fputs(money_format(paise, buf), j->f);
}

/* Flags as true/false. */
void
ctl_json_bool(struct ctl_json *j, const char *key, int v)
{
	ctl_json_member(j, key);
	fputs(v ? "true" : "false", j->f);
}

/* Absent values (no limit, no txn) as null rather than a magic 0. */
void
ctl_json_null(struct ctl_json *j, const char *key)
{
	ctl_json_member(j, key);
	fputs("null", j->f);
}
