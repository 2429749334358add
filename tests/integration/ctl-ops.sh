#!/usr/bin/env bash
# rechargectl operations (SPEC section 11): retailer disable/enable/set-plan/set-pin/
# set-limit/set-bank, admin remove, wallet debit, operator list/add/set/disable/enable,
# complaint list/close (the note reaches the retailer by SMS through the daemon),
# prune and report daily. Every refusal exits with its documented code and changes
# nothing; the ledger check passes at the end.
. "$(dirname "$0")/../lib.sh"

T_SIM_CONFIG="latency_ms = 0
[provider.slow]
type = sim
pending_pct = 100
pending_settle_ms = 600000"
t_setup ctl-ops
OUT=$T_DIR

# expect NAME WANT ARGS...: rechargectl's exit status; output in $OUT/stdout, $OUT/stderr
expect() {
	local name=$1 want=$2 rc; shift 2
	ctl "$@" >"$OUT/stdout" 2>"$OUT/stderr"; rc=$?
	# a sanitizer build also exits 1 on a report: never let that pass for an expected 1
	if grep -Eq 'Sanitizer|runtime error:' "$OUT/stderr"; then
		not_ok "$name (sanitizer report)"; sed 's/^/#   /' "$OUT/stderr"
	elif [ "$rc" -eq "$want" ]; then ok "$name"; else
		not_ok "$name"; echo "#   exit $rc, wanted $want: rechargectl $*"; sed 's/^/#   /' "$OUT/stderr" "$OUT/stdout"
	fi
}
out_has() { grep -Eq -- "$1" "$OUT/stdout"; }
err_has() { grep -Eq -- "$1" "$OUT/stderr"; }
json_ok() { jq -e . "$OUT/stdout" >/dev/null 2>&1; }
# a fingerprint of the money tables and everything these commands edit
fp() {
	local t
	for t in accounts postings ledger_lines txns retailers admins operators operator_aliases \
	    complaints sms_in sms_out audit; do echo "-- $t"; sql "SELECT * FROM $t ORDER BY rowid"; done | md5sum
}
# refuse NAME WANT ARGS...: exits WANT and changes nothing
refuse() {
	local name=$1 before; before=$(fp)
	expect "$@"
	check "$name: nothing changed" test "$before" = "$(fp)"
}
audit_last() { sql "SELECT action || ' ' || subject || ' ' || before || ' -> ' || after FROM audit ORDER BY id DESC LIMIT 1"; }

A=919800000001; B2=919800000002
ctl retailer add $A --name "Ops Shop" --pin 1234 >/dev/null
ctl retailer add $B2 --name "Second Shop" >/dev/null
ctl wallet credit $A 1000 >/dev/null

# ---- retailer disable / enable --------------------------------------------------------
expect "retailer disable" 0 retailer disable 9800000001
check "disabled in the database" test "$(sql "SELECT disabled FROM retailers WHERE msisdn = '$A'")" = 1
check "disable audited" test "$(audit_last)" = "retailer.disable $A disabled=0 -> disabled=1"
expect "retailer show says disabled" 0 retailer show $A
check "show: status disabled" out_has '^status: +disabled'
expect "retailer enable" 0 retailer enable +$A
check "enabled in the database" test "$(sql "SELECT disabled FROM retailers WHERE msisdn = '$A'")" = 0
check "enable audited" test "$(audit_last)" = "retailer.enable $A disabled=1 -> disabled=0"
refuse "disable unknown retailer: exit 1" 1 retailer disable 919811111111
refuse "disable bad msisdn: exit 1" 1 retailer disable 12345
refuse "disable without msisdn: exit 2" 2 retailer disable
refuse "enable with two msisdns: exit 2" 2 retailer enable $A $B2

