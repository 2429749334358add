/* engine/provider_http.c: the http-json provider type: any aggregator's HTTP API by its
 * [provider.NAME] section alone (SPEC section 10, docs/providers.md).
 *
 * A recharge is one request on a fresh connection (unless the provider dedupes on our
 * TXN id), its answer mapped by the section's value lists: success, failure, pending,
 * reversed. "Not taken" (PROVIDER_DOWN: the engine tries the next provider) is claimed
 * only when nothing was sent or the HTTP status is in down_statuses; every other failure
 * after sending is PROVIDER_UNKNOWN, so nothing the provider may have done is failed.
 *
 * JSON answers are read with every number kept as its text (see provider_http_json_load),
 * so a status of 1 matches "1" and a balance of 1234.50 is read from its digits, never
 * through a double. Secrets are never logged, nor any URL past its path.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "engine/internal.h"

#define PH_MAX_TOTAL_CONNECTIONS 2048  /* all http-json providers of the daemon */
#define PH_LIST_MAX 32
#define PH_VALUE_MAX 64               /* one configured status value */
#define PH_FIELD_MAX 128              /* a dotted JSON path or a callback field name */
#define PH_OPCODES_MAX 64
#define PH_DOWN_MAX 16
#define PH_URL_MAX 4096               /* a rendered URL */
#define PH_BODY_MAX 16384             /* a rendered request body */
#define PH_CB_VALUE_MAX 256           /* one field read from a callback */

static const char *const provider_http_keys[] = {
	"recharge_url", "recharge_method", "recharge_body", "content_type", "status_url",
	"balance_url", "secret", "opcodes", "status_field", "ref_field", "message_field",
	"balance_field", "success_values", "pending_values", "failure_values", "reversed_values",
	"down_statuses", "timeout_ms", "max_connections", "callback_secret", "callback_hmac",
	"callback_txn_field", "callback_status_field", "callback_ref_field", "dedupes", NULL,
};

/* ---- template variables -------------------------------------------------------------- */
enum ph_var {
	PH_MOBILE, PH_OP, PH_OPERATOR, PH_AMOUNT, PH_AMOUNT_PAISE, PH_CIRCLE, PH_TXN_ID, PH_SECRET,
	PH_NVARS
};
static const char *const ph_var_names[PH_NVARS] = {
	"mobile", "op", "operator", "amount", "amount_paise", "circle", "txn_id", "secret",
};
#define PH_VARS_ALL ((1u << PH_NVARS) - 1)
#define PH_VARS_NUMERIC ((1u << PH_AMOUNT) | (1u << PH_AMOUNT_PAISE))

enum ph_escape { PH_ESC_URL, PH_ESC_JSON };
enum ph_kind { PH_SUBMIT, PH_STATUS, PH_BALANCE };
static const char *const ph_kind_names[] = { "recharge", "status", "balance" };

struct ph_list {
	int n;
	char v[PH_LIST_MAX][PH_VALUE_MAX];
};

struct ph_shared;

/* One provider's settings. Reference counted: calls in flight keep it, so a SIGHUP
 * that drops the provider does not pull the mapping from under their answers. */
struct provider_http {
	int refs;
	char name[32];
	struct ph_shared *shared;
	char *recharge_url, *recharge_body, *status_url, *balance_url, *secret;
	enum http_method recharge_method;
	int body_json;                /* recharge_body is JSON (else a form) */
	char content_type[96];
	char recharge_path[160], status_path[160], balance_path[160];   /* for logs */
	int nopcodes;
	struct { char op[16]; char code[32]; } opcodes[PH_OPCODES_MAX];
	char status_field[PH_FIELD_MAX], ref_field[PH_FIELD_MAX], message_field[PH_FIELD_MAX];
	char balance_field[PH_FIELD_MAX];
	struct ph_list success, pending, failure, reversed;
	int ndown, down[PH_DOWN_MAX];
	int timeout_ms, max_connections, dedupes;
	char *callback_secret;
	int callback_hmac;
	char callback_txn_field[PH_FIELD_MAX], callback_status_field[PH_FIELD_MAX];
	char callback_ref_field[PH_FIELD_MAX];
};

/* The HTTP client of one event_base, shared by its http-json providers. */
struct ph_shared {
	struct event_base *base;
	struct http_client *client;
	int refs;                     /* providers using it */
	struct ph_shared *next;
};
static struct ph_shared *ph_shareds;

/* One request in flight. Calls belong to the module, not the provider (as the sim's). */
struct ph_call {
	struct provider_http *ph;     /* a reference */
	struct ph_shared *shared;
	struct engine *engine;
	char name[32];
	enum ph_kind kind;
	int64_t txn;
	struct event *ev;             /* an answer known without a request */
	struct provider_answer answer;
	struct ph_call *prev, *next;
};
static struct ph_call *ph_calls;

static void (*ph_observer)(void *, const char *, int64_t, const struct provider_answer *);
static void *ph_observer_arg;

/* ---- small text helpers ---------------------------------------------------------------- */

/* A bounded growing buffer: rendering fails rather than grows past cap. */
struct ph_buf {
	char *p;
	size_t len, cap;
	int over;
};

/* Appends n bytes, or marks the buffer over its cap. */
static void
ph_buf_add(struct ph_buf *b, const char *s, size_t n)
{
	if (b->over || n > b->cap - 1 - b->len) {
		b->over = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Appends one byte. */
static void
ph_buf_addc(struct ph_buf *b, char c)
{
	ph_buf_add(b, &c, 1);
}

static void
ph_set_cause(char **cause, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The first error wins: the message names the key. */
static void
ph_set_cause(char **cause, const char *fmt, ...)
{
	va_list ap;

	if (*cause != NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) < 0)
		*cause = NULL;
	va_end(ap);
}

/* Strips spaces at both ends, in place (config values and status values). */
static void
ph_trim(char *s)
{
	size_t n = strlen(s), i = 0;

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	while (isspace((unsigned char)s[i]))
		i++;
	memmove(s, s + i, n - i + 1);
}

/* Text from outside made safe for one log line: printable ASCII, bounded. */
static void
ph_sanitize(char *out, size_t cap, const char *in)
{
	size_t o = 0;

	for (; in != NULL && *in != '\0' && o + 1 < cap; in++)
		out[o++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
	out[o] = '\0';
}

/* RFC 3986: everything but the unreserved characters is percent-encoded, so a value is
 * inert in a path, a query or a form body alike. */
static void
ph_escape_url(struct ph_buf *b, const char *v)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *s = (const unsigned char *)v; *s != '\0'; s++) {
		if (isalnum(*s) || *s == '-' || *s == '.' || *s == '_' || *s == '~')
			ph_buf_addc(b, (char)*s);
		else {
			char e[3] = { '%', hex[*s >> 4], hex[*s & 15] };
			ph_buf_add(b, e, 3);
		}
	}
}

/* One code point from UTF-8; invalid or overlong sequences give U+FFFD for one byte. */
static size_t
ph_utf8_next(const unsigned char *s, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) { n = 2; c &= 0x1f; min = 0x80; }
	else if ((c & 0xf0) == 0xe0) { n = 3; c &= 0x0f; min = 0x800; }
	else if ((c & 0xf8) == 0xf0) { n = 4; c &= 0x07; min = 0x10000; }
	else { *cp = 0xfffd; return 1; }
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = 0xfffd;
			return 1;
		}
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
		*cp = 0xfffd;
		return 1;
	}
	*cp = c;
	return n;
}

/* JSON string content in plain ASCII: quotes, backslashes, controls and everything past
 * ASCII as escapes, so a value cannot end its string or smuggle bytes. */
static void
ph_escape_json(struct ph_buf *b, const char *v)
{
	const unsigned char *s = (const unsigned char *)v;
	char e[16];

	while (*s != '\0') {
		uint32_t cp;
		s += ph_utf8_next(s, &cp);
		if (cp == '"' || cp == '\\') {
			ph_buf_addc(b, '\\');
			ph_buf_addc(b, (char)cp);
		} else if (cp >= 0x20 && cp < 0x7f) {
			ph_buf_addc(b, (char)cp);
		} else if (cp < 0x10000) {
			snprintf(e, sizeof e, "\\u%04x", (unsigned)cp);
			ph_buf_add(b, e, 6);
		} else {
			cp -= 0x10000;
			snprintf(e, sizeof e, "\\u%04x\\u%04x", (unsigned)(0xd800 + (cp >> 10)),
			    (unsigned)(0xdc00 + (cp & 0x3ff)));
			ph_buf_add(b, e, 12);
		}
	}
}

