/* ctl/route.c: provider routes per operator. The daemon reads the route of each
 * recharge as it dispatches it, so a change applies to the next recharge, no signal. */
#include <string.h>

#include "ctl/ctl.h"

/* A stored route must fit the engine's copy of it (provider names, comma-separated). */
#define CTL_ROUTE_MAX 255
#define CTL_ROUTE_PROVIDERS 8

/* The [provider.NAME] section of the config called name, or NULL. */
static const struct config_provider *
ctl_provider_find(const struct ctl *c, const char *name)
{
	for (int i = 0; i < c->cfg->nproviders; i++)
		if (strcmp(c->cfg->providers[i].name, name) == 0)
			return &c->cfg->providers[i];
	return NULL;
}

struct ctl_route_setting {
	struct db_operator op;
	char providers[CTL_ROUTE_MAX + 1];
	char old[CTL_ROUTE_MAX + 1];   /* empty: there was none */
};

/* Old route, new route and audit row in one transaction. */
static int
ctl_route_set_tx(struct ctl *c, void *arg)
{
	struct ctl_route_setting *s = arg;
	char before[CTL_ROUTE_MAX + 48], after[CTL_ROUTE_MAX + 16];

	switch (db_route_get(c->db, s->op.code, s->old, sizeof s->old)) {
	case 0:
		s->old[0] = '\0';
		break;
	case -1:
		return -1;
	}
	if (db_route_set(c->db, s->op.code, s->providers) != 0)
		return -1;
	if (s->old[0] != '\0')
		snprintf(before, sizeof before, "providers=%s", s->old);
	else
		snprintf(before, sizeof before, "providers=(default: %s)", c->cfg->default_provider);
	snprintf(after, sizeof after, "providers=%s", s->providers);
	return db_audit_add(c->db, c->actor, "route.set", s->op.code, before, after);
}

/* Checks each name of "P1,P2" against the config and writes the list without blanks. */
static int
ctl_route_parse(struct ctl *c, const char *text, char *out, size_t cap)
{
	char list[CTL_ROUTE_MAX + 1], *save = NULL, *tok;
	const char *seen[CTL_ROUTE_PROVIDERS];
	int n = 0;

	if (strlen(text) > CTL_ROUTE_MAX)
		return ctl_error(c, "route too long (at most %d bytes)", CTL_ROUTE_MAX);
	strlcpy_safe(list, text, sizeof list);
	out[0] = '\0';
	/* an empty name (",sim", "sim,,b") is a typo, not a request to skip */
	if (list[0] == ',' || (list[0] != '\0' && list[strlen(list) - 1] == ',') || strstr(list, ",,") != NULL)
		return ctl_error(c, "empty provider name in '%s'", text);
	for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *end = tok + strlen(tok);
		tok += strspn(tok, " \t");
		while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (tok[0] == '\0')
			return ctl_error(c, "empty provider name in '%s'", text);
		if (ctl_provider_find(c, tok) == NULL)
			return ctl_error(c, "unknown provider '%s' (no [provider.%s] section in %s)", tok, tok,
			    c->config_path);
		for (int i = 0; i < n; i++)
			if (strcmp(seen[i], tok) == 0)
				return ctl_error(c, "provider '%s' named twice", tok);
		if (n == CTL_ROUTE_PROVIDERS)
			return ctl_error(c, "too many providers (at most %d)", CTL_ROUTE_PROVIDERS);
		seen[n++] = ctl_provider_find(c, tok)->name;
		snprintf(out + strlen(out), cap - strlen(out), "%s%s", n > 1 ? "," : "", tok);
	}
	if (n == 0)
		return ctl_error(c, "no provider named");
	return 0;
}