# ---- set-plan ---------------------------------------------------------------------------
expect "set-plan gold" 0 retailer set-plan $A GOLD
check "plan is gold" test "$(sql "SELECT plan FROM retailers WHERE msisdn = '$A'")" = gold
check "set-plan audited" test "$(audit_last)" = "retailer.set-plan $A plan=starter -> plan=gold"
refuse "set-plan unknown plan: exit 1" 1 retailer set-plan $A diamond
check "unknown plan named" err_has "unknown plan 'diamond'"
refuse "set-plan missing plan: exit 2" 2 retailer set-plan $A

# ---- set-pin ----------------------------------------------------------------------------
sql "UPDATE retailers SET pin_failures = 2 WHERE msisdn = '$A'"
old_hash=$(sql "SELECT pin_hash FROM retailers WHERE msisdn = '$A'")
expect "set-pin" 0 retailer set-pin $A 98765
new_hash=$(sql "SELECT pin_hash FROM retailers WHERE msisdn = '$A'")
check "PIN hash changed, 64 hex" bash -c "[ '$old_hash' != '$new_hash' ] && [[ '$new_hash' =~ ^[0-9a-f]{64}\$ ]]"
check "failures reset" test "$(sql "SELECT pin_failures FROM retailers WHERE msisdn = '$A'")" = 0
check "PIN not in output or audit" bash -c "! grep -q 98765 '$OUT/stdout' && ! sqlite3 '$T_DIR/rechargd.db' 'SELECT * FROM audit' | grep -q -e 98765 -e '$new_hash'"
check "set-pin audited" test "$(audit_last)" = "retailer.set-pin $A pin=yes pin_failures=2 -> pin=set pin_failures=0"
expect "set-pin on a retailer without one" 0 retailer set-pin $B2 4321
check "second retailer has a PIN" test -n "$(sql "SELECT pin_hash FROM retailers WHERE msisdn = '$B2'")"
refuse "set-pin 3 digits: exit 1" 1 retailer set-pin $A 123
refuse "set-pin letters: exit 1" 1 retailer set-pin $A 12ab
refuse "set-pin unknown retailer: exit 1" 1 retailer set-pin 919811111111 1234

# ---- set-limit --------------------------------------------------------------------------
expect "set-limit 500.5" 0 retailer set-limit $A 500.5
check "limit stored in paise" test "$(sql "SELECT daily_limit FROM retailers WHERE msisdn = '$A'")" = 50050
check "set-limit printed" out_has "daily limit 500\.50"
expect "show --json limit" 0 retailer show $A --json
check "json daily_limit 500.50" bash -c "jq -e '.daily_limit == 500.50' '$OUT/stdout' >/dev/null && grep -q '\"daily_limit\": 500.50' '$OUT/stdout'"
expect "set-limit 0 removes it" 0 retailer set-limit $A 0
check "limit removed" test "$(sql "SELECT daily_limit FROM retailers WHERE msisdn = '$A'")" = 0
check "set-limit audited" test "$(audit_last)" = "retailer.set-limit $A daily_limit=500.50 -> daily_limit=none"
refuse "set-limit three decimals: exit 1" 1 retailer set-limit $A 1.005
refuse "set-limit negative: exit 1" 1 retailer set-limit $A -5
refuse "set-limit commas: exit 1" 1 retailer set-limit $A 1,000
refuse "set-limit missing amount: exit 2" 2 retailer set-limit $A

# ---- set-bank ---------------------------------------------------------------------------
expect "set-bank" 0 retailer set-bank $A --account 001234567890 --ifsc sbin0001234
check "bank stored (IFSC upper case)" test "$(sql "SELECT bank_account || ' ' || bank_ifsc FROM retailers WHERE msisdn = '$A'")" = "001234567890 SBIN0001234"
check "set-bank audited" test "$(audit_last)" = "retailer.set-bank $A account= ifsc= -> account=001234567890 ifsc=SBIN0001234"
refuse "IFSC fifth character not 0: exit 1" 1 retailer set-bank $A --account 001234567890 --ifsc SBIN1001234
refuse "IFSC too short: exit 1" 1 retailer set-bank $A --account 001234567890 --ifsc SBIN000123
refuse "IFSC digit in the bank code: exit 1" 1 retailer set-bank $A --account 001234567890 --ifsc SB1N0001234
refuse "account 5 digits: exit 1" 1 retailer set-bank $A --account 12345 --ifsc SBIN0001234
refuse "account 19 digits: exit 1" 1 retailer set-bank $A --account 1234567890123456789 --ifsc SBIN0001234
refuse "account with a letter: exit 1" 1 retailer set-bank $A --account 12345678A --ifsc SBIN0001234
refuse "set-bank without --ifsc: exit 2" 2 retailer set-bank $A --account 001234567890
refuse "set-bank unknown retailer: exit 1" 1 retailer set-bank 919811111111 --account 001234567890 --ifsc SBIN0001234