/* ---- templates ------------------------------------------------------------------------- */

/* Checks a template: known variables only, those allowed here, and in a JSON body every
 * variable but the numeric ones inside quotes. 0 or -1 with *cause naming key. */
static int
ph_template_check(const char *key, const char *t, int json, unsigned allowed, unsigned *used,
    char **cause)
{
	int in_string = 0;

	for (const char *s = t; *s != '\0'; s++) {
		if (s[0] == '$' && s[1] == '{') {
			const char *end = strchr(s + 2, '}');
			size_t n;
			int v;

			if (end == NULL) {
				ph_set_cause(cause, "key '%s': '${' without a closing '}'", key);
				return -1;
			}
			n = (size_t)(end - (s + 2));
			for (v = 0; v < PH_NVARS; v++)
				if (strlen(ph_var_names[v]) == n && strncmp(ph_var_names[v], s + 2, n) == 0)
					break;
			if (v == PH_NVARS) {
				ph_set_cause(cause, "key '%s': unknown template variable ${%.*s} (known: "
				    "mobile op operator amount amount_paise circle txn_id secret)", key,
				    (int)(n > 32 ? 32 : n), s + 2);
				return -1;
			}
			if (!(allowed & (1u << v))) {
				ph_set_cause(cause, "key '%s': ${%s} has no value here (a balance request "
				    "is about no recharge)", key, ph_var_names[v]);
				return -1;
			}
			if (json && !in_string && !(PH_VARS_NUMERIC & (1u << v))) {
				ph_set_cause(cause, "key '%s': ${%s} must stand inside quotes in a JSON body",
				    key, ph_var_names[v]);
				return -1;
			}
			*used |= 1u << v;
			s = end;
			continue;
		}
		if (json && *s == '"')
			in_string = !in_string;
		else if (json && in_string && *s == '\\' && s[1] != '\0' && s[1] != '$')
			s++;	/* not past a '$': ph_template_render expands "\${...}" too */
	}
	return 0;
}

/* Renders t with vals, each escaped for where it stands. 0, or -1 when it would not fit. */
static int
ph_template_render(struct ph_buf *b, const char *t, enum ph_escape esc, const char *const vals[PH_NVARS])
{
	for (const char *s = t; *s != '\0'; s++) {
		if (s[0] == '$' && s[1] == '{') {
			const char *end = strchr(s + 2, '}');
			size_t n = (size_t)(end - (s + 2));
			for (int v = 0; v < PH_NVARS; v++) {
				if (strlen(ph_var_names[v]) == n && strncmp(ph_var_names[v], s + 2, n) == 0) {
					if (esc == PH_ESC_JSON)
						ph_escape_json(b, vals[v]);
					else
						ph_escape_url(b, vals[v]);
				}
			}
			s = end;
			continue;
		}
		ph_buf_addc(b, *s);
	}
	return b->over ? -1 : 0;
}

/* ---- JSON with numbers as text ------------------------------------------------------- */

/* Length of a JSON number at s (RFC 8259 grammar), or 0 when it is not one. */
static size_t
ph_json_number_len(const char *s, size_t len)
{
	size_t i = 0;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else if (i < len && s[i] >= '1' && s[i] <= '9')
		while (i < len && isdigit((unsigned char)s[i]))
			i++;
	else
		return 0;
	if (i < len && s[i] == '.') {
		size_t d = ++i;
		while (i < len && isdigit((unsigned char)s[i]))
			i++;
		if (i == d)
			return 0;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t d = i;
		while (i < len && isdigit((unsigned char)s[i]))
			i++;
		if (i == d)
			return 0;
	}
	return i;
}

/* Parses a JSON body with every number turned into the string of its own text before
 * jansson sees it. jansson offers a real only as a double, which cannot hold 1234.10
 * exactly; as text it can, and a status of 1 then matches "1" like any other value.
 * Returns NULL when the body is not JSON. Caller json_decref()s. */
static json_t *
provider_http_json_load(const char *body, size_t len)
{
	char *q;
	size_t o = 0;
	int in_string = 0;
	json_t *root;

	if (len > HTTP_BODY_MAX)
		return NULL;
	q = malloc(len * 3 + 1);      /* each number grows by 2 and is at least 1 long */
	if (q == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		char c = body[i];
		if (in_string) {
			q[o++] = c;
			if (c == '\\' && i + 1 < len)
				q[o++] = body[++i];
			else if (c == '"')
				in_string = 0;
			continue;
		}
		if (c == '"') {
			in_string = 1;
			q[o++] = c;
		} else if (c == '-' || isdigit((unsigned char)c)) {
			size_t n = ph_json_number_len(body + i, len - i);
			if (n == 0 || (i + n < len && (isalnum((unsigned char)body[i + n]) ||
			    body[i + n] == '.' || body[i + n] == '-' || body[i + n] == '+'))) {
				free(q);
				return NULL;
			}
			q[o++] = '"';
			memcpy(q + o, body + i, n);
			o += n;
			q[o++] = '"';
			i += n - 1;
		} else
			q[o++] = c;
	}
	root = json_loadb(q, o, 0, NULL);
	free(q);
	return root;
}

/* The value at a dotted path ("data.txn.status"; a number segment indexes an array). */
static json_t *
provider_http_json_at(json_t *root, const char *path)
{
	char buf[PH_FIELD_MAX], *save = NULL, *seg;
	json_t *v = root;

	if (path == NULL || path[0] == '\0')
		return NULL;
	strlcpy_safe(buf, path, sizeof buf);
	for (seg = strtok_r(buf, ".", &save); seg != NULL && v != NULL; seg = strtok_r(NULL, ".", &save)) {
		if (json_is_object(v))
			v = json_object_get(v, seg);
		else if (json_is_array(v) && seg[strspn(seg, "0123456789")] == '\0' && strlen(seg) < 7)
			v = json_array_get(v, (size_t)atoi(seg));
		else
			v = NULL;
	}
	return v;
}

/* The text of the value at path: a string, a number's own digits, true or false. NULL
 * when missing, null, an object or an array. */
static const char *
provider_http_json_text(json_t *root, const char *path)
{
	json_t *v = provider_http_json_at(root, path);

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_true(v))
		return "true";
	if (json_is_false(v))
		return "false";
	return NULL;
}

/* ---- value lists ------------------------------------------------------------------------ */

/* A comma list of status values: trimmed, none empty, bounded. */
static int
ph_list_parse(const char *key, const char *text, struct ph_list *l, char **cause)
{
	char buf[PH_LIST_MAX * PH_VALUE_MAX], *save = NULL, *tok;

	l->n = 0;
	if (text == NULL)
		return 0;
	if (strlen(text) >= sizeof buf) {
		ph_set_cause(cause, "key '%s': too long", key);
		return -1;
	}
	strlcpy_safe(buf, text, sizeof buf);
	if (strstr(buf, ",,") != NULL || buf[0] == ',' || (buf[0] && buf[strlen(buf) - 1] == ',')) {
		ph_set_cause(cause, "key '%s': an empty value in the list", key);
		return -1;
	}
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		ph_trim(tok);
		if (tok[0] == '\0') {
			ph_set_cause(cause, "key '%s': an empty value in the list", key);
			return -1;
		}
		if (l->n == PH_LIST_MAX || strlen(tok) >= PH_VALUE_MAX) {
			ph_set_cause(cause, "key '%s': at most %d values of at most %d characters", key,
			    PH_LIST_MAX, PH_VALUE_MAX - 1);
			return -1;
		}
		strlcpy_safe(l->v[l->n++], tok, PH_VALUE_MAX);
	}
	return 0;
}

/* Status values compare case-insensitively. */
static int
ph_list_has(const struct ph_list *l, const char *v)
{
	for (int i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i], v) == 0)
			return 1;
	return 0;
}

/* A provider's status value through the lists; -1 when in none. */
static int
provider_http_classify(const struct provider_http *ph, const char *value)
{
	char v[PH_VALUE_MAX];

	if (value == NULL || strlen(value) >= sizeof v)
		return -1;
	strlcpy_safe(v, value, sizeof v);
	ph_trim(v);
	if (ph_list_has(&ph->success, v))
		return PROVIDER_SUCCESS;
	if (ph_list_has(&ph->failure, v))
		return PROVIDER_FAILED;
	if (ph_list_has(&ph->pending, v))
		return PROVIDER_PENDING;
	if (ph_list_has(&ph->reversed, v))
		return PROVIDER_REVERSED;
	return -1;
}