/* Aliases resolve to the operator code; every name must be a configured provider. */
enum ctl_retval
ctl_route_set(struct ctl *c, int argc, char **argv)
{
	struct ctl_route_setting s;
	char *pos[2];
	int rc;

	if ((rc = ctl_args(c, argc, argv, NULL, pos, 2, 2)) != 0)
		return rc;
	memset(&s, 0, sizeof s);
	switch (db_operator_find(c->db, pos[0], &s.op)) {
	case 0:
		return ctl_error(c, "unknown operator '%s'", pos[0]);
	case -1:
		return ctl_db_error(c);
	}
	if (ctl_route_parse(c, pos[1], s.providers, sizeof s.providers) != 0)
		return CTL_ERROR;
	if ((rc = ctl_tx(c, ctl_route_set_tx, &s)) != CTL_OK)
		return rc;
	if (s.old[0] != '\0')
		printf("route %s: %s (was %s)\n", s.op.code, s.providers, s.old);
	else
		printf("route %s: %s (was the default: %s)\n", s.op.code, s.providers, c->cfg->default_provider);
	return CTL_OK;
}

struct ctl_route_listing {
	struct ctl *c;
	struct ctl_json json;
	int as_json;
};

/* One operator of route list; names no longer in the config are flagged. */
static void
ctl_route_list_cb(void *arg, const struct db_route *r)
{
	struct ctl_route_listing *l = arg;
	const char *route = r->providers[0] ? r->providers : l->c->cfg->default_provider;
	char list[sizeof r->providers], shown[sizeof r->providers + 32], missing[sizeof r->providers];
	char *save = NULL, *tok;

	missing[0] = '\0';
	strlcpy_safe(list, route, sizeof list);
	if (l->as_json) {
		ctl_json_open(&l->json, NULL, '{');
		ctl_json_str(&l->json, "operator", r->operator_code);
		ctl_json_str(&l->json, "service", r->service);
		ctl_json_bool(&l->json, "enabled", r->enabled);
		ctl_json_bool(&l->json, "default", r->providers[0] == '\0');
		ctl_json_open(&l->json, "providers", '[');
	}
	for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (l->as_json)
			ctl_json_str(&l->json, NULL, tok);
		if (ctl_provider_find(l->c, tok) == NULL)
			snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s",
			    missing[0] ? "," : "", tok);
	}
	if (l->as_json) {
		ctl_json_close(&l->json, ']');
		ctl_json_open(&l->json, "not_configured", '[');
		strlcpy_safe(list, missing, sizeof list);
		for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
			ctl_json_str(&l->json, NULL, tok);
		ctl_json_close(&l->json, ']');
		ctl_json_close(&l->json, '}');
		return;
	}
	if (r->providers[0] != '\0')
		strlcpy_safe(shown, r->providers, sizeof shown);
	else
		snprintf(shown, sizeof shown, "(default: %s)", route);
	printf("%-10s %-11s %s%s", r->operator_code, r->service, shown, r->enabled ? "" : " [operator disabled]");
	if (missing[0] != '\0')
		printf(" [not in the config: %s]", missing);
	putchar('\n');
}

/* Every operator, routed or on the default provider. */
enum ctl_retval
ctl_route_list(struct ctl *c, int argc, char **argv)
{
	struct ctl_route_listing l = { .c = c };
	struct ctl_opt opts[] = { { "--json", NULL, &l.as_json }, { NULL, NULL, NULL } };
	int rc;

	if ((rc = ctl_args(c, argc, argv, opts, NULL, 0, 0)) != 0)
		return rc;
	if (l.as_json) {
		ctl_json_begin(&l.json, stdout);
		ctl_json_open(&l.json, NULL, '[');
	} else {
		printf("%-10s %-11s %s\n", "OPERATOR", "SERVICE", "PROVIDERS");
	}
	if (db_route_each(c->db, ctl_route_list_cb, &l) != 0)
		return ctl_db_error(c);
	if (l.as_json) {
		ctl_json_close(&l.json, ']');
		ctl_json_end(&l.json);
	}
	return CTL_OK;
}