# ---- admin remove -----------------------------------------------------------------------
ctl admin add 919700000001 --pin 4321 >/dev/null
expect "admin remove" 0 admin remove 09700000001
check "admin row gone" test "$(sql "SELECT count(*) FROM admins WHERE msisdn = '919700000001'")" = 0
check "admin remove audited" test "$(audit_last)" = "admin.remove 919700000001 admin=yes -> admin=no"
refuse "admin remove again: exit 1" 1 admin remove 919700000001
refuse "admin remove bad msisdn: exit 1" 1 admin remove abc
refuse "admin remove no msisdn: exit 2" 2 admin remove

# ---- wallet debit -----------------------------------------------------------------------
expect "wallet debit" 0 wallet debit $A 250.25 --note "cash returned"
check "debit printed" out_has "^debited 250\.25 from $A; balance 749\.75$"
check "wallet balance" test "$(sql "SELECT w.balance FROM retailers r JOIN accounts w ON w.id = r.wallet_account WHERE r.msisdn = '$A'")" = 74975
check "posting: wallet -X, funding +X" test "$(sql "SELECT group_concat(l.account_id || ':' || l.amount, ' ') FROM postings p JOIN ledger_lines l ON l.posting_id = p.id WHERE p.kind = 'debit'")" = "$(sql "SELECT wallet_account FROM retailers WHERE msisdn = '$A'"):-25025 1:25025"
check "debit audited" test "$(audit_last)" = "wallet.debit $A balance=1000.00 -> balance=749.75"
refuse "debit above the balance: exit 1" 1 wallet debit $A 749.76
check "insufficient balance said" err_has "insufficient balance"
refuse "debit an empty wallet: exit 1" 1 wallet debit $B2 1
refuse "debit zero: exit 1" 1 wallet debit $A 0
refuse "debit three decimals: exit 1" 1 wallet debit $A 1.001
refuse "debit unknown retailer: exit 1" 1 wallet debit 919811111111 1
refuse "debit missing amount: exit 2" 2 wallet debit $A
expect "debit the whole balance" 0 wallet debit $A 749.75
check "balance exactly zero" out_has "balance 0\.00$"
ctl wallet credit $A 1000 >/dev/null
expect "check after the retailer commands" 0 check

