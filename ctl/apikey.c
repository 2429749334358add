/* ctl/apikey.c: API keys of retailers (SPEC sections 9 and 11). A key is printed once,
 * alone on the last line of stdout; the database, the audit and every listing hold only
 * its hash and prefix. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

/* The stored allow-list must fit struct db_apikey's copy of it. */
#define CTL_ALLOW_MAX (sizeof ((struct db_apikey *)0)->allow_ips - 1)

/* The canonical text of one --allow-ip address ("::1", "10.0.0.1"); 0 or CTL_ERROR. */
static int
ctl_apikey_parse_ip(struct ctl *c, const char *text, char out[INET6_ADDRSTRLEN])
{
	unsigned char addr[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, text, addr) == 1 && inet_ntop(AF_INET, addr, out, INET6_ADDRSTRLEN) != NULL)
		return 0;
	if (inet_pton(AF_INET6, text, addr) == 1 && inet_ntop(AF_INET6, addr, out, INET6_ADDRSTRLEN) != NULL)
		return 0;
	return ctl_error(c, "invalid IP address '%s' (one IPv4 or IPv6 address per --allow-ip)", text);
}

/* Takes every --allow-ip (repeatable, which ctl_args refuses) out of argv into a comma
 * list of canonical addresses; rest gets the other arguments. 0, CTL_USAGE or CTL_ERROR. */
static int
ctl_apikey_allow_args(struct ctl *c, int argc, char **argv, char **rest, int *nrest,
    char *allow, size_t cap)
{
	static const char opt[] = "--allow-ip";
	int options_done = 0;

	*nrest = 0;
	allow[0] = '\0';
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *value;
		char ip[INET6_ADDRSTRLEN];
		if (strcmp(a, "--") == 0)
			options_done = 1;
		if (options_done || strncmp(a, opt, sizeof opt - 1) != 0 ||
		    (a[sizeof opt - 1] != '\0' && a[sizeof opt - 1] != '=')) {
			rest[(*nrest)++] = argv[i];
			continue;
		}
		if (a[sizeof opt - 1] == '=')
			value = a + sizeof opt;
		else if (i + 1 < argc)
			value = argv[++i];
		else
			return ctl_usage(c, "option '%s' needs a value", opt);
		if (ctl_apikey_parse_ip(c, value, ip) != 0)
			return CTL_ERROR;
		if (strlen(allow) + strlen(ip) + 1 > cap - 1)
			return ctl_error(c, "too many --allow-ip addresses (at most %zu bytes in all)",
			    cap - 1);
		snprintf(allow + strlen(allow), cap - strlen(allow), "%s%s", allow[0] ? "," : "", ip);
	}
	return 0;
}

struct ctl_apikey_new {
	char msisdn[MSISDN_BUFSZ];
	struct db_apikey k;
};

/* The key row and its audit row; the audit names the prefix, never the key. */
static int
ctl_apikey_create_tx(struct ctl *c, void *arg)
{
	struct ctl_apikey_new *n = arg;
	struct db_retailer r;
	char after[sizeof n->k.allow_ips + 64];

	switch (db_retailer_find(c->db, n->msisdn, &r)) {
	case 0:
		return ctl_error(c, "retailer %s not found", n->msisdn);
	case -1:
		return -1;
	}
	n->k.retailer_id = r.id;
	if (db_apikey_add(c->db, &n->k) != 0)
		return -1;
	snprintf(after, sizeof after, "id=%lld prefix=%s allow_ips=%s", (long long)n->k.id,
	    n->k.prefix, n->k.allow_ips[0] ? n->k.allow_ips : "any");
	return db_audit_add(c->db, c->actor, "apikey.create", n->msisdn, "", after);
}

