#!/usr/bin/env bash
# rechargectl end to end on a scratch database: init (twice), retailers in every MSISDN
# form, wallet credits, commissions, series import, bad input that must change nothing,
# a database held by another writer, and the ledger check on a sound and a tampered DB.
# Prints "ok NAME" / "not ok NAME" per check; exits non-zero if any failed.
set -u
# the config holds the SMPP password: rechargectl refuses it open to others
umask 077
cd "$(dirname "$0")/../.."
B=${B:-build}
CTL=$PWD/$B/rechargectl
OUT=${TEST_OUT:-tests/out}/ctl
rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
CFG=$OUT/rechargd.ini
DB=$OUT/rechargd.db
PEPPER=$OUT/rechargd.pepper
failed=0

ok() { echo "ok $1"; }
nok() { echo "not ok $1"; failed=1; }
# check NAME COMMAND...: the command's status decides
check() { local name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; fi; }

# run ARGS...: rechargectl with the test config; sets rc, output in $OUT/stdout, stderr
run() { "$CTL" -c "$CFG" "$@" >"$OUT/stdout" 2>"$OUT/stderr"; rc=$?; }
# expect NAME WANT ARGS...: runs and checks the exit status
expect() {
	local name=$1 want=$2; shift 2
	run "$@"
	# a sanitizer build also exits 1 on a report: never let that pass for an expected 1
	if grep -Eq 'Sanitizer|runtime error:' "$OUT/stderr"; then
		nok "$name (sanitizer report)"; sed 's/^/#   /' "$OUT/stderr"
	elif [ "$rc" -eq "$want" ]; then ok "$name"; else
		nok "$name"; echo "#   exit $rc, wanted $want: rechargectl $*"; sed 's/^/#   /' "$OUT/stderr" "$OUT/stdout"
	fi
}
out_has() { grep -q -- "$1" "$OUT/stdout"; }
err_has() { grep -q -- "$1" "$OUT/stderr"; }
sql() { sqlite3 "$DB" "$1"; }
# a fingerprint of every row: "nothing changed" compares two of these
state() { sqlite3 "$DB" .dump | md5sum; }
json_ok() { jq -e . "$OUT/stdout" >/dev/null 2>&1; }

if [ ! -x "$CTL" ]; then nok "rechargectl built ($CTL)"; exit 1; fi

cat >"$CFG" <<'EOF'
[db]
path = rechargd.db

[smpp]
system_id = rechargd
password = secret
source_addr = 56767

[engine]
default_provider = sim

[security]
pepper_file = rechargd.pepper

[provider.sim]
type = sim
EOF

# ---- help and usage -----------------------------------------------------------------
expect "help exits 0" 0 help
check "help lists every command" bash -c "for c in init 'retailer add' 'retailer list' 'retailer show' \
    'retailer unlock' 'admin add' 'wallet credit' 'wallet show' 'commission set' 'commission list' \
    'series import' 'txn list' 'txn show' 'txn resolve' 'txn reverse' 'route set' 'route list' \
    'provider list' check; do grep -q \"\$c\" '$OUT/stdout' || exit 1; done"
"$CTL" --help >"$OUT/stdout" 2>&1; rc=$?
check "--help exits 0" [ "$rc" -eq 0 ]
"$CTL" >/dev/null 2>&1; rc=$?
check "no command: exit 2" [ "$rc" -eq 2 ]
"$CTL" retailer list >/dev/null 2>"$OUT/stderr"; rc=$?
check "no -c FILE: exit 2" [ "$rc" -eq 2 ]
expect "unknown command: exit 2" 2 frobnicate
expect "noun without verb: exit 2" 2 retailer
check "noun without verb: usage lines" err_has "usage:"
expect "command before init: exit 1" 1 retailer list
check "command before init: says run init" err_has "init"

