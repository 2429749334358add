#!/usr/bin/env bash
# rechargectl route, provider and txn resolve/reverse against the running daemon: routes
# changed while it runs apply to the next recharge; provider health as the daemon
# recorded it; PENDING recharges (a sim provider that answers pending and settles an hour
# later) resolved by hand, a SUCCESS reversed, each time the retailer's SMS through the
# SMSC simulator, the wallet, the audit and `rechargectl check`; bad input changes nothing.
. "$(dirname "$0")/../lib.sh"

T_SIM_CONFIG="latency_ms = 0
[provider.hold]
type = sim
latency_ms = 0
pending_pct = 100
pending_settle_ms = 3600000
[provider.slow]
type = sim
latency_ms = 0
pending_pct = 100
pending_settle_ms = 3000
[provider.fail]
type = sim
latency_ms = 0
success_pct = 0
[provider.down]
type = sim
down_pct = 100
[provider.spare]
type = sim
[provider.bal]
type = sim
[engine]
breaker_failures = 2
breaker_cooldown_s = 600"
t_setup ctl-txn

# run ARGS...: rechargectl; sets rc, output in $T_DIR/stdout and stderr
run() { ctl "$@" >"$T_DIR/stdout" 2>"$T_DIR/stderr"; rc=$?; }
# expect NAME WANT ARGS...: runs and checks the exit status (a sanitizer report never passes)
expect() {
	local name=$1 want=$2; shift 2
	run "$@"
	if grep -Eq 'Sanitizer|runtime error:' "$T_DIR/stderr"; then
		not_ok "$name (sanitizer report)"; sed 's/^/#   /' "$T_DIR/stderr"
	elif [ "$rc" -eq "$want" ]; then ok "$name"; else
		not_ok "$name"; echo "#   exit $rc, wanted $want: rechargectl $*"; sed 's/^/#   /' "$T_DIR/stderr" "$T_DIR/stdout"
	fi
}
out_has() { grep -Eq -- "$1" "$T_DIR/stdout"; }
err_has() { grep -Eq -- "$1" "$T_DIR/stderr"; }
json_ok() { jq -e . "$T_DIR/stdout" >/dev/null 2>&1; }
jqo() { jq -r "$1" "$T_DIR/stdout"; }
# the money-relevant rows: "nothing changed" compares two of these (the daemon keeps
# writing its own bookkeeping meanwhile)
state() { sql "SELECT id, state, error_code, provider, operator_ref, commission, notified FROM txns ORDER BY id;
	SELECT count(*) FROM postings; SELECT count(*) FROM sms_out; SELECT count(*) FROM routes;
	SELECT * FROM routes ORDER BY operator; SELECT count(*) FROM audit" | md5sum; }
txn_of() { printf 'TXN%09d' "$(sql "SELECT max(id) FROM txns WHERE target = '$1'")"; }
wallet() { sql "SELECT balance FROM accounts WHERE name = 'wallet:$1'"; }
commission() { sql "SELECT a.balance FROM accounts a JOIN retailers r ON r.commission_account = a.id WHERE r.msisdn = '$1'"; }

A=919800000011; B2=919800000012
ctl retailer add $A --name "Resolve Shop" >/dev/null
ctl retailer add $B2 --name "Quiet Shop" >/dev/null
ctl wallet credit $A 1000 >/dev/null

# ---- routes, before the daemon runs ------------------------------------------------------
expect "route list" 0 route list
check "  JIO on the default provider" out_has '^JIO +MOBILE +\(default: sim\)$'
check "  every operator listed" test "$(($(wc -l <"$T_DIR/stdout") - 1))" = "$(sql "SELECT count(*) FROM operators")"
expect "route list --json" 0 route list --json
check "  valid JSON" json_ok
check "  JIO: default, [sim]" test "$(jqo '.[] | select(.operator == "JIO") | [.default, .providers] | tostring')" = '[true,["sim"]]'
before=$(state)
expect "route set unknown operator: exit 1" 1 route set NOPE sim
check "  says unknown operator" err_has "unknown operator 'NOPE'"
expect "route set unknown provider: exit 1" 1 route set JIO nosuch
check "  names the provider" err_has "unknown provider 'nosuch'"
expect "route set unknown second provider: exit 1" 1 route set JIO sim,ghost
check "  names it" err_has "unknown provider 'ghost'"
expect "route set provider named twice: exit 1" 1 route set JIO sim,sim
expect "route set empty name: exit 1" 1 route set JIO "sim,,hold"
expect "route set trailing comma: exit 1" 1 route set JIO "sim,"
expect "route set case differs from the section: exit 1" 1 route set JIO SIM
expect "route set missing providers: exit 2" 2 route set JIO
check "  prints a usage line" err_has "usage: rechargectl -c FILE route set"
expect "route set no args: exit 2" 2 route set
expect "route set extra argument: exit 2" 2 route set JIO sim hold
expect "route list extra argument: exit 2" 2 route list JIO
expect "provider list unknown option: exit 2" 2 provider list --all
check "bad routes changed nothing" test "$(state)" = "$before"
expect "route set by alias (RJ)" 0 route set RJ hold
check "  prints the change" out_has '^route JIO: hold \(was the default: sim\)$'
check "  stored under JIO" test "$(sql "SELECT providers FROM routes WHERE operator = 'JIO'")" = hold
expect "route set lowercase operator, blanks around names" 0 route set airtel " down , sim "
check "  stored as down,sim" test "$(sql "SELECT providers FROM routes WHERE operator = 'AIRTEL'")" = "down,sim"
expect "route set BSNL slow" 0 route set BSNL slow
expect "route list shows the routes" 0 route list
check "  JIO hold, AIRTEL down,sim" bash -c "grep -Eq '^JIO +MOBILE +hold\$' '$T_DIR/stdout' && grep -Eq '^AIRTEL +MOBILE +down,sim\$' '$T_DIR/stdout'"
check "route set audited with before and after" test "$(sql "SELECT subject || ': ' || before || ' -> ' || after FROM audit WHERE action = 'route.set' ORDER BY id LIMIT 1")" = \
	"JIO: providers=(default: sim) -> providers=hold"

# ---- providers never seen ------------------------------------------------------------------
expect "provider list before the daemon ran" 0 provider list
check "  every configured provider" test "$(grep -cE '^(sim\*|hold|slow|fail|down|spare|bal) ' "$T_DIR/stdout")" = 7
check "  never seen: '-' everywhere" out_has '^spare +sim +- +- +- +- +-$'
expect "provider list --json" 0 provider list --json
check "  valid JSON" json_ok
check "  never seen: nulls" test "$(jqo '.[] | select(.name == "spare") | [.type, .failures, .breaker, .last_ok_at, .balance] | tostring')" = '["sim",null,null,null,null]'
check "  sim is the default" test "$(jqo '[.[] | select(.default) | .name] | tostring')" = '["sim"]'

# ---- the daemon: routes changed while it runs --------------------------------------------
sim_start
rd_start
check "daemon binds" sim "wait_bound 10"
TXN='TXN[0-9]{9,}'
t() { local name=$1 from=$2 text=$3 re=$4; check "$name" sim "mo $from $text" "expect 10 $from $re"; }

t "AIRTEL fails over from down to sim" $A "RC 9876500001 AIRTEL 10" "^SUCCESS 9876500001 AIRTEL Rs10\.00 Txn:$TXN Ref:SIM[0-9]+ Comm:Rs0\.30 Bal:Rs990\.00\$"
t "second failure of down opens its breaker" $A "RC 9876500002 AIRTEL 10" "^SUCCESS 9876500002 AIRTEL .*Bal:Rs980\.00\$"
expect "route set MTNL fail while the daemon runs" 0 route set MTNL fail
t "  the next MTNL recharge takes it (FAILED)" $A "RC 9876500003 MTNL 10" "^FAILED 9876500003 MTNL Rs10\.00 Txn:$TXN Err:2002 Refunded Bal:Rs980\.00\$"
expect "route set MTNL sim, no signal" 0 route set MTNL sim
check "  prints what it was" out_has '^route MTNL: sim \(was fail\)$'
t "  the next MTNL recharge succeeds" $A "RC 9876500004 MTNL 10" "^SUCCESS 9876500004 MTNL Rs10\.00 .*Bal:Rs970\.00\$"

expect "provider list with the daemon's health" 0 provider list
check "  down: 2 failures, breaker open until an IST time" \
	out_has '^down +sim +2  open until 20[0-9-]{8}T[0-9:]{8}\+05:30 '
check "  down: last error shown" bash -c "grep -E '^down ' '$T_DIR/stdout' | grep -vqE ' -\$'"
check "  spare still '-'" out_has '^spare +sim +- +- +- +- +-$'
expect "provider list --json with health" 0 provider list --json
check "  valid JSON" json_ok
check "  down: failures 2, breaker open" test "$(jqo '.[] | select(.name == "down") | [.failures, .breaker] | tostring')" = '[2,"open"]'
check "  down: breaker_open_until in IST" test "$(jqo '.[] | select(.name == "down") | .breaker_open_until' | grep -cE '^20[0-9-]{8}T[0-9:]{8}\+05:30$')" = 1
check "  down: last_error set" test "$(jqo '.[] | select(.name == "down") | .last_error != null')" = true
# a balance as the daemon records one for providers with a balance_url
now=$(($(date +%s) * 1000))
sql "INSERT INTO provider_state (name, failures, breaker_open_until, last_ok_at, last_error, balance, balance_at, updated_at)
     VALUES ('bal', 0, 0, $now, '', 123456, $now, $now)"
expect "provider list shows a balance" 0 provider list
check "  two decimals with its time" out_has '^bal +sim +0  closed +20[0-9-]{8}T[0-9:]{8}\+05:30 +1234\.56 at 20[0-9-]{8}T[0-9:]{8}\+05:30 +-$'
expect "provider list --json balance" 0 provider list --json
check "  written 1234.56" grep -q '"balance": 1234.56' "$T_DIR/stdout"
check "  breaker closed, last ok in IST" test "$(jqo '.[] | select(.name == "bal") | [.breaker, (.last_ok_at | test("\\+05:30$"))] | tostring')" = '["closed",true]'

# ---- txn resolve ---------------------------------------------------------------------------
t "JIO recharge stays PENDING (1)" $A "RC 9876510001 JIO 10" "^PENDING 9876510001 JIO Rs10\.00 Txn:$TXN Bal:Rs960\.00\$"
t "JIO recharge stays PENDING (2)" $A "RC 9876510002 JIO 20" "^PENDING 9876510002 JIO Rs20\.00 Txn:$TXN Bal:Rs940\.00\$"
t "JIO recharge stays PENDING (3)" $A "RC 9876510003 JIO 30" "^PENDING 9876510003 JIO Rs30\.00 Txn:$TXN Bal:Rs910\.00\$"
t "JIO recharge stays PENDING (4)" $A "RC 9876510004 JIO 40" "^PENDING 9876510004 JIO Rs40\.00 Txn:$TXN Bal:Rs870\.00\$"
P1=$(txn_of 9876510001); P2=$(txn_of 9876510002); P3=$(txn_of 9876510003); P4=$(txn_of 9876510004)
check "four PENDING" test "$(sql "SELECT count(*) FROM txns WHERE state = 'PENDING'")" = 4

before=$(state)
expect "resolve malformed id: exit 1" 1 txn resolve XYZ success
check "  says invalid transaction id" err_has "invalid transaction id 'XYZ'"
expect "resolve TXN12ab: exit 1" 1 txn resolve TXN12ab success
expect "resolve unknown TXN: exit 1" 1 txn resolve TXN999999999 success
check "  says not found" err_has "transaction TXN999999999 not found"
expect "resolve a FAILED transaction: exit 1" 1 txn resolve "$(txn_of 9876500003)" success
check "  says it is FAILED, not PENDING" err_has "^rechargectl: $(txn_of 9876500003) is FAILED, not PENDING$"
expect "resolve a SUCCESS transaction: exit 1" 1 txn resolve "$(txn_of 9876500004)" failed
check "  says it is SUCCESS, not PENDING" err_has "$(txn_of 9876500004) is SUCCESS, not PENDING"
expect "resolve bad outcome: exit 2" 2 txn resolve "$P1" done
expect "resolve missing outcome: exit 2" 2 txn resolve "$P1"
expect "resolve no args: exit 2" 2 txn resolve
expect "resolve failed with --ref: exit 2" 2 txn resolve "$P1" failed --ref X1
expect "resolve --ref without value: exit 2" 2 txn resolve "$P1" success --ref
expect "resolve --ref with a blank: exit 1" 1 txn resolve "$P1" success --ref "AB 12"
expect "resolve --ref too long: exit 1" 1 txn resolve "$P1" success --ref "$(printf 'R%.0s' $(seq 1 65))"
expect "reverse a PENDING transaction: exit 1" 1 txn reverse "$P1"
check "  says it is PENDING, not SUCCESS" err_has "$P1 is PENDING, not SUCCESS"
expect "reverse a FAILED transaction: exit 1" 1 txn reverse "$(txn_of 9876500003)"
expect "reverse malformed id: exit 1" 1 txn reverse TXN
expect "reverse missing TXN: exit 2" 2 txn reverse
expect "reverse unknown option: exit 2" 2 txn reverse "$P1" --why x
expect "reverse control character in the note: exit 1" 1 txn reverse "$(txn_of 9876500004)" --note "$(printf 'a\tb')"
check "bad input changed nothing" test "$(state)" = "$before"
check "  and told the retailer nothing" sim "expect_none 1 $A"

expect "resolve success --ref" 0 txn resolve "$P1" success --ref OPREF123
check "  prints the result line" out_has "^resolved $P1: SUCCESS 9876510001 JIO Rs10\.00 Txn:$P1 Ref:OPREF123 Comm:Rs0\.30 Bal:Rs870\.00; SMS queued to $A\$"
check "  the retailer gets SUCCESS by SMS" sim "expect 10 $A ^SUCCESS 9876510001 JIO Rs10\.00 Txn:$P1 Ref:OPREF123 Comm:Rs0\.30 Bal:Rs870\.00\$"
expect "  txn show --json" 0 txn show "$P1" --json
check "  SUCCESS, ref, commission, a provider" test "$(jqo '[.state, .operator_ref, .commission, .error_code, (.provider != "")] | tostring')" = '["SUCCESS","OPREF123",0.3,null,true]'
check "  told SUCCESS (notified)" test "$(sql "SELECT notified FROM txns WHERE id = ${P1#TXN}")" = SUCCESS
check "  wallet keeps the hold" test "$(wallet $A)" = 87000
check "  commission accrued" test "$(commission $A)" = "$((30 * 3 + 30))"
check "  audited" test "$(sql "SELECT actor || ' ' || before || ' -> ' || after FROM audit WHERE action = 'txn.resolve' AND subject = '$P1'")" = \
	"cli:$(id -un) state=PENDING -> state=SUCCESS provider=$(sql "SELECT provider FROM txns WHERE id = ${P1#TXN}") ref=OPREF123"
out=$(ctl check 2>&1); check "  rechargectl check passes" test $? -eq 0
expect "resolve it again: exit 1" 1 txn resolve "$P1" success --ref OPREF123
check "  says SUCCESS, not PENDING" err_has "$P1 is SUCCESS, not PENDING"

expect "resolve failed (id without TXN)" 0 txn resolve "$((10#${P2#TXN}))" FAILED
check "  prints the result line" out_has "^resolved $P2: FAILED 9876510002 JIO Rs20\.00 Txn:$P2 Err:2002 Refunded Bal:Rs890\.00; SMS queued"
check "  the retailer gets FAILED by SMS" sim "expect 10 $A ^FAILED 9876510002 JIO Rs20\.00 Txn:$P2 Err:2002 Refunded Bal:Rs890\.00\$"
check "  refunded in full" test "$(wallet $A)" = 89000
check "  error 2002, no reference" test "$(sql "SELECT state || ' ' || error_code || ' [' || operator_ref || ']' FROM txns WHERE id = ${P2#TXN}")" = "FAILED 2002 []"
out=$(ctl check 2>&1); check "  rechargectl check passes" test $? -eq 0

expect "resolve success without --ref" 0 txn resolve "$P3" success
check "  the retailer gets SUCCESS by SMS" sim "expect 10 $A ^SUCCESS 9876510003 JIO Rs30\.00 Txn:$P3 Comm:Rs0\.90 Bal:Rs890\.00\$"
check "  the reference stays empty (never invented)" test "$(sql "SELECT '[' || operator_ref || ']' FROM txns WHERE id = ${P3#TXN}")" = "[]"
check "  SUCCESS" test "$(sql "SELECT state FROM txns WHERE id = ${P3#TXN}")" = SUCCESS
out=$(ctl check 2>&1); check "  rechargectl check passes" test $? -eq 0

# ---- txn reverse ---------------------------------------------------------------------------
expect "reverse with a note" 0 txn reverse "$P1" --note "operator reversed, ticket 42"
check "  prints the result line" out_has "^reversed $P1: REVERSED 9876510001 JIO Rs10\.00 Txn:$P1 Refunded Bal:Rs900\.00; SMS queued to $A\$"
check "  the retailer gets REVERSED by SMS" sim "expect 10 $A ^REVERSED 9876510001 JIO Rs10\.00 Txn:$P1 Refunded Bal:Rs900\.00\$"
check "  refunded" test "$(wallet $A)" = 90000
check "  commission clawed back" test "$(commission $A)" = "$((30 * 3 + 90))"
check "  REVERSED, told REVERSED" test "$(sql "SELECT state || ' ' || notified FROM txns WHERE id = ${P1#TXN}")" = "REVERSED REVERSED"
check "  reversal and clawback postings" test "$(sql "SELECT group_concat(kind) FROM (SELECT kind FROM postings WHERE txn_id = ${P1#TXN} ORDER BY id)")" = \
	"hold,success,commission,reversal,clawback"
check "  audited with the note" test "$(sql "SELECT before || ' -> ' || after FROM audit WHERE action = 'txn.reverse' AND subject = '$P1'")" = \
	"state=SUCCESS commission=0.30 -> state=REVERSED refunded=10.00 note=operator reversed, ticket 42"
out=$(ctl check 2>&1); check "  rechargectl check passes" test $? -eq 0
expect "reverse it again: exit 1" 1 txn reverse "$P1"
check "  says REVERSED, not SUCCESS" err_has "$P1 is REVERSED, not SUCCESS"
expect "resolve a REVERSED transaction: exit 1" 1 txn resolve "$P1" failed
expect "reverse without a note (SUCCESS without reference)" 0 txn reverse "$P3"
check "  the retailer gets REVERSED by SMS" sim "expect 10 $A ^REVERSED 9876510003 JIO Rs30\.00 Txn:$P3 Refunded Bal:Rs930\.00\$"
check "  commission back to the failover recharges' and MTNL's" test "$(commission $A)" = 90

# ---- resolved before the provider settles it: the provider's late answer changes nothing ----
t "BSNL recharge PENDING at slow" $A "RC 9876510005 BSNL 50" "^PENDING 9876510005 BSNL Rs50\.00 Txn:$TXN Bal:Rs880\.00\$"
P5=$(txn_of 9876510005)
expect "resolve failed before the provider settles" 0 txn resolve "$P5" failed
check "  the retailer gets FAILED" sim "expect 10 $A ^FAILED 9876510005 BSNL Rs50\.00 Txn:$P5 Err:2002 Refunded Bal:Rs930\.00\$"
check "  the provider's late SUCCESS sends nothing" sim "expect_none 5 $A"
check "  still FAILED, wallet refunded" test "$(sql "SELECT state FROM txns WHERE id = ${P5#TXN}") $(wallet $A)" = "FAILED 93000"

# ---- the end ---------------------------------------------------------------------------------
expect "txn list shows the outcomes" 0 txn list --retailer $A --json
check "  states" test "$(jqo '[.[] | select(.operator == "JIO") | .state] | tostring')" = '["PENDING","REVERSED","FAILED","REVERSED"]'
check "no other retailer was told anything" sim "expect_none 1 $B2"
check "every SMS accepted by the SMSC" test "$(sql "SELECT count(*) FROM sms_out WHERE state <> 'sent'")" = 0
out=$(ctl check 2>&1)
check "rechargectl check passes at the end" test $? -eq 0
rd_stop
check "SIGTERM stops with exit 0" test "${T_RD_RC:-1}" -eq 0
t_done
