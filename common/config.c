/* common/config.c: the INI config of SPEC section 12, read with libinih. One table of
 * options, defaults first, then the file; unknown sections and keys are errors. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "common/common.h"

enum config_type { CONFIG_STR, CONFIG_INT, CONFIG_BOOL, CONFIG_MONEY, CONFIG_RATE, CONFIG_LEVEL,
	CONFIG_BIND, CONFIG_LONGSMS };

struct config_option {
	const char *section, *key;
	enum config_type type;
	size_t offset;
	const char *def;        /* NULL: required (strings) */
	long min, max;          /* integers */
};

#define O(f) offsetof(struct config, f)
static const struct config_option config_options[] = {
	{ "db", "path", CONFIG_STR, O(db_path), "rechargd.db", 0, 0 },
	{ "db", "cache_mb", CONFIG_INT, O(db_cache_mb), "16", 1, 4096 },
	{ "smpp", "host", CONFIG_STR, O(smpp_host), "127.0.0.1", 0, 0 },
	{ "smpp", "port", CONFIG_INT, O(smpp_port), "2775", 1, 65535 },
	{ "smpp", "system_id", CONFIG_STR, O(system_id), NULL, 1, 15 },
	{ "smpp", "password", CONFIG_STR, O(password), NULL, 0, 8 },
	{ "smpp", "system_type", CONFIG_STR, O(system_type), "", 0, 12 },
	{ "smpp", "address_range", CONFIG_STR, O(address_range), "", 0, 40 },
	{ "smpp", "bind", CONFIG_BIND, O(bind_tx_rx), "transceiver", 0, 1 },
	{ "smpp", "source_addr", CONFIG_STR, O(source_addr), NULL, 1, 20 },
	{ "smpp", "source_ton", CONFIG_INT, O(source_ton), "5", 0, 6 },
	{ "smpp", "source_npi", CONFIG_INT, O(source_npi), "0", 0, 18 },
	{ "smpp", "enquire_link_s", CONFIG_INT, O(enquire_link_s), "30", 1, 3600 },
	{ "smpp", "dead_link_s", CONFIG_INT, O(dead_link_s), "90", 2, 7200 },
	{ "smpp", "reconnect_max_s", CONFIG_INT, O(reconnect_max_s), "60", 1, 3600 },
	{ "smpp", "window", CONFIG_INT, O(window), "10", 1, 1000 },
	{ "smpp", "response_timeout_s", CONFIG_INT, O(response_timeout_s), "30", 1, 600 },
	{ "smpp", "submit_tps", CONFIG_INT, O(submit_tps), "50", 1, 100000 },
	{ "smpp", "request_dlr", CONFIG_BOOL, O(request_dlr), "no", 0, 1 },
	{ "smpp", "long_sms", CONFIG_LONGSMS, O(long_sms_payload), "udh", 0, 1 },
	{ "smpp", "reassembly_timeout_s", CONFIG_INT, O(reassembly_timeout_s), "300", 1, 86400 },
	{ "http", "listen", CONFIG_STR, O(http_listen), "127.0.0.1:8080", 0, 0 },
	{ "http", "tls_listen", CONFIG_STR, O(tls_listen), "", 0, 0 },
	{ "http", "tls_cert", CONFIG_STR, O(tls_cert), "", 0, 0 },
	{ "http", "tls_key", CONFIG_STR, O(tls_key), "", 0, 0 },
	{ "http", "max_body", CONFIG_INT, O(max_body), "16384", 256, 16777216 },
	{ "http", "max_connections", CONFIG_INT, O(max_connections), "1024", 1, 1000000 },
	{ "http", "idle_timeout_s", CONFIG_INT, O(idle_timeout_s), "30", 1, 3600 },
	{ "http", "sync_wait_ms", CONFIG_INT, O(sync_wait_ms), "25000", 0, 600000 },
	{ "http", "rate_limit_per_key", CONFIG_INT, O(rate_limit_per_key), "50", 1, 1000000 },
	{ "http", "rate_burst", CONFIG_INT, O(rate_burst), "100", 1, 1000000 },
	{ "engine", "duplicate_window_s", CONFIG_INT, O(duplicate_window_s), "180", 0, 86400 },
	{ "engine", "pending_reply_s", CONFIG_INT, O(pending_reply_s), "10", 0, 3600 },
	{ "engine", "status_poll_s", CONFIG_INT, O(status_poll_s), "60", 1, 86400 },
	{ "engine", "status_poll_max", CONFIG_INT, O(status_poll_max), "30", 0, 100000 },
	{ "engine", "default_provider", CONFIG_STR, O(default_provider), NULL, 1, 0 },
	{ "engine", "max_inflight", CONFIG_INT, O(max_inflight), "20000", 1, 1000000 },
	{ "engine", "breaker_failures", CONFIG_INT, O(breaker_failures), "5", 1, 1000 },
	{ "engine", "breaker_cooldown_s", CONFIG_INT, O(breaker_cooldown_s), "60", 1, 86400 },
	{ "engine", "balance_poll_s", CONFIG_INT, O(balance_poll_s), "300", 1, 86400 },
	{ "engine", "low_balance", CONFIG_MONEY, O(low_balance), "1000", 0, 0 },
	{ "engine", "stuck_pending_s", CONFIG_INT, O(stuck_pending_s), "1800", 1, 864000 },
	{ "security", "pepper_file", CONFIG_STR, O(pepper_file), "rechargd.pepper", 1, 0 },
	{ "settlement", "tds_pct", CONFIG_RATE, O(tds_bp), "2.00", 0, 0 },
	{ "log", "level", CONFIG_LEVEL, O(log_level), "info", 0, 0 },
};
#undef O
#define CONFIG_NOPTIONS (sizeof config_options / sizeof config_options[0])

