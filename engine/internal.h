/* engine/internal.h: shared by the files of engine/ only. */
#ifndef RECHARGD_ENGINE_INTERNAL_H
#define RECHARGD_ENGINE_INTERNAL_H

#include "engine/engine.h"

#define ENGINE_FLIGHT_BUCKETS 4096
#define ENGINE_MAX_PROVIDERS CONFIG_MAX_PROVIDERS

/* A recharge between its hold and its final state. */
struct engine_flight {
	struct engine *engine;
	int64_t txn;
	char operator_code[16];
	char route[256];              /* provider names, comma-separated */
	int next_index;               /* next route entry to try */
	char provider[32];            /* the one that has it now */
	int calls;
	int dispatch_pending;         /* a dispatch waits for the hold's commit */
	struct event *retry_ev;       /* dispatch or settlement retry when storage was busy */
	int settling;                 /* the final state is decided, maybe not yet durable */
	int settle_success, settle_code;
	char settle_provider[32];
	char settle_ref[65];
	struct engine_flight *next;
};

struct engine {
	struct event_base *base;
	struct batch *batch;
	const struct config *cfg;
	uint8_t pepper[PEPPER_LEN];
	struct engine_hooks hooks;
	struct provider *providers[ENGINE_MAX_PROVIDERS];
	int nproviders;
	struct engine_flight *flights[ENGINE_FLIGHT_BUCKETS];
	int ninflight;
};

struct engine_flight *engine_flight_find(struct engine *e, int64_t txn);
/* Builds the providers of cfg; 0 or -1 with *cause. */
int engine_providers_create(struct engine *e, const struct config *cfg, struct provider **out,
    int *n, char **cause);
void engine_providers_free(struct provider **list, int n);
/* Drops the simulated calls of e (shutdown). */
void provider_sim_forget(struct engine *e);

#endif