# ---- operators --------------------------------------------------------------------------
expect "operator list" 0 operator list
check "list: seeded AIRTEL with aliases" out_has '^AIRTEL +MOBILE +10\.00 +10000\.00 +enabled .* AT,RA$'
check "list: TATAPLAY pattern" out_has '^TATAPLAY +DTH +100\.00 +25000\.00 .*\^1\[0-9\]\{9\}\$'
expect "operator list --json" 0 operator list --json
check "json: parses" json_ok
check "json: AIRTEL min 10.00 written as 10.00" grep -q '"min": 10.00' "$OUT/stdout"
check "json: JIO aliases" bash -c "jq -e '.[] | select(.code == \"JIO\") | .aliases == [\"JO\", \"RJ\"]' '$OUT/stdout' >/dev/null"
expect "operator add" 0 operator add bescom --service electricity --min 100 --max 50000 --alias BES --alias=bsc
check "stored upper case" test "$(sql "SELECT code || ' ' || service || ' ' || min_amount || ' ' || max_amount || ' ' || enabled FROM operators WHERE code = 'BESCOM'")" = "BESCOM ELECTRICITY 10000 5000000 1"
check "aliases stored" test "$(sql "SELECT group_concat(alias, ',') FROM (SELECT alias FROM operator_aliases WHERE code = 'BESCOM' ORDER BY alias)")" = "BES,BSC"
check "add audited" bash -c "[[ \"\$(sqlite3 '$T_DIR/rechargd.db' \"SELECT action || ' ' || subject || ' ' || after FROM audit ORDER BY id DESC LIMIT 1\")\" == 'operator.add BESCOM service=ELECTRICITY min=100.00 max=50000.00 '* ]]"
expect "operator add with denominations and pattern" 0 operator add GIFTX --service GIFTCARD --min 100 --max 5000 --denominations 100,500,1000.50 --pattern '^[0-9]{10}$'
check "denominations stored as paise" test "$(sql "SELECT denominations || ' ' || subscriber_pattern FROM operators WHERE code = 'GIFTX'")" = '10000,50000,100050 ^[0-9]{10}$'
expect "operator list --json denominations" 0 operator list --json
check "json: denominations as money" grep -q '"denominations": \[' "$OUT/stdout"
check "json: GIFTX denominations" bash -c "jq -e '.[] | select(.code == \"GIFTX\") | .denominations == [100, 500, 1000.5]' '$OUT/stdout' >/dev/null && grep -q '1000.50' '$OUT/stdout'"
refuse "add existing code: exit 1" 1 operator add AIRTEL --service MOBILE --min 10 --max 100
refuse "add a code that is an alias: exit 1" 1 operator add at --service MOBILE --min 10 --max 100
refuse "add with a taken alias: exit 1" 1 operator add NEWOP --service MOBILE --min 10 --max 100 --alias RJ
refuse "add unknown service: exit 1" 1 operator add NEWOP --service TOLL --min 10 --max 100
refuse "add min above max: exit 1" 1 operator add NEWOP --service MOBILE --min 100 --max 10
refuse "add bad pattern: exit 1" 1 operator add NEWOP --service DTH --min 10 --max 100 --pattern '^[0-9'
check "pattern error names pcre2's reason" err_has "invalid pattern"
refuse "add denomination outside range: exit 1" 1 operator add NEWOP --service MOBILE --min 10 --max 100 --denominations 10,200
refuse "add denomination with 3 decimals: exit 1" 1 operator add NEWOP --service MOBILE --min 10 --max 100 --denominations 10.001
refuse "add bad code: exit 1" 1 operator add 'NEW-OP' --service MOBILE --min 10 --max 100
refuse "add without --max: exit 2" 2 operator add NEWOP --service MOBILE --min 10
refuse "add without code: exit 2" 2 operator add --service MOBILE --min 10 --max 100
expect "operator set by alias" 0 operator set bes --min 50 --denominations 50,100
check "set stored" test "$(sql "SELECT min_amount || ' ' || max_amount || ' ' || denominations FROM operators WHERE code = 'BESCOM'")" = "5000 5000000 5000,10000"
check "set audited" test "$(sql "SELECT action || ' ' || subject FROM audit ORDER BY id DESC LIMIT 1")" = "operator.set BESCOM"
expect "operator set clears denominations" 0 operator set BESCOM --denominations ''
check "denominations cleared" test -z "$(sql "SELECT denominations FROM operators WHERE code = 'BESCOM'")"
expect "operator set pattern" 0 operator set TATAPLAY --pattern '^1[0-9]{9,10}$'
check "pattern stored" test "$(sql "SELECT subscriber_pattern FROM operators WHERE code = 'TATAPLAY'")" = '^1[0-9]{9,10}$'
refuse "set min above max: exit 1" 1 operator set GIFTX --min 6000
refuse "set max below a kept denomination: exit 1" 1 operator set GIFTX --max 600
refuse "set bad pattern: exit 1" 1 operator set GIFTX --pattern '(unclosed'
refuse "set unknown operator: exit 1" 1 operator set NOPE --min 10
refuse "set nothing: exit 2" 2 operator set GIFTX
expect "operator disable" 0 operator disable GIFTX
check "disabled" test "$(sql "SELECT enabled FROM operators WHERE code = 'GIFTX'")" = 0
check "disable audited" test "$(sql "SELECT action FROM audit ORDER BY id DESC LIMIT 1")" = operator.disable
expect "operator list shows disabled" 0 operator list
check "list: GIFTX disabled" out_has '^GIFTX .* disabled '
expect "operator enable" 0 operator enable giftx
check "enabled again" test "$(sql "SELECT enabled FROM operators WHERE code = 'GIFTX'")" = 1
refuse "disable unknown operator: exit 1" 1 operator disable NOPE
refuse "disable without code: exit 2" 2 operator disable
expect "check after the operator commands" 0 check