/* Fills a with what status, ref and message say. */
static void
provider_http_answer_fields(const struct provider_http *ph, const char *status, const char *ref,
    const char *message, struct provider_answer *a)
{
	int res = provider_http_classify(ph, status);
	char s[40];

	if (message != NULL)
		ph_sanitize(a->message, sizeof a->message, message);
	if (res < 0) {
		a->result = PROVIDER_UNKNOWN;
		ph_sanitize(s, sizeof s, status);
		if (status == NULL)
			snprintf(a->message, sizeof a->message, "no status in the answer");
		else
			snprintf(a->message, sizeof a->message, "unknown status '%s'", s);
		return;
	}
	a->result = res;
	if (ref != NULL) {
		/* the provider's own reference; kept as given, never made up */
		if (strlen(ref) >= sizeof a->ref)
			log_warn("provider %s: reference longer than %zu characters cut: %.200s", ph->name,
			    sizeof a->ref - 1, ref);
		ph_sanitize(a->ref, sizeof a->ref, ref);
	}
}

/* What an HTTP answer to a recharge or status request means (SPEC section 10). */
static void
provider_http_answer_from(const struct provider_http *ph, const struct http_response *r,
    struct provider_answer *a)
{
	json_t *root;

	memset(a, 0, sizeof *a);
	switch (r->result) {
	case HTTP_RESULT_CONNECT_FAILED:
		a->result = PROVIDER_DOWN;
		snprintf(a->message, sizeof a->message, "not taken: %s", r->error ? r->error : "connect failed");
		return;
	case HTTP_RESULT_TIMEOUT:
		a->result = PROVIDER_UNKNOWN;
		snprintf(a->message, sizeof a->message, "no answer within %d ms", ph->timeout_ms);
		return;
	case HTTP_RESULT_ERROR:
		a->result = PROVIDER_UNKNOWN;
		snprintf(a->message, sizeof a->message, "%s", r->error ? r->error : "transfer failed");
		return;
	case HTTP_RESULT_OK:
		break;
	}
	for (int i = 0; i < ph->ndown; i++) {
		if (r->status == ph->down[i]) {
			a->result = PROVIDER_DOWN;
			snprintf(a->message, sizeof a->message, "not taken: HTTP %d", r->status);
			return;
		}
	}
	if (r->status < 200 || r->status > 299) {
		a->result = PROVIDER_UNKNOWN;
		snprintf(a->message, sizeof a->message, "HTTP %d", r->status);
		return;
	}
	if ((root = provider_http_json_load(r->body, r->body_len)) == NULL) {
		a->result = PROVIDER_UNKNOWN;
		snprintf(a->message, sizeof a->message, "answer is not JSON (HTTP %d, %zu bytes)",
		    r->status, r->body_len);
		return;
	}
	provider_http_answer_fields(ph, provider_http_json_text(root, ph->status_field),
	    ph->ref_field[0] ? provider_http_json_text(root, ph->ref_field) : NULL,
	    ph->message_field[0] ? provider_http_json_text(root, ph->message_field) : NULL, a);
	json_decref(root);
}

/* Rupees as the provider writes them, to paise: a leading '-' is allowed (credit lines)
 * and digits past the second decimal are cut (a balance is read, not moved). */
static int
provider_http_balance_parse(const char *text, int64_t *paise)
{
	char buf[40], *dot;
	int neg = 0;

	if (text == NULL || strlen(text) >= sizeof buf)
		return -1;
	strlcpy_safe(buf, text, sizeof buf);
	ph_trim(buf);
	if (buf[0] == '-') {
		neg = 1;
		memmove(buf, buf + 1, strlen(buf));
	}
	if ((dot = strchr(buf, '.')) != NULL && strlen(dot) > 3 &&
	    strspn(dot + 1, "0123456789") == strlen(dot + 1))
		dot[3] = '\0';
	if (money_parse(buf, paise) != MONEY_OK)
		return -1;
	if (neg)
		*paise = -*paise;
	return 0;
}

/* ---- the shared client and the calls ----------------------------------------------- */

/* For tests: the shared client of base. */
struct http_client *
provider_http_client(struct event_base *base)
{
	for (struct ph_shared *s = ph_shareds; s != NULL; s = s->next)
		if (s->base == base)
			return s->client;
	return NULL;
}

/* For tests: see every answer before the engine does. */
void
provider_http_set_observer_for_test(void (*cb)(void *, const char *, int64_t, const struct provider_answer *),
    void *arg)
{
	ph_observer = cb;
	ph_observer_arg = arg;
}

/* The client of base, made by its first http-json provider; one more user. */
static struct ph_shared *
ph_shared_get(struct event_base *base)
{
	struct ph_shared *s;

	for (s = ph_shareds; s != NULL; s = s->next)
		if (s->base == base)
			break;
	if (s == NULL) {
		struct http_client *c = http_client_new(base, PH_MAX_TOTAL_CONNECTIONS);
		if (c == NULL)
			return NULL;
		s = xcalloc(1, sizeof *s);
		s->base = base;
		s->client = c;
		s->next = ph_shareds;
		ph_shareds = s;
	}
	s->refs++;
	return s;
}

/* Settings go when neither their provider nor a call uses them. */
static void
provider_http_unref(struct provider_http *ph)
{
	if (ph == NULL || --ph->refs > 0)
		return;
	free(ph->recharge_url);
	free(ph->recharge_body);
	free(ph->status_url);
	free(ph->balance_url);
	free(ph->secret);
	free(ph->callback_secret);
	free(ph);
}

/* Unlinks a call and drops its reference on the settings. */
static void
ph_call_free(struct ph_call *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		ph_calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->ev != NULL)
		event_free(c->ev);
	provider_http_unref(c->ph);
	free(c);
}

/* The last provider of a base is gone (shutdown): its requests and calls go too, without
 * answers; their recharges stay PENDING in the database. */
static void
ph_shared_release(struct ph_shared *s)
{
	struct ph_shared **pp;

	if (--s->refs > 0)
		return;
	http_client_free(s->client);
	for (struct ph_call *c = ph_calls, *next; c != NULL; c = next) {
		next = c->next;
		if (c->shared == s)
			ph_call_free(c);
	}
	for (pp = &ph_shareds; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	free(s);
}

/* A call for one request, keeping the settings it is mapped with. */
static struct ph_call *
ph_call_new(struct provider *p, enum ph_kind kind, int64_t txn)
{
	struct provider_http *ph = p->state;
	struct ph_call *c = xcalloc(1, sizeof *c);

	c->ph = ph;
	ph->refs++;
	c->shared = ph->shared;
	c->engine = p->engine;
	strlcpy_safe(c->name, p->name, sizeof c->name);
	c->kind = kind;
	c->txn = txn;
	c->next = ph_calls;
	if (c->next != NULL)
		c->next->prev = c;
	ph_calls = c;
	return c;
}

/* Tells the engine (and the test observer) and ends the call. */
static void
ph_call_answer(struct ph_call *c, const struct provider_answer *a)
{
	struct engine *e = c->engine;
	char name[32], id[24];
	int64_t txn = c->txn;
	static const char *const results[] = { "SUCCESS", "FAILED", "PENDING", "DOWN", "UNKNOWN",
		"REVERSED" };

	strlcpy_safe(name, c->name, sizeof name);
	log_debug("provider %s: %s %s: %s%s%s%s%s", name, ph_kind_names[c->kind],
	    db_txn_format_id(txn, id), results[a->result], a->ref[0] ? " ref " : "", a->ref,
	    a->message[0] ? ": " : "", a->message);
	ph_call_free(c);
	if (ph_observer != NULL)
		ph_observer(ph_observer_arg, name, txn, a);
	engine_provider_answer(e, txn, name, a);
}

/* An answer decided without a request, delivered from the loop. */
static void
ph_call_later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ph_call *c = arg;

	if (c->kind == PH_BALANCE) {
		struct engine *e = c->engine;
		char name[32];
		strlcpy_safe(name, c->name, sizeof name);
		ph_call_free(c);
		engine_provider_balance(e, name, 0, 0);
		return;
	}
	struct provider_answer a = c->answer;
	ph_call_answer(c, &a);
}

/* An answer known without asking (a request that cannot be built): still from the
 * loop, never from inside submit or status. */
static void
ph_call_answer_later(struct ph_call *c, enum provider_result res, const char *why)
{
	struct timeval now = { 0, 0 };

	c->answer.result = res;
	strlcpy_safe(c->answer.message, why, sizeof c->answer.message);
	c->ev = evtimer_new(c->shared->base, ph_call_later_cb, c);
	evtimer_add(c->ev, &now);
}