/* Validates everything first; the key exists in this process only until printed. */
enum ctl_retval
ctl_apikey_create(struct ctl *c, int argc, char **argv)
{
	struct ctl_apikey_new n;
	char **rest, *pos[1], key[APIKEY_BUFSZ];
	int nrest, rc;

	memset(&n, 0, sizeof n);
	rest = xcalloc((size_t)argc + 1, sizeof *rest);
	rc = ctl_apikey_allow_args(c, argc, argv, rest, &nrest, n.k.allow_ips, sizeof n.k.allow_ips);
	if (rc == 0)
		rc = ctl_args(c, nrest, rest, NULL, pos, 1, 1);
	free(rest);
	if (rc != 0)
		return rc;
	if (ctl_parse_msisdn(c, pos[0], n.msisdn) != 0)
		return CTL_ERROR;
	if (apikey_generate(key, sizeof key) != 0)
		return ctl_error(c, "no random bytes for a key");
	apikey_hash(key, n.k.hash);
	if (strlen(n.k.hash) != APIKEY_HASH_BUFSZ - 1) {
		explicit_bzero(key, sizeof key);
		return ctl_error(c, "cannot hash the key (OpenSSL)");
	}
	memcpy(n.k.prefix, key, APIKEY_PREFIX_LEN);
	n.k.prefix[APIKEY_PREFIX_LEN] = '\0';
	if ((rc = ctl_tx(c, ctl_apikey_create_tx, &n)) != CTL_OK) {
		explicit_bzero(key, sizeof key);
		return rc;
	}
	printf("API key %lld (%s) created for retailer %s, allowed IPs: %s\n", (long long)n.k.id,
	    n.k.prefix, n.msisdn, n.k.allow_ips[0] ? n.k.allow_ips : "any");
	printf("The key is shown this once and cannot be recovered; store it now:\n");
	printf("%s\n", key);
	explicit_bzero(key, sizeof key);
	return CTL_OK;
}

/* Rows of a listing, copied out: the retailer lookups must wait for the statement. */
struct ctl_apikey_rows {
	struct db_apikey *k;
	size_t n, cap;
};

static void
ctl_apikey_collect_cb(void *arg, const struct db_apikey *k)
{
	struct ctl_apikey_rows *rows = arg;

	if (rows->n == rows->cap) {
		size_t cap = rows->cap ? rows->cap * 2 : 16;
		struct db_apikey *grown = reallocarray(rows->k, cap, sizeof *grown);
		if (grown == NULL)
			fatal("out of memory");
		rows->k = grown;
		rows->cap = cap;
	}
	rows->k[rows->n] = *k;
	/* nothing needs the hash past the database */
	rows->k[rows->n].hash[0] = '\0';
	rows->n++;
}

/* Newest first; the hash is never shown, the prefix tells keys apart. */
enum ctl_retval
ctl_apikey_list(struct ctl *c, int argc, char **argv)
{
	int as_json = 0, rc;
	struct ctl_opt opts[] = { { "--json", NULL, &as_json }, { NULL, NULL, NULL } };
	struct ctl_apikey_rows rows = { NULL, 0, 0 };
	struct db_retailer r;
	struct ctl_json j;
	char *pos[1] = { NULL }, created[32], revoked[32];
	int64_t retailer = 0;

	if ((rc = ctl_args(c, argc, argv, opts, pos, 0, 1)) != 0)
		return rc;
	if (pos[0] != NULL) {
		if (ctl_find_retailer(c, pos[0], &r) != 0)
			return CTL_ERROR;
		retailer = r.id;
	}
	if (db_apikey_each(c->db, retailer, ctl_apikey_collect_cb, &rows) != 0) {
		free(rows.k);
		return ctl_db_error(c);
	}
	if (as_json) {
		ctl_json_begin(&j, stdout);
		ctl_json_open(&j, NULL, '[');
	} else {
		printf("%-6s %-13s %-12s %-25s %-25s %s\n", "ID", "RETAILER", "PREFIX", "CREATED",
		    "REVOKED", "ALLOWED_IPS");
	}
	r.id = 0;
	for (size_t i = 0; i < rows.n; i++) {
		const struct db_apikey *k = &rows.k[i];
		if (r.id != k->retailer_id && db_retailer_get(c->db, k->retailer_id, &r) != 1) {
			free(rows.k);
			return ctl_db_error(c);
		}
		if (as_json) {
			char list[sizeof k->allow_ips], *save = NULL, *tok;
			ctl_json_open(&j, NULL, '{');
			ctl_json_int(&j, "id", k->id);
			ctl_json_str(&j, "retailer", r.msisdn);
			ctl_json_str(&j, "prefix", k->prefix);
			ctl_json_open(&j, "allow_ips", '[');
			strlcpy_safe(list, k->allow_ips, sizeof list);
			for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
				ctl_json_str(&j, NULL, tok);
			ctl_json_close(&j, ']');
			ctl_json_str(&j, "created_at", ctl_time(k->created_at, created));
			if (k->revoked_at > 0)
				ctl_json_str(&j, "revoked_at", ctl_time(k->revoked_at, revoked));
			else
				ctl_json_null(&j, "revoked_at");
			ctl_json_bool(&j, "live", k->revoked_at == 0);
			ctl_json_close(&j, '}');
			continue;
		}
		printf("%-6lld %-13s %-12s %-25s %-25s %s\n", (long long)k->id, r.msisdn, k->prefix,
		    ctl_time(k->created_at, created), ctl_time(k->revoked_at, revoked),
		    k->allow_ips[0] ? k->allow_ips : "any");
	}
	if (as_json) {
		ctl_json_close(&j, ']');
		ctl_json_end(&j);
	}
	free(rows.k);
	return CTL_OK;
}