# ---- complaints, through the daemon and the SMSC simulator --------------------------------
C=919800000003
ctl retailer add $C --name "Third Shop" >/dev/null
ctl wallet credit $C 500 >/dev/null
ctl route set JIO slow >/dev/null
sim_start
rd_start
check "daemon binds" sim "wait_bound 10"
TXN='TXN[0-9]{9,}'
check "RC success" sim "mo $C RC 9876543210 AIRTEL 10" "expect 10 $C ^SUCCESS 9876543210 AIRTEL Rs10\.00 Txn:$TXN"
tid=$(printf 'TXN%09d' "$(sql "SELECT max(id) FROM txns")")
check "CMP registered" sim "mo $C CMP $tid not received yet" "expect 10 $C ^OK.Complaint.[0-9]+.registered.for.$tid\$"
check "RC stays PENDING (slow provider)" sim "mo $C RC 9876543211 JIO 20" "expect 10 $C ^PENDING 9876543211 JIO Rs20\.00 Txn:$TXN"
pending=$(sql "SELECT id FROM txns WHERE state = 'PENDING'")
cid=$(sql "SELECT max(id) FROM complaints")
expect "complaint list" 0 complaint list
check "list: the complaint, open" out_has "^$cid +$C +$tid +open .*not received yet"
expect "complaint list --open --json" 0 complaint list --open --json
check "json: parses, one open" bash -c "jq -e 'length == 1 and .[0].state == \"open\" and .[0].txn == \"$tid\" and .[0].note == null' '$OUT/stdout' >/dev/null"
refuse "close without --note: exit 2" 2 complaint close $cid
refuse "close unknown id: exit 1" 1 complaint close 999999 --note "x"
refuse "close bad id: exit 1" 1 complaint close abc --note "x"
refuse "close with an empty note: exit 1" 1 complaint close $cid --note ""
refuse "close with a note too long: exit 1" 1 complaint close $cid --note "$(printf 'x%.0s' $(seq 1 121))"
refuse "close with a control character: exit 1" 1 complaint close $cid --note "$(printf 'a\tb')"
expect "complaint close" 0 complaint close $cid --note "Recharge credited by the operator, please check"
check "closed with the note" test "$(sql "SELECT state || '|' || note FROM complaints WHERE id = $cid")" = "closed|Recharge credited by the operator, please check"
check "queued to the retailer, TON 1 NPI 1" test "$(sql "SELECT dest_addr || ' ' || dest_ton || ' ' || dest_npi FROM sms_out WHERE text LIKE 'CMP $cid closed:%'")" = "$C 1 1"
check "the retailer receives the note" sim "expect 10 $C ^CMP.$cid.closed:.Recharge.credited.by.the.operator,.please.check\$"
check "close audited" test "$(sql "SELECT action || ' ' || subject FROM audit ORDER BY id DESC LIMIT 1")" = "complaint.close complaint $cid"
refuse "close again: exit 1" 1 complaint close $cid --note "again"
check "already closed said" err_has "already closed"
expect "complaint list --open is empty" 0 complaint list --open --json
check "json: no open complaint" bash -c "jq -e 'length == 0' '$OUT/stdout' >/dev/null"