/* The HTTP answer of a call, mapped and handed to the engine. */
static void
ph_call_done_cb(void *arg, const struct http_response *r)
{
	struct ph_call *c = arg;
	struct provider_http *ph = c->ph;
	const char *path = c->kind == PH_SUBMIT ? ph->recharge_path :
	    c->kind == PH_STATUS ? ph->status_path : ph->balance_path;

	if (r->result == HTTP_RESULT_OK)
		log_debug("provider %s: %s %s -> HTTP %d in %lld ms", c->name, ph_kind_names[c->kind],
		    path, r->status, (long long)r->elapsed_ms);
	else
		log_info("provider %s: %s %s failed after %lld ms: %s", c->name, ph_kind_names[c->kind],
		    path, (long long)r->elapsed_ms, r->error ? r->error : "?");
	if (c->kind == PH_BALANCE) {
		struct engine *e = c->engine;
		char name[32];
		int64_t paise = 0;
		int ok = 0;
		json_t *root;

		if (r->result == HTTP_RESULT_OK && r->status >= 200 && r->status <= 299 &&
		    (root = provider_http_json_load(r->body, r->body_len)) != NULL) {
			const char *text = provider_http_json_text(root, ph->balance_field);
			ok = provider_http_balance_parse(text, &paise) == 0;
			if (!ok)
				log_warn("provider %s: balance field '%s' missing or not rupees", c->name,
				    ph->balance_field);
			json_decref(root);
		}
		strlcpy_safe(name, c->name, sizeof name);
		ph_call_free(c);
		engine_provider_balance(e, name, ok, ok ? paise : 0);
		return;
	}
	struct provider_answer a;
	provider_http_answer_from(ph, r, &a);
	if (a.result == PROVIDER_UNKNOWN)
		log_info("provider %s: %s TXN%09lld: outcome unknown: %s", c->name, ph_kind_names[c->kind],
		    (long long)c->txn, a.message);
	ph_call_answer(c, &a);
}

/* The variables of a template for transaction t. */
static void
ph_vars(const struct provider_http *ph, const struct db_txn *t, char amount[MONEY_BUFSZ],
    char paise[24], char id[24], const char *vals[PH_NVARS])
{
	static const char empty[] = "";

	for (int v = 0; v < PH_NVARS; v++)
		vals[v] = empty;
	vals[PH_SECRET] = ph->secret != NULL ? ph->secret : empty;
	if (t == NULL)
		return;
	vals[PH_MOBILE] = t->target;
	vals[PH_OPERATOR] = t->operator_code;
	vals[PH_OP] = t->operator_code;
	for (int i = 0; i < ph->nopcodes; i++)
		if (strcasecmp(ph->opcodes[i].op, t->operator_code) == 0)
			vals[PH_OP] = ph->opcodes[i].code;
	vals[PH_AMOUNT] = money_format_short(t->amount, amount);
	snprintf(paise, 24, "%lld", (long long)t->amount);
	vals[PH_AMOUNT_PAISE] = paise;
	vals[PH_CIRCLE] = t->circle;
	vals[PH_TXN_ID] = db_txn_format_id(t->id, id);
}

/* Builds and sends one request for t (NULL: balance). */
static void
ph_request(struct provider *p, enum ph_kind kind, const struct db_txn *t)
{
	struct provider_http *ph = p->state;
	struct ph_call *c = ph_call_new(p, kind, t != NULL ? t->id : 0);
	char amount[MONEY_BUFSZ], paise[24], id[24], ct[128];
	const char *vals[PH_NVARS], *headers[3] = { "Accept: application/json", NULL, NULL };
	const char *url_t = kind == PH_SUBMIT ? ph->recharge_url : kind == PH_STATUS ? ph->status_url :
	    ph->balance_url;
	struct ph_buf url = { malloc(PH_URL_MAX), 0, PH_URL_MAX, 0 };
	struct ph_buf body = { NULL, 0, PH_BODY_MAX, 0 };
	struct http_request req;

	if (url.p == NULL)
		fatal("out of memory");
	url.p[0] = '\0';
	ph_vars(ph, t, amount, paise, id, vals);
	memset(&req, 0, sizeof req);
	req.method = HTTP_GET;
	req.timeout_ms = ph->timeout_ms;
	req.pool = ph->name;
	req.pool_max = ph->max_connections;
	/* a recharge must never be sent twice: its own connection unless the provider dedupes */
	req.fresh = kind == PH_SUBMIT && !ph->dedupes;
	req.headers = headers;
	if (ph_template_render(&url, url_t, PH_ESC_URL, vals) != 0) {
		free(url.p);
		if (kind == PH_BALANCE)
			ph_call_answer_later(c, PROVIDER_UNKNOWN, "URL too long");
		else
			ph_call_answer_later(c, kind == PH_SUBMIT ? PROVIDER_DOWN : PROVIDER_UNKNOWN,
			    "not sent: URL too long");
		return;
	}
	req.url = url.p;
	if (kind == PH_SUBMIT && ph->recharge_method == HTTP_POST) {
		body.p = malloc(PH_BODY_MAX);
		if (body.p == NULL)
			fatal("out of memory");
		body.p[0] = '\0';
		if (ph->recharge_body != NULL && ph_template_render(&body, ph->recharge_body,
		    ph->body_json ? PH_ESC_JSON : PH_ESC_URL, vals) != 0) {
			free(url.p);
			free(body.p);
			ph_call_answer_later(c, PROVIDER_DOWN, "not sent: body too long");
			return;
		}
		req.method = HTTP_POST;
		req.body = body.p;
		req.body_len = body.len;
		snprintf(ct, sizeof ct, "Content-Type: %s", ph->content_type);
		headers[1] = ct;
	}
	log_debug("provider %s: %s %s %s%s%s", ph->name, ph_kind_names[kind],
	    req.method == HTTP_POST ? "POST" : "GET",
	    kind == PH_SUBMIT ? ph->recharge_path : kind == PH_STATUS ? ph->status_path : ph->balance_path,
	    t != NULL ? " " : "", t != NULL ? id : "");
	http_client_request(ph->shared->client, &req, ph_call_done_cb, c);
	free(url.p);
	free(body.p);
}

/* provider_ops.submit: the recharge request (fresh connection unless dedupes). */
static void
provider_http_submit(struct provider *p, const struct db_txn *t)
{
	ph_request(p, PH_SUBMIT, t);
}

/* provider_ops.status: GET status_url for t. */
static void
provider_http_status(struct provider *p, const struct db_txn *t)
{
	ph_request(p, PH_STATUS, t);
}

/* provider_ops.balance: GET balance_url. */
static void
provider_http_balance(struct provider *p)
{
	ph_request(p, PH_BALANCE, NULL);
}

/* ---- callbacks ---------------------------------------------------------------------- */