struct config_parse {
	struct config *cfg;
	const char *path;
	FILE *f;
	int line;
	char *cause;
	unsigned char seen[CONFIG_NOPTIONS];
};

/* Sets the first error only: later ones are usually consequences. */
static int
config_fail(struct config_parse *p, const char *key, const char *fmt, const char *arg)
{
	if (p->cause == NULL) {
		char why[256];
		snprintf(why, sizeof why, fmt, arg);
		if (asprintf(&p->cause, "%s:%d: key '%s': %s", p->path, p->line, key, why) < 0)
			p->cause = NULL;
	}
	return 0;
}

static int
config_parse_long(const char *v, long *out)
{
	char *end;

	errno = 0;
	long x = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0')
		return -1;
	*out = x;
	return 0;
}

/* Converts one value by its option's type into the struct. */
static int
config_set(struct config *cfg, const struct config_option *o, const char *v, const char **why)
{
	char *base = (char *)cfg;
	long x;
	int64_t m;

	switch (o->type) {
	case CONFIG_STR: {
		char **slot = (char **)(base + o->offset);
		size_t n = strlen(v);
		if (o->def == NULL && o->min > 0 && n == 0) { *why = "must not be empty"; return -1; }
		if (o->max > 0 && n > (size_t)o->max) { *why = "too long"; return -1; }
		free(*slot);
		*slot = xstrdup(v);
		return 0;
	}
	case CONFIG_INT:
		if (config_parse_long(v, &x) != 0) { *why = "not an integer"; return -1; }
		if (x < o->min || x > o->max) { *why = "out of range"; return -1; }
		*(int *)(base + o->offset) = (int)x;
		return 0;
	case CONFIG_BOOL:
		if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "on"))
			x = 1;
		else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "off"))
			x = 0;
		else { *why = "not yes or no"; return -1; }
		*(int *)(base + o->offset) = (int)x;
		return 0;
	case CONFIG_MONEY:
		if (money_parse(v, &m) != MONEY_OK) { *why = "not an amount in rupees"; return -1; }
		*(int64_t *)(base + o->offset) = m;
		return 0;
	case CONFIG_RATE: {
		int32_t r = money_rate_parse(v);
		if (r < 0) { *why = "not a percentage with at most two decimals"; return -1; }
		*(int32_t *)(base + o->offset) = r;
		return 0;
	}
	case CONFIG_LEVEL:
		if ((x = log_level_parse(v)) < 0) { *why = "not one of error, warn, info, debug, trace"; return -1; }
		*(int *)(base + o->offset) = (int)x;
		return 0;
	case CONFIG_BIND:
		if (!strcasecmp(v, "transceiver")) x = 0;
		else if (!strcasecmp(v, "tx_rx")) x = 1;
		else { *why = "not transceiver or tx_rx"; return -1; }
		*(int *)(base + o->offset) = (int)x;
		return 0;
	case CONFIG_LONGSMS:
		if (!strcasecmp(v, "udh")) x = 0;
		else if (!strcasecmp(v, "payload")) x = 1;
		else { *why = "not udh or payload"; return -1; }
		*(int *)(base + o->offset) = (int)x;
		return 0;
	}
	*why = "unsupported";
	return -1;
}

static struct config_provider *
config_provider_find(struct config *cfg, const char *name)
{
	for (int i = 0; i < cfg->nproviders; i++)
		if (strcmp(cfg->providers[i].name, name) == 0)
			return &cfg->providers[i];
	return NULL;
}

/* Provider keys are kept raw; engine/ checks them against the provider type. */
static int
config_provider_handler(struct config_parse *p, const char *pname, const char *key, const char *value)
{
	struct config *cfg = p->cfg;
	struct config_provider *pr = config_provider_find(cfg, pname);

	if (*pname == '\0')
		return config_fail(p, key, "%s", "provider section without a name");
	if (pr == NULL) {
		if (cfg->nproviders == CONFIG_MAX_PROVIDERS)
			return config_fail(p, key, "%s", "too many providers");
		pr = &cfg->providers[cfg->nproviders++];
		pr->name = xstrdup(pname);
		pr->line = p->line;
	}
	if (strcmp(key, "type") == 0) {
		free(pr->type);
		pr->type = xstrdup(value);
		return 1;
	}
	for (int i = 0; i < pr->nkv; i++)
		if (strcmp(pr->kv[i].key, key) == 0)
			return config_fail(p, key, "%s", "given twice");
	if (pr->nkv == CONFIG_MAX_PROVIDER_KEYS)
		return config_fail(p, key, "%s", "too many keys");
	pr->kv[pr->nkv].key = xstrdup(key);
	pr->kv[pr->nkv].value = xstrdup(value);
	pr->kv[pr->nkv].line = p->line;
	pr->nkv++;
	return 1;
}