# ---- report daily -------------------------------------------------------------------------
today=$(TZ=Asia/Kolkata date +%F)
expect "report daily" 0 report daily --date "$today"
check "report: total" out_has "^total: 2 transactions, 30\.00, commission 0\.30$"
check "report: by operator" out_has "^  JIO +1 +20\.00 +0\.00$"
check "report: by provider, pending has sim" out_has "^  (sim|slow) +1 "
check "report: by retailer" out_has "^  $C +2 +30\.00 +0\.30$"
expect "report daily --json" 0 report daily --date "$today" --json
check "json: parses with every group" bash -c "jq -e '.date == \"$today\" and .total.count == 2 and .total.amount == 30 and (.by_state | map(.key) == [\"PENDING\", \"SUCCESS\"]) and (.by_operator | length == 2) and (.by_provider | length >= 1) and (.by_retailer[0].key == \"$C\")' '$OUT/stdout' >/dev/null"
check "json: money with two decimals" grep -q '"amount": 30.00' "$OUT/stdout"
expect "report of an empty day" 0 report daily --date 2001-01-01 --json
check "json: empty day total 0" bash -c "jq -e '.total.count == 0 and .total.amount == 0' '$OUT/stdout' >/dev/null"
refuse "report bad date: exit 1" 1 report daily --date 2024-02-30
refuse "report date format: exit 1" 1 report daily --date 01-02-2024
refuse "report without --date: exit 2" 2 report daily

# ---- prune --------------------------------------------------------------------------------
money() { for t in accounts postings ledger_lines txns; do sql "SELECT * FROM $t ORDER BY rowid"; done | md5sum; }
m_before=$(money)
n_in=$(sql "SELECT count(*) FROM sms_in"); n_out=$(sql "SELECT count(*) FROM sms_out")
expect "prune before an old date" 0 prune --before 2001-01-01
check "prune: nothing that old" out_has "^pruned 0 sms_in and 0 sms_out rows"
check "prune: default archive next to the database" out_has "^archived to $T_DIR/sms-archive-2001-01-01\.csv$"
check "prune: empty archive created 0600" test "$(stat -c '%a %s' "$T_DIR/sms-archive-2001-01-01.csv")" = "600 0"
tomorrow=$(TZ=Asia/Kolkata date -d tomorrow +%F)
sql "UPDATE sms_out SET state = 'queued' WHERE id = (SELECT min(id) FROM sms_out WHERE txn_id IS NULL OR txn_id <> $pending)" 2>/dev/null
# a text CSV must quote: comma, quote, line break, non-ASCII (and a PIN, hence 0600)
weird=$'PIN 1234, "quoted"\nline two \u20b9 \u00fc'
sql "INSERT INTO sms_in (source_addr, source_ton, source_npi, dest_addr, data_coding, text, received_at, processed_at) VALUES ('$A', 1, 1, '5676', 8, '$weird', 1000, 2000)"
sql "INSERT INTO sms_out (dest_addr, dest_ton, dest_npi, text, state, last_error, created_at) VALUES ('$A', 1, 1, '$weird', 'failed', '', 1000)"
refuse "prune with the archive in a missing directory: exit 1" 1 prune --before "$tomorrow" --archive "$T_DIR/no-such-dir/a.csv"
check "prune: unwritable archive named, nothing pruned" err_has "no-such-dir/a\.csv: .*nothing pruned"
# every SMS row as it is before the prune, to compare the archive with
snap() {
	python3 - "$T_DIR/rechargd.db" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=5)
out = {}
for t in ("sms_in", "sms_out"):
    cur = db.execute("SELECT * FROM " + t)
    cols = [d[0] for d in cur.description]
    out[t] = {"cols": cols, "rows": {str(r[0]): ["" if v is None else str(v) for v in r] for r in cur}}