/* One hex digit, or -1. */
static int
ph_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* URL-decodes (form rules: '+' is a space) n bytes of s into out; -1 when too long. */
static int
ph_form_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '+')
			c = ' ';
		else if (c == '%' && i + 2 < n && ph_hexval(s[i + 1]) >= 0 && ph_hexval(s[i + 2]) >= 0) {
			c = ph_hexval(s[i + 1]) * 16 + ph_hexval(s[i + 2]);
			i += 2;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* The value of key in an application/x-www-form-urlencoded string: 1 found, 0 not, -1
 * found but too long for out. */
static int
ph_form_get(const char *s, size_t len, const char *key, char *out, size_t cap)
{
	const char *end = s + len;
	char name[PH_FIELD_MAX];

	while (s < end) {
		const char *amp = memchr(s, '&', (size_t)(end - s));
		const char *pe = amp != NULL ? amp : end;
		const char *eq = memchr(s, '=', (size_t)(pe - s));
		const char *ke = eq != NULL ? eq : pe;

		if (ph_form_decode(s, (size_t)(ke - s), name, sizeof name) == 0 && strcmp(name, key) == 0) {
			if (eq == NULL) {
				out[0] = '\0';
				return 1;
			}
			return ph_form_decode(eq + 1, (size_t)(pe - eq - 1), out, cap) == 0 ? 1 : -1;
		}
		s = pe + 1;
	}
	return 0;
}

/* Where a callback's fields are read from: a JSON body, a form body, the query string. */
struct ph_fields {
	json_t *json;
	const char *form; size_t form_len;
	const char *query;
};

/* Field name into out (from the first source that has it): 1 found, 0 not, -1 too long. */
static int
ph_fields_get(const struct ph_fields *f, const char *name, char *out, size_t cap)
{
	int rc;

	if (name == NULL || name[0] == '\0')
		return 0;
	if (f->json != NULL) {
		const char *v = provider_http_json_text(f->json, name);
		if (v != NULL)
			return strlcpy_safe(out, v, cap) < cap ? 1 : -1;
	}
	if (f->form != NULL && (rc = ph_form_get(f->form, f->form_len, name, out, cap)) != 0)
		return rc;
	if (f->query != NULL && (rc = ph_form_get(f->query, strlen(f->query), name, out, cap)) != 0)
		return rc;
	return 0;
}

/* Equal secrets, in constant time: both are hashed first, so not even their lengths
 * show in the time taken. */
static int
ph_secret_equal(const char *given, const char *want)
{
	uint8_t a[32], b[32];
	unsigned int la = 0, lb = 0;

	if (EVP_Digest(given, strlen(given), a, &la, EVP_sha256(), NULL) != 1 ||
	    EVP_Digest(want, strlen(want), b, &lb, EVP_sha256(), NULL) != 1)
		return 0;
	return ct_equal(a, b, sizeof a);
}

/* X-Signature: hex HMAC-SHA256 under callback_secret of the raw body, or of the raw
 * query string when there is no body (a GET callback); any hex case, an optional
 * "sha256=" prefix; compared in constant time. */
static int
ph_signature_ok(const struct provider_http *ph, const struct provider_callback *cb)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char want[2 * 32 + 1], got[2 * 32 + 1];
	const char *sig = cb->signature_header;

	if (sig == NULL)
		return 0;
	while (isspace((unsigned char)*sig))
		sig++;
	if (strncasecmp(sig, "sha256=", 7) == 0)
		sig += 7;
	if (strlen(sig) != 64 || strspn(sig, "0123456789abcdefABCDEF") != 64)
		return 0;
	for (int i = 0; i < 64; i++)
		got[i] = (char)tolower((unsigned char)sig[i]);
	got[64] = '\0';
	const uint8_t *signed_part = cb->body != NULL && cb->body_len > 0 ? cb->body :
	    (const uint8_t *)(cb->query != NULL ? cb->query : "");
	size_t signed_len = cb->body != NULL && cb->body_len > 0 ? cb->body_len : strlen((const char *)signed_part);
	if (HMAC(EVP_sha256(), ph->callback_secret, (int)strlen(ph->callback_secret), signed_part,
	    signed_len, mac, &len) == NULL || len != 32)
		return 0;
	hex_encode(mac, 32, want);
	return ct_equal(got, want, 64);
}

/* provider_ops.callback: proves the sender, then reads txn, status, ref and message. */
static int
provider_http_callback(struct provider *p, const struct provider_callback *cb, int64_t *txn,
    struct provider_answer *a)
{
	struct provider_http *ph = p->state;
	struct ph_fields f = { NULL, NULL, 0, cb->query };
	char given[PH_CB_VALUE_MAX], id[PH_CB_VALUE_MAX], status[PH_CB_VALUE_MAX];
	char ref[PH_CB_VALUE_MAX], message[PH_CB_VALUE_MAX];
	const char *body = (const char *)cb->body;
	size_t i = 0;
	int ok, rc;

	status[0] = '\0';
	if (body != NULL && cb->body_len > 0 && cb->body_len <= HTTP_BODY_MAX) {
		while (i < cb->body_len && isspace((unsigned char)body[i]))
			i++;
		if ((cb->content_type != NULL && strcasestr(cb->content_type, "json") != NULL) ||
		    (i < cb->body_len && body[i] == '{'))
			f.json = provider_http_json_load(body, cb->body_len);
		else if (memchr(body, '\0', cb->body_len) == NULL) {
			f.form = body;
			f.form_len = cb->body_len;
		}
	}
	if (ph->callback_secret == NULL) {
		log_warn("provider %s: callback refused: no callback_secret is configured", ph->name);
		rc = 403;
		goto out;
	}
	if (ph->callback_hmac) {
		ok = ph_signature_ok(ph, cb);
		/* only what the signature covers is read: a query added to a signed body is not */
		if (cb->body != NULL && cb->body_len > 0)
			f.query = NULL;
	} else if (cb->secret_header != NULL)
		ok = ph_secret_equal(cb->secret_header, ph->callback_secret);
	else
		ok = ph_fields_get(&f, "secret", given, sizeof given) == 1 &&
		    ph_secret_equal(given, ph->callback_secret);
	if (!ok) {
		log_warn("provider %s: callback refused: %s", ph->name, ph->callback_hmac ?
		    "X-Signature missing or wrong" : "secret missing or wrong");
		rc = 403;
		goto out;
	}
	if (ph_fields_get(&f, ph->callback_txn_field, id, sizeof id) != 1 ||
	    (*txn = db_txn_parse_id(id)) <= 0) {
		log_warn("provider %s: callback names no transaction in '%s'", ph->name,
		    ph->callback_txn_field);
		rc = 400;
		goto out;
	}
	memset(a, 0, sizeof *a);
	provider_http_answer_fields(ph, ph_fields_get(&f, ph->callback_status_field, status,
	    sizeof status) == 1 ? status : NULL,
	    ph_fields_get(&f, ph->callback_ref_field, ref, sizeof ref) == 1 ? ref : NULL,
	    ph_fields_get(&f, ph->message_field, message, sizeof message) == 1 ||
	    ph_fields_get(&f, "message", message, sizeof message) == 1 ? message : NULL, a);
	log_info("provider %s: callback for TXN%09lld: status '%.40s'", ph->name, (long long)*txn,
	    a->result == PROVIDER_UNKNOWN ? a->message : status);
	rc = 0;
out:
	if (f.json != NULL)
		json_decref(f.json);
	return rc;
}

/* Values a template is checked with at start-up. */
static const char *const ph_samples[PH_NVARS] = { "9876543210", "AT", "AIRTEL", "299", "29900",
	"KA", "TXN000000001", "s" };

/* ---- settings ----------------------------------------------------------------------------- */

/* The "scheme://host/path" of a URL template, for logs: never the query, which may hold
 * a secret. */
static void
ph_log_path(const char *url, char *out, size_t cap)
{
	size_t n = strcspn(url, "?#");

	if (n >= cap)
		n = cap - 1;
	memcpy(out, url, n);
	out[n] = '\0';
}

/* A URL template: http or https, and with sample values a URL curl accepts. */
static int
ph_url_check(const char *key, const char *t, unsigned allowed, unsigned *used, char **cause)
{
	char buf[PH_URL_MAX];
	struct ph_buf b = { buf, 0, sizeof buf, 0 };
	CURLU *u;
	int bad;

	buf[0] = '\0';
	if (ph_template_check(key, t, 0, allowed, used, cause) != 0)
		return -1;
	if (strncasecmp(t, "http://", 7) != 0 && strncasecmp(t, "https://", 8) != 0) {
		ph_set_cause(cause, "key '%s': not an http:// or https:// URL", key);
		return -1;
	}
	if (ph_template_render(&b, t, PH_ESC_URL, ph_samples) != 0) {
		ph_set_cause(cause, "key '%s': too long", key);
		return -1;
	}
	if ((u = curl_url()) == NULL)
		return -1;
	bad = curl_url_set(u, CURLUPART_URL, buf, 0) != CURLUE_OK;
	curl_url_cleanup(u);
	if (bad || strcspn(buf, " \t\r\n") != strlen(buf)) {
		ph_set_cause(cause, "key '%s': not a valid URL", key);
		return -1;
	}
	return 0;
}

/* A dotted JSON path or field name. */
static int
ph_field(const struct config_provider *cfg, const char *key, const char *def, char out[PH_FIELD_MAX],
    char **cause)
{
	const char *v = config_provider_get(cfg, key);

	if (v == NULL)
		v = def;
	if (strlen(v) >= PH_FIELD_MAX || strstr(v, "..") != NULL || v[0] == '.' ||
	    (v[0] != '\0' && v[strlen(v) - 1] == '.')) {
		ph_set_cause(cause, "key '%s': not a field name or dotted path (a.b.c)", key);
		return -1;
	}
	strlcpy_safe(out, v, PH_FIELD_MAX);
	return 0;
}

/* An integer key within [min, max]; def when absent. */
static int
ph_int(const struct config_provider *cfg, const char *key, int def, int min, int max, char **cause)
{
	const char *v = config_provider_get(cfg, key);
	char *end;
	long x;

	if (v == NULL)
		return def;
	x = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || x < min || x > max) {
		ph_set_cause(cause, "key '%s': not an integer from %d to %d", key, min, max);
		return def;
	}
	return (int)x;
}

