/* engine/retailer.c: what a retailer may do besides recharging: prove who it is
 * (PIN and lockout), change its PIN, look at its transactions. */
#include <string.h>

#include "engine/internal.h"

static int
engine_pin_wellformed(const char *pin)
{
	size_t n = strlen(pin);

	if (n < 4 || n > 6)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (pin[i] < '0' || pin[i] > '9')
			return 0;
	return 1;
}

int
engine_retailer_authorize(struct engine *e, struct db_retailer *r, const char *pin)
{
	struct db *db = batch_db(e->batch);
	int n;

	if (r->locked || r->blocked || r->disabled)
		return ENGINE_E_LOCKED;
	if (r->pin_hash[0] == '\0')
		return ENGINE_OK;     /* a PIN-like token from a retailer without a PIN is ignored */
	if (pin != NULL && pin[0] != '\0' && pin_verify(e->pepper, r->msisdn, pin, r->pin_hash)) {
		if (r->pin_failures > 0 && db_retailer_pin_ok(db, r->id) != 0)
			return ENGINE_E_BUSY;
		r->pin_failures = 0;
		return ENGINE_OK;
	}
	if ((n = db_retailer_pin_failed(db, r->id, ENGINE_PIN_LIMIT)) < 0)
		return ENGINE_E_BUSY;
	r->pin_failures = n;
	if (n >= ENGINE_PIN_LIMIT) {
		r->locked = 1;
		log_warn("retailer %s locked after %d wrong PINs", r->msisdn, n);
		return ENGINE_E_LOCKED;
	}
	return ENGINE_E_PIN;
}

int
engine_pin_change(struct engine *e, struct db_retailer *r, const char *old_pin, const char *new_pin)
{
	struct db *db = batch_db(e->batch);
	char hash[PIN_HASH_BUFSZ];
	int rc;

	if (r->locked || r->blocked || r->disabled)
		return ENGINE_E_LOCKED;
	/* changing a PIN needs the old one; setting the first needs none */
	if (r->pin_hash[0] != '\0' && (rc = engine_retailer_authorize(e, r, old_pin)) != ENGINE_OK)
		return rc;
	if (!engine_pin_wellformed(new_pin))
		return ENGINE_E_PARAM;
	pin_hash(e->pepper, r->msisdn, new_pin, hash);
	if (db_retailer_set_pin(db, r->id, hash) != 0)
		return ENGINE_E_BUSY;
	log_info("retailer %s %s its PIN", r->msisdn, r->pin_hash[0] ? "changed" : "set");
	strlcpy_safe(r->pin_hash, hash, sizeof r->pin_hash);
	return ENGINE_OK;
}

int
engine_txn_lookup(struct engine *e, const struct db_retailer *r, const char *txn_id, struct db_txn *out)
{
	int64_t id = db_txn_parse_id(txn_id);
	int rc;

	if (id <= 0)
		return ENGINE_E_NOT_FOUND;
	rc = db_txn_get(batch_db(e->batch), id, out);
	if (rc < 0)
		return ENGINE_E_BUSY;
	/* another retailer's transaction is answered exactly like a missing one */
	if (rc == 0 || out->retailer_id != r->id)
		return ENGINE_E_NOT_FOUND;
	return ENGINE_OK;
}