print(json.dumps(out))
PY
}
snap >"$T_DIR/sms-before.json"
archive="$T_DIR/sms-archive-$tomorrow.csv"
expect "prune before tomorrow" 0 prune --before "$tomorrow"
check "prune: counts printed" out_has "^pruned [1-9][0-9]* sms_in and [1-9][0-9]* sms_out rows from before $tomorrow$"
check "prune: archive path printed" out_has "^archived to $archive$"
check "prune: archive is 0600" test "$(stat -c %a "$archive")" = 600
p_in=$(sed -n 's/^pruned \([0-9]*\) sms_in and \([0-9]*\) sms_out.*/\1/p' "$OUT/stdout")
p_out=$(sed -n 's/^pruned \([0-9]*\) sms_in and \([0-9]*\) sms_out.*/\2/p' "$OUT/stdout")
snap >"$T_DIR/sms-after.json"
# archive_ok FILE N_IN N_OUT: exactly the removed rows, every column as it was
archive_ok() {
	python3 - "$1" "$2" "$3" "$T_DIR/sms-before.json" "$T_DIR/sms-after.json" "$weird" <<'PY'
import csv, json, sys
path, n_in, n_out, before, after, weird = sys.argv[1:]
before, after = json.load(open(before)), json.load(open(after))
rows, header, bad = {"sms_in": [], "sms_out": []}, None, []
with open(path, newline="", encoding="utf-8") as f:
    for r in csv.reader(f):
        if r[0] == "table":
            header = r
            continue
        if header is None or len(r) != len(header) or r[0] not in rows:
            bad.append("malformed row %r" % r)
            continue
        t = r[0]
        if header[1:] != before[t]["cols"]:
            bad.append("%s header %r" % (t, header))
        rows[t].append(r[1:])
for t, n in (("sms_in", int(n_in)), ("sms_out", int(n_out))):
    if len(rows[t]) != n:
        bad.append("%s: %d rows archived, %d pruned" % (t, len(rows[t]), n))
    ids = [r[0] for r in rows[t]]
    if len(set(ids)) != len(ids):
        bad.append("%s: an id twice" % t)
    for r in rows[t]:
        if r != before[t]["rows"].get(r[0]):
            bad.append("%s %s differs: %r" % (t, r[0], r))
        if r[0] in after[t]["rows"]:
            bad.append("%s %s archived but still there" % (t, r[0]))
    gone = set(before[t]["rows"]) - set(after[t]["rows"])
    if gone != set(ids):
        bad.append("%s: removed %s, archived %s" % (t, sorted(gone), sorted(ids)))
    if sum(1 for r in rows[t] if weird in r) != 1:
        bad.append("%s: the quoted text did not round-trip" % t)
for b in bad:
    print("#   " + b)
sys.exit(1 if bad else 0)
PY
}
check "prune: archive holds exactly the removed rows, every column" archive_ok "$archive" "$p_in" "$p_out"
check "prune: archive quotes the text" grep -q '^sms_in,.*"PIN 1234, ""quoted""$' "$archive"
check "prune: the PENDING transaction's SMS rows kept" test "$(sql "SELECT (SELECT count(*) FROM sms_in WHERE txn_id = $pending) || ' ' || (SELECT count(*) > 0 FROM sms_out WHERE txn_id = $pending)")" = "1 1"
check "prune: queued reply kept" test "$(sql "SELECT count(*) FROM sms_out WHERE state = 'queued'")" -ge 1
check "prune: fewer rows" test "$(sql "SELECT count(*) FROM sms_in")" -lt "$n_in"
check "prune: ledger and transactions untouched" test "$m_before" = "$(money)"
check "prune audited" test "$(sql "SELECT action || ' ' || subject FROM audit ORDER BY id DESC LIMIT 1")" = "prune $tomorrow"
size=$(stat -c %s "$archive")
expect "prune again into the same archive" 0 prune --before "$tomorrow" --archive "$archive"
check "prune again: nothing left, archive unchanged" bash -c "grep -q '^pruned 0 sms_in and 0 sms_out' '$OUT/stdout' && [ \$(stat -c %s '$archive') = $size ]"
refuse "prune bad date: exit 1" 1 prune --before 2024-13-01
refuse "prune without --before: exit 2" 2 prune
rd_stop
expect "check at the end" 0 check

t_done