static int
config_handler(void *user, const char *section, const char *key, const char *value)
{
	struct config_parse *p = user;

	if (key == NULL)      /* a new section: checked at its first key */
		return 1;
	if (strncmp(section, "provider.", 9) == 0)
		return config_provider_handler(p, section + 9, key, value);
	int known_section = 0;
	for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
		const struct config_option *o = &config_options[i];
		if (strcmp(o->section, section) != 0)
			continue;
		known_section = 1;
		if (strcmp(o->key, key) != 0)
			continue;
		const char *why = NULL;
		if (p->seen[i])
			return config_fail(p, key, "%s", "given twice");
		p->seen[i] = 1;
		if (config_set(p->cfg, o, value, &why) != 0)
			return config_fail(p, key, "bad value: %s", why);
		return 1;
	}
	if (!known_section)
		return config_fail(p, key, "unknown section [%s]", section);
	return config_fail(p, key, "unknown key in [%s]", section);
}

/* fgets that counts lines, so errors name the line libinih is on. */
static char *
config_reader(char *str, int num, void *stream)
{
	struct config_parse *p = stream;
	char *r = fgets(str, num, p->f);

	if (r != NULL)
		p->line++;
	return r;
}

/* Relative paths in the config are relative to the config file, not the cwd. */
static void
config_resolve(const char *cfgpath, char **slot)
{
	if (*slot == NULL || (*slot)[0] == '/' || (*slot)[0] == '\0')
		return;
	const char *slash = strrchr(cfgpath, '/');
	if (slash == NULL)
		return;
	char *full;
	if (asprintf(&full, "%.*s/%s", (int)(slash - cfgpath), cfgpath, *slot) < 0)
		fatal("out of memory");
	free(*slot);
	*slot = full;
}

struct config *
config_load(const char *path, char **cause)
{
	struct config *cfg = xcalloc(1, sizeof *cfg);
	struct config_parse p = { .cfg = cfg, .path = path };
	const char *why;

	cfg->file = xstrdup(path);
	for (size_t i = 0; i < CONFIG_NOPTIONS; i++)
		if (config_options[i].def != NULL &&
		    config_set(cfg, &config_options[i], config_options[i].def, &why) != 0)
			fatal("config default for %s: %s", config_options[i].key, why);
	if ((p.f = fopen(path, "r")) == NULL) {
		if (asprintf(cause, "%s: %s", path, strerror(errno)) < 0)
			*cause = NULL;
		config_free(cfg);
		return NULL;
	}
	int rc = ini_parse_stream(config_reader, &p, config_handler, &p);
	fclose(p.f);
	if (rc != 0 && p.cause == NULL) {
		p.line = rc > 0 ? rc : p.line;
		config_fail(&p, "-", "%s", rc > 0 ? "syntax error" : "cannot read");
	}
	for (size_t i = 0; p.cause == NULL && i < CONFIG_NOPTIONS; i++) {
		const struct config_option *o = &config_options[i];
		if (o->def == NULL && !p.seen[i]) {
			p.line = 0;
			if (asprintf(&p.cause, "%s: key '%s' in [%s] is required", path, o->key, o->section) < 0)
				p.cause = NULL;
		}
	}
	for (int i = 0; p.cause == NULL && i < cfg->nproviders; i++) {
		if (cfg->providers[i].type == NULL) {
			p.line = cfg->providers[i].line;
			config_fail(&p, "type", "provider '%s' has no type", cfg->providers[i].name);
		}
	}
	if (p.cause == NULL && config_provider_find(cfg, cfg->default_provider) == NULL) {
		if (asprintf(&p.cause, "%s: key 'default_provider' in [engine]: no [provider.%s] section",
		    path, cfg->default_provider) < 0)
			p.cause = NULL;
	}
	if (p.cause != NULL) {
		*cause = p.cause;
		config_free(cfg);
		return NULL;
	}
	config_resolve(path, &cfg->db_path);
	config_resolve(path, &cfg->pepper_file);
	config_resolve(path, &cfg->tls_cert);
	config_resolve(path, &cfg->tls_key);
	return cfg;
}

const char *
config_provider_get(const struct config_provider *p, const char *key)
{
	for (int i = 0; i < p->nkv; i++)
		if (strcmp(p->kv[i].key, key) == 0)
			return p->kv[i].value;
	return NULL;
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < CONFIG_NOPTIONS; i++)
		if (config_options[i].type == CONFIG_STR)
			free(*(char **)((char *)cfg + config_options[i].offset));
	for (int i = 0; i < cfg->nproviders; i++) {
		struct config_provider *pr = &cfg->providers[i];
		free(pr->name);
		free(pr->type);
		for (int k = 0; k < pr->nkv; k++) {
			free(pr->kv[k].key);
			free(pr->kv[k].value);
		}
	}
	free(cfg->file);
	free(cfg);
}