/* yes/no, true/false, on/off, 1/0 as elsewhere in the config; no when absent. */
static int
ph_bool(const struct config_provider *cfg, const char *key, char **cause)
{
	const char *v = config_provider_get(cfg, key);

	if (v == NULL)
		return 0;
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "on"))
		return 1;
	if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "off"))
		return 0;
	ph_set_cause(cause, "key '%s': not yes or no", key);
	return 0;
}

/* opcodes = AIRTEL:AT,JIO:JO: our operator code to the provider's. */
static int
ph_opcodes(struct provider_http *ph, const char *text, char **cause)
{
	char buf[4096], *save = NULL, *tok;

	if (text == NULL)
		return 0;
	if (strlen(text) >= sizeof buf) {
		ph_set_cause(cause, "key 'opcodes': too long");
		return -1;
	}
	strlcpy_safe(buf, text, sizeof buf);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		if (colon == NULL) {
			ph_set_cause(cause, "key 'opcodes': '%.40s' is not OPERATOR:CODE", tok);
			return -1;
		}
		*colon = '\0';
		ph_trim(tok);
		ph_trim(colon + 1);
		if (tok[0] == '\0' || colon[1] == '\0' || strlen(tok) >= sizeof ph->opcodes[0].op ||
		    strlen(colon + 1) >= sizeof ph->opcodes[0].code || ph->nopcodes == PH_OPCODES_MAX) {
			ph_set_cause(cause, "key 'opcodes': entries are OPERATOR:CODE (at most %d, "
			    "codes up to %zu characters)", PH_OPCODES_MAX, sizeof ph->opcodes[0].code - 1);
			return -1;
		}
		strlcpy_safe(ph->opcodes[ph->nopcodes].op, tok, sizeof ph->opcodes[0].op);
		strlcpy_safe(ph->opcodes[ph->nopcodes].code, colon + 1, sizeof ph->opcodes[0].code);
		ph->nopcodes++;
	}
	return 0;
}

/* HTTP statuses meaning "not taken"; 503 unless set. */
static int
ph_down_statuses(struct provider_http *ph, const char *text, char **cause)
{
	struct ph_list l;

	if (ph_list_parse("down_statuses", text != NULL ? text : "503", &l, cause) != 0)
		return -1;
	if (l.n > PH_DOWN_MAX) {
		ph_set_cause(cause, "key 'down_statuses': at most %d statuses", PH_DOWN_MAX);
		return -1;
	}
	for (int i = 0; i < l.n; i++) {
		char *end;
		long x = strtol(l.v[i], &end, 10);
		/* a 2xx answer is an answer; only refusals can mean "not taken" */
		if (*end != '\0' || x < 400 || x > 599) {
			ph_set_cause(cause, "key 'down_statuses': '%s' is not an HTTP status from 400 to 599",
			    l.v[i]);
			return -1;
		}
		ph->down[ph->ndown++] = (int)x;
	}
	return 0;
}

/* Each status value in one list only: an answer must mean one thing. */
static int
ph_lists_disjoint(const struct provider_http *ph, char **cause)
{
	const struct ph_list *lists[] = { &ph->success, &ph->failure, &ph->pending, &ph->reversed };
	static const char *const keys[] = { "success_values", "failure_values", "pending_values",
		"reversed_values" };

	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			for (int k = 0; k < lists[i]->n; k++)
				if (ph_list_has(lists[j], lists[i]->v[k])) {
					ph_set_cause(cause, "key '%s': '%s' is also in %s", keys[j],
					    lists[i]->v[k], keys[i]);
					return -1;
				}
	return 0;
}

/* A copy of an optional value. */
static char *
ph_strdup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* Reads and checks the whole section; any mistake is a cause naming its key. */
static int
provider_http_parse(struct provider_http *ph, const struct config_provider *cfg, char **cause)
{
	const char *method = config_provider_get(cfg, "recharge_method");
	const char *ctype = config_provider_get(cfg, "content_type");
	const char *body = config_provider_get(cfg, "recharge_body");
	unsigned used = 0;

	ph->recharge_url = ph_strdup_or_null(config_provider_get(cfg, "recharge_url"));
	ph->recharge_body = ph_strdup_or_null(body);
	ph->status_url = ph_strdup_or_null(config_provider_get(cfg, "status_url"));
	ph->balance_url = ph_strdup_or_null(config_provider_get(cfg, "balance_url"));
	ph->secret = ph_strdup_or_null(config_provider_get(cfg, "secret"));
	ph->callback_secret = ph_strdup_or_null(config_provider_get(cfg, "callback_secret"));

	if (ph->recharge_url == NULL) {
		ph_set_cause(cause, "key 'recharge_url': required");
		return -1;
	}
	if (ph_url_check("recharge_url", ph->recharge_url, PH_VARS_ALL, &used, cause) != 0)
		return -1;
	if (method == NULL || strcasecmp(method, "GET") == 0)
		ph->recharge_method = HTTP_GET;
	else if (strcasecmp(method, "POST") == 0)
		ph->recharge_method = HTTP_POST;
	else {
		ph_set_cause(cause, "key 'recharge_method': not GET or POST");
		return -1;
	}
	if (ph->recharge_method == HTTP_GET && (body != NULL || ctype != NULL)) {
		ph_set_cause(cause, "key '%s': only with recharge_method = POST",
		    body != NULL ? "recharge_body" : "content_type");
		return -1;
	}
	if (ph->recharge_method == HTTP_POST) {
		if (body == NULL) {
			ph_set_cause(cause, "key 'recharge_body': required with recharge_method = POST");
			return -1;
		}
		if (ctype == NULL)   /* a body that looks like JSON is sent as JSON */
			ctype = body[strspn(body, " \t")] == '{' || body[strspn(body, " \t")] == '[' ?
			    "application/json" : "application/x-www-form-urlencoded";
		size_t n = strcspn(ctype, "; ");
		if (n == strlen("application/json") && strncasecmp(ctype, "application/json", n) == 0)
			ph->body_json = 1;
		else if (n == strlen("application/x-www-form-urlencoded") &&
		    strncasecmp(ctype, "application/x-www-form-urlencoded", n) == 0)
			ph->body_json = 0;
		else {
			ph_set_cause(cause, "key 'content_type': not application/json or "
			    "application/x-www-form-urlencoded");
			return -1;
		}
		if (strlen(ctype) >= sizeof ph->content_type || strpbrk(ctype, "\r\n") != NULL) {
			ph_set_cause(cause, "key 'content_type': too long");
			return -1;
		}
		strlcpy_safe(ph->content_type, ctype, sizeof ph->content_type);
		if (ph_template_check("recharge_body", body, ph->body_json, PH_VARS_ALL, &used, cause) != 0)
			return -1;
		if (ph->body_json) {
			/* with sample values the body must be JSON */
			char buf[PH_BODY_MAX];
			struct ph_buf b = { buf, 0, sizeof buf, 0 };
			json_t *j;
			buf[0] = '\0';
			if (ph_template_render(&b, body, PH_ESC_JSON, ph_samples) != 0 ||
			    (j = json_loadb(buf, b.len, JSON_DECODE_ANY, NULL)) == NULL) {
				ph_set_cause(cause, "key 'recharge_body': not JSON (checked with sample values)");
				return -1;
			}
			json_decref(j);
		}
	}
	if (ph->status_url != NULL &&
	    ph_url_check("status_url", ph->status_url, PH_VARS_ALL, &used, cause) != 0)
		return -1;
	if (ph->balance_url != NULL &&
	    ph_url_check("balance_url", ph->balance_url, 1u << PH_SECRET, &used, cause) != 0)
		return -1;
	if ((used & (1u << PH_SECRET)) && ph->secret == NULL) {
		ph_set_cause(cause, "key 'secret': required, ${secret} is used");
		return -1;
	}
	if (ph_opcodes(ph, config_provider_get(cfg, "opcodes"), cause) != 0)
		return -1;
	if (config_provider_get(cfg, "status_field") == NULL) {
		ph_set_cause(cause, "key 'status_field': required");
		return -1;
	}
	if (ph_field(cfg, "status_field", "", ph->status_field, cause) != 0 ||
	    ph_field(cfg, "ref_field", "", ph->ref_field, cause) != 0 ||
	    ph_field(cfg, "message_field", "", ph->message_field, cause) != 0 ||
	    ph_field(cfg, "balance_field", "", ph->balance_field, cause) != 0)
		return -1;
	if (ph->status_field[0] == '\0') {
		ph_set_cause(cause, "key 'status_field': must not be empty");
		return -1;
	}
	if (ph->balance_url != NULL && ph->balance_field[0] == '\0') {
		ph_set_cause(cause, "key 'balance_field': required with balance_url");
		return -1;
	}
	if (ph_list_parse("success_values", config_provider_get(cfg, "success_values"), &ph->success, cause) ||
	    ph_list_parse("failure_values", config_provider_get(cfg, "failure_values"), &ph->failure, cause) ||
	    ph_list_parse("pending_values", config_provider_get(cfg, "pending_values"), &ph->pending, cause) ||
	    ph_list_parse("reversed_values", config_provider_get(cfg, "reversed_values"), &ph->reversed, cause))
		return -1;
	if (ph->success.n == 0 || ph->failure.n == 0) {
		ph_set_cause(cause, "key '%s': required (a comma list of status values)",
		    ph->success.n == 0 ? "success_values" : "failure_values");
		return -1;
	}
	if (ph_lists_disjoint(ph, cause) != 0)
		return -1;
	if (ph_down_statuses(ph, config_provider_get(cfg, "down_statuses"), cause) != 0)
		return -1;
	ph->timeout_ms = ph_int(cfg, "timeout_ms", 30000, 100, 600000, cause);
	ph->max_connections = ph_int(cfg, "max_connections", 64, 1, PH_MAX_TOTAL_CONNECTIONS, cause);
	ph->dedupes = ph_bool(cfg, "dedupes", cause);
	ph->callback_hmac = ph_bool(cfg, "callback_hmac", cause);
	if (*cause != NULL)
		return -1;
	if (ph->callback_hmac && ph->callback_secret == NULL) {
		ph_set_cause(cause, "key 'callback_secret': required with callback_hmac = yes");
		return -1;
	}
	if (ph->callback_secret != NULL && ph->callback_secret[0] == '\0') {
		ph_set_cause(cause, "key 'callback_secret': must not be empty");
		return -1;
	}
	if (ph_field(cfg, "callback_txn_field", "txn_id", ph->callback_txn_field, cause) != 0 ||
	    ph_field(cfg, "callback_status_field", "status", ph->callback_status_field, cause) != 0 ||
	    ph_field(cfg, "callback_ref_field", "ref", ph->callback_ref_field, cause) != 0)
		return -1;
	ph_log_path(ph->recharge_url, ph->recharge_path, sizeof ph->recharge_path);
	if (ph->status_url != NULL)
		ph_log_path(ph->status_url, ph->status_path, sizeof ph->status_path);
	if (ph->balance_url != NULL)
		ph_log_path(ph->balance_url, ph->balance_path, sizeof ph->balance_path);
	return 0;
}

