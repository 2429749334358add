/* engine/provider.c: providers by type from their [provider.NAME] sections. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

static const struct provider_ops *const provider_types[] = {
	&provider_sim_ops,
	&provider_http_ops,
};

static const struct provider_ops *
provider_type_find(const char *type)
{
	for (size_t i = 0; i < sizeof provider_types / sizeof provider_types[0]; i++)
		if (strcmp(provider_types[i]->type, type) == 0)
			return provider_types[i];
	return NULL;
}

/* Unknown keys are errors, as everywhere in the config. */
static int
provider_keys_check(const struct config *cfg, const struct config_provider *cp,
    const struct provider_ops *ops, char **cause)
{
	for (int k = 0; k < cp->nkv; k++) {
		int known = 0;
		for (const char *const *key = ops->keys; *key != NULL; key++)
			if (strcmp(*key, cp->kv[k].key) == 0)
				known = 1;
		if (!known) {
			if (asprintf(cause, "%s:%d: key '%s': unknown key for a provider of type %s",
			    cfg->file, cp->kv[k].line, cp->kv[k].key, ops->type) < 0)
				*cause = NULL;
			return -1;
		}
	}
	return 0;
}

int
engine_providers_create(struct engine *e, const struct config *cfg, struct provider **out,
    int *n, char **cause)
{
	*n = 0;
	for (int i = 0; i < cfg->nproviders; i++) {
		const struct config_provider *cp = &cfg->providers[i];
		const struct provider_ops *ops = provider_type_find(cp->type);
		char *why = NULL;

		if (ops == NULL) {
			if (asprintf(cause, "%s:%d: key 'type': unknown provider type '%s'", cfg->file,
			    cp->line, cp->type) < 0)
				*cause = NULL;
			goto fail;
		}
		if (provider_keys_check(cfg, cp, ops, cause) != 0)
			goto fail;
		struct provider *p = xcalloc(1, sizeof *p);
		strlcpy_safe(p->name, cp->name, sizeof p->name);
		p->ops = ops;
		p->engine = e;
		p->base = e->base;
		if (ops->init(p, cp, &why) != 0) {
			if (asprintf(cause, "%s:%d: [provider.%s]: %s", cfg->file, cp->line, cp->name,
			    why ? why : "bad settings") < 0)
				*cause = NULL;
			free(why);
			free(p);
			goto fail;
		}
		out[(*n)++] = p;
	}
	return 0;
fail:
	engine_providers_free(out, *n);
	*n = 0;
	return -1;
}

void
engine_providers_free(struct provider **list, int n)
{
	for (int i = 0; i < n; i++) {
		if (list[i]->ops->free != NULL)
			list[i]->ops->free(list[i]);
		free(list[i]);
	}
}
