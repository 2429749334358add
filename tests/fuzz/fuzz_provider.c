/* tests/fuzz/fuzz_provider.c: libFuzzer over the http-json provider's text handling
 * (engine/provider_http.c): the input is a provider's HTTP answer body mapped to a
 * provider_answer (numbers kept as text, dotted JSON paths, value lists), a balance,
 * a ${...} template checked and rendered, and the value of every template variable
 * (URL and JSON escaping): rendered into a URL, a form body and a JSON body, the value
 * must read back as itself from its own query component, form field or JSON string,
 * with no field added or lost (it cannot break out). The checks live in
 * provider_http_fuzz_one, next to the static functions they reach. Callbacks (form,
 * JSON, query, secret) are fuzzed through the real HTTP server by fuzz_http. Built with clang -fsanitize=fuzzer,address,undefined
 * (mk/fuzz.mk). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "engine/internal.h"

/* What provider_http.c calls only once a request is made or answered: never on the
 * fuzzed path, so stubs stand in for the engine, the database and the HTTP client
 * (which would drag in the whole daemon). */
void engine_provider_answer(struct engine *e, int64_t txn, const char *provider,
    const struct provider_answer *a) { abort(); }
void engine_provider_balance(struct engine *e, const char *provider, int ok, int64_t paise)
{ abort(); }
char *db_txn_format_id(int64_t id, char *buf) { abort(); }
int64_t db_txn_parse_id(const char *text) { abort(); }
struct http_client *http_client_new(struct event_base *base, int max_total_connections)
{ abort(); }
void http_client_free(struct http_client *c) { abort(); }
void http_client_request(struct http_client *c, const struct http_request *req,
    http_done_cb done, void *arg) { abort(); }

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_level = -1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	provider_http_fuzz_one(data, size);
	return 0;
}