/* The ops a provider shows the engine: status and balance only where it has the URL,
 * so the engine knows when a provider cannot be asked (NULL hooks). */
static const struct provider_ops provider_http_variants[2][2];

/* provider_ops.init: the whole section checked, the shared client joined. */
static int
provider_http_init(struct provider *p, const struct config_provider *cfg, char **cause)
{
	struct provider_http *ph = xcalloc(1, sizeof *ph);

	*cause = NULL;
	ph->refs = 1;
	strlcpy_safe(ph->name, p->name, sizeof ph->name);
	if (provider_http_parse(ph, cfg, cause) != 0) {
		if (*cause == NULL)
			ph_set_cause(cause, "bad settings");
		provider_http_unref(ph);
		return -1;
	}
	if ((ph->shared = ph_shared_get(p->base)) == NULL) {
		ph_set_cause(cause, "the HTTP client could not start (libcurl)");
		provider_http_unref(ph);
		return -1;
	}
	p->state = ph;
	p->ops = &provider_http_variants[ph->status_url != NULL][ph->balance_url != NULL];
	return 0;
}

/* provider_ops.free: calls in flight keep the settings until they end. */
static void
provider_http_free(struct provider *p)
{
	struct provider_http *ph = p->state;
	struct ph_shared *s;

	if (ph == NULL)
		return;
	s = ph->shared;
	p->state = NULL;
	provider_http_unref(ph);
	ph_shared_release(s);
}

#define PROVIDER_HTTP_OPS(st, bal) {                                                     \
	.type = "http-json", .keys = provider_http_keys, .in_process = 0,                 \
	.init = provider_http_init, .submit = provider_http_submit, .status = (st),       \
	.balance = (bal), .callback = provider_http_callback, .free = provider_http_free, \
}
const struct provider_ops provider_http_ops =
    PROVIDER_HTTP_OPS(provider_http_status, provider_http_balance);
static const struct provider_ops provider_http_variants[2][2] = {
	{ PROVIDER_HTTP_OPS(NULL, NULL), PROVIDER_HTTP_OPS(NULL, provider_http_balance) },
	{ PROVIDER_HTTP_OPS(provider_http_status, NULL),
	  PROVIDER_HTTP_OPS(provider_http_status, provider_http_balance) },
};

/* ---- for the fuzzer ---------------------------------------------------------------------- */

static void
ph_fuzz_check_answer(const struct provider_answer *a)
{
	if (memchr(a->ref, '\0', sizeof a->ref) == NULL ||
	    memchr(a->message, '\0', sizeof a->message) == NULL)
		abort();
	if (a->result != PROVIDER_SUCCESS && a->result != PROVIDER_FAILED &&
	    a->result != PROVIDER_PENDING && a->result != PROVIDER_REVERSED &&
	    a->result != PROVIDER_UNKNOWN && a->result != PROVIDER_DOWN)
		abort();
	for (const char *s = a->message; *s != '\0'; s++)
		if (*s < 0x20 || *s >= 0x7f)
			abort();
	for (const char *s = a->ref; *s != '\0'; s++)
		if (*s < 0x20 || *s >= 0x7f)
			abort();
}

/* Every rendered value must be URL-safe (URL) or keep the JSON valid (JSON). */
static void
ph_fuzz_render(const char *t, enum ph_escape esc, const char *const vals[PH_NVARS], int must_parse)
{
	struct ph_buf b = { malloc(PH_BODY_MAX), 0, PH_BODY_MAX, 0 };
	int r;

	if (b.p == NULL)
		abort();
	b.p[0] = '\0';
	r = ph_template_render(&b, t, esc, vals);
	if (b.len >= b.cap || b.p[b.len] != '\0' || strlen(b.p) != b.len)
		abort();
	if (r == 0 && must_parse) {
		json_t *j = json_loadb(b.p, b.len, JSON_DECODE_ANY, NULL);
		if (j == NULL)
			abort();
		json_decref(j);
	}
	free(b.p);
}

/* Percent-decodes what ph_escape_url wrote (n bytes): -1 on anything it would not
 * write (a raw '&', '=', '+', '%' not followed by two hex digits...). */
static int
ph_fuzz_unescape(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n || ph_hexval(s[i + 1]) < 0 || ph_hexval(s[i + 2]) < 0)
				return -1;
			c = ph_hexval(s[i + 1]) * 16 + ph_hexval(s[i + 2]);
			i += 2;
		} else if (!isalnum(c) && strchr("-._~", c) == NULL)
			return -1;
		if (o + 1 >= cap)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* The query (or form) q must be exactly names[0]=v&names[1]=v... with every value
 * decoding back to want: a value cannot end its component or add a field. */
static void
ph_fuzz_fields(const char *q, const char *const *names, size_t nnames, const char *want)
{
	size_t cap = 3 * strlen(want) + 2;
	char *val = malloc(cap);

	for (size_t i = 0; i < nnames; i++) {
		size_t kl = strlen(names[i]);
		const char *amp = strchr(q, '&'), *end = amp != NULL ? amp : q + strlen(q);
		if (strncmp(q, names[i], kl) != 0 || q[kl] != '=' ||
		    ph_fuzz_unescape(q + kl + 1, (size_t)(end - q - kl - 1), val, cap) != 0 ||
		    strcmp(val, want) != 0)
			abort();
		if ((i + 1 < nnames) != (amp != NULL))
			abort();	/* a field too many or too few */
		q = end + (amp != NULL);
	}
	free(val);
}

/* What a JSON string holding v reads back as: v, invalid UTF-8 bytes as U+FFFD. */
static char *
ph_fuzz_json_expect(const char *v)
{
	const unsigned char *s = (const unsigned char *)v;
	char *out = malloc(3 * strlen(v) + 1), *o = out;

	while (*s != '\0') {
		uint32_t cp;
		size_t n = ph_utf8_next(s, &cp);
		if (cp == 0xfffd && n == 1) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
		} else {
			memcpy(o, s, n);
			o += n;
		}
		s += n;
	}
	*o = '\0';
	return out;
}

