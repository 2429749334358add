/* tests/fuzz/rig.h: the daemon's own parts in one process for the in-process fuzz
 * targets (fuzz_reassembly, fuzz_http): a config file and a SQLite database in a
 * temporary directory (on /dev/shm when there is one, so commits cost little), the
 * parser, the group-commit batch, the engine with the built-in sim provider (and an
 * http-json provider that only takes callbacks), the SMS channel, the REST API and the
 * HTTP channel, wired as daemon/daemon.c wires them. One retailer (RIG_MSISDN, PIN
 * RIG_PIN, a large wallet) holds the API key RIG_APIKEY. The directory goes at exit (a
 * crashed rig's at the next start). RIG_LOG=N sets the log level (4: trace). */
#ifndef RECHARGD_FUZZ_RIG_H
#define RECHARGD_FUZZ_RIG_H

#include <event2/event.h>

#include "channels/channels.h"
#include "common/common.h"
#include "db/db.h"
#include "engine/engine.h"
#include "parser/parser.h"

#define RIG_MSISDN "9876543210"
#define RIG_PIN "1234"
#define RIG_APIKEY "rk_FuzzFuzzFuzzFuzzFuzzFuzzFuzzFuzzFuzzFuzzFuz"
#define RIG_CALLBACK_SECRET "cbsecret"

struct rig {
	char dir[64];
	struct config *cfg;
	struct event_base *base;
	struct db *db;
	struct batch *batch;
	struct engine *engine;
	uint8_t pepper[PEPPER_LEN];
	struct sms_channel *sms;           /* rig_sms_new: one per input */
	struct engine_hooks sms_hooks;
	struct api *api;
	struct http_channel *http;
	int64_t retailer_id;
};

/* Everything but the SMS channel (made per input, with its session). Aborts on failure. */
struct rig *rig_open(void);
/* Runs the loop without blocking, turns times. */
void rig_turns(struct rig *r, int turns);
/* Runs one SQL statement on the rig's database (for resets between inputs). */
void rig_sql(struct rig *r, const char *sql);

#endif
