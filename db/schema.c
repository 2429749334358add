/* db/schema.c: the schema as numbered migrations. PRAGMA user_version is the number
 * applied; each step runs in one transaction, so an upgrade is all or nothing. */
#include <stdio.h>
#include <stdlib.h>

#include "db/internal.h"

static const char *const db_migrations[] = {
	/* 1: the foundation */
	"CREATE TABLE plans (name TEXT PRIMARY KEY, services TEXT NOT NULL);"
	"CREATE TABLE operators ("
	"  code TEXT PRIMARY KEY, service TEXT NOT NULL,"
	"  min_amount INTEGER NOT NULL CHECK (min_amount > 0),"
	"  max_amount INTEGER NOT NULL CHECK (max_amount >= min_amount),"
	"  denominations TEXT NOT NULL DEFAULT '', subscriber_pattern TEXT NOT NULL DEFAULT '',"
	"  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)));"
	"CREATE TABLE operator_aliases (alias TEXT PRIMARY KEY, code TEXT NOT NULL REFERENCES operators(code));"
	"CREATE TABLE circles (code TEXT PRIMARY KEY, name TEXT NOT NULL);"
	"CREATE TABLE commissions ("
	"  plan TEXT NOT NULL REFERENCES plans(name), operator TEXT NOT NULL REFERENCES operators(code),"
	"  rate_bp INTEGER NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000), PRIMARY KEY (plan, operator));"
	"CREATE TABLE number_series (prefix TEXT PRIMARY KEY, operator TEXT NOT NULL, circle TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE routes (operator TEXT PRIMARY KEY REFERENCES operators(code), providers TEXT NOT NULL);"
	"CREATE TABLE accounts ("
	"  id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('wallet', 'commission', 'system')),"
	"  name TEXT NOT NULL UNIQUE, balance INTEGER NOT NULL DEFAULT 0,"
	"  CHECK (kind <> 'wallet' OR balance >= 0));"
	"CREATE TABLE retailers ("
	"  id INTEGER PRIMARY KEY, msisdn TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
	"  plan TEXT NOT NULL REFERENCES plans(name),"
	"  wallet_account INTEGER NOT NULL UNIQUE REFERENCES accounts(id),"
	"  commission_account INTEGER NOT NULL UNIQUE REFERENCES accounts(id),"
	"  pin_hash TEXT NOT NULL DEFAULT '', pin_failures INTEGER NOT NULL DEFAULT 0,"
	"  locked INTEGER NOT NULL DEFAULT 0, blocked INTEGER NOT NULL DEFAULT 0,"
	"  disabled INTEGER NOT NULL DEFAULT 0, daily_limit INTEGER NOT NULL DEFAULT 0 CHECK (daily_limit >= 0),"
	"  bank_account TEXT NOT NULL DEFAULT '', bank_ifsc TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE admins ("
	"  id INTEGER PRIMARY KEY, msisdn TEXT NOT NULL UNIQUE, pin_hash TEXT NOT NULL,"
	"  pin_failures INTEGER NOT NULL DEFAULT 0, locked INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE txns ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  retailer_id INTEGER NOT NULL REFERENCES retailers(id),"
	"  channel TEXT NOT NULL CHECK (channel IN ('sms', 'api')),"
	"  request_id TEXT, service TEXT NOT NULL, operator TEXT NOT NULL REFERENCES operators(code),"
	"  target TEXT NOT NULL, circle TEXT NOT NULL DEFAULT '',"
	"  amount INTEGER NOT NULL CHECK (amount > 0),"
	"  commission INTEGER NOT NULL DEFAULT 0 CHECK (commission >= 0 AND commission <= amount),"
	"  state TEXT NOT NULL CHECK (state IN ('PENDING', 'SUCCESS', 'FAILED', 'REVERSED')),"
	"  error_code INTEGER NOT NULL DEFAULT 0, provider TEXT NOT NULL DEFAULT '',"
	"  operator_ref TEXT NOT NULL DEFAULT '',"
	"  reply_to TEXT NOT NULL DEFAULT '', reply_ton INTEGER NOT NULL DEFAULT 0,"
	"  reply_npi INTEGER NOT NULL DEFAULT 0, notified TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, final_at INTEGER,"
	"  UNIQUE (retailer_id, request_id),"
	"  CHECK (state <> 'SUCCESS' OR provider <> ''));"
	"CREATE INDEX txns_retailer ON txns (retailer_id, id);"
	"CREATE INDEX txns_duplicate ON txns (retailer_id, target, operator, amount);"
	"CREATE INDEX txns_pending ON txns (state) WHERE state = 'PENDING';"
	"CREATE TABLE postings ("
	"  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, txn_id INTEGER REFERENCES txns(id),"
	"  actor TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL);"
	"CREATE INDEX postings_txn ON postings (txn_id);"
	"CREATE TABLE ledger_lines ("
	"  posting_id INTEGER NOT NULL REFERENCES postings(id),"
	"  account_id INTEGER NOT NULL REFERENCES accounts(id), amount INTEGER NOT NULL);"
	"CREATE INDEX ledger_lines_posting ON ledger_lines (posting_id);"
	"CREATE INDEX ledger_lines_account ON ledger_lines (account_id);"
	"CREATE TABLE sms_in ("
	"  id INTEGER PRIMARY KEY, source_addr TEXT NOT NULL, source_ton INTEGER NOT NULL,"
	"  source_npi INTEGER NOT NULL, dest_addr TEXT NOT NULL, data_coding INTEGER NOT NULL,"
	"  text TEXT NOT NULL, received_at INTEGER NOT NULL, processed_at INTEGER,"
	"  txn_id INTEGER REFERENCES txns(id));"
	"CREATE INDEX sms_in_pending ON sms_in (id) WHERE processed_at IS NULL;"
	"CREATE TABLE sms_out ("
	"  id INTEGER PRIMARY KEY, dest_addr TEXT NOT NULL, dest_ton INTEGER NOT NULL,"
	"  dest_npi INTEGER NOT NULL, text TEXT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),"
	"  attempts INTEGER NOT NULL DEFAULT 0, message_id TEXT, last_error TEXT,"
	"  sms_in_id INTEGER REFERENCES sms_in(id), txn_id INTEGER REFERENCES txns(id),"
	"  created_at INTEGER NOT NULL, sent_at INTEGER, dlr_state TEXT);"
	"CREATE INDEX sms_out_queued ON sms_out (id) WHERE state = 'queued';"
	"CREATE INDEX sms_out_message ON sms_out (message_id);"
	"CREATE TABLE unregistered_replies (msisdn TEXT PRIMARY KEY, day TEXT NOT NULL);"
	"CREATE TABLE complaints ("
	"  id INTEGER PRIMARY KEY, retailer_id INTEGER NOT NULL REFERENCES retailers(id),"
	"  txn_id INTEGER NOT NULL REFERENCES txns(id), text TEXT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),"
	"  note TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL, closed_at INTEGER);"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,"
	"  subject TEXT NOT NULL DEFAULT '', before TEXT NOT NULL DEFAULT '', after TEXT NOT NULL DEFAULT '');"
	/* seed: system accounts */
	"INSERT INTO accounts (id, kind, name) VALUES (1, 'system', 'funding'), (2, 'system', 'in_flight'),"
	"  (3, 'system', 'provider'), (4, 'system', 'commission_expense');"
	/* seed: plans, operators, aliases, circles, commissions (SPEC section 4) */
	"INSERT INTO plans VALUES ('starter', 'MOBILE,DTH,POSTPAID'),"
	"  ('gold', 'MOBILE,DTH,POSTPAID,ELECTRICITY,GIFTCARD'),"
	"  ('platinum', 'MOBILE,DTH,POSTPAID,ELECTRICITY,GIFTCARD,FASTAG');"
	"INSERT INTO operators (code, service, min_amount, max_amount, subscriber_pattern) VALUES"
	"  ('AIRTEL', 'MOBILE', 1000, 1000000, ''), ('JIO', 'MOBILE', 1000, 1000000, ''),"
	"  ('VI', 'MOBILE', 1000, 1000000, ''), ('BSNL', 'MOBILE', 1000, 1000000, ''),"
	"  ('MTNL', 'MOBILE', 1000, 1000000, ''),"
	"  ('TATAPLAY', 'DTH', 10000, 2500000, '^1[0-9]{9}$'),"
	"  ('DISHTV', 'DTH', 10000, 2500000, '^(0[0-9]{10}|[6-9][0-9]{9})$'),"
	"  ('AIRTELDTH', 'DTH', 10000, 2500000, '^3[0-9]{9}$'),"
	"  ('SUNDIRECT', 'DTH', 10000, 2500000, '^[0-9]{11}$'),"
	"  ('D2H', 'DTH', 10000, 2500000, '^[0-9]{10,12}$');"
	"INSERT INTO operator_aliases VALUES ('AT', 'AIRTEL'), ('RA', 'AIRTEL'), ('RJ', 'JIO'), ('JO', 'JIO'),"
	"  ('VODAFONE', 'VI'), ('IDEA', 'VI'), ('RV', 'VI'), ('VF', 'VI'), ('TB', 'BSNL'), ('BS', 'BSNL'),"
	"  ('CG', 'BSNL'), ('DP', 'MTNL'), ('DT', 'TATAPLAY'), ('TATASKY', 'TATAPLAY'), ('DD', 'DISHTV'),"
	"  ('DA', 'AIRTELDTH'), ('DS', 'SUNDIRECT'), ('DV', 'D2H');"
	"INSERT INTO circles VALUES ('AP', 'Andhra Pradesh'), ('AS', 'Assam'), ('BR', 'Bihar'),"
	"  ('CH', 'Chennai'), ('DL', 'Delhi'), ('GJ', 'Gujarat'), ('HP', 'Himachal Pradesh'),"
	"  ('HR', 'Haryana'), ('JK', 'Jammu and Kashmir'), ('KA', 'Karnataka'), ('KL', 'Kerala'),"
	"  ('KO', 'Kolkata'), ('MH', 'Maharashtra'), ('MP', 'Madhya Pradesh'), ('MU', 'Mumbai'),"
	"  ('NE', 'North East'), ('OR', 'Odisha'), ('PB', 'Punjab'), ('RJ', 'Rajasthan'),"
	"  ('TN', 'Tamil Nadu'), ('UE', 'Uttar Pradesh East'), ('UW', 'Uttar Pradesh West'),"
	"  ('WB', 'West Bengal');"
	"INSERT INTO commissions (plan, operator, rate_bp)"
	"  SELECT p.name, o.code, CASE p.name WHEN 'starter' THEN 300 WHEN 'gold' THEN 400 ELSE 500 END"
	"    + CASE o.service WHEN 'DTH' THEN 100 ELSE 0 END"
	"  FROM plans p, operators o;",
	/* 2: parts of long MOs, stored before each part is answered */
	"CREATE TABLE sms_parts ("
	"  source_addr TEXT NOT NULL, ref INTEGER NOT NULL, total INTEGER NOT NULL,"
	"  seq INTEGER NOT NULL CHECK (seq BETWEEN 1 AND total), data_coding INTEGER NOT NULL,"
	"  body BLOB NOT NULL, received_at INTEGER NOT NULL,"
	"  PRIMARY KEY (source_addr, ref, total, seq));"
	"CREATE INDEX sms_parts_age ON sms_parts (received_at);",
	/* 3: provider health for rechargectl provider list; alerts sent once */
	"CREATE TABLE provider_state ("
	"  name TEXT PRIMARY KEY, failures INTEGER NOT NULL DEFAULT 0,"
	"  breaker_open_until INTEGER NOT NULL DEFAULT 0, last_ok_at INTEGER, last_error TEXT,"
	"  balance INTEGER, balance_at INTEGER, low_balance_alerted INTEGER NOT NULL DEFAULT 0,"
	"  updated_at INTEGER NOT NULL);"
	"ALTER TABLE txns ADD COLUMN stuck_alerted INTEGER NOT NULL DEFAULT 0;",
	/* 4: API keys, stored only as SHA-256 hashes (the key is shown once) */
	"CREATE TABLE api_keys ("
	"  id INTEGER PRIMARY KEY, retailer_id INTEGER NOT NULL REFERENCES retailers(id),"
	"  prefix TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, allow_ips TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL, revoked_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX api_keys_retailer ON api_keys (retailer_id);",
	/* 5: commission settlement (SPEC 5). The two system accounts are found by name: by
	 * now retailers' accounts may hold any fixed id. A posting is settled at most once
	 * (settlement_items' primary key); one run per IST date, one batch per retailer. */
	"INSERT INTO accounts (kind, name) VALUES ('system', 'payout'), ('system', 'tds');"
	"CREATE TABLE settlement_runs ("
	"  date TEXT PRIMARY KEY, actor TEXT NOT NULL, batches INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE settlement_batches ("
	"  id INTEGER PRIMARY KEY, date TEXT NOT NULL REFERENCES settlement_runs(date),"
	"  retailer_id INTEGER NOT NULL REFERENCES retailers(id),"
	"  count INTEGER NOT NULL CHECK (count > 0), gross INTEGER NOT NULL,"
	"  tds INTEGER NOT NULL CHECK (tds >= 0), net INTEGER NOT NULL CHECK (net >= 0),"
	"  carried_from INTEGER UNIQUE REFERENCES settlement_batches(id),"
	"  created_at INTEGER NOT NULL, posting_id INTEGER UNIQUE REFERENCES postings(id),"
	"  UNIQUE (date, retailer_id),"
	"  CHECK ((gross > 0 AND posting_id IS NOT NULL AND net + tds = gross)"
	"    OR (gross <= 0 AND posting_id IS NULL AND tds = 0 AND net = 0)));"
	"CREATE INDEX settlement_batches_retailer ON settlement_batches (retailer_id, id);"
	"CREATE TABLE settlement_items ("
	"  posting_id INTEGER PRIMARY KEY REFERENCES postings(id),"
	"  batch_id INTEGER NOT NULL REFERENCES settlement_batches(id));"
	"CREATE INDEX settlement_items_batch ON settlement_items (batch_id);"
	"CREATE INDEX postings_kind ON postings (kind);",
	/* 6: the daily limit reads only the day's transactions of one retailer (issue 7):
	 * created_at never changes, so the index costs one entry per recharge */
	"CREATE INDEX txns_retailer_day ON txns (retailer_id, created_at);",
	/* 7: two outbox lanes (issue 7): 0 answers to an MO just received, served first;
	 * 1 bulk notifications (results, alerts). Rows queued before keep lane 1. The
	 * second index finds a recipient's queued bulk rows (an answer then waits behind
	 * them, so one conversation keeps its order). */
	"ALTER TABLE sms_out ADD COLUMN lane INTEGER NOT NULL DEFAULT 1 CHECK (lane IN (0, 1));"
	"DROP INDEX sms_out_queued;"
	"CREATE INDEX sms_out_queued ON sms_out (lane, id) WHERE state = 'queued';"
	"CREATE INDEX sms_out_queued_dest ON sms_out (dest_addr, lane) WHERE state = 'queued';",
	/* 8: a retailer's latest transactions come from txns_retailer_day, newest created
	 * first (issue 7): one index fewer to update per recharge, each of which dirtied its
	 * own page per retailer in every group commit (about 4% of the CPU per SMS). */
	"DROP INDEX txns_retailer;",
	/* 9: ledger lines by account only for postings without a transaction (credits,
	 * debits, settlement payouts); a recharge's lines carry their transaction and are
	 * found through it (issue 7). Each line of a recharge landed on its account's own
	 * leaf of ledger_lines_account: two per retailer in every group commit, ~20% of the
	 * daemon's CPU per SMS recharge with 200 retailers. Lines written before keep
	 * txn_id NULL and stay in the index. */
	"ALTER TABLE ledger_lines ADD COLUMN txn_id INTEGER;"
	"DROP INDEX ledger_lines_account;"
	"CREATE INDEX ledger_lines_account ON ledger_lines (account_id) WHERE txn_id IS NULL;",
	/* 10: a keyed fingerprint of each MO as received (channels/redelivery.c): after a
	 * restart, the SMSC's second delivery of an MO the last process answered is
	 * recognised by it. SipHash under a key from the pepper, so the column cannot test
	 * PIN guesses; NULL for rows before it. */
	"ALTER TABLE sms_in ADD COLUMN fp INTEGER;",
};
#define DB_NMIGRATIONS ((int)(sizeof db_migrations / sizeof db_migrations[0]))

/* Applies every migration above user_version, each in its own transaction. */
int
db_migrate(struct db *db, char **cause)
{
	int v = db_schema_version(db);

	if (v < 0)
		return -1;
	if (v > DB_NMIGRATIONS) {
		if (asprintf(cause, "database schema version %d is newer than this program (%d)",
		    v, DB_NMIGRATIONS) < 0)
			*cause = NULL;
		return -1;
	}
	for (; v < DB_NMIGRATIONS; v++) {
		char *err = NULL, pragma[48];
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
		if (sqlite3_exec(db->sql, "BEGIN IMMEDIATE", NULL, NULL, &err) != SQLITE_OK ||
		    sqlite3_exec(db->sql, db_migrations[v], NULL, NULL, &err) != SQLITE_OK ||
		    sqlite3_exec(db->sql, pragma, NULL, NULL, &err) != SQLITE_OK ||
		    sqlite3_exec(db->sql, "COMMIT", NULL, NULL, &err) != SQLITE_OK) {
			if (asprintf(cause, "migration %d: %s", v + 1, err ? err : "failed") < 0)
				*cause = NULL;
			sqlite3_free(err);
			sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		log_info("database migrated to schema version %d", v + 1);
	}
	return 0;
}