struct ctl_apikey_revoking {
	const char *arg;               /* an id (digits) or a prefix */
	int64_t id;
	int is_id;
	int matches;                   /* live keys the argument names */
	struct db_apikey k;            /* the first of them */
	char msisdn[MSISDN_BUFSZ];
};

/* Finds the live keys the argument names (the statement is active: no db here). */
static void
ctl_apikey_match_cb(void *arg, const struct db_apikey *k)
{
	struct ctl_apikey_revoking *v = arg;

	if (k->revoked_at != 0 || (v->is_id ? k->id != v->id : strcmp(k->prefix, v->arg) != 0))
		return;
	if (v->matches++ == 0)
		v->k = *k;
}

/* Exactly one live key, revoked by id, with its audit row. */
static int
ctl_apikey_revoke_tx(struct ctl *c, void *arg)
{
	struct ctl_apikey_revoking *v = arg;
	struct db_retailer r;
	char id[24], before[64];

	v->matches = 0;
	if (db_apikey_each(c->db, 0, ctl_apikey_match_cb, v) != 0)
		return -1;
	if (v->matches == 0)
		return ctl_error(c, "no live API key matches '%s'", v->arg);
	if (v->matches > 1)
		return ctl_error(c, "prefix %s matches %d live keys: revoke by id (see apikey list)",
		    v->arg, v->matches);
	snprintf(id, sizeof id, "%lld", (long long)v->k.id);
	switch (db_apikey_revoke(c->db, id)) {
	case 0:
		return ctl_error(c, "no live API key matches '%s'", v->arg);
	case -1:
		return -1;
	}
	switch (db_retailer_get(c->db, v->k.retailer_id, &r)) {
	case 1:
		strlcpy_safe(v->msisdn, r.msisdn, sizeof v->msisdn);
		break;
	case 0:
		return ctl_error(c, "API key %s names no retailer", id);
	default:
		return -1;
	}
	snprintf(before, sizeof before, "id=%s prefix=%s revoked=no", id, v->k.prefix);
	return db_audit_add(c->db, c->actor, "apikey.revoke", v->msisdn, before, "revoked=yes");
}

/* By id or by the prefix lists show. A whole key is refused without being echoed. */
enum ctl_retval
ctl_apikey_revoke(struct ctl *c, int argc, char **argv)
{
	struct ctl_apikey_revoking v;
	char *pos[1];
	size_t n;
	int rc;

	if ((rc = ctl_args(c, argc, argv, NULL, pos, 1, 1)) != 0)
		return rc;
	memset(&v, 0, sizeof v);
	v.arg = pos[0];
	n = strlen(v.arg);
	if (n > 0 && n <= 18 && strspn(v.arg, "0123456789") == n) {
		v.is_id = 1;
		v.id = strtoll(v.arg, NULL, 10);
	} else if (n > APIKEY_PREFIX_LEN && strncmp(v.arg, "rk_", 3) == 0) {
		return ctl_error(c, "give the key's id or its prefix (the first %d characters),"
		    " not the whole key", APIKEY_PREFIX_LEN);
	} else if (n != APIKEY_PREFIX_LEN || strncmp(v.arg, "rk_", 3) != 0) {
		return ctl_error(c, "invalid key id or prefix '%.*s' (an id, or rk_ and 8 characters)",
		    APIKEY_PREFIX_LEN + 8, v.arg);
	}
	if ((rc = ctl_tx(c, ctl_apikey_revoke_tx, &v)) != CTL_OK)
		return rc;
	printf("API key %lld (%s) of retailer %s revoked\n", (long long)v.k.id, v.k.prefix, v.msisdn);
	return CTL_OK;
}