/* The rendered JSON body has exactly the template's fields, each holding the value. */
static void
ph_fuzz_json_fields(const char *body, const char *v)
{
	static const char *const plain[] = { "m", "op", "a", "k" };
	json_t *j = json_loads(body, 0, NULL), *id;
	char *want = ph_fuzz_json_expect(v), *both;
	const char *got;

	if (j == NULL || !json_is_object(j) || json_object_size(j) != 6)
		abort();
	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
		if ((got = json_string_value(json_object_get(j, plain[i]))) == NULL || strcmp(got, want) != 0)
			abort();
	if (asprintf(&both, "%s and %s", want, want) < 0)
		abort();
	if ((got = json_string_value(json_object_get(j, "c"))) == NULL || strcmp(got, both) != 0)
		abort();
	id = json_object_get(j, "id");
	if (!json_is_array(id) || json_array_size(id) != 1 ||
	    (got = json_string_value(json_array_get(id, 0))) == NULL || strcmp(got, want) != 0)
		abort();
	free(both);
	free(want);
	json_decref(j);
}

/* The URL, a form body and the JSON body rendered with every variable = v: v stays
 * inside its query component, form field or JSON string, and reads back as itself. */
static void
ph_fuzz_escapes(const char *url_t, const char *json_t_, const char *v)
{
	static const char *const url_names[] = { "m", "op", "o", "a", "p", "c", "id", "k" };
	static const char *const form_names[] = { "mobile", "circle", "key" };
	static const char form_t[] = "mobile=${mobile}&circle=${circle}&key=${secret}";
	const char *vals[PH_NVARS];
	struct ph_buf b = { malloc(PH_BODY_MAX), 0, PH_BODY_MAX, 0 };

	for (int i = 0; i < PH_NVARS; i++)
		vals[i] = v;
	if (b.p == NULL)
		abort();
	b.p[0] = '\0';
	if (ph_template_render(&b, url_t, PH_ESC_URL, vals) == 0) {
		const char *q = strchr(b.p, '?');
		if (q == NULL || strchr(b.p, '#') != NULL || q != strchr(b.p, '?') ||
		    strncmp(b.p, "https://p.example/rc?", (size_t)(q + 1 - b.p)) != 0)
			abort();
		ph_fuzz_fields(q + 1, url_names, 8, v);
	}
	b.len = 0;
	b.over = 0;
	b.p[0] = '\0';
	if (ph_template_render(&b, form_t, PH_ESC_URL, vals) == 0)
		ph_fuzz_fields(b.p, form_names, 3, v);
	b.len = 0;
	b.over = 0;
	b.p[0] = '\0';
	if (ph_template_render(&b, json_t_, PH_ESC_JSON, vals) == 0)
		ph_fuzz_json_fields(b.p, v);
	free(b.p);
}

void
provider_http_fuzz_one(const uint8_t *data, size_t len)
{
	static struct provider_http *ph;
	static const char url_t[] = "https://p.example/rc?m=${mobile}&op=${op}&o=${operator}"
	    "&a=${amount}&p=${amount_paise}&c=${circle}&id=${txn_id}&k=${secret}";
	static const char json_t_[] = "{\"m\":\"${mobile}\",\"op\":\"${op}\",\"a\":\"${amount}\","
	    "\"c\":\"${circle} and ${operator}\",\"id\":[\"${txn_id}\"],\"k\":\"${secret}\"}";
	struct http_response r;
	struct provider_answer a;
	const char *vals[PH_NVARS];
	char *s, *cause = NULL, path[PH_FIELD_MAX];
	unsigned used = 0;
	json_t *root;
	int64_t paise;

	if (ph == NULL) {
		static const char *const kv[][2] = {
			{ "recharge_url", url_t },
			{ "recharge_method", "POST" },
			{ "recharge_body", json_t_ },
			{ "status_url", "https://p.example/st?id=${txn_id}&k=${secret}" },
			{ "balance_url", "https://p.example/bal?k=${secret}" },
			{ "secret", "s3cr&t" },
			{ "opcodes", "AIRTEL:AT,JIO:RJ" },
			{ "status_field", "data.status" },
			{ "ref_field", "data.txn.0.ref" },
			{ "message_field", "msg" },
			{ "balance_field", "wallet.balance" },
			{ "success_values", "SUCCESS, 1, true" },
			{ "pending_values", "PENDING,0" },
			{ "failure_values", "FAILED,2,false" },
			{ "reversed_values", "REFUND" },
			{ "down_statuses", "503,429" },
		};
		static struct config_provider cfg;
		cfg.name = "fuzz";
		cfg.type = "http-json";
		for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
			cfg.kv[cfg.nkv].key = (char *)kv[i][0];
			cfg.kv[cfg.nkv++].value = (char *)kv[i][1];
		}
		ph = xcalloc(1, sizeof *ph);
		ph->refs = 1;
		strlcpy_safe(ph->name, "fuzz", sizeof ph->name);
		if (provider_http_parse(ph, &cfg, &cause) != 0) {
			fprintf(stderr, "provider_http_fuzz_one: the fixed section: %s\n", cause);
			abort();
		}
	}

	/* a heap copy of exactly the bytes plus the NUL the client adds */
	s = malloc(len + 1);
	if (s == NULL)
		abort();
	memcpy(s, data, len);
	s[len] = '\0';

	/* 1: the body as an answer, under a 2xx, a down status and another status */
	memset(&r, 0, sizeof r);
	r.result = HTTP_RESULT_OK;
	r.body = s;
	r.body_len = len;
	r.status = len > 0 && (data[0] & 3) == 1 ? 503 : len > 0 && (data[0] & 3) == 2 ? 500 : 200;
	provider_http_answer_from(ph, &r, &a);
	ph_fuzz_check_answer(&a);
	if (r.status == 503 && a.result != PROVIDER_DOWN)
		abort();
	if (r.status != 200 && a.result != PROVIDER_DOWN && a.result != PROVIDER_UNKNOWN)
		abort();

	/* 2: the body as JSON: the balance, and its own first line as a dotted path */
	if ((root = provider_http_json_load(s, len)) != NULL) {
		const char *bal = provider_http_json_text(root, ph->balance_field);
		if (provider_http_balance_parse(bal, &paise) == 0 &&
		    (paise > MONEY_MAX_PAISE || paise < -MONEY_MAX_PAISE))
			abort();
		strlcpy_safe(path, s, sizeof path);
		path[strcspn(path, "\n")] = '\0';
		(void)provider_http_json_text(root, path);
		json_decref(root);
	}
	(void)provider_http_balance_parse(s, &paise);

	/* 3: the bytes as a template, checked as the config is, then rendered */
	vals[PH_MOBILE] = "9876543210"; vals[PH_OP] = "AT"; vals[PH_OPERATOR] = "AIRTEL";
	vals[PH_AMOUNT] = "299"; vals[PH_AMOUNT_PAISE] = "29900"; vals[PH_CIRCLE] = "DL";
	vals[PH_TXN_ID] = "TXN000000001"; vals[PH_SECRET] = "s\"3&c\\r";
	if (ph_template_check("fuzz", s, 0, PH_VARS_ALL, &used, &cause) == 0)
		ph_fuzz_render(s, PH_ESC_URL, vals, 0);
	free(cause);
	cause = NULL;
	if (ph_template_check("fuzz", s, 1, PH_VARS_ALL, &used, &cause) == 0)
		ph_fuzz_render(s, PH_ESC_JSON, vals, 0);
	free(cause);
	cause = NULL;

	/* 4: the bytes as every variable's value: escaped, the URL stays URL-safe and the
	 * JSON body stays JSON */
	for (int v = 0; v < PH_NVARS; v++)
		vals[v] = s;
	{
		struct ph_buf b = { malloc(PH_URL_MAX), 0, PH_URL_MAX, 0 };
		if (b.p == NULL)
			abort();
		b.p[0] = '\0';
		ph_escape_url(&b, s);
		for (size_t i = 0; i < b.len; i++)
			if (!isalnum((unsigned char)b.p[i]) && strchr("-._~%", b.p[i]) == NULL)
				abort();
		free(b.p);
	}
	ph_fuzz_render(url_t, PH_ESC_URL, vals, 0);
	ph_fuzz_render(json_t_, PH_ESC_JSON, vals, 1);
	ph_fuzz_escapes(url_t, json_t_, s);
	free(s);
}