# ---- init, twice --------------------------------------------------------------------
expect "init" 0 init
check "init created the database" [ -f "$DB" ]
check "init created the pepper file" [ -f "$PEPPER" ]
check "pepper file is mode 0600" [ "$(stat -c %a "$PEPPER")" = 600 ]
check "pepper file is 32 bytes" [ "$(stat -c %s "$PEPPER")" = 32 ]
check "init seeded operators" [ "$(sql "SELECT count(*) FROM operators")" = 10 ]
check "init seeded plans" [ "$(sql "SELECT group_concat(name) FROM (SELECT name FROM plans ORDER BY name)")" = "gold,platinum,starter" ]
check "init seeded circles" [ "$(sql "SELECT count(*) FROM circles")" = 23 ]
series=$(sql "SELECT count(*) FROM number_series")
check "init imported the number series ($series prefixes)" [ "$series" -gt 1500 ]
check "series row 9876 is detectable" [ -n "$(sql "SELECT operator FROM number_series WHERE prefix = '9876'")" ]
pepper_sum=$(md5sum <"$PEPPER")
before=$(sqlite3 "$DB" .dump | grep -v '^INSERT INTO audit' | md5sum)
expect "init again" 0 init
check "init again: pepper kept" [ "$(md5sum <"$PEPPER")" = "$pepper_sum" ]
check "init again: series unchanged" [ "$(sql "SELECT count(*) FROM number_series")" = "$series" ]
check "init again: says nothing added" out_has "0 prefixes added"
check "init again: nothing changed but the audit" [ "$(sqlite3 "$DB" .dump | grep -v '^INSERT INTO audit' | md5sum)" = "$before" ]
sql "UPDATE number_series SET operator = 'JIO' WHERE prefix = '9876'"
expect "init a third time" 0 init
check "init keeps an admin's series change" [ "$(sql "SELECT operator FROM number_series WHERE prefix = '9876'")" = JIO ]
expect "init --series missing file: exit 1" 1 init --series "$OUT/nope.csv"

# ---- retailers in every MSISDN form ---------------------------------------------------
expect "retailer add 10 digits" 0 retailer add 9876543210 --name "Ravi Mobile Shop" --pin 1234
expect "retailer add leading 0" 0 retailer add 09876543211 --name "Shop Two" --plan gold
expect "retailer add 91 prefix" 0 retailer add 919876543212 --name "Shop Three" --plan PLATINUM
expect "retailer add +91 prefix" 0 retailer add +919876543213 --name "दुकान चार" --pin=567890
expect "retailer add --name=" 0 retailer add 9876543214 --name="Shop, \"Five\""
check "msisdns stored as 91 + 10 digits" [ "$(sql "SELECT group_concat(msisdn) FROM (SELECT msisdn FROM retailers ORDER BY msisdn)")" = \
    "919876543210,919876543211,919876543212,919876543213,919876543214" ]
check "plan default starter" [ "$(sql "SELECT plan FROM retailers WHERE msisdn = '919876543210'")" = starter ]
check "plan given in capitals stored lowercase" [ "$(sql "SELECT plan FROM retailers WHERE msisdn = '919876543212'")" = platinum ]
expected=$(printf '%s' "919876543210:1234" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(xxd -p -c 64 "$PEPPER")" | awk '{print $NF}')
check "PIN stored as HMAC-SHA256(pepper, msisdn:pin)" [ "$(sql "SELECT pin_hash FROM retailers WHERE msisdn = '919876543210'")" = "$expected" ]
check "no PIN: empty hash" [ -z "$(sql "SELECT pin_hash FROM retailers WHERE msisdn = '919876543211'")" ]
expect "retailer list" 0 retailer list
check "retailer list shows all five" [ "$(grep -c '^9198765432' "$OUT/stdout")" = 5 ]
expect "retailer list --json" 0 retailer list --json
check "retailer list --json is valid JSON" json_ok
check "retailer list --json has five" [ "$(jq length "$OUT/stdout")" = 5 ]
check "retailer list --json escapes names" [ "$(jq -r '.[4].name' "$OUT/stdout")" = 'Shop, "Five"' ]
check "retailer list --json keeps UTF-8 names" [ "$(jq -r '.[3].name' "$OUT/stdout")" = "दुकान चार" ]
expect "retailer show by 0-form" 0 retailer show 09876543210
check "retailer show: has PIN yes" grep -q '^pin: *yes' "$OUT/stdout"
check "retailer show: never the hash" bash -c "! grep -q '$expected' '$OUT/stdout'"
expect "retailer show --json" 0 retailer show +919876543210 --json
check "retailer show --json is valid JSON" json_ok
check "retailer show --json fields" [ "$(jq -c '[.msisdn, .plan, .has_pin, .locked, .blocked, .disabled]' "$OUT/stdout")" = \
    '["919876543210","starter",true,false,false,false]' ]
check "retailer show --json money has two decimals" grep -q '"balance": 0.00' "$OUT/stdout"
check "retailer show --json never the hash" bash -c "! grep -q '$expected' '$OUT/stdout'"

# ---- bad input changes nothing ------------------------------------------------------
before=$(state)
expect "retailer add existing (other form): exit 1" 1 retailer add +919876543210 --name "Again"
check "  says already exists" err_has "already exists"
expect "retailer add unknown plan: exit 1" 1 retailer add 9876543220 --name "X" --plan diamond
check "  says unknown plan" err_has "unknown plan"
expect "retailer add bad msisdn: exit 1" 1 retailer add 12345 --name "X"
expect "retailer add landline-like msisdn: exit 1" 1 retailer add 1234567890 --name "X"
expect "retailer add bad PIN: exit 1" 1 retailer add 9876543220 --name "X" --pin 12ab
expect "retailer add empty name: exit 1" 1 retailer add 9876543220 --name ""
expect "retailer add missing --name: exit 2" 2 retailer add 9876543220
check "  prints a usage line" err_has "usage: rechargectl"
expect "retailer add no args: exit 2" 2 retailer add
expect "retailer add unknown option: exit 2" 2 retailer add 9876543220 --name X --colour red
expect "retailer add extra argument: exit 2" 2 retailer add 9876543220 9876543221 --name X
expect "retailer show unknown: exit 1" 1 retailer show 9000000000
check "  says not found" err_has "retailer 919000000000 not found"
expect "wallet credit unknown retailer: exit 1" 1 wallet credit 9000000000 100
check "  says not found" err_has "not found"
expect "wallet credit 12.345: exit 1" 1 wallet credit 9876543210 12.345
check "  says invalid amount" err_has "invalid amount"
expect "wallet credit 1,000: exit 1" 1 wallet credit 9876543210 1,000
check "  says invalid amount" err_has "invalid amount"
expect "wallet credit 0: exit 1" 1 wallet credit 9876543210 0
expect "wallet credit -5: exit 1" 1 wallet credit 9876543210 -5
expect "wallet credit abc: exit 1" 1 wallet credit 9876543210 abc
expect "wallet credit missing amount: exit 2" 2 wallet credit 9876543210
expect "commission set unknown plan: exit 1" 1 commission set bronze AIRTEL 3
expect "commission set unknown operator: exit 1" 1 commission set starter NOPE 3
expect "commission set 3.333: exit 1" 1 commission set starter AIRTEL 3.333
expect "commission set 101: exit 1" 1 commission set starter AIRTEL 101
expect "commission set missing percent: exit 2" 2 commission set starter AIRTEL
expect "admin add without --pin: exit 2" 2 admin add 9876500000
expect "admin add bad PIN: exit 1" 1 admin add 9876500000 --pin 123
expect "txn show unknown: exit 1" 1 txn show TXN000000042
expect "txn show malformed: exit 1" 1 txn show XYZ
expect "txn list unknown retailer: exit 1" 1 txn list --retailer 9000000000
expect "txn list bad limit: exit 1" 1 txn list --limit 0
check "bad input changed nothing" [ "$(state)" = "$before" ]

# ---- wallets ------------------------------------------------------------------------
expect "wallet credit 1000" 0 wallet credit 9876543210 1000 --note "cash receipt 17"
check "  prints the new balance" out_has "balance 1000.00"
expect "wallet credit 17.94 (+91 form)" 0 wallet credit +919876543210 17.94
check "  prints 1017.94" out_has "balance 1017.94"
expect "wallet credit 0.1 (0 form)" 0 wallet credit 09876543210 0.1
check "  prints 1018.04" out_has "balance 1018.04"
check "wallet balance in paise" [ "$(sql "SELECT a.balance FROM accounts a JOIN retailers r ON r.wallet_account = a.id WHERE r.msisdn = '919876543210'")" = 101804 ]
check "funding account mirrors the credits" [ "$(sql "SELECT balance FROM accounts WHERE id = 1")" = -101804 ]
check "credit postings have two lines each" [ "$(sql "SELECT count(*) FROM ledger_lines l JOIN postings p ON p.id = l.posting_id WHERE p.kind = 'credit'")" = 6 ]
check "credit posting records the actor" [ "$(sql "SELECT actor FROM postings ORDER BY id LIMIT 1")" = "cli:$(id -un)" ]
expect "wallet show" 0 wallet show 9876543210
check "  shows the balance" out_has "1018.04"
check "  shows the note" out_has "cash receipt 17"
expect "wallet show --json" 0 wallet show 9876543210 --json
check "  valid JSON" json_ok
check "  balance written with two decimals" grep -q '"balance": 1018.04' "$OUT/stdout"
check "  no binary-double digits" bash -c "! grep -Eq '[0-9]\.[0-9]{3,}' '$OUT/stdout'"
check "  three entries, newest first" [ "$(jq -c '[.entries[].amount]' "$OUT/stdout")" = '[0.1,17.94,1000]' ]
check "  running balances" [ "$(jq -c '[.entries[].balance]' "$OUT/stdout")" = '[1018.04,1017.94,1000]' ]
expect "retailer show --json after credit" 0 retailer show 9876543210 --json
check "  balance 1018.04" grep -q '"balance": 1018.04' "$OUT/stdout"

# ---- commissions --------------------------------------------------------------------
expect "commission set with alias AT" 0 commission set starter AT 6
check "  resolved to AIRTEL" [ "$(sql "SELECT rate_bp FROM commissions WHERE plan = 'starter' AND operator = 'AIRTEL'")" = 600 ]
expect "commission set lowercase alias, plan in capitals" 0 commission set GOLD vodafone 3.33
check "  stored 333 bp for gold VI" [ "$(sql "SELECT rate_bp FROM commissions WHERE plan = 'gold' AND operator = 'VI'")" = 333 ]
expect "commission list" 0 commission list
check "  shows starter AIRTEL 6.00%" grep -Eq '^starter +AIRTEL +6\.00%' "$OUT/stdout"
expect "commission list --json" 0 commission list --json
check "  valid JSON" json_ok
check "  gold VI written as 3.33" grep -q '"percent": 3.33' "$OUT/stdout"
check "  starter AIRTEL written as 6.00" [ "$(jq -r '.[] | select(.plan == "starter" and .operator == "AIRTEL") | .percent' "$OUT/stdout")" = 6 ] 
check "  raw 6.00 in the text" grep -q '"percent": 6.00' "$OUT/stdout"

# ---- unlock and admins -------------------------------------------------------------
sql "UPDATE retailers SET locked = 1, pin_failures = 5 WHERE msisdn = '919876543210'"
expect "retailer show locked" 0 retailer show 9876543210
check "  status locked" grep -q '^status: *locked' "$OUT/stdout"
expect "retailer unlock" 0 retailer unlock 9876543210
check "  lock and failures cleared" [ "$(sql "SELECT locked || '/' || pin_failures FROM retailers WHERE msisdn = '919876543210'")" = "0/0" ]
expect "retailer unlock unknown: exit 1" 1 retailer unlock 9000000000
expect "admin add" 0 admin add +919812345678 --pin 4321
check "  admin stored with a PIN hash" [ "$(sql "SELECT length(pin_hash) FROM admins WHERE msisdn = '919812345678'")" = 64 ]
expect "admin add again: exit 1" 1 admin add 9812345678 --pin 4321

# ---- transactions -----------------------------------------------------------------
expect "txn list on an empty db" 0 txn list
check "  header only" [ "$(wc -l <"$OUT/stdout")" = 1 ]
expect "txn list --json on an empty db" 0 txn list --json
check "  is []" [ "$(jq -c . "$OUT/stdout")" = "[]" ]
expect "txn list --retailer --limit" 0 txn list --retailer 9876543210 --limit 5

# A PENDING recharge written the way the engine writes one (txn, hold posting, balances),
# so list and show have something to show and check still holds.
now=$(($(date +%s) * 1000))
sql "BEGIN;
INSERT INTO txns (id, retailer_id, channel, service, operator, target, circle, amount, state, created_at, updated_at)
  SELECT 7, id, 'sms', 'MOBILE', 'AIRTEL', '9812345678', 'DL', 29900, 'PENDING', $now, $now FROM retailers WHERE msisdn = '919876543210';
INSERT INTO postings (id, kind, txn_id, actor, created_at) VALUES (1000, 'hold', 7, 'engine', $now);
INSERT INTO ledger_lines (posting_id, account_id, amount) SELECT 1000, wallet_account, -29900 FROM retailers WHERE msisdn = '919876543210';
INSERT INTO ledger_lines (posting_id, account_id, amount) VALUES (1000, 2, 29900);
UPDATE accounts SET balance = balance - 29900 WHERE id = (SELECT wallet_account FROM retailers WHERE msisdn = '919876543210');
UPDATE accounts SET balance = balance + 29900 WHERE id = 2;
COMMIT;"
expect "txn list" 0 txn list
check "  shows TXN000000007" grep -Eq '^TXN000000007 .* 919876543210 +AIRTEL +9812345678 +299\.00 PENDING' "$OUT/stdout"
expect "txn list --retailer other" 0 txn list --retailer 9876543211
check "  none for another retailer" [ "$(wc -l <"$OUT/stdout")" = 1 ]
expect "txn list --json" 0 txn list --json --retailer 09876543210
check "  valid JSON" json_ok
check "  amount 299.00 raw" grep -q '"amount": 299.00' "$OUT/stdout"
check "  id TXN000000007" [ "$(jq -r '.[0].txn' "$OUT/stdout")" = TXN000000007 ]
expect "txn show TXN000000007" 0 txn show TXN000000007
check "  shows the hold lines" bash -c "grep -q 'hold' '$OUT/stdout' && grep -q 'in_flight' '$OUT/stdout'"
expect "txn show by number" 0 txn show 7 --json
check "  valid JSON" json_ok
check "  state and ledger" [ "$(jq -c '[.state, .retailer, [.ledger[].amount]]' "$OUT/stdout")" = '["PENDING","919876543210",[-299,299]]' ]
expect "wallet show after the hold" 0 wallet show 9876543210 --json
check "  balance 719.04 and the hold's txn" [ "$(jq -c '[.balance, .entries[0].txn, .entries[0].amount]' "$OUT/stdout")" = '[719.04,"TXN000000007",-299]' ]

# ---- series import ----------------------------------------------------------------
cat >"$OUT/series.csv" <<'EOF'
prefix,operator,circle
7000,AT,dl
7001,JIO,MH
1234,JIO,MH
7002,NOPE,MH
7003,TATAPLAY,MH
7004,VI,ZZ
7005,BSNL,
7000,VI,KA
7006,VI
EOF
bad_rows() { sql "SELECT group_concat(prefix || operator || circle) FROM (SELECT * FROM number_series WHERE prefix IN ('1234','7002','7003','7004','7006') ORDER BY prefix)"; }
bad_before=$(bad_rows)
expect "series import with bad rows: exit 1" 1 series import "$OUT/series.csv"
for l in 4 5 6 7 9 10; do check "  reports line $l" err_has "series.csv:$l:"; done
check "  good rows imported" [ "$(sql "SELECT group_concat(prefix || operator || circle) FROM (SELECT * FROM number_series WHERE prefix IN ('7000','7001','7005') ORDER BY prefix)")" = \
    "7000AIRTELDL,7001JIOMH,7005BSNL" ]
check "  bad rows not imported" [ "$(bad_rows)" = "$bad_before" ]
printf 'prefix,operator,circle\r\n7100,RJ,KA\r\n' >"$OUT/good.csv"
expect "series import CRLF file" 0 series import "$OUT/good.csv"
check "  imported" [ "$(sql "SELECT operator || circle FROM number_series WHERE prefix = '7100'")" = JIOKA ]
printf '7200,JIO,KA\n' >"$OUT/nohead.csv"
expect "series import without header: exit 1" 1 series import "$OUT/nohead.csv"
check "  nothing imported" [ "$(sql "SELECT count(*) FROM number_series WHERE prefix = '7200'")" = 0 ]
expect "series import missing file: exit 1" 1 series import "$OUT/missing.csv"

# ---- audit --------------------------------------------------------------------------
check "every write audited" [ "$(sql "SELECT count(*) FROM audit WHERE action IN ('retailer.add','wallet.credit','commission.set','retailer.unlock','admin.add','series.import')")" = 14 ]
check "audit actor is cli:<user>" [ "$(sql "SELECT DISTINCT actor FROM audit")" = "cli:$(id -un)" ]
check "credit audited with before and after" [ "$(sql "SELECT before || ' -> ' || after FROM audit WHERE action = 'wallet.credit' ORDER BY id LIMIT 1")" = \
    "balance=0.00 -> balance=1000.00" ]
expect "audit list --json" 0 audit list --json
check "  valid JSON" json_ok

# ---- a busy database: another writer holds the lock for a while --------------------
(echo "BEGIN IMMEDIATE; UPDATE retailers SET name = name;"; sleep 1.2; echo "COMMIT;") | sqlite3 "$DB" &
holder=$!
sleep 0.3
expect "wallet credit waits for a busy database" 0 wallet credit 9876543211 50
wait "$holder"
check "  credited once" [ "$(sql "SELECT a.balance FROM accounts a JOIN retailers r ON r.wallet_account = a.id WHERE r.msisdn = '919876543211'")" = 5000 ]

# ---- the ledger check ---------------------------------------------------------------
expect "check on a sound database" 0 check
check "  prints ok" out_has "ok: all ledger invariants hold"
cp "$DB" "$OUT/sound.db"
sql "UPDATE accounts SET balance = balance + 1 WHERE kind = 'wallet'"
expect "check on a tampered database: exit 1" 1 check
check "  names the violations" out_has "violation:"
check "  no ok line" bash -c "! grep -q '^ok:' '$OUT/stdout'"

exit $failed
